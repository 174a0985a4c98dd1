//! Raw SQL: hand-written statements run inside a session's own transaction, for what
//! Plinth's queries do not say (a window function, a full-text search, a bulk `UPDATE …
//! FROM`). Not portable: the SQL is the database's own, and it runs on PostgreSQL and
//! SQLite only. Parameters are always bound, never spliced into the text.

use std::borrow::Cow;

use plinth::backend::{intern_table, record_from_stored, session_transaction};
use plinth::{ColumnType, Entity, Error, Field, Record, Result, Session, Table, Value};

use crate::driver::Driver;
use crate::sql::{select_list, Bind, Dialect, Statement};
use crate::transaction::SqlTransaction;

/// A session's transaction, for raw SQL; from [`raw`].
///
/// Statements run inside the session's transaction (beginning it if nothing was written
/// yet), so they see its writes, its writes see theirs, and they commit or roll back
/// with it. A statement the database refuses inside a PostgreSQL transaction aborts it:
/// the session's `commit` then fails, as after any failed write.
///
/// ```no_run
/// # use plinth::{Entity, Value};
/// # #[derive(Entity, Clone, Debug)] #[entity(table = "users")]
/// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
/// # async fn run(db: plinth::Database) -> plinth::Result<()> {
/// let mut session = db.session().await?;
/// let mut sql = plinth_sqlx::raw(&mut session)?;
/// let renamed = sql
///     .execute(r#"UPDATE "users" SET "email_address" = lower("email_address") WHERE "username" LIKE $1"#, &[Value::from("a%")])
///     .await?;
/// let per_domain: Vec<(String, i64)> = sql
///     .fetch(r#"SELECT split_part("email_address", '@', 2), count(*) FROM "users" GROUP BY 1 ORDER BY 1"#, &[])
///     .await?;
/// let columns = plinth_sqlx::RawSql::columns::<User>();
/// let recent: Vec<plinth::Record<User>> = sql
///     .fetch_records(&format!(r#"SELECT {columns} FROM "users" ORDER BY "created_at" DESC LIMIT $1"#), &[Value::I64(10)])
///     .await?;
/// session.commit().await?;
/// # let _ = (renamed, per_domain, recent); Ok(()) }
/// ```
#[derive(Debug)]
pub struct RawSql<'s> {
    tx: Tx<'s>,
}

#[derive(Debug)]
enum Tx<'s> {
    #[cfg(feature = "postgres")]
    Postgres(&'s mut SqlTransaction<crate::postgres::Pg>),
    #[cfg(feature = "sqlite")]
    Sqlite(&'s mut SqlTransaction<crate::sqlite::Sqlite>),
}

/// Runs `$body` with `$tx` bound to the driver's transaction, whichever it is.
macro_rules! on_tx {
    ($raw:expr, |$tx:ident| $body:expr) => {
        match &mut $raw.tx {
            #[cfg(feature = "postgres")]
            Tx::Postgres($tx) => $body,
            #[cfg(feature = "sqlite")]
            Tx::Sqlite($tx) => $body,
        }
    };
}

/// Raw SQL on `session`'s own transaction; [`Error::Unsupported`] if the session is not
/// on PostgreSQL or SQLite through this crate.
pub fn raw(session: &mut Session) -> Result<RawSql<'_>> {
    let unsupported =
        || Error::Unsupported { backend: "plinth-sqlx", feature: "raw SQL outside PostgreSQL and SQLite" };
    let any = session_transaction(session).as_any_mut().ok_or_else(unsupported)?;
    #[cfg(feature = "postgres")]
    if any.is::<SqlTransaction<crate::postgres::Pg>>() {
        return Ok(RawSql { tx: Tx::Postgres(any.downcast_mut().ok_or_else(unsupported)?) });
    }
    #[cfg(feature = "sqlite")]
    if any.is::<SqlTransaction<crate::sqlite::Sqlite>>() {
        return Ok(RawSql { tx: Tx::Sqlite(any.downcast_mut().ok_or_else(unsupported)?) });
    }
    Err(unsupported())
}

