//! What changes a table that exists, as statements per dialect: `create_all`'s
//! additive changes ([`SchemaChange`], [`upgrade_table`]) and a migration's steps
//! ([`Step`], [`migration_step`]), from the same few pieces. Each list runs in one
//! transaction, so a failing statement leaves the table as it was. On PostgreSQL the
//! `updated_at` trigger is off while stored rows are filled or converted (the rows hold
//! what they held); SQLite, which cannot make a column `NOT NULL` after the fact, adds
//! such a column with a placeholder default of its type (`0`, `''`…) that every row is
//! then given its value over.

use std::borrow::Cow;

use plinth::backend::{intern_name, ColumnDef, SchemaChange, StoredColumn};
use plinth::migrate::{Conversion, Step};
use plinth::{Table, Value};

use super::ddl::{
    add_unique, column_definition, column_storage, create_index, drop_index, drop_unique, touch_trigger,
    touch_trigger_name,
};
use super::{object_name, quote, Dialect, Object, Statement};

/// The name a column being converted has until it takes the old one's place: the
/// first of `plinth_converting`, `plinth_converting_2`… that the table does not have.
fn converting_name(shape: &[StoredColumn]) -> &'static str {
    let taken = |name: &str| shape.iter().any(|c| c.name.eq_ignore_ascii_case(name));
    let name = (1..)
        .map(|n| if n == 1 { "plinth_converting".to_owned() } else { format!("plinth_converting_{n}") })
        .find(|name| !taken(name))
        .unwrap_or_default();
    intern_name(&name)
}

