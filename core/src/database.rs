//! [`Database`]: the handle an application keeps, like SQLAlchemy's engine plus its
//! session maker.

use std::fmt;
use std::sync::Arc;

use crate::backend::{Backend, SendOutsideWasm};
use crate::entity::Entity;
use crate::error::Result;
use crate::id::Id;
use crate::live::{self, LiveQuery};
use crate::record::Record;
use crate::relations::{creation_order, Relations};
use crate::retry::SessionFuture;
use crate::session::Session;
use crate::table::Table;

/// A cheap, clonable handle over a backend picked at run time: `plinth::memory()`,
/// `plinth_sqlx::connect("postgres://…")`, `plinth_browser::connect("local://app")`.
/// Code written against `Database` runs unchanged on every backend.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
/// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let db = plinth::memory();
/// db.create_all(&[User::table()]).await?;
///
/// let mut session = db.session().await?;
/// let ada = session
///     .add(User { username: "ada".into(), email_address: "ada@example.com".into() })
///     .await?;
/// session.commit().await?;
///
/// let found = db.session().await?.get::<User>(ada.id()).await?;
/// assert_eq!(found.as_ref().map(|u| u.email_address.as_str()), Some("ada@example.com"));
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Database {
    backend: Arc<dyn Backend>,
}

impl Database {
    /// A database over `backend`.
    pub fn new(backend: impl Backend + 'static) -> Self {
        Database { backend: Arc::new(backend) }
    }

    /// A database over a shared backend.
    pub fn from_arc(backend: Arc<dyn Backend>) -> Self {
        Database { backend }
    }

    /// The backend's name (`memory`, `postgres`, `sqlite`, `localStorage`…).
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Creates the tables that do not exist yet, like SQLAlchemy's `metadata.create_all`.
    /// A table no derive would produce (a column named twice, a unique JSON column, a
    /// name past 63 bytes) is refused first, before any I/O ([`Table::check_columns`]),
    /// and so is a reference to a table neither among `tables` nor given before. Tables
    /// are created parents first, whatever their order in `tables`.
    pub async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        for table in tables {
            table.check_columns()?;
        }
        let relations = self.backend.relations();
        relations.check(tables)?;
        self.backend.create_all(&creation_order(tables)).await?;
        relations.add(tables);
        Ok(())
    }

    /// The backend underneath, shared: to wrap it (to count or trace its calls) in
    /// another `Database` with [`from_arc`](Database::from_arc).
    pub fn shared_backend(&self) -> Arc<dyn Backend> {
        Arc::clone(&self.backend)
    }

    /// The backend underneath.
    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Begins a session (one transaction), like calling `async_session_maker()`.
    pub async fn session(&self) -> Result<Session> {
        self.read_stored_tables().await?;
        Ok(Session::new(self.backend.begin().await?, Arc::clone(&self.backend)))
    }

    /// A live query: a stream that yields `query`'s result now, then again after every
    /// commit that changes it. `query` runs in a fresh session (rolled back) each time;
    /// it runs again after each commit that wrote a table it read (its subqueries' and
    /// the relations it loaded included), through any `Database` over this backend, and
    /// a result equal to the last is not yielded again. An error is yielded as it
    /// comes, and the query runs again at the next change. The stream holds its own
    /// handle on the database (it may outlive this one, be spawned, or kept in a UI
    /// component); dropping it stops it.
    ///
    /// ```
    /// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
    /// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
    /// use futures_util::StreamExt;
    /// use plinth::Entity;
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let db = plinth::memory();
    /// db.create_all(&[User::table()]).await?;
    /// let mut names = db.watch(|session| {
    ///     Box::pin(async move {
    ///         let users = session.query::<User>().order_by(|c| c.username.asc()).all().await?;
    ///         Ok(users.into_iter().map(|u| u.username.clone()).collect::<Vec<_>>())
    ///     })
    /// });
    /// assert_eq!(names.next().await.transpose()?, Some(vec![]));
    /// db.add(User { username: "ada".into(), email_address: "ada@example.com".into() }).await?;
    /// assert_eq!(names.next().await.transpose()?, Some(vec!["ada".to_owned()]));
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch<T, F>(&self, query: F) -> LiveQuery<T>
    where
        T: PartialEq + Clone + SendOutsideWasm + 'static,
        F: for<'s> FnMut(&'s mut Session) -> SessionFuture<'s, T> + SendOutsideWasm + 'static,
    {
        live::watch(self.clone(), query)
    }

    /// The stored tables, read once per backend, so a handle knows what refers to what.
    async fn read_stored_tables(&self) -> Result<Relations> {
        let relations = self.backend.relations();
        if !relations.stored_read() {
            relations.add_stored(&self.backend.stored_tables().await?);
        }
        Ok(relations)
    }

    /// A session for one write (see [`Backend::begin_single_write`]).
    async fn single_write(&self) -> Result<Session> {
        self.read_stored_tables().await?;
        Ok(Session::new(self.backend.begin_single_write().await?, Arc::clone(&self.backend)))
    }

    /// Stores one new entity without a session: what `session.add` and `commit` do, in
    /// one statement on SQL (autocommit: no `BEGIN` or `COMMIT` round trips). Every rule
    /// of [`Session::add`] holds.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[User::table()]).await?;
    /// let mut ada = db.add(User { username: "ada".into(), email_address: "ada@example.com".into() }).await?;
    /// ada.email_address = "ada@lovelace.org".into();
    /// db.update(&mut ada).await?; // committed already: another session sees it
    /// db.delete(ada).await?;
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn add<E: Entity>(&self, entity: E) -> Result<Record<E>> {
        let mut session = self.single_write().await?;
        let record = session.add(entity).await?;
        session.commit().await?;
        Ok(record)
    }

    /// Writes a record back without a session: what `session.update` and `commit` do,
    /// in one statement on SQL, with the same version check ([`Error::Conflict`](crate::Error::Conflict)
    /// if the row was written since the record was read).
    pub async fn update<E: Entity>(&self, record: &mut Record<E>) -> Result<()> {
        let mut session = self.single_write().await?;
        session.update(record).await?;
        session.commit().await
    }

    /// Deletes a record without a session (see [`delete_by_id`](Database::delete_by_id)).
    pub async fn delete<E: Entity>(&self, record: Record<E>) -> Result<()> {
        self.delete_by_id::<E>(record.id()).await
    }

    /// Deletes the row with this id without a session: what `session.delete_by_id` and
    /// `commit` do, every reference rule included. One statement on SQL when no table
    /// refers to `E`'s; otherwise the rules' writes run in one transaction.
    pub async fn delete_by_id<E: Entity>(&self, id: impl Into<Id<E>>) -> Result<()> {
        let relations = self.read_stored_tables().await?;
        let mut session = match relations.referrers(E::table().name()).is_empty() {
            true => self.single_write().await?,
            false => self.session().await?,
        };
        session.delete_by_id::<E>(id).await?;
        session.commit().await
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend).finish()
    }
}
