//! How the record engine applies a schema migration, for every store alike: read the
//! tables it touches as stored, run its steps over their rows in memory, and hand the
//! store one [`Replacement`] to write atomically.

use chrono::{DateTime, Utc};

use crate::backend::{clock, engine_column, engine_column_def, intern_table, Row, RowMeta, StoredRow};
use crate::engine::upgrade::check_distinct;
use crate::engine::StoreMut;
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::migrate::{check_steps, MigrationRecord, Shapes, Step};
use crate::table::{ColumnDef, Table};
use crate::value::Value;

/// How many times the record engine reads a migration's tables again when a commit
/// changed them between the read and the write.
const ATTEMPTS: usize = 20;

/// What a schema migration writes, all or nothing: the tables it touches go, those it
/// leaves come, and its record is inserted.
#[derive(Debug)]
pub struct Replacement {
    /// The tables as they were read: each is removed whole — rows, unique index
    /// entries, schema, id sequence.
    pub removed: Vec<RemovedTable>,
    /// The tables written in their place, each with every row.
    pub added: Vec<ReplacedTable>,
    /// The migration's record, a new row of [`MigrationRecord`]'s table: if a row
    /// holds its version already once the store is in its atomic write, nothing is
    /// written and [`StoreMut::replace`] answers `false`.
    pub record: StoredRow,
}

/// What [`StoreMut::replace`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    /// Everything was written.
    Done,
    /// A record of the migration's version was there already (another handle applied
    /// it): nothing was written.
    AlreadyRecorded,
    /// A removed table's rows are not those [`Replacement::read`] lists (a commit came
    /// in between): nothing was written.
    ChangedMeanwhile,
}

/// The `(id, updated_at)` of `rows`, by id: what [`Replacement::read`] holds.
pub fn row_versions<'r>(rows: impl IntoIterator<Item = &'r StoredRow>) -> Vec<(i64, DateTime<Utc>)> {
    let mut versions: Vec<(i64, DateTime<Utc>)> = rows.into_iter().map(|r| (r.meta.id, r.meta.updated_at)).collect();
    versions.sort_unstable();
    versions
}

/// A table a [`Replacement`] removes, as the migration read it.
#[derive(Debug)]
pub struct RemovedTable {
    /// The table, as stored when the migration read it. A store checks, inside its
    /// atomic write, that it is still stored so (else [`Error::SchemaMismatch`]:
    /// another process changed it).
    pub table: &'static Table,
    /// The rows the migration was computed from, as `(id, updated_at)` by id
    /// ([`row_versions`]): a store checks, inside its atomic write, that the table
    /// holds exactly these (else [`Replaced::ChangedMeanwhile`]: a commit came between
    /// the read and the write, and the migration must be computed again).
    pub rows: Vec<(i64, DateTime<Utc>)>,
}

/// A table a [`Replacement`] writes.
#[derive(Debug)]
pub struct ReplacedTable {
    /// The table, as the migration leaves it.
    pub table: &'static Table,
    /// Every row, in its columns.
    pub rows: Vec<StoredRow>,
    /// The removed table whose id sequence it continues (its own name, or the one it had
    /// before a rename), so no id is handed out twice.
    pub sequence_of: &'static str,
}

/// A table as the steps leave it, so far.
struct Working {
    name: &'static str,
    columns: Vec<ColumnDef>,
    rows: Vec<StoredRow>,
    sequence_of: &'static str,
}

/// Applies `steps` on `store`, inserting `record` (see
/// [`Backend::apply_migration`](crate::backend::Backend::apply_migration)); computed
/// again from a fresh read when a commit changed the tables between read and write.
pub(crate) async fn apply_migration<S: StoreMut + ?Sized>(store: &S, steps: &[Step], record: &Row) -> Result<bool> {
    for _ in 0..ATTEMPTS {
        match store.replace(replacement(store, steps, record).await?).await? {
            Replaced::Done => return Ok(true),
            Replaced::AlreadyRecorded => return Ok(false),
            Replaced::ChangedMeanwhile => {}
        }
    }
    Err(Error::backend(
        store.name(),
        format!("the tables kept changing while a migration read them ({ATTEMPTS} attempts); migrate again"),
    ))
}

