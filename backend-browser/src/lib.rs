//! Plinth in the browser: what a wasm front end imports. [`connect`] turns a URL into a
//! [`Database`](plinth::Database); everything after that is the `plinth` API, the same as on the server.
//!
//! ```no_run
//! use plinth::Entity;
//!
//! #[derive(Entity, Clone, Debug, PartialEq)]
//! pub struct User {
//!     #[entity(unique)]
//!     pub username: String,
//!     pub email_address: String,
//! }
//!
//! # async fn run() -> plinth::Result<()> {
//! let db = plinth_browser::connect("indexeddb://my-app").await?; // or local://my-app, session://my-app
//! db.create_all(&[User::table()]).await?;
//! let mut session = db.session().await?;
//! session.add(User { username: "ada".into(), email_address: "ada@example.com".into() }).await?;
//! session.commit().await?;
//! # Ok(()) }
//! ```
//!
//! # Stores
//!
//! | URL                  | storage          | lives                          |
//! |----------------------|------------------|--------------------------------|
//! | `local://NAME`       | `localStorage`   | until cleared, shared by tabs  |
//! | `session://NAME`     | `sessionStorage` | while the tab lives            |
//! | `indexeddb://NAME`   | IndexedDB        | until cleared, shared by tabs  |
//!
//! NAME (letters, digits, `-`, `_`, `.`) namespaces the keys (`plinth/NAME/…`) or names
//! the IndexedDB database (`plinth/NAME`), so several databases and other code can
//! share an origin.
//!
//! All three run the record engine of `plinth::memory()`: a session stages its writes
//! and hands them to the store at commit as one change set, which the store checks
//! (nothing changed underneath, unique columns stay unique) and applies all or nothing.
//! The same engine over [`MemoryKeyValue`] runs the conformance suite natively.
//!
//! # Web storage layout
//!
//! Under `plinth/NAME/`: `t/TABLE/schema` (the columns, so a reopened database knows
//! its tables), `t/TABLE/seq` (the last id handed out), `t/TABLE/r/ID` (a row as a
//! JSON object in column order, readable in the browser's storage inspector),
//! `t/TABLE/u/COLUMN/VALUE` (the id holding a unique value), `generation` (the last
//! writer's turn this tab has seen), `schemas` (the schema generation: see below), and
//! `journal` while a commit is being applied. A
//! commit writes the journal — every new value and every old one — before touching
//! anything, so a commit cut off by a closed tab is finished by the next writer, and a
//! `QuotaExceededError` half-way puts every old value back and returns
//! [`plinth::Error::QuotaExceeded`].
//!
//! # Schema changes
//!
//! `create_all`'s additive changes and [`migrate`](plinth::Database::migrate)'s steps
//! rewrite the rows they touch and the tables' schemas in one atomic write — through
//! the journal on web storage, in one readwrite transaction on IndexedDB (the object
//! stores are fixed, so no version change is needed) — together with a new *schema
//! generation*. Every operation reads the generation (one key, or one request in its
//! own transaction); when another page changed a schema this page was using, the
//! operation is [`plinth::Error::SchemaChanged`], telling the page to reload, never a
//! decode failure.
//!
//! # Several tabs on one `localStorage`
//!
//! Each tab holds a copy of `localStorage` of its own that hears of the other tabs'
//! writes later, so a lock alone does not keep two tabs from writing on stale data.
//! Every write of `local://NAME` is made in a turn: a Web Lock, plus a turn counter in
//! an IndexedDB database `plinth/NAME/localStorage`, and each turn first waits until
//! its tab's copy holds the previous turn's last write. [`tabs`] states the protocol
//! and why it is correct. It needs the Web Locks API, which browsers offer to secure
//! pages only (`https`, or `localhost`); elsewhere `connect("local://…")` is
//! [`plinth::Error::Connection`] saying so. `session://` needs no turns: each tab has a
//! sessionStorage of its own.