/// One statement of a change.
#[derive(Debug)]
pub(crate) enum SqlStep {
    /// A statement without parameters (DDL).
    Script(String),
    /// A statement with parameters (filling a new column).
    Statement(Statement<'static>),
    /// A count of the values of `column` stored more than once, which must be zero
    /// before its unique constraint is added.
    Distinct { table: &'static str, column: &'static str, count: Statement<'static> },
    /// Every stored value of column `from` through `convert`, written to column `into`
    /// (of type `to`), row by row.
    Convert { table: &'static str, from: ColumnDef, to: ColumnDef, into: &'static str, convert: Conversion },
}

impl SqlStep {
    /// The statement's text, for a migration plan.
    pub(crate) fn text(&self) -> String {
        match self {
            SqlStep::Script(sql) => sql.clone(),
            SqlStep::Statement(statement) | SqlStep::Distinct { count: statement, .. } => statement.sql.to_string(),
            SqlStep::Convert { table, from, into, .. } => format!(
                "-- for each row: SELECT \"id\", {} FROM {}, convert the value in Rust, UPDATE {} SET {} = <it> WHERE \"id\" = <the row's>",
                quote(from.name()),
                quote(table),
                quote(table),
                quote(into)
            ),
        }
    }
}

/// The steps that make `changes` to `table`, in order, after (PostgreSQL) replacing
/// its `updated_at` trigger, so a table made by a Plinth without it gets it.
pub(crate) fn upgrade_table(dialect: Dialect, table: &'static Table, changes: &[SchemaChange]) -> Vec<SqlStep> {
    let mut steps = Vec::new();
    if dialect == Dialect::Postgres {
        steps.push(SqlStep::Script(touch_trigger(table.name())));
    }
    for change in changes {
        let column = &table.columns()[change.column()];
        match change {
            SchemaChange::AddColumn { .. } => add_column(dialect, table.name(), column, false, &mut steps),
            SchemaChange::AddUnique { .. } => unique(dialect, table.name(), column.name(), &mut steps),
            SchemaChange::AddIndex { .. } => steps.push(SqlStep::Script(create_index(table.name(), column.name()))),
        }
    }
    steps
}

/// The statements of a migration's `step`; `shape` is the columns of the table it
/// changes (for a table rename, the table's before it), as stored before the step.
pub(crate) fn migration_step(dialect: Dialect, step: &Step, shape: &[StoredColumn]) -> Vec<SqlStep> {
    let mut steps = Vec::new();
    let stored = |name: &str| shape.iter().find(|c| c.name == name);
    let is_unique = |name: &str| stored(name).is_some_and(|c| c.unique);
    let is_indexed = |name: &str| stored(name).is_some_and(|c| c.indexed);
    match *step {
        Step::AddColumn { table, column } => add_column(dialect, table, &column, true, &mut steps),
        Step::DropColumn { table, column } => {
            drop_column(dialect, table, column, is_unique(column), is_indexed(column), &mut steps);
        }
        Step::RenameColumn { table, from, to } => {
            let name = quote(table);
            steps.push(SqlStep::Script(format!("ALTER TABLE {name} RENAME COLUMN {} TO {}", quote(from), quote(to))));
            rename_constraints((table, from), (table, to), is_unique(from), is_indexed(from), dialect, &mut steps);
        }
        Step::RenameTable { from, to } => {
            steps.push(SqlStep::Script(format!("ALTER TABLE {} RENAME TO {}", quote(from), quote(to))));
            if dialect == Dialect::Postgres {
                steps.push(SqlStep::Script(format!(
                    "ALTER TRIGGER {} ON {} RENAME TO {}",
                    touch_trigger_name(from),
                    quote(to),
                    touch_trigger_name(to)
                )));
            }
            for column in shape {
                let column_name = column.name.as_str();
                rename_constraints(
                    (from, column_name),
                    (to, column_name),
                    column.unique,
                    column.indexed,
                    dialect,
                    &mut steps,
                );
            }
        }
        Step::ChangeType { table, from, to, convert } => {
            let into = converting_name(shape);
            let converting = to.renamed(into);
            let name = quote(table);
            steps.push(SqlStep::Script(format!(
                "ALTER TABLE {name} ADD COLUMN {}",
                added_column(dialect, table, &converting)
            )));
            with_trigger_off(dialect, table, &mut steps, |steps| {
                steps.push(SqlStep::Convert { table, from, to, into, convert });
            });
            drop_column(dialect, table, from.name(), is_unique(from.name()), is_indexed(from.name()), &mut steps);
            steps.push(SqlStep::Script(format!(
                "ALTER TABLE {name} RENAME COLUMN {} TO {}",
                quote(into),
                quote(to.name())
            )));
            if dialect == Dialect::Postgres && !to.nullable() {
                steps.push(SqlStep::Script(format!(
                    "ALTER TABLE {name} ALTER COLUMN {} SET NOT NULL",
                    quote(to.name())
                )));
            }
            constraints(dialect, table, &to, &mut steps);
        }
        Step::AddUnique { table, column } => unique(dialect, table, column, &mut steps),
        Step::DropUnique { table, column } => steps.push(SqlStep::Script(drop_unique(dialect, table, column))),
        Step::AddIndex { table, column } => steps.push(SqlStep::Script(create_index(table, column))),
        Step::DropIndex { table, column } => steps.push(SqlStep::Script(drop_index(table, column))),
    }
    steps
}

/// `ADD COLUMN`, the stored rows given the column's fill value, and (PostgreSQL) `NOT
/// NULL` once they hold it; with `constraints`, the column's unique constraint and index.
fn add_column(
    dialect: Dialect,
    table: &'static str,
    column: &ColumnDef,
    constraints_too: bool,
    steps: &mut Vec<SqlStep>,
) {
    let name = quote(table);
    steps.push(SqlStep::Script(format!("ALTER TABLE {name} ADD COLUMN {}", added_column(dialect, table, column))));
    let fill = column.fill_value().unwrap_or(Value::Null);
    if !fill.is_null() {
        let mut statement = Statement::new(dialect);
        statement.push(&format!("UPDATE {name} SET {} = ", quote(column.name())));
        statement.push_bind(Cow::Owned(fill), column.ty());
        with_trigger_off(dialect, table, steps, |steps| steps.push(SqlStep::Statement(statement)));
    }
    if dialect == Dialect::Postgres && !column.nullable() {
        steps.push(SqlStep::Script(format!("ALTER TABLE {name} ALTER COLUMN {} SET NOT NULL", quote(column.name()))));
    }
    if constraints_too {
        constraints(dialect, table, column, steps);
    }
}

/// A column as `ADD COLUMN` writes it: nullable on PostgreSQL (made `NOT NULL` once
/// filled); on SQLite, a `NOT NULL` column with a placeholder default of its type.
fn added_column(dialect: Dialect, table: &str, column: &ColumnDef) -> String {
    match dialect {
        Dialect::Postgres => column_definition(dialect, table, &column.with_nullable(true)),
        Dialect::Sqlite if column.nullable() => column_definition(dialect, table, column),
        Dialect::Sqlite => {
            let placeholder = match column_storage(dialect, column).1.as_str() {
                "INTEGER" => "0",
                "REAL" => "0.0",
                "BLOB" => "X''",
                _ => "''",
            };
            format!("{} DEFAULT {placeholder}", column_definition(dialect, table, column))
        }
    }
}

/// The unique constraint and index `column` declares.
fn constraints(dialect: Dialect, table: &'static str, column: &ColumnDef, steps: &mut Vec<SqlStep>) {
    if column.is_unique() {
        unique(dialect, table, column.name(), steps);
    }
    if column.is_indexed() {
        steps.push(SqlStep::Script(create_index(table, column.name())));
    }
}

/// The check that `column`'s stored values are distinct, then its unique constraint.
fn unique(dialect: Dialect, table: &'static str, column: &'static str, steps: &mut Vec<SqlStep>) {
    let (name, quoted) = (quote(table), quote(column));
    let mut count = Statement::new(dialect);
    count.push(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM {name} WHERE {quoted} IS NOT NULL GROUP BY {quoted} HAVING count(*) > 1) AS \"duplicated\""
    ));
    steps.push(SqlStep::Distinct { table, column, count });
    steps.push(SqlStep::Script(add_unique(dialect, table, column)));
}

