//! Plinth: one set of entity types and one async session API on PostgreSQL and SQLite
//! (through `plinth-sqlx`), in the browser (through `plinth-browser`), and in memory.
//!
//! It re-creates a SQLAlchemy async base in Rust: every table gets `id`, `created_at`
//! and `updated_at`; a record has `to_dict()`; table names come from the type name; a
//! [`Database`] built from a URL hands out [`Session`]s.
//!
//! ```
//! use plinth::{Entity, Record};
//!
//! #[derive(Entity, Clone, Debug, PartialEq)]
//! #[entity(table = "users")]
//! pub struct User {
//!     #[entity(unique)]
//!     pub username: String,
//!     pub email_address: String,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let db = plinth::memory(); // or plinth_sqlx::connect(&database_url).await?
//! db.create_all(&[User::table()]).await?;
//!
//! let mut session = db.session().await?;
//! let user: Record<User> = session
//!     .add(User { username: "example_user".into(), email_address: "example@example.com".into() })
//!     .await?;
//! session.commit().await?;
//!
//! let again = db.session().await?.get::<User>(user.id()).await?;
//! let dict = again.map(|u| u.to_dict()).unwrap_or_default();
//! assert_eq!(dict["username"], "example_user");
//! # Ok::<(), plinth::Error>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The semantics every backend shares — ids, timestamps, isolation, unique violations,
//! exact round trips, one query order — are stated as tests in `plinth-conformance`;
//! the query semantics are described in [`query`].

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod backend;
pub mod clock;
mod database;
pub mod engine;
mod entity;
mod error;
mod field;
pub mod query;
mod record;
mod row;
mod session;
mod table;
mod value;

#[doc(hidden)]
pub mod __private;

pub use database::Database;
pub use entity::{DecodeError, Entity};
pub use error::{BoxError, Error, Result};
pub use field::{Comparable, Field, Nullable, Ordered};
pub use plinth_derive::Entity;
pub use query::{like_escape, Column, Direction, DynColumn, Filter, LikePattern, Order, Query};
pub use record::Record;
pub use row::{Row, RowMeta, StoredRow};
pub use session::Session;
pub use table::{ColumnDef, ColumnRef, Table, MAX_NAME_BYTES};
pub use value::{ColumnType, IndexKey, Value};

/// A fresh, empty in-memory database: the reference backend, and the one tests swap in.
/// Its clones share the data; nothing survives the process.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let db = plinth::memory();
/// assert_eq!(db.backend_name(), "memory");
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn memory() -> Database {
    Database::new(engine::EngineBackend::new(engine::MemoryStore::new()))
}
