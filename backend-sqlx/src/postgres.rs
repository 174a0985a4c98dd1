//! PostgreSQL: [`PostgresBackend`], a session per transaction on a [`PgPool`].

mod codec;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plinth::backend::{Backend, Transaction};
use plinth::query::Select;
use plinth::{Error, IndexKey, Result, Row, RowMeta, StoredRow, Table};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::Row as _;

use crate::connection::LazyTransaction;
use crate::errors::map_err;
use crate::sql::Dialect::Postgres;
use crate::sql::{
    compile_count, compile_select, create_index, create_table, quote, touch_trigger, Bind, Statement, StatementCache,
    Stored, TableSql, TOUCH_UPDATED_AT,
};
use codec::PgQuery;

const NAME: &str = "postgres";

/// From this many rows, an insert is a plain `INSERT` inside a savepoint rather than
/// one with `ON CONFLICT DO NOTHING`. Both leave the session usable after a unique
/// violation, but `ON CONFLICT` makes PostgreSQL insert every row speculatively (about a
/// third slower on 10,000 rows), while the savepoint costs two round trips however many
/// rows there are.
const SAVEPOINT_ROWS: usize = 256;

/// How often an update refused by a unique value that another session then freed is
/// tried again before it is reported as a [`Error::Conflict`].
const UPDATE_ATTEMPTS: usize = 3;

/// Plinth on PostgreSQL: a real table per entity, a transaction per session.
///
/// Build it with [`connect`](crate::connect) or, to keep an existing pool,
/// [`from_pg_pool`](crate::from_pg_pool).
#[derive(Debug)]
pub struct PostgresBackend {
    pool: PgPool,
    statements: Arc<StatementCache>,
}

impl PostgresBackend {
    /// A backend over `pool`.
    pub fn new(pool: PgPool) -> Self {
        PostgresBackend { pool, statements: Arc::new(StatementCache::new(Postgres)) }
    }

    /// The pool, for queries Plinth does not make.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn bind_all<'q>(statement: &'q Statement<'_>) -> PgQuery<'q> {
    statement.binds.iter().fold(sqlx::query(&statement.sql), |q, bind| match bind {
        Bind::Value { value, ty } => codec::bind(q, value, *ty),
        Bind::List { values, ty } => codec::bind_list(q, values, *ty),
    })
}

crate::connection::query_functions!(PgConnection, PgQuery, PgRow);

/// The first key of the advisory lock `create_all` holds for its transaction (`plnt`);
/// the second is the schema's name, hashed, so schemas do not wait on each other.
const CREATE_ALL_LOCK: i32 = 0x706c_6e74;

/// Creates the tables that are missing, in one transaction, after checking that
/// existing ones have the entity's schema. Processes starting together (replicas of one
/// app) take turns: the transaction first takes an advisory lock, as concurrent `CREATE
/// TABLE` and `CREATE OR REPLACE FUNCTION` fail on PostgreSQL ("tuple concurrently
/// updated", duplicate types) instead of waiting for each other.
async fn create_tables(pool: PgPool, statements: Arc<StatementCache>, tables: Vec<&'static Table>) -> Result<()> {
    let mut tx = pool.begin().await.map_err(|e| map_err(NAME, None, e))?;
    let lock = format!("SELECT pg_advisory_xact_lock({CREATE_ALL_LOCK}, hashtext(current_schema()))");
    execute_script(&mut tx, lock).await.map_err(|e| map_err(NAME, None, e))?;
    execute_script(&mut tx, TOUCH_UPDATED_AT.to_owned()).await.map_err(|e| map_err(NAME, None, e))?;
    for table in &tables {
        let creating = match stored_schema(&mut tx, Postgres, table).await? {
            Stored::Missing => create_table(Postgres, table),
            Stored::Matching { unindexed } => {
                unindexed.into_iter().map(|i| create_index(table, i)).chain([touch_trigger(table)]).collect()
            }
        };
        for statement in creating {
            execute_script(&mut tx, statement).await.map_err(|e| map_err(NAME, Some(table), e))?;
        }
    }
    tx.commit().await.map_err(|e| map_err(NAME, None, e))?;
    for table in tables {
        statements.get(table).mark_verified();
    }
    Ok(())
}

