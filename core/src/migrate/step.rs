//! [`Step`]: one change a schema migration makes, written once and run on every
//! backend, and the check of a migration's steps against the tables as stored.

use std::fmt;

use crate::backend::{intern_table, StoredColumn};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::migrate::MigrationRecord;
use crate::table::{ColumnDef, Table, MAX_NAME_BYTES};
use crate::value::Value;

/// How [`Step::ChangeType`] turns each stored value of a column (`NULL` included) into
/// one of its new type; an `Err` stops the migration, which then changes nothing, and
/// its text says why.
pub type Conversion = fn(Value) -> std::result::Result<Value, String>;

/// One change of a schema migration. Steps name tables and columns as they are
/// stored at that point of the migrations (not as today's entities have them), so a
/// migration, once written, never changes.
///
/// ```
/// use plinth::backend::ColumnDef;
/// use plinth::migrate::Step;
/// static STEPS: [Step; 2] = [
///     Step::AddColumn { table: "notes", column: ColumnDef::of::<Option<String>>("colour") },
///     Step::RenameColumn { table: "notes", from: "body", to: "text" },
/// ];
/// assert_eq!(STEPS[1].to_string(), "rename column `notes`.`body` to `text`");
/// ```
#[derive(Clone, Copy)]
pub enum Step {
    /// Adds `column`; the stored rows get its default, or `NULL` if it is nullable (a
    /// column that is neither is refused). A unique column's values must be distinct.
    AddColumn {
        /// The table.
        table: &'static str,
        /// The new column.
        column: ColumnDef,
    },
    /// Drops a column, with its values, constraint and index.
    DropColumn {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// Renames a column, keeping its values, constraint and index.
    RenameColumn {
        /// The table.
        table: &'static str,
        /// The column's name now.
        from: &'static str,
        /// Its new name.
        to: &'static str,
    },
    /// Renames a table, keeping its rows, ids (the next id included) and constraints.
    RenameTable {
        /// The table's name now.
        from: &'static str,
        /// Its new name.
        to: &'static str,
    },
    /// Changes a column's type (or nullability, or length limit): every stored value
    /// goes through `convert`, and must fit the new column.
    ChangeType {
        /// The table.
        table: &'static str,
        /// The column as it is stored now (checked against the stored table).
        from: ColumnDef,
        /// The column as it will be, under the same name.
        to: ColumnDef,
        /// How each stored value becomes a value of `to`.
        convert: Conversion,
    },
    /// Adds a unique constraint; the stored values must be distinct.
    AddUnique {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// Drops a column's unique constraint.
    DropUnique {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// Adds an index.
    AddIndex {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// Drops an index.
    DropIndex {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
}

impl Step {
    /// The table the step changes (for a rename, its name before).
    pub fn table(&self) -> &'static str {
        match *self {
            Step::AddColumn { table, .. }
            | Step::DropColumn { table, .. }
            | Step::RenameColumn { table, .. }
            | Step::ChangeType { table, .. }
            | Step::AddUnique { table, .. }
            | Step::DropUnique { table, .. }
            | Step::AddIndex { table, .. }
            | Step::DropIndex { table, .. } => table,
            Step::RenameTable { from, .. } => from,
        }
    }
}

/// A column as a step states it: `TEXT NOT NULL`-like, in Rust's words.
fn column_text(column: &ColumnDef) -> String {
    let mut text = column.ty().rust_name().to_owned();
    if let Some(limit) = column.length_limit() {
        text.push_str(&format!("({limit})"));
    }
    if !column.nullable() {
        text.push_str(" NOT NULL");
    }
    if column.is_unique() {
        text.push_str(", unique");
    }
    if column.is_indexed() {
        text.push_str(", indexed");
    }
    if let Some(default) = column.default_value() {
        text.push_str(&format!(", default {default}"));
    }
    text
}

impl fmt::Display for Step {
    /// The step as a person reads it, and as a migration's checksum covers it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::AddColumn { table, column } => {
                write!(f, "add column `{table}`.`{}` ({})", column.name(), column_text(column))
            }
            Step::DropColumn { table, column } => write!(f, "drop column `{table}`.`{column}`"),
            Step::RenameColumn { table, from, to } => write!(f, "rename column `{table}`.`{from}` to `{to}`"),
            Step::RenameTable { from, to } => write!(f, "rename table `{from}` to `{to}`"),
            Step::ChangeType { table, from, to, .. } => {
                write!(f, "change column `{table}`.`{}` from {} to {}", from.name(), column_text(from), column_text(to))
            }
            Step::AddUnique { table, column } => write!(f, "add a unique constraint on `{table}`.`{column}`"),
            Step::DropUnique { table, column } => write!(f, "drop the unique constraint on `{table}`.`{column}`"),
            Step::AddIndex { table, column } => write!(f, "add an index on `{table}`.`{column}`"),
            Step::DropIndex { table, column } => write!(f, "drop the index on `{table}`.`{column}`"),
        }
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Step({self})")
    }
}

/// The tables a migration's steps touch, as stored before it, in a backend's words
/// ([`StoredColumn`]); `None` for a table that does not exist. [`check_steps`] walks
/// the steps over it.
#[derive(Clone, Debug, Default)]
pub struct Shapes {
    tables: Vec<(&'static str, Option<Vec<StoredColumn>>)>,
}

impl Shapes {
    /// Every table name `steps` use, in order of first mention: what a backend reads
    /// before [`check_steps`].
    pub fn names(steps: &[Step]) -> Vec<&'static str> {
        let mut names = Vec::new();
        for step in steps {
            let mentioned = match *step {
                Step::RenameTable { from, to } => vec![from, to],
                _ => vec![step.table()],
            };
            for name in mentioned {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Records how the backend stores `table` now (`None`: not at all).
    pub fn insert(&mut self, table: &'static str, columns: Option<Vec<StoredColumn>>) {
        self.tables.retain(|(name, _)| *name != table);
        self.tables.push((table, columns));
    }

    /// The columns of `table` as stored at this point of the steps.
    pub fn columns(&self, table: &str) -> Option<&[StoredColumn]> {
        self.tables.iter().find(|(name, _)| *name == table).and_then(|(_, columns)| columns.as_deref())
    }

    fn columns_mut(&mut self, table: &'static str) -> Result<&mut Vec<StoredColumn>> {
        self.tables
            .iter_mut()
            .find(|(name, _)| *name == table)
            .and_then(|(_, columns)| columns.as_mut())
            .ok_or(Error::NoSuchTable { table })
    }
}

/// Checks `steps` one after the other against `shapes` (the touched tables as the
/// backend stores them, in its words, which `words` gives for a column a step
/// declares), updating it to what they leave: every backend refuses the same steps
/// with the same error, before anything is written. What only the data can tell — a
/// conversion that fails, values that are not distinct — is found as the steps run.
pub fn check_steps(steps: &[Step], shapes: &mut Shapes, words: &dyn Fn(&ColumnDef) -> StoredColumn) -> Result<()> {
    for step in steps {
        check_step(step, shapes, words)?;
    }
    Ok(())
}

/// Why a reference column added to stored rows must be nullable.
pub(crate) const ADDED_REFERENCE: &str = "a reference column added to stored rows must be nullable \
     (`Option<Id<P>>`, the stored rows referring to nothing): no default can name a row that exists \
     everywhere, and SQLite cannot add a `NOT NULL` reference; set the references in a data migration";

fn check_step(step: &Step, shapes: &mut Shapes, words: &dyn Fn(&ColumnDef) -> StoredColumn) -> Result<()> {
    let table = step.table();
    let own = MigrationRecord::table().name();
    if table == own || matches!(step, Step::RenameTable { to, .. } if *to == own) {
        return Err(Error::InvalidValue {
            table,
            column: None,
            reason: format!("`{own}` is Plinth's record of the migrations; no migration step may change it"),
        });
    }
    let refused =
        |detail: String| Error::SchemaMismatch { table, detail: format!("migration step \"{step}\": {detail}") };
    let position = |columns: &[StoredColumn], name: &str| columns.iter().position(|c| c.name == name);
    let unknown = |column: &str| Error::UnknownColumn { table, column: column.to_owned() };
    match *step {
        Step::AddColumn { column, .. } => {
            check_new_name(table, column.name(), true)?;
            intern_table(table, &[column]).check_columns()?;
            if column.fill_value().is_none() {
                return Err(Error::InvalidValue {
                    table,
                    column: Some(column.name()),
                    reason: "a column added to stored rows needs a default or must be nullable".to_owned(),
                });
            }
            if column.references().is_some() && !column.nullable() {
                return Err(Error::InvalidValue {
                    table,
                    column: Some(column.name()),
                    reason: ADDED_REFERENCE.to_owned(),
                });
            }
            let columns = shapes.columns_mut(table)?;
            if columns.iter().any(|c| c.name.eq_ignore_ascii_case(column.name())) {
                return Err(refused(format!("column `{}` is stored already", column.name())));
            }
            columns.push(words(&column));
        }
        Step::DropColumn { column, .. } => {
            let columns = shapes.columns_mut(table)?;
            let i = position(columns, column).ok_or_else(|| unknown(column))?;
            columns.remove(i);
        }
        Step::RenameColumn { from, to, .. } => {
            check_new_name(table, to, true)?;
            let columns = shapes.columns_mut(table)?;
            let i = position(columns, from).ok_or_else(|| unknown(from))?;
            if columns.iter().enumerate().any(|(j, c)| j != i && c.name.eq_ignore_ascii_case(to)) {
                return Err(refused(format!("column `{to}` is stored already")));
            }
            columns[i].name = to.to_owned();
        }
        Step::RenameTable { from, to } => {
            check_new_name(to, to, false)?;
            if from.eq_ignore_ascii_case(to) {
                return Err(refused(format!(
                    "`{from}` and `{to}` differ only in ASCII case, which SQLite does not tell apart: rename the table \
                     to another name first"
                )));
            }
            let columns = shapes.columns(from).ok_or(Error::NoSuchTable { table: from })?.to_vec();
            if shapes.columns(to).is_some() {
                return Err(refused(format!("table `{to}` exists already")));
            }
            shapes.insert(from, None);
            shapes.insert(to, Some(columns));
        }
        Step::ChangeType { from, to, .. } => {
            if from.name() != to.name() {
                return Err(Error::InvalidValue {
                    table,
                    column: Some(from.name()),
                    reason: format!(
                        "a type change keeps the column's name (`{}` becomes `{}`): rename it in a step of its own",
                        from.name(),
                        to.name()
                    ),
                });
            }
            intern_table(table, &[to]).check_columns()?;
            if to.references().is_some_and(|r| from.references().map(|f| f.table) != Some(r.table)) {
                return Err(Error::InvalidValue {
                    table,
                    column: Some(to.name()),
                    reason: "a type change does not make a column a reference to another table (its values \
                             would not be checked): add a nullable reference column, set it in a data \
                             migration, then drop the old column"
                        .to_owned(),
                });
            }
            let columns = shapes.columns_mut(table)?;
            let i = position(columns, from.name()).ok_or_else(|| unknown(from.name()))?;
            let (stored, declared) = (&columns[i], words(&from));
            if (&stored.storage, stored.nullable) != (&declared.storage, declared.nullable) {
                return Err(refused(format!(
                    "column `{}` is stored as {}{}, not as the step's `from` says ({}{})",
                    from.name(),
                    stored.storage,
                    if stored.nullable { "" } else { " NOT NULL" },
                    declared.storage,
                    if declared.nullable { "" } else { " NOT NULL" },
                )));
            }
            columns[i] = words(&to);
        }
        Step::AddUnique { column, .. }
        | Step::DropUnique { column, .. }
        | Step::AddIndex { column, .. }
        | Step::DropIndex { column, .. } => {
            let adding = matches!(step, Step::AddUnique { .. } | Step::AddIndex { .. });
            let is_unique = matches!(step, Step::AddUnique { .. } | Step::DropUnique { .. });
            let columns = shapes.columns_mut(table)?;
            let i = position(columns, column).ok_or_else(|| unknown(column))?;
            let (flag, what) = match is_unique {
                true => (&mut columns[i].unique, "a unique constraint"),
                false => (&mut columns[i].indexed, "an index"),
            };
            if *flag == adding {
                let state = if adding { "has" } else { "has no" };
                return Err(refused(format!("column `{column}` {state} {what} already")));
            }
            *flag = adding;
        }
    }
    Ok(())
}

/// A name a step gives (a column's, or a table's): as `check_columns` wants names.
fn check_new_name(table: &'static str, name: &'static str, is_column: bool) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidValue { table, column: Some(name), reason: reason.to_owned() };
    if name.is_empty() || name.contains('\0') {
        return Err(invalid("a name may be neither empty nor hold a NUL character"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(invalid("the name is longer than PostgreSQL keeps (63 bytes)"));
    }
    if is_column && Table::SYSTEM_COLUMNS.iter().any(|system| system.eq_ignore_ascii_case(name)) {
        return Err(invalid("every table has `id`, `created_at` and `updated_at` already"));
    }
    Ok(())
}
