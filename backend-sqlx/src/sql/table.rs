//! [`TableSql`]: the statements for one table, built once and reused, so sqlx's
//! prepared-statement cache hits on every repeated operation; and whether the table's
//! stored schema has been found to be the entity's.

use std::sync::atomic::{AtomicBool, Ordering};

use plinth::Table;

use super::{quote, select_list, Dialect};

/// The fixed statements of one table.
#[derive(Debug)]
pub(crate) struct TableSql {
    pub(crate) table: &'static Table,
    /// `"id", "created_at", "updated_at", fields…`
    pub(crate) columns: String,
    /// `SELECT … WHERE "id" = $1`
    pub(crate) get: String,
    /// PostgreSQL: one `INSERT … SELECT FROM UNNEST(…)` for any number of rows, one
    /// array parameter per column. SQLite: one row's `INSERT … VALUES`, used when a batch
    /// has a single row.
    pub(crate) insert: String,
    /// PostgreSQL: the insert of one row, its values bound as scalars (`VALUES`), which
    /// PostgreSQL plans and runs faster than an `UNNEST` of one-element arrays; empty
    /// on SQLite and for tables without fields.
    pub(crate) insert_one: String,
    /// PostgreSQL: the insert of one row with nothing guarded, for a write that commits
    /// by itself (autocommit), where a refused statement aborts no transaction and the
    /// database's error names the constraint; empty on SQLite and without fields.
    pub(crate) insert_plain: String,
    /// PostgreSQL: the same `INSERT … SELECT FROM UNNEST(…)` without `ON CONFLICT`, for
    /// large batches run inside a savepoint; empty on SQLite and for tables without
    /// fields.
    pub(crate) bulk_insert: String,
    /// `UPDATE … WHERE "id" = … AND "updated_at" = <the version read> RETURNING`
    /// timestamps; on PostgreSQL it also refuses (returns no row) when another row holds
    /// one of the new unique values.
    pub(crate) update: String,
    /// `DELETE … WHERE "id" = $1`
    pub(crate) delete: String,
    /// `SELECT "updated_at" … WHERE "id" = $1`: a row's version as stored.
    pub(crate) version: String,
    /// Whether the catalog has shown the table to exist with the entity's schema (by
    /// `create_all`, or at the first use of the table through this backend).
    verified: AtomicBool,
    /// Empty, or ` /* plinth schema N */` once a migration through this backend changed
    /// the table N times: it ends every statement on the table, so no connection runs a
    /// statement it prepared before the change (PostgreSQL refuses a cached plan whose
    /// column types changed, and sqlx caches by the statement's text).
    pub(crate) marker: String,
}

const RETURNING: &str = " RETURNING \"id\", \"created_at\", \"updated_at\"";

impl TableSql {
    /// The statements of `table` after `changes` migrations changed it (see `marker`).
    pub(crate) fn new(dialect: Dialect, table: &'static Table, changes: u64) -> Self {
        let mut sql = Self::unmarked(dialect, table);
        if changes > 0 {
            sql.marker = format!(" /* plinth schema {changes} */");
            for statement in [
                &mut sql.columns,
                &mut sql.get,
                &mut sql.insert,
                &mut sql.insert_one,
                &mut sql.insert_plain,
                &mut sql.bulk_insert,
                &mut sql.update,
                &mut sql.delete,
                &mut sql.version,
            ] {
                if !statement.is_empty() {
                    statement.push_str(&sql.marker);
                }
            }
        }
        sql
    }

    fn unmarked(dialect: Dialect, table: &'static Table) -> Self {
        let name = quote(table.name());
        let columns = select_list(table, None);
        let fields: Vec<String> = table.columns().iter().map(|c| quote(c.name())).collect();
        let n = fields.len();
        let get = match dialect {
            Dialect::Postgres => format!("SELECT {columns} FROM {name} WHERE \"id\" = $1"),
            Dialect::Sqlite => format!("SELECT {columns} FROM {name} WHERE \"id\" = ?1"),
        };
        let version = match dialect {
            Dialect::Postgres => format!("SELECT \"updated_at\" FROM {name} WHERE \"id\" = $1"),
            Dialect::Sqlite => format!("SELECT \"updated_at\" FROM {name} WHERE \"id\" = ?1"),
        };
        let delete = match dialect {
            Dialect::Postgres => format!("DELETE FROM {name} WHERE \"id\" = $1"),
            Dialect::Sqlite => format!("DELETE FROM {name} WHERE \"id\" = ?1"),
        };
        let unnest = || {
            let arrays = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            format!("INSERT INTO {name} ({0}) SELECT * FROM UNNEST({arrays}) AS \"new\" ({0})", fields.join(", "))
        };
        let values = || {
            let parameters = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            format!(
                "INSERT INTO {name} ({0}) SELECT * FROM (VALUES ({parameters})) AS \"new\" ({0})",
                fields.join(", ")
            )
        };
        let guarded = |insert: String| match references_exist(table, |i| format!("\"new\".{}", fields[i])) {
            Some(guard) => format!("{insert} WHERE {guard} ON CONFLICT DO NOTHING{RETURNING}"),
            None => format!("{insert} ON CONFLICT DO NOTHING{RETURNING}"),
        };
        let plain = || {
            let parameters = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            format!("INSERT INTO {name} ({}) VALUES ({parameters}){RETURNING}", fields.join(", "))
        };
        let (insert, insert_one, insert_plain, bulk_insert) = match dialect {
            Dialect::Postgres if n == 0 => (
                format!("INSERT INTO {name} (\"created_at\") SELECT now() FROM generate_series(1, $1){RETURNING}"),
                String::new(),
                String::new(),
                String::new(),
            ),
            Dialect::Postgres => (guarded(unnest()), guarded(values()), plain(), format!("{}{RETURNING}", unnest())),
            Dialect::Sqlite => (sqlite_insert(table, 1), String::new(), String::new(), String::new()),
        };
        let update = match dialect {
            Dialect::Postgres => postgres_update(table, &name, &fields),
            Dialect::Sqlite => {
                let sets: Vec<String> = fields.iter().enumerate().map(|(i, f)| format!("{f} = ?{}", i + 1)).collect();
                let sets = sets.into_iter().chain([format!("\"updated_at\" = ?{}", n + 1)]);
                format!(
                    "UPDATE {name} SET {} WHERE \"id\" = ?{} AND \"updated_at\" = ?{}{RETURNING}",
                    sets.collect::<Vec<_>>().join(", "),
                    n + 2,
                    n + 3
                )
            }
        };
        TableSql {
            table,
            columns,
            get,
            insert,
            insert_one,
            insert_plain,
            bulk_insert,
            update,
            delete,
            version,
            verified: AtomicBool::new(false),
            marker: String::new(),
        }
    }

