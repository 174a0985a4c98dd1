//! [`Driver`]: what differs between the SQL databases, and nothing else. The generic
//! transaction ([`crate::transaction`]) owns everything they share; a driver says how a
//! statement is run and decoded, how its errors read, and how it inserts and updates
//! (the two operations whose best SQL differs between PostgreSQL and SQLite).
//!
//! Every function that runs a statement returns a boxed future. A generic `async fn`
//! over `&mut DB::Connection` whose future must be `Send` (as `async_trait` requires)
//! trips rustc's "implementation of `Executor` is not general enough" (rust-lang/rust
//! #102211): the executor bound is higher-ranked and the compiler cannot prove it for
//! the one lifetime it needs. A boxed future built where the driver's connection type
//! is concrete proves `Send` there instead, so the functions are written once, in
//! [`statement_functions!`], and expanded inside each driver's `impl Driver`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use plinth::backend::{Row, RowMeta, RowSink, RowStream, StoredFields, StoredRow};
use plinth::{ColumnType, Result, Table, Value};

use crate::decode::stored_row;
use crate::sql::{Dialect, Statement, Stored, TemporaryList};
use crate::transaction::SqlTransaction;

/// A boxed `Send` future (see the module's documentation for why futures are boxed).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A driver's connection type.
pub(crate) type Connection<D> = <<D as Driver>::Db as sqlx::Database>::Connection;

/// One SQL database as Plinth uses it through sqlx.
pub(crate) trait Driver: fmt::Debug + Send + Sync + Sized + 'static {
    /// The sqlx database.
    type Db: sqlx::Database;

    /// The backend's name in errors and `Backend::name`.
    const NAME: &'static str;

    /// The SQL dialect its statements are compiled in.
    const DIALECT: Dialect;

    /// Whether a failed statement aborts the whole transaction (PostgreSQL: every later
    /// statement is refused and `COMMIT` quietly rolls back), so the session must
    /// remember the failure and refuse to commit. SQLite undoes only the statement.
    const FAILED_STATEMENT_ABORTS: bool;

    /// Starts telling other processes of the commits `hub` publishes, where the database
    /// offers a way (PostgreSQL's `NOTIFY`); nothing by default.
    fn announce_changes(pool: &sqlx::Pool<Self::Db>, hub: &plinth::backend::ChangeHub, instance: &str) {
        let _ = (pool, hub, instance);
    }

    /// Starts hearing other processes' commits and publishing them to `hub` (PostgreSQL's
    /// `LISTEN`); nothing by default.
    fn hear_changes(pool: &sqlx::Pool<Self::Db>, hub: &plinth::backend::ChangeHub, instance: &str) {
        let _ = (pool, hub, instance);
    }

    /// Runs a `SELECT` of rows with `table`'s full select list, handing each to `sink`
    /// as it arrives, its fields read off the driver's row as the sink takes them, so
    /// each is read while its bytes are still in cache and nothing is built in between;
    /// how many rows it handed over.
    fn fetch_into<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
        sink: &'c mut dyn RowSink,
    ) -> BoxFuture<'c, Result<u64>>;

    /// Runs a `SELECT` of rows and decodes them as they arrive.
    fn fetch_rows<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
    ) -> BoxFuture<'c, Result<Vec<StoredRow>>> {
        Box::pin(async move {
            let mut rows = Vec::new();
            let mut collect = |meta, fields: &mut dyn StoredFields| {
                rows.push(stored_row(table, meta, fields)?);
                Ok(())
            };
            Self::fetch_into(conn, table, statement, &mut collect).await?;
            Ok(rows)
        })
    }

    /// Runs a `SELECT` of rows, handing each out decoded as the stream is polled: only
    /// the driver's read buffer is held, the server's rows wait on the connection.
    fn stream_rows<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
    ) -> RowStream<'c>;

    /// Runs a `SELECT` of at most one row and decodes it.
    fn fetch_row<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
    ) -> BoxFuture<'c, Result<Option<StoredRow>>>;

    /// Runs a `SELECT` of plain values (no system columns), reading column `i` of each
    /// row as `types[i]`.
    fn fetch_values<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
        types: &'c [ColumnType],
    ) -> BoxFuture<'c, Result<Vec<Vec<Value>>>>;

    /// Runs a `SELECT COUNT(*)`.
    fn fetch_count<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
    ) -> BoxFuture<'c, Result<u64>>;

    /// Runs a statement that returns no rows, answering how many rows it changed.
    fn execute<'c>(
        conn: &'c mut Connection<Self>,
        table: &'static Table,
        statement: &'c Statement<'_>,
    ) -> BoxFuture<'c, Result<u64>>;

    /// Runs SQL without parameters (DDL, savepoints); `table` is what errors name.
    fn execute_script<'c>(
        conn: &'c mut Connection<Self>,
        table: Option<&'static Table>,
        sql: String,
    ) -> BoxFuture<'c, Result<()>>;

    /// Reads `table`'s stored schema from the catalog: [`Stored::Missing`], or its
    /// columns beside those the entity needs.
    fn stored_schema<'c>(conn: &'c mut Connection<Self>, table: &'static Table) -> BoxFuture<'c, Result<Stored>>;

    /// Runs a catalog query of no parameters that answers one text column.
    fn fetch_names<'c>(conn: &'c mut Connection<Self>, sql: &'static str) -> BoxFuture<'c, Result<Vec<(String,)>>>;

    /// Fills the temporary tables a statement reads long `is_in` lists from. Only a
    /// dialect without array parameters makes such lists; the default has none to load.
    fn load_lists<'c>(
        conn: &'c mut Connection<Self>,
        lists: &'c [TemporaryList<'_>],
    ) -> BoxFuture<'c, std::result::Result<(), sqlx::Error>> {
        let _ = (conn, lists);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Inserts `rows` into `table`, all or none, returning their ids and timestamps in
    /// input order; a unique violation leaves the session usable.
    fn insert<'a>(
        tx: &'a mut SqlTransaction<Self>,
        table: &'static Table,
        rows: &'a [Row],
    ) -> BoxFuture<'a, Result<Vec<RowMeta>>>;

    /// Writes `row` over row `id` if its version is still `seen` (else `Conflict`, or
    /// `NotFound`), moving `updated_at` strictly past `seen`.
    fn update<'a>(
        tx: &'a mut SqlTransaction<Self>,
        table: &'static Table,
        id: i64,
        seen: DateTime<Utc>,
        row: &'a Row,
    ) -> BoxFuture<'a, Result<RowMeta>>;
}