#[async_trait]
impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        create_tables(self.pool.clone(), Arc::clone(&self.statements), tables.to_vec()).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        let tx = LazyTransaction::new(self.pool.clone());
        Ok(Box::new(PostgresTransaction { tx, statements: Arc::clone(&self.statements), aborted: None }))
    }
}

/// One session: one PostgreSQL transaction, rolled back if dropped uncommitted.
#[derive(Debug)]
struct PostgresTransaction {
    tx: LazyTransaction<sqlx::Postgres>,
    statements: Arc<StatementCache>,
    /// Set when a statement inside the transaction failed.
    aborted: Option<Aborted>,
}

/// Why PostgreSQL aborted a session's transaction. After a statement fails inside a
/// transaction (a unique violation raced with another session, a deadlock, a statement
/// timeout, a lost connection), the server refuses every later statement and turns
/// `COMMIT` into a rollback that the driver reports as success; the session must then
/// fail its commit instead, or writes it made before the failure would be reported
/// committed and silently lost.
#[derive(Debug)]
enum Aborted {
    Unique { table: String, column: String },
    Connection(String),
    Other(String),
}

impl Aborted {
    /// The error `commit` and every later statement of the session return: the unique
    /// violation again (as the memory backend reports one found at commit), or what
    /// aborted the transaction.
    fn to_error(&self) -> Error {
        match self {
            Aborted::Unique { table, column } => {
                Error::UniqueViolation { table: table.clone(), column: column.clone() }
            }
            Aborted::Connection(cause) => Error::Connection {
                backend: NAME,
                source: format!("the connection was lost during the transaction, so nothing was committed ({cause}); retry the session").into(),
            },
            Aborted::Other(cause) => Error::backend(
                NAME,
                format!("the transaction was aborted by an earlier error and nothing was committed ({cause}); retry the session"),
            ),
        }
    }
}

/// Passes `result` on, remembering in `aborted` the first error of a statement that ran
/// inside the transaction (`in_transaction`). A row that fails to decode is the client's
/// finding and does not abort anything on the server.
fn watch<T>(aborted: &mut Option<Aborted>, in_transaction: bool, result: Result<T>) -> Result<T> {
    if let (true, None, Err(err)) = (in_transaction, &aborted, &result) {
        *aborted = match err {
            // Found by the client, not the server: the transaction goes on.
            Error::Decode { .. } | Error::SchemaMismatch { .. } => None,
            Error::UniqueViolation { table, column } => {
                Some(Aborted::Unique { table: table.clone(), column: column.clone() })
            }
            Error::Connection { source, .. } => Some(Aborted::Connection(source.to_string())),
            other => Some(Aborted::Other(other.to_string())),
        };
    }
    result
}

