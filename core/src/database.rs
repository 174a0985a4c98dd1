//! [`Database`]: the handle an application keeps, like SQLAlchemy's engine plus its
//! session maker.

use std::fmt;
use std::sync::Arc;

use crate::backend::Backend;
use crate::error::Result;
use crate::relations::creation_order;
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
        let relations = self.backend.relations();
        if !relations.stored_read() {
            relations.add_stored(&self.backend.stored_tables().await?);
        }
        Ok(Session::new(self.backend.begin().await?, Arc::clone(&self.backend)))
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend).finish()
    }
}
