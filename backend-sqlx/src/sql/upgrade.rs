//! What `create_all` runs on a table that exists: the additive changes
//! ([`SchemaChange`]) that bring it to the entity's schema, as statements per dialect,
//! and on PostgreSQL the `updated_at` trigger, replaced. The whole list runs in
//! `create_all`'s one transaction, so a failing step leaves the table as it was.

use std::borrow::Cow;

use plinth::backend::SchemaChange;
use plinth::{Table, Value};

use super::ddl::{column_definition, create_index, create_table_as, touch_trigger, touch_trigger_name};
use super::{object_name, quote, Dialect, Object, Statement};

/// The name of the table SQLite builds a table's new version in. Longer than any
/// entity's table may be (`plinth::MAX_NAME_BYTES`), so it never names one.
const REBUILT: &str = "plinth_upgrade_in_progress_with_a_name_longer_than_any_entity_table_may_have";

/// One step of an upgrade.
#[derive(Debug)]
pub(crate) enum UpgradeStep {
    /// A statement without parameters (DDL).
    Script(String),
    /// A statement with parameters (filling a new column).
    Statement(Statement<'static>),
    /// A count of the values of column `column` (by position) stored more than once,
    /// which must be zero before its unique constraint is added.
    Distinct { column: usize, count: Statement<'static> },
}

/// The steps that make `changes` to `table`, in order.
pub(crate) fn upgrade_table(dialect: Dialect, table: &Table, changes: &[SchemaChange]) -> Vec<UpgradeStep> {
    let mut steps = Vec::new();
    if dialect == Dialect::Postgres {
        steps.push(UpgradeStep::Script(touch_trigger(table)));
    }
    let rebuild = dialect == Dialect::Sqlite
        && changes
            .iter()
            .any(|c| matches!(c, SchemaChange::AddColumn { column } if !table.columns()[*column].nullable()));
    if rebuild {
        rebuild_sqlite_table(table, changes, &mut steps);
    } else {
        for change in changes {
            if let SchemaChange::AddColumn { column } = *change {
                add_column(dialect, table, column, &mut steps);
            }
        }
    }
    for change in changes {
        match *change {
            SchemaChange::AddColumn { .. } => {}
            SchemaChange::AddUnique { column } => add_unique(dialect, table, column, &mut steps),
            SchemaChange::AddIndex { column } => steps.push(UpgradeStep::Script(create_index(table, column))),
        }
    }
    steps
}

/// `ADD COLUMN`, as nullable; then the stored rows get the column's fill value (without
/// moving `updated_at`: the rows hold what they held), and a column that is not
/// nullable becomes `NOT NULL` (PostgreSQL; SQLite rebuilds the table instead).
fn add_column(dialect: Dialect, table: &Table, column: usize, steps: &mut Vec<UpgradeStep>) {
    let def = &table.columns()[column];
    let name = quote(table.name());
    let nullable = plinth::backend::ColumnDef::new(def.name(), def.ty(), true);
    let nullable = match def.length_limit() {
        Some(limit) => nullable.max_length(limit),
        None => nullable,
    };
    steps.push(UpgradeStep::Script(format!("ALTER TABLE {name} ADD COLUMN {}", column_definition(dialect, &nullable))));
    let fill = def.fill_value().unwrap_or(Value::Null);
    if !fill.is_null() {
        let trigger = touch_trigger_name(table);
        if dialect == Dialect::Postgres {
            steps.push(UpgradeStep::Script(format!("ALTER TABLE {name} DISABLE TRIGGER {trigger}")));
        }
        let mut fill_statement = Statement::new(dialect);
        fill_statement.push(&format!("UPDATE {name} SET {} = ", quote(def.name())));
        fill_statement.push_bind(Cow::Owned(fill), def.ty());
        steps.push(UpgradeStep::Statement(fill_statement));
        if dialect == Dialect::Postgres {
            steps.push(UpgradeStep::Script(format!("ALTER TABLE {name} ENABLE TRIGGER {trigger}")));
        }
    }
    if !def.nullable() && dialect == Dialect::Postgres {
        steps.push(UpgradeStep::Script(format!("ALTER TABLE {name} ALTER COLUMN {} SET NOT NULL", quote(def.name()))));
    }
}

/// SQLite cannot add a `NOT NULL` column without a constant default in the table's
/// SQL, so the table is built anew: its new version created under [`REBUILT`], the
/// rows copied (ids and timestamps with them, the added columns filled), the id
/// sequence carried over (so no id is handed out twice), the old table dropped, the
/// new one renamed, its indexes made. The unique constraints being added come after, as
/// indexes, once their values are found distinct.
fn rebuild_sqlite_table(table: &Table, changes: &[SchemaChange], steps: &mut Vec<UpgradeStep>) {
    let added: Vec<usize> = changes
        .iter()
        .filter_map(|c| if let SchemaChange::AddColumn { column } = *c { Some(column) } else { None })
        .collect();
    let deferred: Vec<usize> = changes
        .iter()
        .filter_map(|c| if let SchemaChange::AddUnique { column } = *c { Some(column) } else { None })
        .collect();
    let name = quote(table.name());
    let rebuilt = quote(REBUILT);
    steps.push(UpgradeStep::Script(create_table_as(Dialect::Sqlite, table, REBUILT, &deferred)));

    let columns: Vec<String> = std::iter::once("\"id\"".to_owned())
        .chain(table.columns().iter().map(|c| quote(c.name())))
        .chain(["\"created_at\"".to_owned(), "\"updated_at\"".to_owned()])
        .collect();
    let mut copy = Statement::new(Dialect::Sqlite);
    copy.push(&format!("INSERT INTO {rebuilt} ({}) SELECT \"id\"", columns.join(", ")));
    for (i, column) in table.columns().iter().enumerate() {
        copy.push(", ");
        if added.contains(&i) {
            copy.push_bind(Cow::Owned(column.fill_value().unwrap_or(Value::Null)), column.ty());
        } else {
            copy.push(&quote(column.name()));
        }
    }
    copy.push(&format!(", \"created_at\", \"updated_at\" FROM {name}"));
    steps.push(UpgradeStep::Statement(copy));

    let mut sequence = Statement::new(Dialect::Sqlite);
    sequence.push("DELETE FROM sqlite_sequence WHERE name = ");
    sequence.push_bind(Cow::Owned(Value::Text(REBUILT.to_owned())), plinth::ColumnType::Text);
    steps.push(UpgradeStep::Statement(sequence));
    let mut sequence = Statement::new(Dialect::Sqlite);
    sequence.push("INSERT INTO sqlite_sequence (name, seq) SELECT ");
    sequence.push_bind(Cow::Owned(Value::Text(REBUILT.to_owned())), plinth::ColumnType::Text);
    sequence.push(", seq FROM sqlite_sequence WHERE name = ");
    sequence.push_bind(Cow::Owned(Value::Text(table.name().to_owned())), plinth::ColumnType::Text);
    steps.push(UpgradeStep::Statement(sequence));

    steps.push(UpgradeStep::Script(format!("DROP TABLE {name}")));
    steps.push(UpgradeStep::Script(format!("ALTER TABLE {rebuilt} RENAME TO {name}")));
    let indexed = table.columns().iter().enumerate().filter(|(i, c)| c.is_indexed() && !added.contains(i));
    steps.extend(indexed.map(|(i, _)| UpgradeStep::Script(create_index(table, i))));
}

/// The check that the column's values are distinct, then its unique constraint (an
/// `ALTER TABLE … ADD CONSTRAINT` on PostgreSQL, a unique index on SQLite, which
/// cannot add constraints; both refuse a second row with the value alike).
fn add_unique(dialect: Dialect, table: &Table, column: usize, steps: &mut Vec<UpgradeStep>) {
    let name = quote(table.name());
    let quoted = quote(table.columns()[column].name());
    let mut count = Statement::new(dialect);
    count.push(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM {name} WHERE {quoted} IS NOT NULL GROUP BY {quoted} HAVING count(*) > 1) AS \"duplicated\""
    ));
    steps.push(UpgradeStep::Distinct { column, count });
    let constraint = quote(&object_name(table, table.columns()[column].name(), Object::Unique));
    steps.push(UpgradeStep::Script(match dialect {
        Dialect::Postgres => format!("ALTER TABLE {name} ADD CONSTRAINT {constraint} UNIQUE ({quoted})"),
        Dialect::Sqlite => format!("CREATE UNIQUE INDEX {constraint} ON {name} ({quoted})"),
    }));
}