/// `DROP COLUMN`, after (SQLite, which refuses to drop an indexed column) its indexes.
fn drop_column(dialect: Dialect, table: &str, column: &str, unique: bool, indexed: bool, steps: &mut Vec<SqlStep>) {
    if dialect == Dialect::Sqlite {
        if unique {
            steps.push(SqlStep::Script(drop_unique(dialect, table, column)));
        }
        if indexed {
            steps.push(SqlStep::Script(drop_index(table, column)));
        }
    }
    steps.push(SqlStep::Script(format!("ALTER TABLE {} DROP COLUMN {}", quote(table), quote(column))));
}

/// The unique constraint and index of a column whose table or name changed, renamed
/// to the names Plinth gives them (which its errors read): on PostgreSQL in place, on
/// SQLite (no `ALTER INDEX`) dropped and made again.
fn rename_constraints(
    old: (&str, &str),
    new: (&str, &str),
    unique: bool,
    indexed: bool,
    dialect: Dialect,
    steps: &mut Vec<SqlStep>,
) {
    let renamed = |object| (quote(&object_name(old.0, old.1, object)), quote(&object_name(new.0, new.1, object)));
    if unique {
        steps.push(SqlStep::Script(match dialect {
            Dialect::Postgres => {
                let (from, to) = renamed(Object::Unique);
                format!("ALTER TABLE {} RENAME CONSTRAINT {from} TO {to}", quote(new.0))
            }
            Dialect::Sqlite => drop_unique(dialect, old.0, old.1),
        }));
        if dialect == Dialect::Sqlite {
            steps.push(SqlStep::Script(add_unique(dialect, new.0, new.1)));
        }
    }
    if indexed {
        match dialect {
            Dialect::Postgres => {
                let (from, to) = renamed(Object::Index);
                steps.push(SqlStep::Script(format!("ALTER INDEX IF EXISTS {from} RENAME TO {to}")));
            }
            Dialect::Sqlite => {
                steps.push(SqlStep::Script(drop_index(old.0, old.1)));
                steps.push(SqlStep::Script(create_index(new.0, new.1)));
            }
        }
    }
}

/// `add` between turning `table`'s `updated_at` trigger off and on (PostgreSQL; SQLite
/// has none), so what it writes leaves each row's version alone.
fn with_trigger_off(dialect: Dialect, table: &str, steps: &mut Vec<SqlStep>, add: impl FnOnce(&mut Vec<SqlStep>)) {
    let trigger = touch_trigger_name(table);
    if dialect == Dialect::Postgres {
        steps.push(SqlStep::Script(format!("ALTER TABLE {} DISABLE TRIGGER {trigger}", quote(table))));
    }
    add(steps);
    if dialect == Dialect::Postgres {
        steps.push(SqlStep::Script(format!("ALTER TABLE {} ENABLE TRIGGER {trigger}", quote(table))));
    }
}