impl PostgresTransaction {
    /// After an insert skipped rows (`ON CONFLICT DO NOTHING`): removes the rows it did
    /// insert, so the batch writes nothing, and names the violated column.
    async fn undo_partial_insert(&mut self, table: &'static Table, rows: &[Row], inserted: &[RowMeta]) -> Error {
        let ids: Vec<i64> = inserted.iter().map(|m| m.id).collect();
        let delete = format!("DELETE FROM {} WHERE \"id\" = ANY($1)", quote(table.name()));
        let deleted = match self.tx.writer().await {
            Ok(conn) => execute(conn, sqlx::query(&delete).bind(&ids)).await.map_err(|e| map_err(NAME, Some(table), e)),
            Err(err) => Err(map_err(NAME, Some(table), err)),
        };
        if let Err(err) = watch(&mut self.aborted, true, deleted) {
            return err;
        }
        for (i, column) in table.columns().iter().enumerate().filter(|(_, c)| c.is_unique()) {
            let mut seen = HashSet::new();
            let repeated =
                rows.iter().map(|r| &r.values()[i]).filter(|v| !v.is_null()).any(|v| !seen.insert(IndexKey(v.clone())));
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ANY($1))",
                quote(table.name()),
                quote(column.name())
            );
            let taken = match repeated {
                true => Ok(true),
                false => self.exists(table, codec::bind_column_array(sqlx::query(&sql), rows, i, column.ty())).await,
            };
            match taken {
                Ok(true) => return unique_violation(table, column.name()),
                Ok(false) => {}
                Err(err) => return err,
            }
        }
        // Only the primary key is left: a row inserted by hand with an explicit id.
        unique_violation(table, "id")
    }

    /// A large batch: one plain `INSERT … UNNEST`, undone by rolling back to a savepoint
    /// if it fails (a unique violation names its constraint, hence its column).
    async fn insert_in_savepoint(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        let sql = self.checked(table).await?;
        let mut query = sqlx::query(&sql.bulk_insert);
        for (i, column) in table.columns().iter().enumerate() {
            query = codec::bind_column_array(query, rows, i, column.ty());
        }
        let conn = self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?;
        let begun = execute_script(conn, "SAVEPOINT plinth_insert".to_owned()).await;
        watch(&mut self.aborted, true, begun.map_err(|e| map_err(NAME, Some(table), e)))?;
        match fetch_all(conn, query).await {
            Ok(returned) => {
                let released = execute_script(conn, "RELEASE SAVEPOINT plinth_insert".to_owned()).await;
                watch(&mut self.aborted, true, released.map_err(|e| map_err(NAME, Some(table), e)))?;
                let mut metas = returned.iter().map(|row| codec::meta(table, row)).collect::<Result<Vec<_>>>()?;
                // Identity values are drawn in input order, so ascending ids are input order.
                metas.sort_by_key(|m| m.id);
                Ok(metas)
            }
            Err(err) => {
                // Rolling back to the savepoint leaves the transaction usable. If that
                // fails too, the failure is remembered so the commit cannot pass; the
                // insert's own error says more about why, so that is the one returned.
                let undone = execute_script(conn, "ROLLBACK TO SAVEPOINT plinth_insert".to_owned()).await;
                let _ = watch(&mut self.aborted, true, undone.map_err(|e| map_err(NAME, Some(table), e)));
                Err(map_err(NAME, Some(table), err))
            }
        }
    }

    /// The statements of `table`, once the catalog has shown it stored with the entity's
    /// schema ([`Error::NoSuchTable`] or [`Error::SchemaMismatch`] otherwise), which it
    /// is asked at the table's first use through this backend.
    async fn checked(&mut self, table: &'static Table) -> Result<Arc<TableSql>> {
        // PostgreSQL refuses every statement of an aborted transaction ("current
        // transaction is aborted"); the session says why instead, without a round trip.
        if let Some(aborted) = &self.aborted {
            return Err(aborted.to_error());
        }
        let sql = self.statements.get(table);
        if !sql.is_verified() {
            let reader = self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?;
            let stored = stored_schema(reader, Postgres, table).await;
            if self.read_done(stored)? == Stored::Missing {
                return Err(Error::NoSuchTable { table: table.name().to_owned() });
            }
            sql.mark_verified();
        }
        Ok(sql)
    }

    /// Passes a read's result on: the reading connection handed back if it failed
    /// (see [`LazyTransaction::after_read`]), the failure remembered if it happened
    /// inside the transaction. Reading never begins the transaction, so whether it had
    /// begun is the same before and after the read.
    fn read_done<T>(&mut self, result: Result<T>) -> Result<T> {
        let result = self.tx.after_read(result);
        watch(&mut self.aborted, self.tx.in_transaction(), result)
    }

    /// Runs a `SELECT EXISTS (…)`.
    async fn exists(&mut self, table: &Table, query: PgQuery<'_>) -> Result<bool> {
        let row = fetch_one(self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?, query)
            .await
            .map_err(|e| map_err(NAME, Some(table), e));
        let row = self.read_done(row)?;
        row.try_get::<bool, _>(0).map_err(|e| map_err(NAME, Some(table), e))
    }

    /// Row `id`'s `updated_at` (its version) as stored, `None` if the row is gone.
    async fn stored_version(&mut self, table: &'static Table, id: i64) -> Result<Option<DateTime<Utc>>> {
        let sql = self.checked(table).await?;
        let row = fetch_optional(
            self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&sql.version).bind(id),
        )
        .await
        .map_err(|e| map_err(NAME, Some(table), e));
        let row = self.read_done(row)?;
        row.map(|row| codec::version(table, id, &row)).transpose()
    }
}

fn unique_violation(table: &Table, column: &str) -> Error {
    Error::UniqueViolation { table: table.name().to_owned(), column: column.to_owned() }
}

