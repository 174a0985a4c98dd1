//! [`Store`] and [`StoreMut`]: what a storage must do for the record engine to run on
//! it — read committed rows, and write tables, ids and commits.

use std::fmt;

use async_trait::async_trait;

use crate::backend::{SendOutsideWasm, StoredColumn, SyncOutsideWasm};
use crate::engine::{CommitPlan, IndexScan, Replaced, Replacement};
use crate::error::{Error, Result};
use crate::row::StoredRow;
use crate::table::Table;
use crate::value::Value;

/// Committed rows of many tables, keyed by table and id, with a unique index per
/// unique column (and, where the store keeps them, an index per indexed column): what
/// the record engine reads.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait Store: SendOutsideWasm + SyncOutsideWasm + fmt::Debug + 'static {
    /// A short name for messages.
    fn name(&self) -> &'static str;

    /// The committed row `id` of `table`.
    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>>;

    /// The committed rows of `table` with these ids (distinct), those that exist, in
    /// any order: one read where the store can batch them (the default reads each).
    async fn get_many(&self, table: &'static Table, ids: &[i64]) -> Result<Vec<StoredRow>> {
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            rows.extend(self.get(table, *id).await?);
        }
        Ok(rows)
    }

    /// The committed rows of `table` whose ids are from `first` to `last`, in any
    /// order: a range read where the store keeps rows in id order (the default scans).
    async fn scan_ids(&self, table: &'static Table, first: i64, last: i64) -> Result<Vec<StoredRow>> {
        let mut rows = self.scan(table).await?;
        rows.retain(|row| (first..=last).contains(&row.meta.id));
        Ok(rows)
    }

    /// A page of the committed rows of `table`: those with ids after `after`, ascending,
    /// at most `limit`; `None` (the default) where the store does not keep rows in id
    /// order to page through, and a stream of the table reads it at once instead.
    async fn scan_page(&self, table: &'static Table, after: i64, limit: usize) -> Result<Option<Vec<StoredRow>>> {
        let _ = (table, after, limit);
        Ok(None)
    }

    /// Every committed row of `table`, in any order (the engine sorts).
    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>>;

    /// The committed rows of `table` whose value in the indexed column `column` the
    /// scan admits, in any order, read through the store's index of that column (kept
    /// by the store for every row, whichever entity wrote it, where the stored table
    /// has the index); rows the scan does not admit may be among them (the engine
    /// applies the whole filter). `None` (the default) where the store keeps no such
    /// index, or not for every row: the engine scans the table instead.
    async fn scan_index(
        &self,
        table: &'static Table,
        column: usize,
        scan: &IndexScan,
    ) -> Result<Option<Vec<StoredRow>>> {
        let _ = (table, column, scan);
        Ok(None)
    }

    /// The id of the committed row holding `value` in unique column `column`.
    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>>;
}

/// What the record engine writes to a [`Store`]: tables, an id sequence per table, and
/// commits.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait StoreMut: Store {
    /// Registers tables (idempotent); a stored table with another schema is
    /// [`Error::SchemaMismatch`].
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()>;

    /// Reserves `count` consecutive ids, returning the first. Ids are never handed out
    /// twice, even to two handles on the same storage, and never reused.
    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64>;

    /// Executes `plan` atomically: reads each changed row's committed state and checks
    /// it ([`Change::check_current`](crate::engine::Change::check_current)), reads the
    /// owner of each of the plan's unique values, and executes the writes of
    /// [`CommitPlan::decide`]; on any error nothing is written.
    async fn apply(&self, plan: CommitPlan) -> Result<()>;

    /// The columns stored for the table named `name`, as
    /// [`engine_columns`](crate::backend::engine_columns) describes them, if it exists.
    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<StoredColumn>>>;

    /// The names of every table stored, in any order: where a handle that was not
    /// given the tables finds their references.
    async fn table_names(&self) -> Result<Vec<String>>;

    /// Writes `replacement` atomically (a schema migration): unless its record's
    /// version is recorded already ([`Replaced::AlreadyRecorded`]) or a removed table's
    /// rows are no longer those it was computed from ([`Replaced::ChangedMeanwhile`]),
    /// checks that every removed table is still stored with its schema, removes them
    /// whole and writes the added tables, their unique index entries and id sequences,
    /// and the record; on any error, and in those two cases, nothing is written.
    async fn replace(&self, replacement: Replacement) -> Result<Replaced>;
}

/// The ids `count` new rows of `table` get after the last one handed out, `last`, on a
/// store that holds ids up to `max`: the first of them and the new last one, or the
/// error every store gives when the sequence is exhausted.
pub fn next_ids(store: &'static str, table: &Table, last: i64, count: u64, max: i64) -> Result<(i64, i64)> {
    let next = i64::try_from(count).ok().and_then(|count| last.checked_add(count)).filter(|next| *next <= max);
    match next {
        Some(next) => Ok((last + 1, next)),
        None => Err(Error::backend(
            store,
            format!(
                "table `{}`: the id sequence is exhausted ({count} more ids after {last}, at most {max})",
                table.name()
            ),
        )),
    }
}
