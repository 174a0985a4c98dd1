//! [`RecordStore`]: what a storage must do for the record engine to run on it.

use std::collections::HashSet;
use std::fmt;

use async_trait::async_trait;

use crate::backend::{SendOutsideWasm, SyncOutsideWasm};
use crate::error::{Error, Result};
use crate::row::StoredRow;
use crate::table::Table;
use crate::value::{IndexKey, Value};

/// One row's change in a commit: what the session saw before, and what it wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The table.
    pub table: &'static Table,
    /// The row's id.
    pub id: i64,
    /// The committed row the session based its write on; `None` for an insert.
    pub before: Option<StoredRow>,
    /// The row to store; `None` for a delete.
    pub after: Option<StoredRow>,
}

/// Committed rows of many tables, keyed by table and id, with a unique index per
/// unique column and an id sequence per table. The record engine builds sessions on it.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait RecordStore: SendOutsideWasm + SyncOutsideWasm + fmt::Debug + 'static {
    /// A short name for messages.
    fn name(&self) -> &'static str;

    /// Registers tables (idempotent); a stored table with another schema is
    /// [`Error::SchemaMismatch`].
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()>;

    /// The committed row `id` of `table`.
    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>>;

    /// Every committed row of `table`, in any order (the engine sorts).
    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>>;

    /// The id of the committed row holding `value` in unique column `column`.
    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>>;

    /// Reserves `count` consecutive ids, returning the first. Ids are never handed out
    /// twice, even to two handles on the same storage, and never reused.
    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64>;

    /// Applies `changes` atomically: if any row's committed state differs from its
    /// `before` ([`Error::Conflict`]) or a unique column would hold a value twice
    /// ([`Error::UniqueViolation`], see [`check_unique`]), nothing is written.
    async fn apply(&self, changes: Vec<Change>) -> Result<()>;
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

/// Checks that applying `changes` leaves every unique column unique. `owner` finds the
/// committed row holding a value; rows the change set itself rewrites do not count.
pub fn check_unique(
    changes: &[Change],
    mut owner: impl FnMut(&'static Table, usize, &Value) -> Result<Option<i64>>,
) -> Result<()> {
    let rewritten: HashSet<(&str, i64)> = changes.iter().map(|c| (c.table.name(), c.id)).collect();
    let mut claimed: HashSet<(&str, usize, IndexKey)> = HashSet::new();
    for change in changes {
        let Some(after) = &change.after else { continue };
        for (column, value) in change.table.unique_values(&after.row) {
            let violation = || Error::UniqueViolation {
                table: change.table.name().to_owned(),
                column: change.table.columns()[column].name().to_owned(),
            };
            if !claimed.insert((change.table.name(), column, IndexKey(value.clone()))) {
                return Err(violation());
            }
            match owner(change.table, column, value)? {
                Some(id) if id != change.id && !rewritten.contains(&(change.table.name(), id)) => {
                    return Err(violation())
                }
                _ => {}
            }
        }
    }
    Ok(())
}