    /// Whether the stored table has been found to match the entity.
    pub(crate) fn is_verified(&self) -> bool {
        self.verified.load(Ordering::Relaxed)
    }

    /// Records that the stored table matches the entity.
    pub(crate) fn mark_verified(&self) {
        self.verified.store(true, Ordering::Relaxed);
    }
}

/// SQLite's insert of `rows` rows: `?1` is the timestamp shared by all of them, then
/// each row's fields in order.
pub(crate) fn sqlite_insert(table: &Table, rows: usize) -> String {
    let fields: Vec<String> = table.columns().iter().map(|c| quote(c.name())).collect();
    let n = fields.len();
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let values = (0..n).map(|i| format!("?{}", 2 + row * n + i));
            let all: Vec<String> = values.chain(["?1".to_owned(), "?1".to_owned()]).collect();
            format!("({})", all.join(", "))
        })
        .collect();
    let names: Vec<String> = fields.into_iter().chain(["\"created_at\"".into(), "\"updated_at\"".into()]).collect();
    format!("INSERT INTO {} ({}) VALUES {}{RETURNING}", quote(table.name()), names.join(", "), tuples.join(", "))
}

/// PostgreSQL's update: `$1…$n` the fields, `$n+1` the id, `$n+2` the `updated_at` the
/// caller read (the row's version; no row matches once it has moved). When the table has unique
/// columns, the row is updated only if no other row holds its new unique values, so a
/// violation returns no row instead of aborting the transaction.
fn postgres_update(table: &Table, name: &str, fields: &[String]) -> String {
    let n = fields.len();
    let id = format!("${}", n + 1);
    let sets: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{f} = ${}", i + 1))
        .chain(["\"updated_at\" = GREATEST(now(), \"updated_at\" + interval '1 microsecond')".to_owned()])
        .collect();
    let unique: Vec<String> = table
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_unique())
        .map(|(i, c)| format!("\"other\".{} = ${}", quote(c.name()), i + 1))
        .collect();
    let mut guard = if unique.is_empty() {
        String::new()
    } else {
        format!(
            " AND NOT EXISTS (SELECT 1 FROM {name} AS \"other\" WHERE \"other\".\"id\" <> {id} AND ({}))",
            unique.join(" OR ")
        )
    };
    if let Some(references) = references_exist(table, |i| format!("${}", i + 1)) {
        guard.push_str(&format!(" AND {references}"));
    }
    format!(
        "UPDATE {name} SET {} WHERE \"id\" = {id} AND \"updated_at\" = ${}{guard}{RETURNING}",
        sets.join(", "),
        n + 2
    )
}

/// PostgreSQL: the condition that every reference of a row holds (`NULL`, or the id of
/// a row of its parent), the value of column `i` written as `value(i)`; `None` for a
/// table without references. A write guarded by it writes nothing instead of aborting
/// the transaction with a foreign key violation.
fn references_exist(table: &Table, value: impl Fn(usize) -> String) -> Option<String> {
    let conditions: Vec<String> = table
        .columns()
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let reference = c.references()?;
            let value = value(i);
            Some(format!(
                "({value} IS NULL OR EXISTS (SELECT 1 FROM {} AS \"parent\" WHERE \"parent\".\"id\" = {value}))",
                quote(reference.table)
            ))
        })
        .collect();
    (!conditions.is_empty()).then(|| conditions.join(" AND "))
}

/// The [`TableSql`] of every table used so far, built on first use, and how often a
/// migration changed each table.
#[derive(Debug)]
pub(crate) struct StatementCache {
    dialect: Dialect,
    tables: std::sync::Mutex<std::collections::HashMap<&'static str, std::sync::Arc<TableSql>>>,
    changes: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl StatementCache {
    pub(crate) fn new(dialect: Dialect) -> Self {
        StatementCache { dialect, tables: Default::default(), changes: Default::default() }
    }

    /// Forgets the statements of the table named `name` (a migration changed it), so
    /// its next use reads the catalog again, with statements of a text of their own.
    pub(crate) fn forget(&self, name: &str) {
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
        *self.changes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(name.to_owned()).or_default() +=
            1;
    }

    /// The statements of `table`, built once per table.
    pub(crate) fn get(&self, table: &'static Table) -> std::sync::Arc<TableSql> {
        let mut tables = self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match tables.get(table.name()) {
            Some(sql) if std::ptr::eq(sql.table, table) || sql.table == table => std::sync::Arc::clone(sql),
            _ => {
                let changes = self.changes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let changes = changes.get(table.name()).copied().unwrap_or(0);
                let sql = std::sync::Arc::new(TableSql::new(self.dialect, table, changes));
                tables.insert(table.name(), std::sync::Arc::clone(&sql));
                sql
            }
        }
    }
}
