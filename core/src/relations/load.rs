//! Loading related records for many records at once: the parents they refer to
//! ([`Parents`], belongs-to) and the children that refer to them ([`Children`],
//! has-many), one query per relation however many records there are.

use std::collections::HashMap;
use std::fmt;

use crate::entity::Entity;
use crate::error::Result;
use crate::id::Id;
use crate::query::{Column, Filter, Select};
use crate::record::Record;
use crate::session::{record_from_stored, Session};
use crate::value::Value;

/// A field type that refers to a row of its [`Parent`](RefersTo::Parent): [`Id<P>`]
/// or `Option<Id<P>>`. What relations are loaded and filtered through.
pub trait RefersTo: crate::Field {
    /// The entity referred to.
    type Parent: Entity;

    /// The id referred to, if any.
    fn referred(&self) -> Option<Id<Self::Parent>>;
}

impl<P: Entity> RefersTo for Id<P> {
    type Parent = P;

    fn referred(&self) -> Option<Id<P>> {
        Some(*self)
    }
}

impl<P: Entity> RefersTo for Option<Id<P>> {
    type Parent = P;

    fn referred(&self) -> Option<Id<P>> {
        *self
    }
}

/// The parents a set of records refers to through one reference column, by id:
/// [`Session::load_parents`].
pub struct Parents<P> {
    by_id: HashMap<i64, Record<P>>,
}

impl<P> Parents<P> {
    /// The parent `id` names (an `Id<P>`, or an `Option<Id<P>>` that may be `None`),
    /// if it was loaded.
    pub fn get(&self, id: impl RefersTo<Parent = P>) -> Option<&Record<P>> {
        self.by_id.get(&id.referred()?.get())
    }

    /// How many distinct parents were loaded.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The parents, in id order.
    pub fn records(&self) -> Vec<&Record<P>> {
        let mut records: Vec<&Record<P>> = self.by_id.values().collect();
        records.sort_by_key(|r| r.id());
        records
    }
}

impl<P: fmt::Debug> fmt::Debug for Parents<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parents").field("count", &self.by_id.len()).finish_non_exhaustive()
    }
}

/// The children of a set of records through one reference column, grouped by parent:
/// [`Session::load_children`].
pub struct Children<P, C> {
    by_parent: HashMap<i64, Vec<Record<C>>>,
    order: Vec<Id<P>>,
}

impl<P, C> Children<P, C> {
    /// The children of `parent` (any record or id of `P` the children were loaded
    /// for), in id order; empty if it has none.
    pub fn of(&self, parent: impl Into<Id<P>>) -> &[Record<C>] {
        self.by_parent.get(&parent.into().get()).map_or(&[], Vec::as_slice)
    }

    /// Every child loaded, parent by parent in the order the parents were given, each
    /// parent's in id order: what a next level loads from.
    pub fn records(&self) -> impl Iterator<Item = &Record<C>> {
        self.order.iter().flat_map(|id| self.by_parent.get(&id.get()).into_iter().flatten())
    }

    /// How many children were loaded.
    pub fn len(&self) -> usize {
        self.by_parent.values().map(Vec::len).sum()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.by_parent.values().all(Vec::is_empty)
    }

    /// `parents` each with its children, in the order given (Diesel's `grouped_by`); a
    /// parent given twice gets its children twice.
    pub fn grouped<'p>(&self, parents: impl IntoIterator<Item = &'p Record<P>>) -> Vec<(&'p Record<P>, Vec<Record<C>>)>
    where
        P: 'p,
        C: Clone,
    {
        parents.into_iter().map(|parent| (parent, self.of(parent).to_vec())).collect()
    }
}

impl<P, C> fmt::Debug for Children<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Children").field("parents", &self.order.len()).finish_non_exhaustive()
    }
}

/// The position of `column` among `E`'s fields.
fn position<E: Entity, T>(column: Column<E, T>) -> Result<usize> {
    match E::table().resolve(column.name())? {
        (crate::table::ColumnRef::Field(i), _) => Ok(i),
        _ => Err(crate::Error::UnknownColumn { table: E::table().name(), column: column.name().to_owned() }),
    }
}

/// The distinct ids, in order of first appearance.
fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