/// The migration's writes, computed from the tables as stored now.
async fn replacement<S: StoreMut + ?Sized>(store: &S, steps: &[Step], record: &Row) -> Result<Replacement> {
    let mut shapes = Shapes::default();
    let mut removed = Vec::new();
    let mut tables = Vec::new();
    for name in Shapes::names(steps) {
        let stored = store.stored_columns(name).await?;
        if let Some(columns) = &stored {
            let columns = columns.iter().map(|c| engine_column_def(name, c)).collect::<Result<Vec<_>>>()?;
            let table = intern_table(name, &columns);
            let rows = store.scan(table).await?;
            removed.push(RemovedTable { table, rows: row_versions(&rows) });
            tables.push(Working { name, columns, rows, sequence_of: name });
        }
        shapes.insert(name, stored);
    }
    check_steps(steps, &mut shapes, &engine_column)?;
    for step in steps {
        run_step(step, &mut tables)?;
    }
    let added = tables
        .into_iter()
        .map(|working| ReplacedTable {
            table: intern_table(working.name, &working.columns),
            rows: working.rows,
            sequence_of: working.sequence_of,
        })
        .collect();
    let record_table = MigrationRecord::table();
    let id = store.allocate_ids(record_table, 1).await?;
    let now = clock::now();
    let record = StoredRow { meta: RowMeta { id, created_at: now, updated_at: now }, row: record.clone() };
    Ok(Replacement { removed, added, record })
}

/// One step over the rows in memory; [`check_steps`] has checked it already.
fn run_step(step: &Step, tables: &mut [Working]) -> Result<()> {
    let table = step.table();
    let working = tables.iter_mut().find(|t| t.name == table).ok_or(Error::NoSuchTable { table })?;
    let position = |columns: &[ColumnDef], name: &str| {
        columns
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::UnknownColumn { table, column: name.to_owned() })
    };
    let each_row = |rows: &mut Vec<StoredRow>, change: &dyn Fn(&mut Vec<Value>, i64) -> Result<()>| -> Result<()> {
        for stored in rows.iter_mut() {
            change(stored.row.values_mut(), stored.meta.id)?;
        }
        Ok(())
    };
    match *step {
        Step::AddColumn { column, .. } => {
            let fill = column.fill_value().unwrap_or(Value::Null);
            working.columns.push(column);
            each_row(&mut working.rows, &|values, _| {
                values.push(fill.clone());
                Ok(())
            })?;
            if column.is_unique() {
                check_distinct(table, column.name(), working.columns.len() - 1, &working.rows)?;
            }
        }
        Step::DropColumn { column, .. } => {
            let i = position(&working.columns, column)?;
            working.columns.remove(i);
            each_row(&mut working.rows, &|values, _| {
                values.remove(i);
                Ok(())
            })?;
        }
        Step::RenameColumn { from, to, .. } => {
            let i = position(&working.columns, from)?;
            working.columns[i] = working.columns[i].renamed(to);
        }
        Step::RenameTable { to, .. } => working.name = to,
        Step::ChangeType { to, convert, .. } => {
            let i = position(&working.columns, to.name())?;
            working.columns[i] = to;
            let check = intern_table(table, &[to]);
            each_row(&mut working.rows, &|values, id| {
                let converted = convert(std::mem::replace(&mut values[i], Value::Null)).map_err(|reason| {
                    Error::InvalidValue { table, column: Some(to.name()), reason: format!("id {id}: {reason}") }
                })?;
                check.check_row(&Row::new(vec![converted.clone()])).map_err(|e| Error::InvalidValue {
                    table,
                    column: Some(to.name()),
                    reason: format!("id {id}: the converted value does not fit: {e}"),
                })?;
                values[i] = converted;
                Ok(())
            })?;
            if to.is_unique() {
                check_distinct(table, to.name(), i, &working.rows)?;
            }
        }
        Step::AddUnique { column, .. } | Step::DropUnique { column, .. } => {
            let i = position(&working.columns, column)?;
            let adding = matches!(step, Step::AddUnique { .. });
            working.columns[i] = working.columns[i].set_unique(adding);
            if adding {
                check_distinct(table, column, i, &working.rows)?;
            }
        }
        Step::AddIndex { column, .. } | Step::DropIndex { column, .. } => {
            let i = position(&working.columns, column)?;
            working.columns[i] = working.columns[i].set_indexed(matches!(step, Step::AddIndex { .. }));
        }
    }
    Ok(())
}