impl RawSql<'_> {
    /// Runs a statement that returns no rows (`UPDATE`, `DELETE`, `INSERT`, DDL) with
    /// `params` bound to `$1, $2, …` (PostgreSQL) or `?1, ?2, …` (SQLite); how many rows
    /// it changed. Values no backend stores exactly (NaN, a NUL character) are refused
    /// before any I/O; a `NULL` is bound as text (cast the placeholder where the
    /// database needs another type: `$1::bigint`).
    ///
    /// Rows it writes keep Plinth's rules only as far as the database enforces them
    /// (types, `NOT NULL`, unique and foreign keys): on PostgreSQL a trigger moves
    /// `updated_at` on every `UPDATE`; on SQLite set it yourself, or the version check
    /// will not see the write.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let statement = statement(self.dialect(), sql, params)?;
        on_tx!(self, |tx| tx.raw_execute(raw_table(), statement).await)
    }

    /// Runs a query whose rows are tuples of Plinth field types (`(String, i64)`,
    /// `(Option<f64>,)`, up to eight), read column by column as those types are stored.
    /// A column that does not read as its type is [`Error::Decode`].
    pub async fn fetch<T: FromColumns>(&mut self, sql: &str, params: &[Value]) -> Result<Vec<T>> {
        let statement = statement(self.dialect(), sql, params)?;
        let types = T::types();
        let rows = on_tx!(self, |tx| tx.raw_values(raw_table(), statement, &types).await)?;
        rows.into_iter()
            .enumerate()
            .map(|(n, values)| {
                T::from_columns(values).map_err(|found| Error::Decode {
                    table: raw_table().name(),
                    record: format!("row {}", n + 1),
                    column: None,
                    found,
                })
            })
            .collect()
    }

    /// Runs a query that selects `E`'s columns in Plinth's order ([`columns`]) and reads
    /// each row as a record, checked and decoded as every read row is. The table's
    /// stored schema is checked first, as any query's.
    ///
    /// [`columns`]: RawSql::columns
    pub async fn fetch_records<E: Entity>(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Record<E>>> {
        let statement = statement(self.dialect(), sql, params)?;
        let rows = on_tx!(self, |tx| tx.raw_rows(E::table(), statement).await)?;
        rows.into_iter().map(record_from_stored).collect()
    }

    fn dialect(&self) -> Dialect {
        match &self.tx {
            #[cfg(feature = "postgres")]
            Tx::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// `E`'s columns as [`fetch_records`](RawSql::fetch_records) reads them, quoted:
    /// `"id"`, the fields, then `"created_at", "updated_at"` (the order the table's
    /// columns are created in).
    pub fn columns<E: Entity>() -> String {
        select_list(E::table(), None)
    }
}

/// The table errors of raw statements name: they belong to no entity.
fn raw_table() -> &'static Table {
    intern_table("(raw SQL)", &[])
}

fn statement<'v>(dialect: Dialect, sql: &'v str, params: &'v [Value]) -> Result<Statement<'v>> {
    let mut binds = Vec::with_capacity(params.len());
    for value in params {
        if let Some(reason) = value.unstorable_reason() {
            return Err(Error::InvalidValue { table: raw_table().name(), column: None, reason: reason.to_owned() });
        }
        binds.push(Bind::Value { value: Cow::Borrowed(value), ty: value.column_type().unwrap_or(ColumnType::Text) });
    }
    Ok(Statement { dialect, sql: Cow::Borrowed(sql), binds, temporary_lists: Vec::new() })
}

/// A row of a raw query as a tuple of Plinth field types. Sealed: tuples of up to eight
/// [`Field`]s.
pub trait FromColumns: Sized + sealed::Sealed {
    /// The column types, in order.
    #[doc(hidden)]
    fn types() -> Vec<ColumnType>;
    /// The tuple from the row's values; what did not fit, rendered.
    #[doc(hidden)]
    fn from_columns(values: Vec<Value>) -> std::result::Result<Self, String>;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! from_columns {
    ($($name:ident),+) => {
        impl<$($name: Field),+> sealed::Sealed for ($($name,)+) {}
        impl<$($name: Field),+> FromColumns for ($($name,)+) {
            fn types() -> Vec<ColumnType> {
                vec![$($name::TYPE),+]
            }

            #[allow(non_snake_case)]
            fn from_columns(values: Vec<Value>) -> std::result::Result<Self, String> {
                let mut values = values.into_iter();
                $(
                    let value = values.next().ok_or_else(|| "fewer columns than the tuple has".to_owned())?;
                    let $name = $name::from_value(value).map_err(|found| format!("{found} where {} was expected", $name::TYPE))?;
                )+
                Ok(($($name,)+))
            }
        }
    };
}

from_columns!(A);
from_columns!(A, B);
from_columns!(A, B, C);
from_columns!(A, B, C, D);
from_columns!(A, B, C, D, F);
from_columns!(A, B, C, D, F, G);
from_columns!(A, B, C, D, F, G, H);
from_columns!(A, B, C, D, F, G, H, I);

impl<D: Driver> SqlTransaction<D> {
    /// Runs a raw statement inside the transaction; rows changed.
    pub(crate) async fn raw_execute(&mut self, table: &'static Table, statement: Statement<'_>) -> Result<u64> {
        self.usable()?;
        let done = D::execute(self.writer(Some(table)).await?, table, &statement).await;
        self.wrote(done)
    }

    /// Runs a raw query inside the transaction, reading column `i` as `types[i]`.
    pub(crate) async fn raw_values(
        &mut self,
        table: &'static Table,
        statement: Statement<'_>,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        self.usable()?;
        let rows = D::fetch_values(self.writer(Some(table)).await?, table, &statement, types).await;
        self.wrote(rows).map_err(|err| match err {
            Error::Decode { table, column, found, .. } => {
                Error::Decode { table, record: "a row".to_owned(), column, found }
            }
            other => other,
        })
    }

    /// Runs a raw query of `table`'s columns inside the transaction.
    pub(crate) async fn raw_rows(
        &mut self,
        table: &'static Table,
        statement: Statement<'_>,
    ) -> Result<Vec<plinth::backend::StoredRow>> {
        self.checked(table).await?;
        let rows = D::fetch_rows(self.writer(Some(table)).await?, table, &statement).await;
        self.wrote(rows)
    }
}