impl Session {
    /// The parents that `children` refer to through `column` (a field of type `Id<P>`
    /// or `Option<Id<P>>`), in one query, whatever the number of children
    /// (belongs-to). A reference whose parent this session cannot see is simply not
    /// in the answer.
    ///
    /// ```
    /// use plinth::{Entity, Id};
    ///
    /// #[derive(Entity, Clone, Debug)]
    /// pub struct Author { pub name: String }
    ///
    /// #[derive(Entity, Clone, Debug)]
    /// pub struct Book { #[entity(on_delete = "cascade")] pub author: Id<Author>, pub title: String }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let db = plinth::memory();
    /// db.create_all(&[Author::table(), Book::table()]).await?;
    /// let mut session = db.session().await?;
    /// let ursula = session.add(Author { name: "Ursula".into() }).await?;
    /// session.add(Book { author: ursula.id(), title: "The Dispossessed".into() }).await?;
    /// session.add(Book { author: ursula.id(), title: "The Lathe of Heaven".into() }).await?;
    ///
    /// let books = session.query::<Book>().all().await?;
    /// let authors = session.load_parents(&books, Book::columns().author).await?;
    /// assert_eq!(authors.get(books[1].author).map(|a| a.name.as_str()), Some("Ursula"));
    ///
    /// let by_author = session.load_children(&[ursula.clone()], Book::columns().author).await?;
    /// assert_eq!(by_author.of(&ursula).len(), 2);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn load_parents<'c, C, P, T>(
        &mut self,
        children: impl IntoIterator<Item = &'c Record<C>>,
        column: Column<C, T>,
    ) -> Result<Parents<P>>
    where
        C: Entity + 'c,
        P: Entity,
        T: RefersTo<Parent = P>,
    {
        let at = position(column)?;
        let ids = distinct(children.into_iter().filter_map(|child| match child.to_row().values().get(at) {
            Some(Value::I64(id)) => Some(*id),
            _ => None,
        }));
        let mut by_id = HashMap::with_capacity(ids.len());
        if !ids.is_empty() {
            let filter = Filter::In { column: "id".into(), values: ids.into_iter().map(Value::I64).collect() };
            for record in self.select_records::<P>(filter).await? {
                by_id.insert(record.id().get(), record);
            }
        }
        Ok(Parents { by_id })
    }

    /// The children that refer to `parents` through `column` (a field of `C` of type
    /// `Id<P>` or `Option<Id<P>>`), in one query, whatever the number of parents
    /// (has-many), grouped by parent. Nested relations load by chaining: the
    /// [`records`](Children::records) of one level are the parents of the next. A
    /// many-to-many relation through a join entity is the join entity's children, then
    /// their parents on the other side ([`load_parents`](Session::load_parents)).
    pub async fn load_children<'p, P, C, T>(
        &mut self,
        parents: impl IntoIterator<Item = &'p Record<P>>,
        column: Column<C, T>,
    ) -> Result<Children<P, C>>
    where
        P: Entity + 'p,
        C: Entity,
        T: RefersTo<Parent = P>,
    {
        let at = position(column)?;
        let order: Vec<Id<P>> = distinct(parents.into_iter().map(|p| p.id().get())).into_iter().map(Id::new).collect();
        let mut by_parent: HashMap<i64, Vec<Record<C>>> = HashMap::with_capacity(order.len());
        if !order.is_empty() {
            let values = order.iter().map(|id| Value::I64(id.get())).collect();
            let filter = Filter::In { column: column.name().into(), values };
            for record in self.select_records::<C>(filter).await? {
                if let Some(Value::I64(parent)) = record.to_row().values().get(at) {
                    by_parent.entry(*parent).or_default().push(record);
                }
            }
        }
        Ok(Children { by_parent, order })
    }

    /// The records of `E` matching `filter`, in id order.
    async fn select_records<E: Entity>(&mut self, filter: Filter) -> Result<Vec<Record<E>>> {
        let select = Select::bind(E::table(), vec![filter], Vec::new(), None, 0)?;
        let rows = self.transaction().select(E::table(), &select).await?;
        rows.into_iter().map(record_from_stored).collect()
    }
}
