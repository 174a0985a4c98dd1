//! What a backend author needs: the traits a backend implements, and the types they
//! trade in — rows as values ([`Row`], [`RowMeta`], [`StoredRow`]), a table's columns
//! ([`ColumnDef`], [`ColumnRef`]), a checked query ([`Select`] and its [`Predicate`]s),
//! keys for unique indexes ([`IndexKey`]), the [`clock`] rows are stamped with, and the
//! schema comparison every backend shares. User code does not need them; it uses
//! [`Database`](crate::Database), [`Session`](crate::Session) and entities. The record
//! engine, for backends that store rows by key, is [`crate::engine`].
//!
//! Futures are `Send` on native targets (so a session can live in an axum handler) and
//! not on wasm32, where JavaScript futures never are: one trait, two `async_trait`
//! attributes, and the [`SendOutsideWasm`] / [`SyncOutsideWasm`] markers for bounds.

pub mod clock;
mod intern;
mod schema;

pub use crate::query::{compute_aggregates, undecodable_aggregate, AggregateFunction, Aggregated, Aggregation, Group};
pub use crate::query::{CompareOp, LikePattern, LikePiece, Predicate, Select, SortKey, MAX_CONDITIONS, MAX_NESTING};
pub use crate::row::{Row, RowMeta, RowUpdate, StoredFields, StoredRow};
pub use crate::table::{ColumnDef, ColumnRef};
pub use crate::value::IndexKey;

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::migrate::{Shapes, Step};
use crate::table::Table;

pub use crate::live::{ChangeHub, Changed, WeakChangeHub};
pub use crate::relations::{Referrer, Relations};
pub use crate::session::{record_from_stored, session_transaction};
pub use intern::{intern_name, intern_table};
pub(crate) use schema::same_but_for_indexes;
pub use schema::{
    check_engine_schema, check_schema, duplicated_values, engine_column, engine_column_def, engine_columns,
    engine_storage, parse_reference_words, reference_words, schema_changes, schema_differences, SchemaChange,
    StoredColumn,
};

/// `Send` on native targets; nothing on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait SendOutsideWasm: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> SendOutsideWasm for T {}

/// `Send` on native targets; nothing on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait SendOutsideWasm {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> SendOutsideWasm for T {}

/// `Sync` on native targets; nothing on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait SyncOutsideWasm: Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Sync + ?Sized> SyncOutsideWasm for T {}

/// `Sync` on native targets; nothing on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait SyncOutsideWasm {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> SyncOutsideWasm for T {}

/// The rows of [`Transaction::stream`], as they are read. `Send` on native targets.
#[cfg(not(target_arch = "wasm32"))]
pub type RowStream<'a> = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<StoredRow>> + Send + 'a>>;

/// The rows of [`Transaction::stream`], as they are read.
#[cfg(target_arch = "wasm32")]
pub type RowStream<'a> = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<StoredRow>> + 'a>>;

/// What [`Transaction::select_into`] hands each row to: a row's id and timestamps and
/// its fields, to take. Any `FnMut(RowMeta, &mut dyn StoredFields) -> Result<()>` is one.
pub trait RowSink: SendOutsideWasm {
    /// Takes one row; an error ends the read.
    fn row(&mut self, meta: RowMeta, fields: &mut dyn StoredFields) -> Result<()>;
}

impl<F: FnMut(RowMeta, &mut dyn StoredFields) -> Result<()> + SendOutsideWasm> RowSink for F {
    fn row(&mut self, meta: RowMeta, fields: &mut dyn StoredFields) -> Result<()> {
        self(meta, fields)
    }
}