#[async_trait]
impl Transaction for PostgresTransaction {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        if rows.len() >= SAVEPOINT_ROWS && !table.columns().is_empty() {
            return self.insert_in_savepoint(table, rows).await;
        }
        let sql = self.checked(table).await?;
        let mut query = sqlx::query(&sql.insert);
        if table.columns().is_empty() {
            query = query.bind(i64::try_from(rows.len()).unwrap_or(i64::MAX));
        }
        for (i, column) in table.columns().iter().enumerate() {
            query = codec::bind_column_array(query, rows, i, column.ty());
        }
        let returned = fetch_all(self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?, query)
            .await
            .map_err(|e| map_err(NAME, Some(table), e));
        let returned = watch(&mut self.aborted, true, returned)?;
        let mut metas = returned.iter().map(|row| codec::meta(table, row)).collect::<Result<Vec<_>>>()?;
        // Identity values are drawn in input order, so ascending ids are input order.
        metas.sort_by_key(|m| m.id);
        if metas.len() != rows.len() {
            return Err(self.undo_partial_insert(table, rows, &metas).await);
        }
        Ok(metas)
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        let sql = self.checked(table).await?;
        let row = fetch_optional(
            self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&sql.get).bind(id),
        )
        .await;
        let row = self.read_done(row.map_err(|e| map_err(NAME, Some(table), e)))?;
        row.map(|row| codec::decode(table, &row)).transpose()
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        let sql = self.checked(table).await?;
        for _ in 0..UPDATE_ATTEMPTS {
            let query = table
                .columns()
                .iter()
                .zip(row.values())
                .fold(sqlx::query(&sql.update), |q, (column, value)| codec::bind(q, value, column.ty()));
            let returned = fetch_optional(
                self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?,
                query.bind(id).bind(seen),
            )
            .await
            .map_err(|e| map_err(NAME, Some(table), e));
            let returned = watch(&mut self.aborted, true, returned)?;
            if let Some(returned) = returned {
                return codec::meta(table, &returned);
            }
            match self.stored_version(table, id).await? {
                None => return Err(Error::NotFound { table: table.name().to_owned(), id }),
                Some(version) if version != seen => return Err(Error::Conflict { table: table.name().to_owned(), id }),
                Some(_) => {}
            }
            for (i, column) in table.columns().iter().enumerate().filter(|(_, c)| c.is_unique()) {
                let value = &row.values()[i];
                let sql = format!(
                    "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1 AND \"id\" <> $2)",
                    quote(table.name()),
                    quote(column.name())
                );
                let query = codec::bind(sqlx::query(&sql), value, column.ty()).bind(id);
                if !value.is_null() && self.exists(table, query).await? {
                    return Err(unique_violation(table, column.name()));
                }
            }
            // Nothing explains the refusal: another session held one of the new unique
            // values when the update began and has let go of it since. Try again.
        }
        Err(Error::Conflict { table: table.name().to_owned(), id })
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        let sql = self.checked(table).await?;
        let done = execute(
            self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&sql.delete).bind(id),
        )
        .await;
        match watch(&mut self.aborted, true, done.map_err(|e| map_err(NAME, Some(table), e)))? {
            0 => Err(Error::NotFound { table: table.name().to_owned(), id }),
            _ => Ok(()),
        }
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        let sql = self.checked(table).await?;
        let statement = compile_select(Postgres, table, &sql.columns, select);
        let reader = self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?;
        let rows = fetch_decoded(reader, bind_all(&statement), table, codec::decode).await;
        self.read_done(rows)
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        self.checked(table).await?;
        let statement = compile_count(Postgres, table, select);
        let row = fetch_one(self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?, bind_all(&statement))
            .await
            .map_err(|e| map_err(NAME, Some(table), e));
        let row = self.read_done(row)?;
        let count: i64 = row.try_get(0).map_err(|e| map_err(NAME, Some(table), e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        match self.aborted {
            Some(aborted) => {
                // The server has already undone everything; this ends the transaction
                // block so the connection goes back to the pool clean. If the connection
                // is gone, the pool drops it.
                let _ = self.tx.rollback().await;
                Err(aborted.to_error())
            }
            None => self.tx.commit().await.map_err(|e| map_err(NAME, None, e)),
        }
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.tx.rollback().await.map_err(|e| map_err(NAME, None, e))
    }
}
