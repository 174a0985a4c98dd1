//! The one error type every backend returns.

use crate::value::ColumnType;

/// A boxed error from a backend's driver, kept as the [`source`](std::error::Error::source).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, with the same variant for the same fault on every backend.
///
/// Faults a caller handles the same way everywhere (a unique violation, a missing row,
/// full storage) have their own variants; a driver's other errors are kept, boxed, in
/// [`Error::Backend`].
///
/// ```
/// use plinth::Error;
/// let err = Error::UniqueViolation { table: "users", column: Some("username") };
/// assert_eq!(
///     err.to_string(),
///     "table `users`: unique constraint on `username` violated: another row already has this value",
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row to update or delete does not exist (or is not visible to this session).
    #[error("table `{table}`: no row with id {id}")]
    NotFound {
        /// The table looked in.
        table: &'static str,
        /// The id that was not found.
        id: i64,
    },

    /// A write would have given two rows the same value in a unique column.
    /// Nothing was written, and the session can go on.
    #[error("table `{table}`: {}", unique_constraint(.column))]
    UniqueViolation {
        /// The table written to.
        table: &'static str,
        /// The unique column; `None` when the database did not say which (a unique
        /// index made outside Plinth, over several columns or an expression).
        column: Option<&'static str>,
    },

    /// A write would have left a reference pointing at no row: `column` of `table`
    /// holds an id that no row of `parent` has (or the parent was deleted meanwhile).
    /// Nothing was written, and the session can go on.
    #[error("table `{table}`, column `{column}`: refers to a row of `{parent}` that does not exist; add the {parent} row first (in this session or an earlier one)")]
    ForeignKeyViolation {
        /// The table written to.
        table: &'static str,
        /// The reference column.
        column: &'static str,
        /// The table it refers to.
        parent: &'static str,
    },

    /// A delete refused by a reference's rule ([`OnDelete::Restrict`](crate::OnDelete)):
    /// row `id` of `table` is still referred to by rows of `by_table` through
    /// `by_column`. Nothing was deleted, and the session can go on; delete or change
    /// those rows first, or declare `#[entity(on_delete = "cascade")]` (or
    /// `"set_null"`).
    #[error("table `{table}`, id {id}: still referred to by `{by_table}`.`{by_column}`, whose rule refuses the delete; delete or change those rows first (or declare on_delete = \"cascade\" or \"set_null\")")]
    StillReferenced {
        /// The table deleted from.
        table: &'static str,
        /// The row whose delete was refused.
        id: i64,
        /// The table whose rows refer to it.
        by_table: &'static str,
        /// Their reference column.
        by_column: &'static str,
    },

    /// A database URL that cannot be used.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (passwords removed).
        url: String,
        /// What is wrong and what would be accepted.
        reason: String,
    },

    /// Stored data that does not fit the entity's column (edited by hand, corrupted, or
    /// written by an incompatible schema). Other rows are unaffected.
    #[error("table `{table}`, {record}{}: cannot decode stored data: {found}", in_column(.column))]
    Decode {
        /// The table read from.
        table: &'static str,
        /// Which record: `id 7`, or a storage key where the backend has one.
        record: String,
        /// The column that failed; `None` when the record as a whole does not decode.
        column: Option<&'static str>,
        /// What was found instead of a valid value.
        found: String,
    },

    /// Data a backend keeps for itself rather than as a table's row (the web-storage
    /// commit journal) cannot be read: edited by hand or corrupted. Nothing was
    /// changed; the message says where it is and what removing it means.
    #[error("{backend}: {location} cannot be read: {found}")]
    CorruptStorage {
        /// The backend.
        backend: &'static str,
        /// Where the data is, and what it is for.
        location: String,
        /// What was found there.
        found: String,
    },

    /// The storage is full — a browser's quota, a full disk, a database at its size
    /// limit. The write that needed room wrote nothing (from `commit`: nothing of the
    /// session was committed); free some space and retry.
    #[error("storage full: {detail}; nothing of that write was stored, free some space and retry")]
    QuotaExceeded {
        /// What the storage reported.
        detail: String,
    },

    /// The row was written since it was read, by another session or through another
    /// copy of the record. From `update` (the record's `updated_at` is no longer the
    /// row's): that write was not made and the session goes on. From `commit`: nothing
    /// of the session was committed. Either way, read the record again and retry.
    #[error("table `{table}`, id {id}: changed since it was read (by another session or another copy of the record); from update, that write was not made; from commit, nothing was committed; read it again and retry")]
    Conflict {
        /// The table written to.
        table: &'static str,
        /// The row that changed underneath.
        id: i64,
    },

    /// A query or write names a column the table does not have.
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The table queried.
        table: &'static str,
        /// The misspelled column.
        column: String,
    },

    /// A value of the wrong type for its column, caught before any I/O.
    #[error("table `{table}`, column `{column}` holds {expected}, but the query gave {found}")]
    TypeMismatch {
        /// The table queried.
        table: &'static str,
        /// The column compared.
        column: &'static str,
        /// The column's type.
        expected: ColumnType,
        /// The value given, rendered.
        found: String,
    },

    /// A value no backend can store exactly (NaN, a NUL character, a year past 9999…),
    /// or an operation a column type does not support; caught before any I/O.
    #[error("table `{table}`{}: {reason}", in_column(.column))]
    InvalidValue {
        /// The table written to or queried.
        table: &'static str,
        /// The column; `None` when what is wrong is not one column's (a filter too
        /// large, a row of the wrong length, a table name too long).
        column: Option<&'static str>,
        /// What is wrong with the value and what would be accepted.
        reason: String,
    },

    /// The table was never created in this database.
    #[error("table `{table}` does not exist; call `Database::create_all` with it first")]
    NoSuchTable {
        /// The missing table.
        table: &'static str,
    },

    /// The stored schema of a table differs from the entity's.
    #[error("table `{table}` exists with a different schema: {detail}")]
    SchemaMismatch {
        /// The table.
        table: &'static str,
        /// How the stored schema and the entity differ.
        detail: String,
    },

    /// A migration recorded as applied to this database is not the one the app has
    /// under that version any more (its steps or name changed). An applied migration
    /// must stay as it was; add a new one instead.
    #[error("migration {version} (`{name}`) was applied to this database as {recorded}, but the app's migration {version} is another now ({detail}); an applied migration must not change: add a new one instead")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
        /// Its name, as the app has it.
        name: &'static str,
        /// What the database recorded: `` `name` (checksum …) ``.
        recorded: String,
        /// How they differ.
        detail: String,
    },

    /// A migration the database has not applied has a version before one it has: it
    /// was added below migrations already applied, and would never run. Nothing was
    /// changed; give it a version after every applied one.
    #[error("migration {version} (`{name}`) is not applied, but this database has applied migration {applied}, which comes after it: a new migration takes a version after every applied one")]
    MigrationOutOfOrder {
        /// The migration's version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// The latest version the database has applied.
        applied: i64,
    },

    /// The database was migrated by a newer version of the app: it records migrations
    /// this app does not know, so its tables may hold what this app cannot read.
    /// Nothing was changed. Update the app (in the browser: reload the page).
    #[error("this database was upgraded by a newer version of the app (to migration {database}; this app knows migrations up to {app}); update the app (in the browser: reload the page)")]
    DatabaseIsNewer {
        /// The latest migration the database records.
        database: i64,
        /// The latest migration this app has (0 for none).
        app: i64,
    },

    /// A table this handle was using was changed since by another version of the app
    /// (another page or process migrated the database): the entity no longer matches
    /// what is stored. Nothing was written. Reload the page (or restart the app).
    #[error("table `{table}` was changed by a newer version of the app since this one opened the database ({detail}); reload the page (or restart the app)")]
    SchemaChanged {
        /// The table.
        table: &'static str,
        /// How it differs now.
        detail: String,
    },

    /// The backend cannot do this at all.
    #[error("the {backend} backend does not support {feature}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// What was asked for.
        feature: &'static str,
    },

    /// The connection to the database failed or was lost. A transaction in progress was
    /// rolled back by the server, except when the connection was lost during `commit`
    /// itself: then the commit may or may not have been applied (its answer never
    /// arrived), so read back before retrying. The next session gets a fresh connection.
    #[error("{backend}: connection failed: {source}")]
    Connection {
        /// The backend's name.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The database rolled the transaction back so that a concurrent one could go on: a
    /// deadlock, or a PostgreSQL serialization failure. Nothing of the session was
    /// committed; run it again ([`Error::is_retryable`]).
    #[error("{backend}: the transaction was rolled back to let a concurrent one go on: {source}")]
    Deadlock {
        /// The backend's name.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A statement waited for a lock longer than the database allows: SQLite's busy
    /// timeout (another connection kept the write lock), PostgreSQL's `lock_timeout`.
    /// Nothing of the session was committed; run it again ([`Error::is_retryable`]).
    #[error("{backend}: gave up waiting for a lock another session holds: {source}")]
    LockTimeout {
        /// The backend's name.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A statement ran longer than the database allows (PostgreSQL's
    /// `statement_timeout`) and was cancelled. Not retryable: the same work would most
    /// likely run as long again.
    #[error("{backend}: the statement ran past its time limit and was cancelled: {source}")]
    StatementTimeout {
        /// The backend's name.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// Any other error from the backend's driver.
    #[error("{backend}: {source}")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

/// `, column `name``, or nothing when no one column is meant.
fn in_column(column: &Option<&'static str>) -> String {
    column.map(|column| format!(", column `{column}`")).unwrap_or_default()
}

/// What a unique violation says, naming the column when it is known.
fn unique_constraint(column: &Option<&'static str>) -> String {
    match column {
        Some(column) => format!("unique constraint on `{column}` violated: another row already has this value"),
        None => "a unique constraint violated: another row already has one of these values (the database did not \
                 say which column)"
            .to_owned(),
    }
}

impl Error {
    /// Wraps a driver error that has no variant of its own.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend { backend, source: source.into() }
    }

    /// Whether running the same session again may well succeed, and nothing of this one
    /// was committed: [`Conflict`](Error::Conflict) (a row changed since it was read),
    /// [`Deadlock`](Error::Deadlock) and [`LockTimeout`](Error::LockTimeout).
    /// [`Database::transaction`](crate::Database::transaction) retries on these.
    ///
    /// A lost [`Connection`](Error::Connection) is not among them: lost during
    /// `commit`, the commit may have been applied. `Database::transaction` retries it
    /// only when it happened before the commit.
    ///
    /// ```
    /// use plinth::Error;
    /// assert!(Error::Conflict { table: "users", id: 1 }.is_retryable());
    /// assert!(!Error::UniqueViolation { table: "users", column: Some("username") }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict { .. } | Error::Deadlock { .. } | Error::LockTimeout { .. })
    }
}
