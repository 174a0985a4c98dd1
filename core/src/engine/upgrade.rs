//! [`TableUpgrade`]: how the record engine brings a stored table to its entity's
//! schema in `create_all` — decided once here for every store, as [`CommitPlan`] decides
//! a commit.
//!
//! [`CommitPlan`]: crate::engine::CommitPlan

use std::collections::HashMap;

use crate::backend::{
    duplicated_values, engine_columns, same_but_for_indexes, schema_changes, SchemaChange, StoredColumn,
};
use crate::error::Result;
use crate::row::StoredRow;
use crate::table::Table;
use crate::value::{IndexKey, Value};

/// The changes `create_all` makes to a table the record engine stores with another
/// schema: the columns added (the stored rows get their fill value) and the unique
/// constraints added (checked against the stored values). The engine's stores keep a
/// row's values in column order and have no indexes but the unique ones, so an
/// upgrade rewrites every row in the entity's order, and an index more or less is no
/// upgrade at all.
///
/// A store executes an upgrade atomically, with the other tables of the same
/// `create_all`: it reads every stored row with [`fills`](TableUpgrade::fills) for the
/// columns it lacks, asks [`unique_entries`](TableUpgrade::unique_entries) for the new
/// unique index (which refuses duplicated values), and only then writes the rows, the
/// index and the new schema.
#[derive(Debug)]
pub struct TableUpgrade {
    table: &'static Table,
    changes: Vec<SchemaChange>,
}

impl TableUpgrade {
    /// The upgrade from the columns `stored` (as [`engine_columns`] describes them) to
    /// `table`'s: `None` if there is nothing to change (indexes aside),
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) if `create_all` does not
    /// make some difference by itself.
    pub fn plan(table: &'static Table, stored: &[StoredColumn]) -> Result<Option<Self>> {
        let expected = engine_columns(table);
        if same_but_for_indexes(&expected, stored) {
            return Ok(None);
        }
        let changes = schema_changes(table, &expected, stored)?;
        let changes = changes.into_iter().filter(|c| !matches!(c, SchemaChange::AddIndex { .. })).collect();
        Ok(Some(TableUpgrade { table, changes }))
    }

    /// The table as its entity declares it.
    pub fn table(&self) -> &'static Table {
        self.table
    }

    /// The changes, in order; empty if only the columns' order differs.
    pub fn changes(&self) -> &[SchemaChange] {
        &self.changes
    }

    /// For each of the entity's columns: the value a stored row that lacks it holds,
    /// if the upgrade adds it.
    pub fn fills(&self) -> Vec<Option<Value>> {
        let mut fills = vec![None; self.table.columns().len()];
        for change in &self.changes {
            if let SchemaChange::AddColumn { column } = *change {
                fills[column] = self.table.columns()[column].fill_value();
            }
        }
        fills
    }

    /// The entries of the unique indexes the upgrade adds, for `rows` (every stored
    /// row, already in the entity's layout): `(column, value, id)` for each non-null
    /// value; [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) if a column's
    /// values are not distinct.
    pub fn unique_entries<'r>(&self, rows: &'r [StoredRow]) -> Result<Vec<(usize, &'r Value, i64)>> {
        let mut entries = Vec::new();
        for change in &self.changes {
            let SchemaChange::AddUnique { column } = *change else { continue };
            check_distinct(self.table.name(), self.table.columns()[column].name(), column, rows)?;
            let values = rows.iter().map(|row| (&row.row.values()[column], row.meta.id));
            entries.extend(values.filter(|(value, _)| !value.is_null()).map(|(value, id)| (column, value, id)));
        }
        Ok(entries)
    }
}

/// Refuses a unique constraint on column `name` (at `position`) of `table` whose
/// values in `rows` are not distinct ([`duplicated_values`]).
pub(crate) fn check_distinct(table: &'static str, name: &str, position: usize, rows: &[StoredRow]) -> Result<()> {
    let mut seen: HashMap<IndexKey, u32> = HashMap::with_capacity(rows.len());
    for row in rows {
        let value = &row.row.values()[position];
        if !value.is_null() {
            *seen.entry(IndexKey(value.clone())).or_default() += 1;
        }
    }
    let duplicated = seen.values().filter(|&&n| n > 1).count() as u64;
    match duplicated {
        0 => Ok(()),
        _ => Err(duplicated_values(table, name, duplicated)),
    }
}