/// Expands, inside a driver's `impl Driver`, the functions that run statements —
/// `bind` turns a [`Statement`] into the driver's sqlx query, `meta` reads a row's system
/// columns (of a row selected with the full select list), `decode` a whole row and
/// `value` one value — and
/// [`Driver::insert`] and [`Driver::update`] as boxed calls of the driver's `insert` and
/// `update` strategies (async functions of the same arguments).
/// The errors of every shared statement are mapped here, through
/// [`crate::errors::map_err`]; a driver's own queries map theirs in
/// [`own_query_functions!`].
macro_rules! statement_functions {
    (
        bind: $bind:path,
        meta: $meta:path,
        decode: $decode:path,
        value: $value:path,
        insert: $insert:path,
        update: $update:path
    ) => {
        fn insert<'a>(
            tx: &'a mut $crate::transaction::SqlTransaction<Self>,
            table: &'static plinth::Table,
            rows: &'a [plinth::backend::Row],
        ) -> $crate::driver::BoxFuture<'a, plinth::Result<Vec<plinth::backend::RowMeta>>> {
            Box::pin($insert(tx, table, rows))
        }

        fn update<'a>(
            tx: &'a mut $crate::transaction::SqlTransaction<Self>,
            table: &'static plinth::Table,
            id: i64,
            seen: chrono::DateTime<chrono::Utc>,
            row: &'a plinth::backend::Row,
        ) -> $crate::driver::BoxFuture<'a, plinth::Result<plinth::backend::RowMeta>> {
            Box::pin($update(tx, table, id, seen, row))
        }

        fn fetch_into<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
            sink: &'c mut dyn plinth::backend::RowSink,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<u64>> {
            Box::pin($crate::trace::statement(
                Self::NAME,
                &statement.sql,
                &statement.binds,
                |rows: &u64| *rows,
                async move {
                    use futures_util::TryStreamExt as _;
                    let map = |e| $crate::errors::map_err(Self::NAME, Some(table), e);
                    Self::load_lists(conn, &statement.temporary_lists).await.map_err(map)?;
                    let mut stream = $bind(statement).fetch(&mut *conn);
                    let mut rows = 0;
                    while let Some(row) = stream.try_next().await.map_err(map)? {
                        sink.row($meta(table, &row)?, &mut $crate::decode::Fields::new(&row, $value))?;
                        rows += 1;
                    }
                    Ok(rows)
                },
            ))
        }

        fn stream_rows<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
        ) -> plinth::backend::RowStream<'c> {
            Box::pin(async_stream::try_stream! {
                use futures_util::TryStreamExt as _;
                let map = |e| $crate::errors::map_err(Self::NAME, Some(table), e);
                Self::load_lists(conn, &statement.temporary_lists).await.map_err(map)?;
                let mut rows = $bind(statement).fetch(&mut *conn);
                while let Some(row) = rows.try_next().await.map_err(map)? {
                    yield $decode(table, &row)?;
                }
            })
        }

        fn fetch_row<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<Option<plinth::backend::StoredRow>>> {
            Box::pin($crate::trace::statement(
                Self::NAME,
                &statement.sql,
                &statement.binds,
                |row: &Option<plinth::backend::StoredRow>| u64::from(row.is_some()),
                async move {
                    let row = $bind(statement)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(|e| $crate::errors::map_err(Self::NAME, Some(table), e))?;
                    row.map(|row| $decode(table, &row)).transpose()
                },
            ))
        }

        fn fetch_values<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
            types: &'c [plinth::ColumnType],
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<Vec<Vec<plinth::Value>>>> {
            Box::pin($crate::trace::statement(
                Self::NAME,
                &statement.sql,
                &statement.binds,
                |rows: &Vec<Vec<plinth::Value>>| rows.len() as u64,
                async move {
                    let map = |e| $crate::errors::map_err(Self::NAME, Some(table), e);
                    Self::load_lists(conn, &statement.temporary_lists).await.map_err(map)?;
                    let rows = $bind(statement).fetch_all(&mut *conn).await.map_err(map)?;
                    rows.iter()
                        .map(|row| {
                            types
                                .iter()
                                .enumerate()
                                .map(|(i, ty)| {
                                    $value(row, i, *ty)
                                        .map_err(|found| plinth::backend::undecodable_aggregate(table, found))
                                })
                                .collect()
                        })
                        .collect()
                },
            ))
        }

        fn fetch_count<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<u64>> {
            Box::pin($crate::trace::statement(Self::NAME, &statement.sql, &statement.binds, |_: &u64| 1, async move {
                use sqlx::Row as _;
                let map = |e| $crate::errors::map_err(Self::NAME, Some(table), e);
                Self::load_lists(conn, &statement.temporary_lists).await.map_err(map)?;
                let row = $bind(statement).fetch_one(&mut *conn).await.map_err(map)?;
                let count: i64 = row.try_get(0).map_err(map)?;
                Ok(u64::try_from(count).unwrap_or(0))
            }))
        }

        fn execute<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
            statement: &'c $crate::sql::Statement<'_>,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<u64>> {
            Box::pin($crate::trace::statement(
                Self::NAME,
                &statement.sql,
                &statement.binds,
                |changed: &u64| *changed,
                async move {
                    Self::load_lists(conn, &statement.temporary_lists)
                        .await
                        .map_err(|e| $crate::errors::map_err(Self::NAME, Some(table), e))?;
                    let done = $bind(statement).execute(&mut *conn).await;
                    done.map(|done| done.rows_affected())
                        .map_err(|e| $crate::errors::map_err(Self::NAME, Some(table), e))
                },
            ))
        }

        fn execute_script<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: Option<&'static plinth::Table>,
            sql: String,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<()>> {
            let text = sql.clone();
            Box::pin(async move {
                $crate::trace::statement(Self::NAME, &text, &"", |_: &()| 0, async move {
                    let done = sqlx::Executor::execute(conn, sql.as_str()).await;
                    done.map(drop).map_err(|e| $crate::errors::map_err(Self::NAME, table, e))
                })
                .await
            })
        }

        fn fetch_names<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            sql: &'static str,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<Vec<(String,)>>> {
            Box::pin(async move {
                sqlx::query_as(sql)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| $crate::errors::map_err(Self::NAME, None, e))
            })
        }

        fn stored_schema<'c>(
            conn: &'c mut $crate::driver::Connection<Self>,
            table: &'static plinth::Table,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<$crate::sql::Stored>> {
            Box::pin(async move {
                let map = |e| $crate::errors::map_err(Self::NAME, Some(table), e);
                let columns: Vec<$crate::sql::CatalogColumn> = sqlx::query_as($crate::sql::columns_sql(Self::DIALECT))
                    .bind(table.name())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                if columns.is_empty() {
                    return Ok($crate::sql::Stored::Missing);
                }
                let indexes: Vec<$crate::sql::CatalogIndex> = sqlx::query_as($crate::sql::indexes_sql(Self::DIALECT))
                    .bind(table.name())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                let references: Vec<$crate::sql::CatalogReference> =
                    sqlx::query_as($crate::sql::references_sql(Self::DIALECT))
                        .bind(table.name())
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map)?;
                Ok($crate::sql::compare_schema(Self::DIALECT, table, &columns, &indexes, &references))
            })
        }
    };
}

