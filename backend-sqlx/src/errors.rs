//! From sqlx's errors to [`plinth::Error`]: the same variant for the same fault as on
//! every other backend.

use plinth::{Error, Table};

use crate::sql::unique_constraint_name;

/// Maps a driver error raised while working on `table`.
pub(crate) fn map_err(backend: &'static str, table: Option<&Table>, err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::Database(db) => {
            if let (true, Some(table)) = (db.is_unique_violation(), table) {
                let column = violated_column(table, db.constraint(), db.message());
                return Error::UniqueViolation { table: table.name().to_owned(), column };
            }
            let code = db.code();
            let missing_table = code.as_deref() == Some("42P01") || db.message().starts_with("no such table");
            // PostgreSQL's connection exceptions (class 08) and the server ending the
            // session (57P01 terminated by an administrator, 57P02 crash, 57P03 not
            // accepting connections): the connection is gone, not the statement wrong.
            let connection_lost = code
                .as_deref()
                .is_some_and(|code| code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&code));
            match (missing_table, connection_lost, table) {
                (_, true, _) => Error::Connection { backend, source: Box::new(sqlx::Error::Database(db)) },
                (true, false, Some(table)) => Error::NoSuchTable { table: table.name().to_owned() },
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

/// Which unique column a violation is about: PostgreSQL names the constraint, SQLite
/// says `UNIQUE constraint failed: table.column`.
fn violated_column(table: &Table, constraint: Option<&str>, message: &str) -> String {
    let unique = table.columns().iter().filter(|c| c.is_unique());
    let by_constraint =
        unique.clone().find(|c| constraint.is_some_and(|name| name == unique_constraint_name(table, c.name())));
    let by_message = || {
        let failed = message.split_once("UNIQUE constraint failed: ")?.1;
        let prefix = format!("{}.", table.name());
        failed.split(", ").find_map(|qualified| qualified.strip_prefix(&prefix)).map(str::to_owned)
    };
    by_constraint
        .map(|c| c.name().to_owned())
        .or_else(by_message)
        .or_else(|| constraint.map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
