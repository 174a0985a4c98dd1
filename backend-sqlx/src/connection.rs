//! [`LazyTransaction`]: a session's connection, taken only when needed.
//!
//! Reads before a session's first write run in autocommit mode on a connection the
//! session takes from the pool at its first read and keeps (as SQLAlchemy's session
//! does), so a run of reads pays for one pool checkout, not one each. It is handed back
//! after a read that failed (the connection may be gone), after every read when the
//! pool has a single connection (so two open sessions never wait on each other), and at
//! the first write, which begins the transaction; every later statement runs in it. At
//! READ COMMITTED (both databases' default here) that is indistinguishable from a
//! transaction begun up front — each statement sees what was committed when it started
//! — but a read-only session costs no `BEGIN`/`COMMIT` round trips.

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};

/// A session's transaction, begun at its first write.
#[derive(Debug)]
pub(crate) struct LazyTransaction<DB: Database> {
    pool: Pool<DB>,
    /// The connection reads run on until the first write.
    reading: Option<PoolConnection<DB>>,
    tx: Option<Transaction<'static, DB>>,
}

impl<DB: Database> LazyTransaction<DB> {
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        LazyTransaction { pool, reading: None, tx: None }
    }

    /// Whether the transaction has begun (a write has been made).
    pub(crate) fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Where to read: inside the transaction once it has begun, else the session's
    /// reading connection, taken from the pool now if this is the first read.
    pub(crate) async fn reader(&mut self) -> Result<&mut DB::Connection, sqlx::Error> {
        if let Some(tx) = &mut self.tx {
            return Ok(&mut **tx);
        }
        let conn = match self.reading.take() {
            Some(conn) => conn,
            None => self.pool.acquire().await?,
        };
        Ok(&mut **self.reading.insert(conn))
    }

    /// Passes a read's result on, handing the reading connection back to the pool if
    /// the read failed or the pool cannot spare it.
    pub(crate) fn after_read<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() || self.pool.options().get_max_connections() <= 1 {
            self.reading = None;
        }
        result
    }

    /// Where to write: the transaction, begun now if this is the first write.
    pub(crate) async fn writer(&mut self) -> Result<&mut DB::Connection, sqlx::Error> {
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => {
                // Back to the pool first, so a pool of one connection cannot deadlock.
                self.reading = None;
                self.pool.begin().await?
            }
        };
        Ok(&mut **self.tx.insert(tx))
    }

    /// Commits what was written; a session that wrote nothing has nothing to commit.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self.tx {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }

    /// Rolls back what was written.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.tx {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        }
    }
}

/// Defines, for one driver, the functions every query runs through. They box their
/// futures: the box proves `Send` where the connection's lifetime is concrete, which
/// avoids rustc's "Executor is not general enough" error when an async-trait method's
/// future must be `Send`.
macro_rules! query_functions {
    ($conn:ty, $query:ident, $row:ty) => {
        type Boxed<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

        fn fetch_all<'c, 'q: 'c>(conn: &'c mut $conn, query: $query<'q>) -> Boxed<'c, Vec<$row>> {
            Box::pin(query.fetch_all(conn))
        }

        /// Decodes rows as they arrive, so each is read while its bytes are still in cache
        /// and freed at once, instead of buffering every driver row first.
        fn fetch_decoded<'c, 'q: 'c>(
            conn: &'c mut $conn,
            query: $query<'q>,
            table: &'static plinth::Table,
            decode: fn(&plinth::Table, &$row) -> plinth::Result<plinth::StoredRow>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = plinth::Result<Vec<plinth::StoredRow>>> + Send + 'c>> {
            Box::pin(async move {
                use futures_util::TryStreamExt as _;
                let mut stream = query.fetch(conn);
                let mut rows = Vec::new();
                while let Some(row) = stream.try_next().await.map_err(|e| map_err(NAME, Some(table), e))? {
                    rows.push(decode(table, &row)?);
                }
                Ok(rows)
            })
        }

        fn fetch_optional<'c, 'q: 'c>(conn: &'c mut $conn, query: $query<'q>) -> Boxed<'c, Option<$row>> {
            Box::pin(query.fetch_optional(conn))
        }

        fn fetch_one<'c, 'q: 'c>(conn: &'c mut $conn, query: $query<'q>) -> Boxed<'c, $row> {
            Box::pin(query.fetch_one(conn))
        }

        fn execute<'c, 'q: 'c>(conn: &'c mut $conn, query: $query<'q>) -> Boxed<'c, u64> {
            Box::pin(async move { query.execute(conn).await.map(|done| done.rows_affected()) })
        }

        fn execute_script(conn: &mut $conn, sql: String) -> Boxed<'_, ()> {
            Box::pin(async move { sqlx::Executor::execute(conn, sql.as_str()).await.map(drop) })
        }

        /// Reads `table`'s stored schema from the catalog and compares it with the
        /// entity's: [`Stored::Missing`](crate::sql::Stored), or `SchemaMismatch`
        /// listing the differences.
        fn stored_schema<'c>(
            conn: &'c mut $conn,
            dialect: crate::sql::Dialect,
            table: &'static plinth::Table,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = plinth::Result<crate::sql::Stored>> + Send + 'c>> {
            Box::pin(async move {
                let columns: Vec<crate::sql::CatalogColumn> = sqlx::query_as(crate::sql::columns_sql(dialect))
                    .bind(table.name())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| map_err(NAME, Some(table), e))?;
                if columns.is_empty() {
                    return Ok(crate::sql::Stored::Missing);
                }
                let indexes: Vec<crate::sql::CatalogIndex> = sqlx::query_as(crate::sql::indexes_sql(dialect))
                    .bind(table.name())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| map_err(NAME, Some(table), e))?;
                crate::sql::compare_schema(dialect, table, &columns, &indexes)
            })
        }
    };
}

pub(crate) use query_functions;
