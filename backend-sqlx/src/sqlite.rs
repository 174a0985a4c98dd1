//! SQLite: [`SqliteBackend`], the zero-set-up default for native apps; the driver's
//! insert and update strategies and its temporary lists.

mod codec;

use chrono::{DateTime, Utc};
use plinth::backend::{Row, RowMeta};
use plinth::{ColumnType, Error, Result, Table, Value};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row as _;

use crate::driver::{own_query_functions, statement_functions, BoxFuture, Driver};
use crate::errors::map_err;
use crate::sql::{quote, sqlite_insert, Bind, Dialect, Statement, TemporaryList};
use crate::transaction::{sql_backend, SqlTransaction};
use codec::SqliteQuery;

/// SQLite's limit on parameters in one statement.
const MAX_PARAMETERS: usize = 32_766;

/// Rows per multi-row INSERT.
const ROWS_PER_STATEMENT: usize = 100;

sql_backend! {
    /// Plinth on SQLite: a `STRICT` table per entity, a transaction per session. SQLite
    /// allows one writer at a time: a second session that writes waits (up to the busy
    /// timeout) for the first to end. A failed statement (a unique violation) is undone
    /// alone; the transaction goes on.
    ///
    /// Build it with [`connect`](crate::connect) or, to keep an existing pool,
    /// [`from_sqlite_pool`](crate::from_sqlite_pool).
    SqliteBackend, Sqlite, SqlitePool
}

/// The SQLite driver.
#[derive(Debug)]
pub(crate) struct Sqlite;

impl Driver for Sqlite {
    type Db = sqlx::Sqlite;
    const NAME: &'static str = "sqlite";
    const DIALECT: Dialect = Dialect::Sqlite;
    const FAILED_STATEMENT_ABORTS: bool = false;

    statement_functions!(
        bind: bind_all,
        meta: codec::stored_meta,
        decode: codec::decode,
        value: codec::value,
        insert: insert,
        update: update
    );

    fn load_lists<'c>(
        conn: &'c mut SqliteConnection,
        lists: &'c [TemporaryList<'_>],
    ) -> BoxFuture<'c, std::result::Result<(), sqlx::Error>> {
        Box::pin(load_lists(conn, lists))
    }
}

type SqliteTransaction = SqlTransaction<Sqlite>;

fn bind_all<'q>(statement: &'q Statement<'_>) -> SqliteQuery<'q> {
    statement.binds.iter().fold(sqlx::query(&statement.sql), |q, bind| match bind {
        Bind::Value { value, ty } => codec::bind(q, value, *ty),
        // SQLite statements carry no arrays: their lists are inlined or temporary tables.
        Bind::List { .. } => q,
    })
}

own_query_functions!(driver: Sqlite, conn: SqliteConnection, query: SqliteQuery, row: SqliteRow);

/// Rows per `INSERT` that fills a temporary list.
const LIST_ROWS_PER_STATEMENT: usize = 500;

