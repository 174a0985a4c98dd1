//! [`Query`]: the typed query builder a session hands out.

use std::marker::PhantomData;

use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::query::{
    undecodable_aggregate, AggregateExpr, Aggregates, Assignments, BoundAggregates, BoundAssignments, Cursor, Filter,
    Group, GroupKeys, Order, Select,
};
use crate::record::Record;
use crate::row::{RowUpdate, StoredFields};
use crate::session::{record_from_fields, record_from_stored, Session};

/// A query on `E`'s table, from [`Session::query`]. Filters are joined with AND; sort
/// keys apply in the order given, then `id`. Nothing runs until `all`, `first` or
/// `count` (or `exists`, `aggregate`, `stream`, or the bulk writes `update` and
/// `delete`), and everything is checked against the table before any I/O.
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
#[must_use = "a query does nothing until `all`, `first`, `count`, `exists`, `aggregate`, `update` or `delete` is awaited, or `stream` polled"]
#[derive(Debug)]
pub struct Query<'s, E> {
    session: &'s mut Session,
    filters: Vec<Filter>,
    order: Vec<Order>,
    limit: Option<u64>,
    offset: u64,
    /// Where the previous page ended ([`after`](Query::after)).
    after: Option<Cursor>,
    _entity: PhantomData<fn() -> E>,
}