/// A storage engine: creates tables and begins transactions.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait Backend: SendOutsideWasm + SyncOutsideWasm + fmt::Debug {
    /// A short name for messages: `memory`, `postgres`, `sqlite`, `localStorage`…
    fn name(&self) -> &'static str;

    /// Creates the tables that do not exist yet, with their constraints and indexes.
    /// Running it again is harmless; a table that exists with another schema is
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch).
    async fn create_all(&self, tables: &[&'static Table]) -> Result<()>;

    /// Begins a transaction.
    async fn begin(&self) -> Result<Box<dyn Transaction>>;

    /// Begins a transaction for a single write and nothing else (one insert, update or
    /// delete of [`Database`](crate::Database)'s one-shot writes). The default is
    /// [`begin`](Backend::begin); SQL backends run the write as one statement that
    /// commits by itself, without the round trips of `BEGIN` and `COMMIT`, which is as
    /// atomic as the write is one statement.
    async fn begin_single_write(&self) -> Result<Box<dyn Transaction>> {
        self.begin().await
    }

    /// Applies a schema migration's `steps` atomically with the insert of `record` (a
    /// row of [`MigrationRecord`](crate::migrate::MigrationRecord)'s table, which
    /// exists): checks them with [`check_steps`](crate::migrate::check_steps) against
    /// the tables as stored, runs them, and inserts the record, all or none. If a
    /// record of the same version exists once the backend holds its write lock (another
    /// process applied the migration meanwhile), nothing is written and the answer is
    /// `false`.
    async fn apply_migration(&self, steps: &'static [Step], record: &Row) -> Result<bool>;

    /// How the tables named `names` are stored now, in the backend's words (the system
    /// columns left out), for [`check_steps`](crate::migrate::check_steps); `None` for
    /// a table that does not exist.
    async fn stored_shapes(&self, names: &[&'static str]) -> Result<Shapes>;

    /// The tables stored that a delete or a reference may have to look at, as the
    /// storage describes them (their references included), for a handle that was not
    /// given them to know what refers to what: every table on the record engine, the
    /// tables with foreign keys on SQL.
    async fn stored_tables(&self) -> Result<Vec<&'static Table>>;

    /// This backend's registry of tables and their references, shared by every
    /// `Database` and session over it.
    fn relations(&self) -> Relations;

    /// This backend's hub of committed changes, shared by every `Database` and session
    /// over it: sessions publish their commits to it, [`Database::watch`](crate::Database::watch)
    /// listens, and a backend that hears of commits made elsewhere publishes them too.
    fn changes(&self) -> ChangeHub;

    /// Called when a live query starts ([`Database::watch`](crate::Database::watch)): a
    /// backend that can hear of commits made elsewhere (another process) starts
    /// listening, once, and publishes them to [`changes`](Backend::changes). Nothing by
    /// default.
    fn watching(&self) {}

    /// A column as this backend would store it, in the words of
    /// [`stored_shapes`](Backend::stored_shapes).
    fn column_words(&self, column: &ColumnDef) -> StoredColumn;

    /// This backend as its own type, for the crate that defines it to reach what
    /// Plinth does not wrap (`plinth-sqlx` hands out its sqlx pool); `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// Waits `duration` on the backend's own runtime, before
    /// [`Database::transaction`](crate::Database::transaction) runs a session again.
    /// The default does not wait: right for a backend whose sessions never wait for
    /// each other (the record engine: they meet only at commit).
    async fn pause(&self, duration: std::time::Duration) {
        let _ = duration;
    }

    /// What applying each of `migrations` (the steps of each, in order; empty for a
    /// data migration) one after the other would run: SQL statements on SQL backends,
    /// the steps themselves (the default) elsewhere.
    async fn describe_migrations(&self, migrations: &[&'static [Step]]) -> Result<Vec<Vec<String>>> {
        Ok(migrations.iter().map(|steps| steps.iter().map(ToString::to_string).collect()).collect())
    }
}

/// One transaction: every read sees its own writes, no other session sees them before
/// [`commit`](Transaction::commit), and dropping it rolls it back.
///
/// Rows passed in have been checked with [`Table::check_row`]; selects have been bound
/// with [`Select::bind`]. Timestamps are UTC with microsecond precision.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait Transaction: SendOutsideWasm {
    /// Inserts rows, returning their ids (ascending, in input order) and timestamps
    /// (`created_at == updated_at`). A unique violation inserts none of them.
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>>;

    /// The row with this id, if it exists.
    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>>;

    /// Replaces the fields of row `id` if its `updated_at` is still `seen` (the caller's
    /// copy is current), keeping `created_at` and moving `updated_at` strictly forward.
    /// [`Error::Conflict`](crate::Error::Conflict) if the row was written since `seen`
    /// (or, on backends that check unique values in the same statement, if the write kept
    /// being refused without a cause it could name),
    /// [`Error::NotFound`](crate::Error::NotFound) if it is gone.
    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta>;

    /// Updates several rows of `table` as one write: each as [`update`](Transaction::update)
    /// would, in order, so a unique value is checked against the rows updated before it.
    /// If any is refused, none of them is written (the answer is that refusal) and the
    /// transaction goes on. Returns the rows' new ids and timestamps, in input order.
    async fn update_many(&mut self, table: &'static Table, updates: &[RowUpdate]) -> Result<Vec<RowMeta>>;

    /// Deletes row `id`; [`Error::NotFound`](crate::Error::NotFound) if it is gone.
    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()>;

    /// The rows matching `select`, in its order.
    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>>;

    /// The rows [`select`](Transaction::select) returns, handed to `sink` one by one as
    /// they are read, for core to decode each straight into its entity; an error from
    /// `sink` ends the read with that error. The default hands over `select`'s rows; a
    /// SQL backend hands over each driver row as it arrives, its fields read when
    /// [`Entity::from_fields`](crate::Entity::from_fields) takes them, so no
    /// [`StoredRow`] is built.
    async fn select_into(&mut self, table: &'static Table, select: &Select, sink: &mut dyn RowSink) -> Result<()> {
        for mut stored in self.select(table, select).await? {
            sink.row(stored.meta, &mut stored.row)?;
        }
        Ok(())
    }

    /// Deletes the rows `ids` of `table` as one write, references checked at its end
    /// (as SQL's `NO ACTION`: rows that refer to each other may go together); how many
    /// of them existed. The default deletes them one by one, a missing one skipped
    /// (the record engine checks references at commit).
    async fn delete_many(&mut self, table: &'static Table, ids: &[i64]) -> Result<u64> {
        let mut deleted = 0;
        for &id in ids {
            match self.delete(table, id).await {
                Ok(()) => deleted += 1,
                Err(crate::Error::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(deleted)
    }

    /// The rows [`select`](Transaction::select) would return, in its order, as a stream
    /// that holds no more of them than the backend must: SQL reads them off the open
    /// statement as the stream is polled. The default reads them all with `select` and
    /// hands them out one by one (the record engine, whose queries read whole tables).
    fn stream<'a>(&'a mut self, table: &'static Table, select: Select) -> RowStream<'a> {
        use futures_util::StreamExt as _;
        let rows = futures_util::stream::once(async move {
            let rows: Vec<Result<StoredRow>> = match self.select(table, &select).await {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(err) => vec![Err(err)],
            };
            futures_util::stream::iter(rows)
        });
        Box::pin(rows.flatten())
    }

    /// How many rows [`select`](Transaction::select) would return.
    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64>;

    /// The groups of the rows `select` returns, and `aggregation`'s functions over each
    /// (see [`Aggregation`] for the order and the group with no key). The default reads
    /// the rows and computes in Rust ([`compute_aggregates`]); a SQL backend lets the
    /// database compute the same.
    async fn aggregate(
        &mut self,
        table: &'static Table,
        select: &Select,
        aggregation: &Aggregation,
    ) -> Result<Vec<Group>> {
        let rows = self.select(table, select).await?;
        for row in &rows {
            table.check_stored(row)?;
        }
        Ok(compute_aggregates(&rows, aggregation))
    }

    /// This transaction as its own type, for the crate that defines it to offer what
    /// Plinth does not wrap (`plinth-sqlx`'s raw SQL on the session's transaction);
    /// `None` by default.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }

    /// Makes every write visible at once, or none of them.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Discards every write.
    async fn rollback(self: Box<Self>) -> Result<()>;
}
