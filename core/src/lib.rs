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
//! exact round trips, one query order — are stated as tests in `plinth-conformance`.
//!
//! # Queries
//!
//! [`Query`] (from [`Session::query`]) filters with [`Filter`]s built from an entity's
//! typed [`Column`]s, orders, limits and offsets, and is checked against the table
//! before any I/O. One semantics on every backend:
//!
//! - **Comparisons** follow SQL: a comparison with a `NULL` column is unknown, so
//!   `ne("x")` does not match rows where the column is `NULL`; `and`, `or` and `!` use
//!   three-valued logic. Test for `NULL` with `is_null` / `is_not_null`.
//! - **Text** compares and sorts by UTF-8 bytes (PostgreSQL `COLLATE "C"`, SQLite
//!   `BINARY`): `"Z" < "a" < "é"`. No locale, no case folding.
//! - **LIKE** is case-sensitive; `%` matches any run of characters, `_` exactly one
//!   character, and `\` makes the next character literal (`like_escape` builds safe
//!   patterns from user input).
//! - **Order**: `NULL`s sort last on ascending keys and first on descending ones (as if
//!   `NULL` were the largest value); rows equal on every key are ordered by `id`, so
//!   every backend returns the same sequence.
//! - **JSON** columns support only `is_null`; no two backends agree on JSON equality.
//! - `count` counts what `all` would return, limit and offset included.
//! - **Size**: an `is_in` list may be as long as memory allows; a filter holds at most
//!   [`MAX_CONDITIONS`](backend::MAX_CONDITIONS) conditions nested at most
//!   [`MAX_NESTING`](backend::MAX_NESTING) deep, and a larger one is refused with
//!   `Error::InvalidValue` before any I/O, on every backend.
//!
//! # Tiers
//!
//! The crate root is what an application uses. What only a backend author needs — rows
//! as values, checked queries, the clock, the traits a backend implements — is in
//! [`backend`]; the record engine that runs sessions over any key-value storage is in
//! [`engine`].

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

// So the derive's `::plinth::…` paths resolve inside this crate too (the migration
// record and the unit tests derive their entities).
extern crate self as plinth;

pub mod backend;
mod database;
pub mod engine;
mod entity;
mod error;
mod field;
mod id;
mod live;
pub mod migrate;
mod query;
mod record;
mod relations;
mod retry;
mod row;
mod session;
mod table;
mod value;

#[doc(hidden)]
pub mod __private;

/// The guide in `docs/`: every page's examples run as doctests.
#[cfg(doctest)]
mod guide;

pub use database::Database;
pub use entity::{DecodeError, Entity};
pub use error::{BoxError, Error, Result};
pub use field::{Comparable, Field, Nullable, Ordered};
pub use id::Id;
pub use live::LiveQuery;
pub use plinth_derive::{Entity, Field};
pub use query::{
    count, like_escape, Aggregate, Aggregates, Assignment, Assignments, Column, Direction, DynColumn, Filter,
    GroupKeys, Grouped, Order, Query, SumValue, Summable,
};
pub use record::Record;
pub use relations::{Children, Parents, RefersTo};
pub use retry::{RetryPolicy, SessionFuture};
pub use session::Session;
pub use table::{OnDelete, Reference, Table, MAX_LENGTH_LIMIT, MAX_NAME_BYTES};
pub use value::{ColumnType, Value};

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
