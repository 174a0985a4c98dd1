//! From sqlx's errors to [`plinth::Error`]: the same variant for the same fault as on
//! every other backend.

use plinth::{BoxError, Error, Table};

use sqlx::error::DatabaseError;

use crate::sql::{object_name, Object};

/// Maps a driver error raised while working on `table`.
pub(crate) fn map_err(backend: &'static str, table: Option<&Table>, err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::Database(db) => {
            if let (true, Some(table)) = (db.is_unique_violation(), table) {
                let column = violated_column(table, db.as_ref());
                return Error::UniqueViolation { table: table.name(), column };
            }
            if let (true, Some(table)) = (db.is_foreign_key_violation(), table) {
                if let Some(violation) = violated_reference(table, db.as_ref()) {
                    return violation;
                }
            }
            let code = db.code();
            // SQLite's SQLITE_FULL (13: the disk, or the database's `max_page_count`)
            // and PostgreSQL's disk_full (53100): the statement wrote nothing.
            if matches!(code.as_deref(), Some("13" | "53100")) {
                return Error::QuotaExceeded { detail: format!("{backend}: {}", db.message()) };
            }
            let missing_table = code.as_deref() == Some("42P01") || db.message().starts_with("no such table");
            // PostgreSQL's connection exceptions (class 08) and the server ending the
            // session (57P01 terminated by an administrator, 57P02 crash, 57P03 not
            // accepting connections): the connection is gone, not the statement wrong.
            let connection_lost = code.as_deref().is_some_and(is_connection_lost_code);
            if let Some(kind) = waiting_fault(backend, code.as_deref()) {
                return kind(backend, Box::new(sqlx::Error::Database(db)));
            }
            match (missing_table, connection_lost, table) {
                (_, true, _) => Error::Connection { backend, source: Box::new(sqlx::Error::Database(db)) },
                (true, false, Some(table)) => Error::NoSuchTable { table: table.name() },
                _ => Error::backend(backend, sqlx::Error::Database(db)),
            }
        }
        err @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)) => Error::Connection { backend, source: Box::new(err) },
        err => Error::backend(backend, err),
    }
}

/// PostgreSQL's connection exceptions (class 08) and the server ending the session.
fn is_connection_lost_code(code: &str) -> bool {
    code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&code)
}

/// Whether `err` says the connection is gone (what [`map_err`] makes
/// [`Error::Connection`], but a full or closed pool): the statement may be run again on
/// another connection, nothing having reached the server on this one.
pub(crate) fn is_dead_connection(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().as_deref().is_some_and(is_connection_lost_code),
        _ => false,
    }
}

/// The variant of a fault that came of sessions waiting for each other, by the
/// database's error code: PostgreSQL's deadlock_detected (40P01) and
/// serialization_failure (40001), lock_not_available (55P03, `lock_timeout`) and
/// query_canceled (57014, `statement_timeout`); SQLite's `SQLITE_BUSY` and
/// `SQLITE_LOCKED` (primary codes 5 and 6, the busy timeout run out).
fn waiting_fault(backend: &'static str, code: Option<&str>) -> Option<fn(&'static str, BoxError) -> Error> {
    let code = code?;
    let sqlite_primary = (backend == "sqlite").then(|| code.parse::<i32>().ok()).flatten().map(|c| c & 0xff);
    Some(match (code, sqlite_primary) {
        (_, Some(5 | 6)) => |backend, source| Error::LockTimeout { backend, source },
        (_, Some(_)) => return None,
        ("40P01" | "40001", None) => |backend, source| Error::Deadlock { backend, source },
        ("55P03", None) => |backend, source| Error::LockTimeout { backend, source },
        ("57014", None) => |backend, source| Error::StatementTimeout { backend, source },
        _ => return None,
    })
}

/// Which column a unique violation is about, from what the database reports: the
/// constraint's name, which Plinth makes unique per table and column (PostgreSQL); else
/// PostgreSQL's detail `Key (column)=(value) already exists`, whatever made the
/// constraint; else SQLite's message `UNIQUE constraint failed: table.column`. `None`
/// when none of them names one of the table's columns (a unique index made by hand over
/// several columns or an expression).
fn violated_column(table: &Table, db: &dyn DatabaseError) -> Option<&'static str> {
    let by_constraint = db.constraint().and_then(|name| {
        table.columns().iter().find(|c| c.is_unique() && name == object_name(table.name(), c.name(), Object::Unique))
    });
    if let Some(column) = by_constraint {
        return Some(column.name());
    }
    let by_detail = postgres_detail(db)
        .and_then(|detail| detail.strip_prefix("Key (")?.split_once(")=(").map(|(column, _)| unquote(column)));
    let by_message = || {
        let failed = db.message().split_once("UNIQUE constraint failed: ")?.1;
        let prefix = format!("{}.", table.name());
        // One column only: a constraint over several is none of the columns alone.
        match failed.split(", ").collect::<Vec<_>>()[..] {
            [qualified] => qualified.strip_prefix(&prefix).map(str::to_owned),
            _ => None,
        }
    };
    let named = by_detail.or_else(by_message)?;
    let system = Table::SYSTEM_COLUMNS.iter().copied();
    system.chain(table.columns().iter().map(|c| c.name())).find(|column| *column == named)
}

/// A foreign key violation on `table` as [`Error::ForeignKeyViolation`], when the
/// constraint's name (PostgreSQL; Plinth names it per table and column) says which of
/// `table`'s reference columns it is; else `None` (SQLite names no constraint, and a
/// delete reports the referring table's): the caller finds out.
fn violated_reference(table: &Table, db: &dyn DatabaseError) -> Option<Error> {
    let name = db.constraint()?;
    let column = table.columns().iter().find(|c| name == object_name(table.name(), c.name(), Object::Reference))?;
    let reference = column.references()?;
    Some(Error::ForeignKeyViolation { table: table.name(), column: column.name(), parent: reference.table })
}

/// Whether `err` is a foreign key violation the database reported without saying
/// which reference it was (see [`violated_reference`]).
pub(crate) fn is_unnamed_reference_violation(err: &Error) -> bool {
    let Error::Backend { source, .. } = err else { return false };
    matches!(source.downcast_ref::<sqlx::Error>(), Some(sqlx::Error::Database(db)) if db.is_foreign_key_violation())
}

/// PostgreSQL's detail of an error, when it is one.
#[cfg(feature = "postgres")]
fn postgres_detail(db: &dyn DatabaseError) -> Option<&str> {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(sqlx::postgres::PgDatabaseError::detail)
}

#[cfg(not(feature = "postgres"))]
fn postgres_detail(_: &dyn DatabaseError) -> Option<&str> {
    None
}

/// An identifier as PostgreSQL prints it: `code`, or `"select"` quoted with `""` inside.
fn unquote(identifier: &str) -> String {
    match identifier.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => identifier.to_owned(),
    }
}