/// Fills the temporary tables a statement reads its long `is_in` lists from (see
/// `sql::select`), each value a bound parameter of its column's type, so it compares
/// exactly as the column's own values do. Temporary tables belong to the connection.
async fn load_lists(conn: &mut SqliteConnection, lists: &[TemporaryList<'_>]) -> std::result::Result<(), sqlx::Error> {
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
}

/// Inserts `rows` in chunks of at most [`ROWS_PER_STATEMENT`] (one prepared statement
/// reused for every full chunk, instead of a huge statement parsed anew for each batch
/// size), all stamped with one time; several chunks run in a savepoint, so the batch is
/// all or nothing.
async fn insert(tx: &mut SqliteTransaction, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
    tx.checked(table).await?;
    let now = Value::Timestamp(plinth::backend::clock::now());
    let per_statement = ((MAX_PARAMETERS - 1) / table.columns().len().max(1)).min(ROWS_PER_STATEMENT);
    let chunks: Vec<&[Row]> = rows.chunks(per_statement).collect();
    if chunks.len() == 1 {
        let mut metas = insert_chunk(tx, table, rows, &now).await?;
        metas.sort_by_key(|m| m.id);
        return Ok(metas);
    }
    run_script(tx, "SAVEPOINT \"plinth_add_all\"").await?;
    let mut metas = Vec::with_capacity(rows.len());
    for chunk in chunks {
        match insert_chunk(tx, table, chunk, &now).await {
            Ok(chunk_metas) => metas.extend(chunk_metas),
            Err(err) => {
                run_script(tx, "ROLLBACK TO \"plinth_add_all\"; RELEASE \"plinth_add_all\"").await?;
                return Err(err);
            }
        }
    }
    run_script(tx, "RELEASE \"plinth_add_all\"").await?;
    metas.sort_by_key(|m| m.id);
    Ok(metas)
}

async fn run_script(tx: &mut SqliteTransaction, sql: &str) -> Result<()> {
    Sqlite::execute_script(tx.writer(None).await?, None, sql.to_owned()).await
}

/// Inserts `rows` with one multi-row statement, all stamped `now`.
async fn insert_chunk(
    tx: &mut SqliteTransaction,
    table: &'static Table,
    rows: &[Row],
    now: &Value,
) -> Result<Vec<RowMeta>> {
    let cached;
    let multi_row;
    let sql: &str = if rows.len() == 1 {
        cached = tx.statements(table);
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
    let returned = fetch_all(tx.writer(Some(table)).await?, table, &rows, query).await?;
    returned.iter().map(|row| codec::meta(table, row)).collect()
}

/// Writes `row` over row `id` if its `updated_at` is stored as `seen` is written; if
/// refused, finds out why (gone: `NotFound`; written since: `Conflict`), and if the row
/// holds `seen` written another way (a timestamp stored by hand, e.g. `2024-01-01
/// 00:00:00`), tries once more with the text as stored.
async fn update(
    tx: &mut SqliteTransaction,
    table: &'static Table,
    id: i64,
    seen: DateTime<Utc>,
    row: &Row,
) -> Result<RowMeta> {
    let sql = tx.checked(table).await?;
    let seen_text = codec::timestamp_text(&seen);
    if let Some(meta) = update_if(tx, table, id, seen, &seen_text, row).await? {
        return Ok(meta);
    }
    let version = fetch_optional(tx.writer(Some(table)).await?, table, &id, sqlx::query(&sql.version).bind(id)).await?;
    let Some(stored) = version else { return Err(Error::NotFound { table: table.name(), id }) };
    let stored: String = stored.try_get(0).map_err(|e| map_err(Sqlite::NAME, Some(table), e))?;
    let conflict = || Error::Conflict { table: table.name(), id };
    if stored == seen_text || codec::parse_timestamp(&stored).ok() != Some(seen) {
        return Err(conflict());
    }
    update_if(tx, table, id, seen, &stored, row).await?.ok_or_else(conflict)
}

/// Runs the table's update if row `id`'s `updated_at` is stored as `version`, moving it
/// strictly past `seen`; `None` if no row matched.
async fn update_if(
    tx: &mut SqliteTransaction,
    table: &'static Table,
    id: i64,
    seen: DateTime<Utc>,
    version: &str,
    row: &Row,
) -> Result<Option<RowMeta>> {
    let sql = tx.statements(table);
    let now = Value::Timestamp(plinth::backend::clock::now_after(seen));
    let query = table
        .columns()
        .iter()
        .zip(row.values())
        .fold(sqlx::query(&sql.update), |q, (column, value)| codec::bind(q, value, column.ty()));
    let query = codec::bind(query, &now, ColumnType::Timestamp).bind(id).bind(version);
    let returned = fetch_optional(tx.writer(Some(table)).await?, table, &(row, id, version), query).await?;
    returned.map(|returned| codec::meta(table, &returned)).transpose()
}