impl<'s, E: Entity> Query<'s, E> {
    pub(crate) fn new(session: &'s mut Session) -> Self {
        Query {
            session,
            filters: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: 0,
            after: None,
            _entity: PhantomData,
        }
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

    /// Keeps the rows that come after `record` in this query's order (its sort keys,
    /// then `id`): the next page after one that ended with `record`, with
    /// [`limit`](Query::limit) as the page size. Unlike an offset, this stays exact when
    /// rows are inserted or deleted before the record between two pages: no row of the
    /// query is skipped or returned twice. `record` need not still exist; its values as
    /// read are the cursor.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct Note { pub title: String, pub stars: Option<i32> }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[Note::table()]).await?;
    /// # let mut session = db.session().await?;
    /// # session.add_all([("a", Some(3)), ("b", None), ("c", Some(5)), ("d", Some(3))].map(|(t, stars)| Note { title: t.into(), stars })).await?;
    /// let mut titles = Vec::new();
    /// let mut last = None;
    /// loop {
    ///     let mut page = session.query::<Note>().order_by(|c| c.stars.desc()).limit(3);
    ///     if let Some(last) = &last {
    ///         page = page.after(last);
    ///     }
    ///     let page = page.all().await?;
    ///     titles.extend(page.iter().map(|n| n.title.clone()));
    ///     match page.into_iter().last() {
    ///         Some(record) => last = Some(record),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(titles, ["b", "c", "a", "d"]); // NULL first descending, then by id
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after(mut self, record: &Record<E>) -> Self {
        self.after = Some(Cursor { row: record.entity().to_row(), meta: record.meta() });
        self
    }

    fn bind(mut self) -> Result<(&'s mut Session, Select)> {
        if let Some(cursor) = self.after.take() {
            self.filters.push(cursor.rows_after(E::table(), &self.order)?);
        }
        let select = Select::bind(E::table(), self.filters, self.order, self.limit, self.offset)?;
        Ok((self.session, select))
    }

    /// Every matching record, in order.
    pub async fn all(self) -> Result<Vec<Record<E>>> {
        let (session, select) = self.bind()?;
        let mut records = Vec::new();
        let mut decode = |meta, fields: &mut dyn StoredFields| {
            records.push(record_from_fields(meta, fields)?);
            Ok(())
        };
        session.transaction().select_into(E::table(), &select, &mut decode).await?;
        Ok(records)
    }

    /// The matching records, in order, as a stream: each is decoded as it arrives, and
    /// only the backend's read buffer is held, never the whole result. On PostgreSQL and
    /// SQLite the rows come off the open statement as the stream is polled, so a
    /// million rows stream in the memory of a few (see BENCHMARKS.md). On IndexedDB a
    /// stream in id order (no `order_by`) reads 500 rows at a time, the session's own
    /// writes laid over each page; otherwise the record engine, whose queries read whole
    /// tables, reads the result at once and hands it out one by one (memory and web
    /// storage hold every row in memory anyway). The stream borrows the session: finish
    /// or drop it before the session's next call.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct Reading { pub value: f64 }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[Reading::table()]).await?;
    /// # let mut session = db.session().await?;
    /// # session.add_all((0..100).map(|i| Reading { value: f64::from(i) })).await?;
    /// use futures_util::TryStreamExt as _;
    ///
    /// let mut readings = session.query::<Reading>().filter(|c| c.value.ge(50.0)).stream();
    /// let mut total = 0.0;
    /// while let Some(reading) = readings.try_next().await? {
    ///     total += reading.value;
    /// }
    /// assert_eq!(total, 3725.0);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream(self) -> impl futures_util::Stream<Item = Result<Record<E>>> + 's {
        use futures_util::StreamExt as _;
        match self.bind() {
            Ok((session, select)) => session
                .transaction()
                .stream(E::table(), select)
                .map(|row| row.and_then(record_from_stored))
                .left_stream(),
            Err(err) => futures_util::stream::once(std::future::ready(Err(err))).right_stream(),
        }
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

    /// Whether [`all`](Query::all) would return any record (reading at most one).
    pub async fn exists(self) -> Result<bool> {
        let (session, mut select) = self.bind()?;
        select.limit = Some(select.limit.map_or(1, |n| n.min(1)));
        Ok(session.transaction().count(E::table(), &select).await? > 0)
    }

    /// Computes aggregates over the matching rows (all of them, or the window that
    /// `limit` and `offset` leave): one [`Aggregate`](crate::Aggregate) or a tuple of
    /// up to six, each result as its Rust type. See [`Aggregate`](crate::Aggregate)
    /// for what each gives over no rows and over `NULL`s.
    pub async fn aggregate<A: Aggregates>(self, build: impl FnOnce(E::Columns) -> A) -> Result<A::Output> {
        let aggregates = build(E::columns());
        let mut groups = self.run_aggregates::<(), A>(&[], &aggregates).await?;
        match groups.pop() {
            Some((_, output)) if groups.is_empty() => Ok(output),
            _ => Err(Error::backend(
                "plinth",
                format!("table `{}`: the backend returned no single group for an aggregate", E::table().name()),
            )),
        }
    }

    /// Sets columns of every matching row (all of them, or the window that `limit` and
    /// `offset` leave) and returns how many rows it updated. Each row is updated as
    /// [`Session::update`] would: its id and `created_at` stay, its `updated_at` moves,
    /// the new values are checked before any write, and unique and reference rules hold
    /// row by row in the query's order. All or nothing: if one row is refused (a unique
    /// value another row holds, a missing parent, a row another session wrote since it
    /// was read: [`Error::Conflict`]), no row is changed and the session goes on.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct Task { pub title: String, pub done: bool, pub owner: Option<String> }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[Task::table()]).await?;
    /// # let mut session = db.session().await?;
    /// # let task = |title: &str, owner: Option<&str>| Task { title: title.into(), done: false, owner: owner.map(Into::into) };
    /// # session.add_all([task("a", Some("ada")), task("b", None), task("c", Some("ada"))]).await?;
    /// let updated = session
    ///     .query::<Task>()
    ///     .filter(|c| c.owner.eq("ada"))
    ///     .update(|c| (c.done.set(true), c.owner.set(None)))
    ///     .await?;
    /// assert_eq!(updated, 2);
    /// assert_eq!(session.query::<Task>().filter(|c| c.done.eq(true)).count().await?, 2);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn update<A: Assignments<E>>(self, build: impl FnOnce(E::Columns) -> A) -> Result<u64> {
        let table = E::table();
        let mut assignments = Vec::new();
        build(E::columns()).push_into(&mut assignments);
        let assignments = BoundAssignments::bind(table, assignments)?;
        let (session, select) = self.bind()?;
        let rows = session.transaction().select(table, &select).await?;
        let updates = rows
            .into_iter()
            .map(|stored| {
                table.check_stored(&stored)?;
                let row = assignments.apply(stored.row);
                table.check_row(&row)?;
                Ok(RowUpdate { id: stored.meta.id, seen: stored.meta.updated_at, row })
            })
            .collect::<Result<Vec<_>>>()?;
        // Marked under way while it runs, so one cancelled part-way cannot be committed.
        let marked = session.begin_multi_write(table, updates.first().map_or(0, |u| u.id));
        let updated = session.transaction().update_many(table, &updates).await;
        session.end_multi_write(marked);
        Ok(updated?.len() as u64)
    }

