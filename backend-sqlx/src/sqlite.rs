//! SQLite: [`SqliteBackend`], the zero-set-up default for native apps.

mod codec;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plinth::backend::{Backend, Transaction};
use plinth::query::Select;
use plinth::{ColumnType, Error, Result, Row, RowMeta, StoredRow, Table, Value};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row as _;

use crate::connection::LazyTransaction;
use crate::errors::map_err;
use crate::sql::Dialect::Sqlite;
use crate::sql::{
    compile_count, compile_select, create_index, create_table, quote, sqlite_insert, Bind, Statement, StatementCache,
    Stored, TableSql, TemporaryList,
};
use codec::SqliteQuery;

const NAME: &str = "sqlite";

/// SQLite's limit on parameters in one statement.
const MAX_PARAMETERS: usize = 32_766;

/// Rows per multi-row INSERT.
const ROWS_PER_STATEMENT: usize = 100;

/// Plinth on SQLite: a `STRICT` table per entity, a transaction per session. SQLite
/// allows one writer at a time: a second session that writes waits (up to the busy
/// timeout) for the first to end.
///
/// Build it with [`connect`](crate::connect) or, to keep an existing pool,
/// [`from_sqlite_pool`](crate::from_sqlite_pool).
#[derive(Debug)]
pub struct SqliteBackend {
    pool: SqlitePool,
    statements: Arc<StatementCache>,
}

impl SqliteBackend {
    /// A backend over `pool`.
    pub fn new(pool: SqlitePool) -> Self {
        SqliteBackend { pool, statements: Arc::new(StatementCache::new(Sqlite)) }
    }

    /// The pool, for queries Plinth does not make.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn bind_all<'q>(statement: &'q Statement<'_>) -> SqliteQuery<'q> {
    statement.binds.iter().fold(sqlx::query(&statement.sql), |q, bind| match bind {
        Bind::Value { value, ty } => codec::bind(q, value, *ty),
        // SQLite statements carry no arrays: their lists are inlined or temporary tables.
        Bind::List { .. } => q,
    })
}

crate::connection::query_functions!(SqliteConnection, SqliteQuery, SqliteRow);

/// Rows per `INSERT` that fills a temporary list.
const LIST_ROWS_PER_STATEMENT: usize = 500;

/// Fills the temporary tables a statement reads its long `is_in` lists from (see
/// `sql::select`), each value a bound parameter of its column's type, so it compares
/// exactly as the column's own values do. Temporary tables belong to the connection.
fn load_lists<'c>(conn: &'c mut SqliteConnection, lists: &'c [TemporaryList<'_>]) -> Boxed<'c, ()> {
    Box::pin(async move {
        for list in lists {
            let name = quote(&list.name);
            let reset = format!("CREATE TEMP TABLE IF NOT EXISTS {name} (\"value\"); DELETE FROM temp.{name}");
            sqlx::Executor::execute(&mut *conn, reset.as_str()).await?;
            for chunk in list.values.chunks(LIST_ROWS_PER_STATEMENT) {
                let rows: Vec<String> = (1..=chunk.len()).map(|i| format!("(?{i})")).collect();
                let sql = format!("INSERT INTO temp.{name} (\"value\") VALUES {}", rows.join(", "));
                let query = chunk.iter().fold(sqlx::query(&sql), |q, value| codec::bind(q, value, list.ty));
                query.execute(&mut *conn).await?;
            }
        }
        Ok(())
    })
}