pub(crate) use statement_functions;

/// Defines, in a driver's module, `fetch_all` and `fetch_optional` for queries of the
/// driver's own (arrays of columns, `EXISTS`, versions as text) on connection `conn`
/// with query type `query` and rows `row`, their errors mapped and their spans made as
/// the shared statements' are (`values`: what the query binds, for a span that asks).
macro_rules! own_query_functions {
    (driver: $driver:ty, conn: $conn:ty, query: $query:ident, row: $row:ty) => {
        fn fetch_all<'c, 'q: 'c>(
            conn: &'c mut $conn,
            table: &'static plinth::Table,
            values: &'c (dyn std::fmt::Debug + Sync),
            query: $query<'q>,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<Vec<$row>>> {
            let sql: &'q str = sqlx::Execute::sql(&query);
            let backend = <$driver as $crate::driver::Driver>::NAME;
            Box::pin($crate::trace::statement(backend, sql, values, |rows: &Vec<$row>| rows.len() as u64, async move {
                let map = |e| $crate::errors::map_err(<$driver as $crate::driver::Driver>::NAME, Some(table), e);
                query.fetch_all(conn).await.map_err(map)
            }))
        }

        fn fetch_optional<'c, 'q: 'c>(
            conn: &'c mut $conn,
            table: &'static plinth::Table,
            values: &'c (dyn std::fmt::Debug + Sync),
            query: $query<'q>,
        ) -> $crate::driver::BoxFuture<'c, plinth::Result<Option<$row>>> {
            let sql: &'q str = sqlx::Execute::sql(&query);
            let backend = <$driver as $crate::driver::Driver>::NAME;
            Box::pin($crate::trace::statement(
                backend,
                sql,
                values,
                |row: &Option<$row>| u64::from(row.is_some()),
                async move {
                    let map = |e| $crate::errors::map_err(<$driver as $crate::driver::Driver>::NAME, Some(table), e);
                    query.fetch_optional(conn).await.map_err(map)
                },
            ))
        }
    };
}

pub(crate) use own_query_functions;
