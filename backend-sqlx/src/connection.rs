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
//! — but a read-only session costs no `BEGIN`/`COMMIT` round trips. A session for one
//! write ([`LazyTransaction::autocommit`]) never begins one: its write commits by itself.

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};

/// A session's transaction, begun at its first write.
#[derive(Debug)]
pub(crate) struct LazyTransaction<DB: Database> {
    pool: Pool<DB>,
    /// The connection reads run on until the first write.
    reading: Option<PoolConnection<DB>>,
    tx: Option<Transaction<'static, DB>>,
    /// Writes run on the reading connection too, each committing by itself: a session
    /// for one write ([`plinth::backend::Backend::begin_single_write`]).
    autocommit: bool,
}

impl<DB: Database> LazyTransaction<DB> {
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        LazyTransaction { pool, reading: None, tx: None, autocommit: false }
    }

    /// A session whose writes commit one statement at a time: for a single write.
    pub(crate) fn autocommit(pool: Pool<DB>) -> Self {
        LazyTransaction { pool, reading: None, tx: None, autocommit: true }
    }

    /// Whether every write commits by itself ([`autocommit`](Self::autocommit)).
    pub(crate) fn is_autocommit(&self) -> bool {
        self.autocommit
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

    /// The reading connection, taken out for a stream to own (so a stream dropped
    /// part-way drops it, and the pool drains and reuses it); `None` inside the
    /// transaction, where the stream reads on the transaction's connection.
    pub(crate) async fn take_reader(&mut self) -> Result<Option<PoolConnection<DB>>, sqlx::Error> {
        if self.tx.is_some() {
            return Ok(None);
        }
        match self.reading.take() {
            Some(conn) => Ok(Some(conn)),
            None => self.pool.acquire().await.map(Some),
        }
    }

    /// A connection [`take_reader`](Self::take_reader) gave out, back after its stream
    /// ended well: kept for the next read, unless the pool cannot spare it.
    pub(crate) fn return_reader(&mut self, conn: PoolConnection<DB>) {
        if self.pool.options().get_max_connections() > 1 && self.tx.is_none() {
            self.reading = Some(conn);
        }
    }

    /// Passes a read's result on, handing the reading connection back to the pool if
    /// the read failed or the pool cannot spare it.
    pub(crate) fn after_read<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() || self.pool.options().get_max_connections() <= 1 {
            self.reading = None;
        }
        result
    }

    /// Where to write: the transaction, begun now if this is the first write (the
    /// reading connection, outside any transaction, for an autocommit session). A
    /// `BEGIN` that finds its connection dead (the pool does not ping on checkout) is
    /// run once more, after [`fresh_reader`](Self::fresh_reader) has cleared the dead
    /// connections out: nothing was sent on the dead one.
    pub(crate) async fn writer(&mut self) -> Result<&mut DB::Connection, sqlx::Error> {
        if self.autocommit {
            return self.reader().await;
        }
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => {
                // Back to the pool first, so a pool of one connection cannot deadlock.
                self.reading = None;
                match self.pool.begin().await {
                    Err(err) if crate::errors::is_dead_connection(&err) => {
                        self.fresh_reader().await?;
                        self.reading = None;
                        self.pool.begin().await?
                    }
                    begun => begun?,
                }
            }
        };
        Ok(&mut **self.tx.insert(tx))
    }

    /// Makes the next read run on a live connection, after one was found dead: takes
    /// connections from the pool until one answers a ping (a new one, if every idle one
    /// died with a server restart), detaching each dead one so the pool opens a
    /// replacement instead of handing it out again.
    pub(crate) async fn fresh_reader(&mut self) -> Result<(), sqlx::Error> {
        use sqlx::Connection as _;
        self.reading = None;
        let attempts = self.pool.options().get_max_connections() + 1;
        let mut last = None;
        for _ in 0..attempts {
            let mut conn = self.pool.acquire().await?;
            match conn.ping().await {
                Ok(()) => {
                    self.reading = Some(conn);
                    return Ok(());
                }
                Err(err) => {
                    drop(conn.detach());
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or(sqlx::Error::PoolClosed))
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