    /// Deletes every matching row (all of them, or the window that `limit` and `offset`
    /// leave) and returns how many. The rows that refer to them get their references'
    /// rules, as [`Session::delete_by_id`] gives them: `cascade` deletes, `set_null`
    /// clears, and `restrict` refuses the whole delete with [`Error::StillReferenced`],
    /// writing nothing.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct Task { pub title: String, pub done: bool }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[Task::table()]).await?;
    /// # let mut session = db.session().await?;
    /// # session.add_all([("a", true), ("b", false), ("c", true)].map(|(t, done)| Task { title: t.into(), done })).await?;
    /// let deleted = session.query::<Task>().filter(|c| c.done.eq(true)).delete().await?;
    /// assert_eq!(deleted, 2);
    /// assert_eq!(session.query::<Task>().count().await?, 1);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn delete(self) -> Result<u64> {
        let table = E::table();
        let (session, select) = self.bind()?;
        let rows = session.transaction().select(table, &select).await?;
        let ids: Vec<i64> = rows.iter().map(|row| row.meta.id).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        session.delete_rows(table, &ids).await
    }

    /// Groups the matching rows by one column or a tuple of up to four, for
    /// [`Grouped::aggregate`].
    pub fn group_by<K: GroupKeys>(self, build: impl FnOnce(E::Columns) -> K) -> Grouped<'s, E, K> {
        Grouped { query: self, keys: build(E::columns()) }
    }

    async fn run_aggregates<K: GroupKeys, A: Aggregates>(
        self,
        keys: &[&'static str],
        aggregates: &A,
    ) -> Result<Vec<(K::Output, A::Output)>> {
        let table = E::table();
        let mut exprs: Vec<AggregateExpr> = Vec::new();
        aggregates.exprs(&mut exprs);
        let bound = BoundAggregates::bind(table, keys, &exprs)?;
        let (session, select) = self.bind()?;
        let groups = session.transaction().aggregate(table, &select, &bound.aggregation).await?;
        let undecodable = |found| undecodable_aggregate(table, found);
        groups
            .into_iter()
            .map(|Group { keys: values, values: results }| {
                let key = K::decode(&mut values.into_iter()).map_err(undecodable)?;
                let output =
                    aggregates.decode(&mut bound.outputs(table, &results)?.into_iter()).map_err(undecodable)?;
                Ok((key, output))
            })
            .collect()
    }
}

/// A query grouped by columns, from [`Query::group_by`].
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug)]
/// # pub struct Note { pub colour: Option<String>, pub stars: i32 }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let db = plinth::memory();
/// # db.create_all(&[Note::table()]).await?;
/// # let mut session = db.session().await?;
/// # let notes = [(Some("red"), 3), (None, 1), (Some("blue"), 5), (Some("red"), 4)];
/// # session.add_all(notes.map(|(c, stars)| Note { colour: c.map(Into::into), stars })).await?;
/// use plinth::count;
///
/// let per_colour = session
///     .query::<Note>()
///     .group_by(|c| c.colour)
///     .aggregate(|c| (count(), c.stars.max()))
///     .await?;
/// let expected = [(Some("blue".to_owned()), (1, Some(5))), (Some("red".to_owned()), (2, Some(4))), (None, (1, Some(1)))];
/// assert_eq!(per_colour, expected); // by key, NULL last
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a grouped query does nothing until `aggregate` is awaited"]
#[derive(Debug)]
pub struct Grouped<'s, E, K> {
    query: Query<'s, E>,
    keys: K,
}

impl<E: Entity, K: GroupKeys> Grouped<'_, E, K> {
    /// One `(keys, results)` pair per distinct key among the matching rows, ascending by
    /// key (`NULL` last, the first key most significant): rows equal on every key,
    /// `NULL` equal to `NULL`, form one group. No matching row gives no group.
    pub async fn aggregate<A: Aggregates>(
        self,
        build: impl FnOnce(E::Columns) -> A,
    ) -> Result<Vec<(K::Output, A::Output)>> {
        let aggregates = build(E::columns());
        let mut keys = Vec::new();
        self.keys.names(&mut keys);
        self.query.run_aggregates::<K, A>(&keys, &aggregates).await
    }
}