//! # IndexedDB
//!
//! Three object stores, made in the `onupgradeneeded` of layout version 1: `records`
//! (key `[table, id]`; a row's JSON text, or, in a table with indexed columns,
//! `{row: TEXT, ix: [[table, column, sort key], …]}`), `unique` (key
//! `[table, column, value]` → id) and `meta` (schemas, id sequences and which columns'
//! index entries are complete, key `[kind, table]`). Version 2 added the `multiEntry`
//! index `ix` of `records`: one entry per row and indexed column, written by the
//! browser with the row itself, which a filter on an indexed column reads (sort keys
//! are binary, so they order as the values compare; see `plinth::engine::sort_key`).
//! A commit is ONE readwrite transaction that
//! reads what it must check, then issues every write, then awaits completion: no
//! transaction is ever held across an `await` of user code, so IndexedDB's auto-commit
//! cannot cut a session in half, and IndexedDB serialises overlapping readwrite
//! transactions, so two tabs cannot interleave commits or share an id. Ids are
//! reserved ahead per page in blocks (one readwrite transaction per block, doubling
//! up to 64 ids), so adding a row and committing it is one transaction; what a page
//! reserved and did not use when it closes is a gap, never an id handed out twice.
//!
//! Another page that upgrades the database to a newer layout version or deletes it
//! (`indexedDB.deleteDatabase`, "clear site data") needs every other connection
//! closed, and waits, blocked, until they are. So a handle closes its connection as
//! soon as it is told (`onversionchange`, or `onclose` when the browser closes it):
//! transactions already issued finish first, so every commit that returned `Ok` is
//! kept. The handle stays usable: its next operation opens a new connection. After a
//! delete that is a new, empty database, as `localStorage` is after `clear()`: its
//! tables are gone, so operations on them are [`plinth::Error::NoSuchTable`] until
//! `create_all` makes them again. After an upgrade by newer code, this code cannot
//! read the layout, and every operation is [`plinth::Error::Connection`] asking to
//! reload the page.
//!
//! New tables are rows of `meta`, not new object stores. Object stores per table would
//! need a version upgrade for every `create_all` that adds one, and an upgrade waits
//! until every other tab closes its connection; with fixed stores, `create_all` is an
//! ordinary transaction and the version changes only when this crate's layout does.
//! IndexedDB's own unique indexes are not used either: they cannot index booleans and
//! treat `NULL` as an invalid key, so the `unique` store holds the same encoded values
//! as web storage and is checked inside the commit's transaction.
//!
//! IndexedDB is reached through `web-sys` directly, not a wrapper crate. rexie 0.6
//! (its issue #36: `TransactionInactiveError` when a transaction meets an `await`), idb
//! 0.6 and indexed_db_futures 0.6 all work, but this backend needs only open, get,
//! getAll, put, delete and a transaction's completion — some 100 lines over
//! `web-sys` — and owning them keeps the one rule that matters (issue every request
//! before returning to the event loop) visible in this crate.
//!
//! Timestamps come from the browser's clock (`Date.now()`), truncated to microseconds
//! as on every backend; `to_dict()` has the same shape as on the server.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod codec;
mod connect;
/// Used by IndexedDB only; plain Rust, so its unit tests run natively.
#[cfg(any(test, target_arch = "wasm32"))]
mod id_blocks;
mod key_value;
mod layout;
mod schemas;
pub mod tabs;
mod url;
mod web_storage;

#[cfg(target_arch = "wasm32")]
mod browser_store;
#[cfg(target_arch = "wasm32")]
mod gloo_key_value;
#[cfg(target_arch = "wasm32")]
mod indexeddb;
#[cfg(target_arch = "wasm32")]
mod js_error;
#[cfg(target_arch = "wasm32")]
mod relay;

pub use connect::connect;
pub use key_value::{KeyValue, MemoryKeyValue};
pub use tabs::{Coordinator, OneTab, Turn};
pub use web_storage::WebStorageStore;

#[cfg(target_arch = "wasm32")]
pub use gloo_key_value::GlooKeyValue;
#[cfg(target_arch = "wasm32")]
pub use indexeddb::IndexedDbStore;
#[cfg(target_arch = "wasm32")]
pub use tabs::CrossTab;
