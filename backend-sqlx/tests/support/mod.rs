//! What this crate's test binaries share: where PostgreSQL is, and fixtures that give a
//! test a schema or a database file of its own, removed afterwards.
//!
//! Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use plinth::Database;
use plinth_conformance::{Capabilities, Fixture};

/// `DATABASE_URL`, or the local server `cargo xtask test` finds or starts.
pub(crate) fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `prefix` plus this process and a counter: unique across parallel tests and runs.
pub(crate) fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A PostgreSQL schema of its own, created at the first [`open`](Fixture::open) and
/// reached through a pool of `pool_size` connections named after it; on drop its
/// connections are ended and it is dropped, whether the test passed or panicked.
pub(crate) struct PostgresSchema {
    pub(crate) name: String,
    pool_size: u32,
    created: bool,
}

impl PostgresSchema {
    pub(crate) fn new(prefix: &str, pool_size: u32) -> Self {
        PostgresSchema { name: unique_name(prefix), pool_size, created: false }
    }

    /// The server's URL with this schema as search path and connection name.
    pub(crate) fn url(&self) -> String {
        let url = server_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let (schema, pool_size) = (&self.name, self.pool_size);
        format!(
            "{url}{separator}options=-c%20search_path%3D{schema}&application_name={schema}&max_connections={pool_size}"
        )
    }
}

impl Fixture for PostgresSchema {
    async fn open(&mut self) -> Database {
        if !self.created {
            let url = server_url();
            let admin = sqlx::PgPool::connect(&url).await.unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at {url}: {e}\n\
                     run `cargo xtask test` (it starts the local server), or start one with \
                     `pg_ctlcluster 15 main start`, or set DATABASE_URL"
                )
            });
            sqlx::query(&format!("CREATE SCHEMA \"{}\"", self.name)).execute(&admin).await.expect("create schema");
            admin.close().await;
            self.created = true;
        }
        plinth_sqlx::connect(&self.url()).await.expect("connect to the test's schema")
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        if !self.created {
            return;
        }
        drop_schema(server_url(), self.name.clone());
    }
}

/// Ends the connections named after `schema` on `server` and drops it, from a `Drop`:
/// the test's runtime is blocked there, so its connections cannot finish a rollback,
/// and a runtime of its own, on a thread of its own, does the work.
pub(crate) fn drop_schema(server: String, schema: String) {
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let admin = sqlx::PgPool::connect(&server).await.expect("connect");
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&schema)
                .execute(&admin)
                .await
                .expect("end the test's connections");
            sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&admin)
                .await
                .expect("drop the schema");
        });
    });
    let _ = dropped.join();
}

/// A SQLite database file of its own in the temporary directory, deleted on drop.
pub(crate) struct SqliteFile {
    pub(crate) path: PathBuf,
}

impl SqliteFile {
    pub(crate) fn new(prefix: &str) -> Self {
        SqliteFile { path: std::env::temp_dir().join(format!("{}.sqlite", unique_name(prefix))) }
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Fixture for SqliteFile {
    async fn open(&mut self) -> Database {
        plinth_sqlx::connect(&self.url()).await.expect("open the test's database")
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { concurrent_writers: false }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}