/// Creates the tables that are missing, in one transaction, after checking that
/// existing ones have the entity's schema. The transaction takes the write lock first
/// (`BEGIN IMMEDIATE`), so processes opening one file together take turns (waiting up to
/// the busy timeout) instead of failing when a read lock cannot become a write lock.
async fn create_tables(pool: SqlitePool, statements: Arc<StatementCache>, tables: Vec<&'static Table>) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(|e| map_err(NAME, None, e))?;
    for table in &tables {
        let creating = match stored_schema(&mut tx, Sqlite, table).await? {
            Stored::Missing => create_table(Sqlite, table),
            Stored::Matching { unindexed } => unindexed.into_iter().map(|i| create_index(table, i)).collect(),
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
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        create_tables(self.pool.clone(), Arc::clone(&self.statements), tables.to_vec()).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        let tx = LazyTransaction::new(self.pool.clone());
        Ok(Box::new(SqliteTransaction { tx, statements: Arc::clone(&self.statements) }))
    }
}

/// One session: one SQLite transaction, rolled back if dropped uncommitted. A failed
/// statement (a unique violation) is undone alone; the transaction goes on.
#[derive(Debug)]
struct SqliteTransaction {
    tx: LazyTransaction<sqlx::Sqlite>,
    statements: Arc<StatementCache>,
}

impl SqliteTransaction {
    /// The statements of `table`, once the catalog has shown it stored with the entity's
    /// schema ([`Error::NoSuchTable`] or [`Error::SchemaMismatch`] otherwise), which it
    /// is asked at the table's first use through this backend.
    async fn checked(&mut self, table: &'static Table) -> Result<Arc<TableSql>> {
        let sql = self.statements.get(table);
        if !sql.is_verified() {
            let reader = self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?;
            let stored = stored_schema(reader, Sqlite, table).await;
            if self.tx.after_read(stored)? == Stored::Missing {
                return Err(Error::NoSuchTable { table: table.name().to_owned() });
            }
            sql.mark_verified();
        }
        Ok(sql)
    }

    async fn run_script(&mut self, sql: &str) -> Result<()> {
        execute_script(self.tx.writer().await.map_err(|e| map_err(NAME, None, e))?, sql.to_owned())
            .await
            .map_err(|e| map_err(NAME, None, e))
    }

    /// Inserts `rows` with one multi-row statement, all stamped `now`.
    async fn insert_chunk(&mut self, table: &'static Table, rows: &[Row], now: &Value) -> Result<Vec<RowMeta>> {
        let cached;
        let multi_row;
        let sql: &str = if rows.len() == 1 {
            cached = self.statements.get(table);
            &cached.insert
        } else {
            multi_row = sqlite_insert(table, rows.len());
            &multi_row
        };
        let mut query = codec::bind(sqlx::query(sql), now, ColumnType::Timestamp);
        for row in rows {
            for (column, value) in table.columns().iter().zip(row.values()) {
                query = codec::bind(query, value, column.ty());
            }
        }
        let returned = fetch_all(self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?, query)
            .await
            .map_err(|e| map_err(NAME, Some(table), e))?;
        returned.iter().map(|row| codec::meta(table, row)).collect()
    }
}

impl SqliteTransaction {
    /// Runs the table's update if row `id`'s `updated_at` is stored as `version`, moving
    /// it strictly past `seen`; `None` if no row matched.
    async fn update_if(
        &mut self,
        table: &'static Table,
        id: i64,
        seen: DateTime<Utc>,
        version: &str,
        row: &Row,
    ) -> Result<Option<RowMeta>> {
        let sql = self.statements.get(table);
        let now = Value::Timestamp(plinth::clock::now_after(seen));
        let query = table
            .columns()
            .iter()
            .zip(row.values())
            .fold(sqlx::query(&sql.update), |q, (column, value)| codec::bind(q, value, column.ty()));
        let query = codec::bind(query, &now, ColumnType::Timestamp).bind(id).bind(version);
        let returned = fetch_optional(self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?, query)
            .await
            .map_err(|e| map_err(NAME, Some(table), e))?;
        returned.map(|returned| codec::meta(table, &returned)).transpose()
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        self.checked(table).await?;
        let now = Value::Timestamp(plinth::clock::now());
        // Chunks of at most 100 rows: one prepared statement reused for every full chunk,
        // instead of a huge statement parsed anew for each batch size.
        let per_statement = ((MAX_PARAMETERS - 1) / table.columns().len().max(1)).min(ROWS_PER_STATEMENT);
        let chunks: Vec<&[Row]> = rows.chunks(per_statement).collect();
        if chunks.len() == 1 {
            let mut metas = self.insert_chunk(table, rows, &now).await?;
            metas.sort_by_key(|m| m.id);
            return Ok(metas);
        }
        // Several statements: a savepoint makes the batch all-or-nothing.
        self.run_script("SAVEPOINT \"plinth_add_all\"").await?;
        let mut metas = Vec::with_capacity(rows.len());
        for chunk in chunks {
            match self.insert_chunk(table, chunk, &now).await {
                Ok(chunk_metas) => metas.extend(chunk_metas),
                Err(err) => {
                    self.run_script("ROLLBACK TO \"plinth_add_all\"; RELEASE \"plinth_add_all\"").await?;
                    return Err(err);
                }
            }
        }
        self.run_script("RELEASE \"plinth_add_all\"").await?;
        metas.sort_by_key(|m| m.id);
        Ok(metas)
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        let sql = self.checked(table).await?;
        let row = fetch_optional(
            self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&sql.get).bind(id),
        )
        .await;
        let row = self.tx.after_read(row.map_err(|e| map_err(NAME, Some(table), e)))?;
        row.map(|row| codec::decode(table, &row)).transpose()
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        self.checked(table).await?;
        let seen_text = codec::timestamp_text(&seen);
        if let Some(meta) = self.update_if(table, id, seen, &seen_text, row).await? {
            return Ok(meta);
        }
        // Refused: the row is gone, was written since `seen`, or holds `seen` written
        // another way (a timestamp stored by hand, e.g. `2024-01-01 00:00:00`).
        let stored = fetch_optional(
            self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&self.statements.get(table).version).bind(id),
        )
        .await
        .map_err(|e| map_err(NAME, Some(table), e))?;
        let Some(stored) = stored else { return Err(Error::NotFound { table: table.name().to_owned(), id }) };
        let stored: String = stored.try_get(0).map_err(|e| map_err(NAME, Some(table), e))?;
        let conflict = || Error::Conflict { table: table.name().to_owned(), id };
        if stored == seen_text || codec::parse_timestamp(&stored).ok() != Some(seen) {
            return Err(conflict());
        }
        self.update_if(table, id, seen, &stored, row).await?.ok_or_else(conflict)
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        let sql = self.checked(table).await?;
        let done = execute(
            self.tx.writer().await.map_err(|e| map_err(NAME, Some(table), e))?,
            sqlx::query(&sql.delete).bind(id),
        )
        .await;
        match done.map_err(|e| map_err(NAME, Some(table), e))? {
            0 => Err(Error::NotFound { table: table.name().to_owned(), id }),
            _ => Ok(()),
        }
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        let sql = self.checked(table).await?;
        let statement = compile_select(Sqlite, table, &sql.columns, select);
        let reader = self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?;
        let rows = match load_lists(reader, &statement.temporary_lists).await {
            Ok(()) => fetch_decoded(reader, bind_all(&statement), table, codec::decode).await,
            Err(err) => Err(map_err(NAME, Some(table), err)),
        };
        self.tx.after_read(rows)
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        self.checked(table).await?;
        let statement = compile_count(Sqlite, table, select);
        let reader = self.tx.reader().await.map_err(|e| map_err(NAME, Some(table), e))?;
        let row = match load_lists(reader, &statement.temporary_lists).await {
            Ok(()) => fetch_one(reader, bind_all(&statement)).await,
            Err(err) => Err(err),
        };
        let row = self.tx.after_read(row.map_err(|e| map_err(NAME, Some(table), e)))?;
        let count: i64 = row.try_get(0).map_err(|e| map_err(NAME, Some(table), e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(|e| map_err(NAME, None, e))
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.tx.rollback().await.map_err(|e| map_err(NAME, None, e))
    }
}
