//! [`Query`]: the typed query builder a session hands out.

use std::marker::PhantomData;

use crate::entity::Entity;
use crate::error::Result;
use crate::query::{Filter, Order, Select};
use crate::record::Record;
use crate::session::{record_from_stored, Session};

/// A query on `E`'s table, from [`Session::query`]. Filters are joined with AND; sort
/// keys apply in the order given, then `id`. Nothing runs until `all`, `first` or
/// `count`, and everything is checked against the table before any I/O.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
/// # pub struct Note { pub title: String, pub stars: Option<i32> }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let db = plinth::memory();
/// # db.create_all(&[Note::table()]).await?;
/// # let mut session = db.session().await?;
/// # for (title, stars) in [("a", Some(3)), ("b", None), ("c", Some(5))] {
/// #     session.add(Note { title: title.into(), stars }).await?;
/// # }
/// let best: Vec<String> = session
///     .query::<Note>()
///     .filter(|c| c.stars.ge(3).or(c.stars.is_null()))
///     .order_by(|c| c.stars.desc())
///     .limit(2)
///     .all()
///     .await?
///     .into_iter()
///     .map(|note| note.title.clone())
///     .collect();
/// assert_eq!(best, ["b", "c"]); // NULLs first when descending
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a query does nothing until `all`, `first` or `count` is awaited"]
#[derive(Debug)]
pub struct Query<'s, E> {
    session: &'s mut Session,
    filters: Vec<Filter>,
    order: Vec<Order>,
    limit: Option<u64>,
    offset: u64,
    _entity: PhantomData<fn() -> E>,
}

impl<'s, E: Entity> Query<'s, E> {
    pub(crate) fn new(session: &'s mut Session) -> Self {
        Query { session, filters: Vec::new(), order: Vec::new(), limit: None, offset: 0, _entity: PhantomData }
    }

    /// Keeps rows matching the filter built from the entity's typed columns.
    pub fn filter(self, build: impl FnOnce(E::Columns) -> Filter) -> Self {
        let filter = build(E::columns());
        self.filter_by(filter)
    }

    /// Keeps rows matching a filter built elsewhere, e.g. with [`Filter::column`].
    pub fn filter_by(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds a sort key built from the entity's typed columns.
    pub fn order_by(self, build: impl FnOnce(E::Columns) -> Order) -> Self {
        let order = build(E::columns());
        self.then_order(order)
    }

    /// Adds a sort key built elsewhere, e.g. `Order::desc("created_at")`.
    pub fn then_order(mut self, order: Order) -> Self {
        self.order.push(order);
        self
    }

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = n;
        self
    }

    fn bind(self) -> Result<(&'s mut Session, Select)> {
        let select = Select::bind(E::table(), self.filters, self.order, self.limit, self.offset)?;
        Ok((self.session, select))
    }

    /// Every matching record, in order.
    pub async fn all(self) -> Result<Vec<Record<E>>> {
        let (session, select) = self.bind()?;
        let rows = session.transaction().select(E::table(), &select).await?;
        rows.into_iter().map(record_from_stored).collect()
    }

    /// The first matching record, if any.
    pub async fn first(self) -> Result<Option<Record<E>>> {
        let (session, mut select) = self.bind()?;
        select.limit = Some(select.limit.map_or(1, |n| n.min(1)));
        let rows = session.transaction().select(E::table(), &select).await?;
        rows.into_iter().next().map(record_from_stored).transpose()
    }

    /// How many records [`all`](Query::all) would return.
    pub async fn count(self) -> Result<u64> {
        let (session, select) = self.bind()?;
        session.transaction().count(E::table(), &select).await
    }
}
