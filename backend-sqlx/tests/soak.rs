//! The concurrency soak on PostgreSQL (in a schema of its own, dropped afterwards) and
//! SQLite (in a temporary file): tasks race inserts, updates and deletes on one table,
//! and the table must end equal to the model of what was committed.
//!
//! Needs a PostgreSQL server for the `postgres_*` tests: `cargo xtask test` finds or
//! starts one. By hand (that URL is also the default):
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test soak -- --nocapture`
//! prints the figures; `PLINTH_SOAK_TRANSACTIONS=5000` runs a longer soak.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plinth::{Database, Entity, Error};
use plinth_conformance::counter;
use plinth_conformance::soak::{self, SoakRow};
use plinth_conformance::Fixture;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A schema of its own, reached through a pool of `pool_size` connections, dropped on drop.
struct PostgresSchema {
    schema: String,
    pool_size: u32,
}

impl Fixture for PostgresSchema {
    async fn open(&mut self) -> Database {
        let admin = sqlx::PgPool::connect(&server_url()).await.expect("reach PostgreSQL (see the top of this file)");
        sqlx::query(&format!("CREATE SCHEMA \"{}\"", self.schema)).execute(&admin).await.expect("create schema");
        admin.close().await;
        let url = server_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let (schema, pool_size) = (&self.schema, self.pool_size);
        plinth_sqlx::connect(&format!(
            "{url}{separator}options=-c%20search_path%3D{schema}&application_name={schema}&max_connections={pool_size}"
        ))
        .await
        .expect("connect to the soak's schema")
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        // The test's runtime is blocked here: a runtime of its own ends the soak's
        // connections (named after the schema) and drops the schema.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&server_url()).await.expect("connect");
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&schema)
                    .execute(&admin)
                    .await
                    .expect("end the soak's connections");
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&admin)
                    .await
                    .expect("drop the schema");
            });
        });
        let _ = dropped.join();
    }
}

/// A database file of its own in the temporary directory, deleted on drop.
struct SqliteFile {
    path: PathBuf,
}

impl SqliteFile {
    fn new() -> Self {
        SqliteFile { path: std::env::temp_dir().join(format!("{}.sqlite", unique_name("plinth-soak"))) }
    }
}

impl Fixture for SqliteFile {
    async fn open(&mut self) -> Database {
        plinth_sqlx::connect(&format!("sqlite://{}", self.path.display())).await.expect("open the soak's database")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_soak_8_tasks_keeps_every_committed_write_and_nothing_else() {
    let mut fixture = PostgresSchema { schema: unique_name("plinth_soak"), pool_size: 8 };
    let report = soak::run(&mut fixture, 8, 200).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_soak_32_tasks_keeps_every_committed_write_and_nothing_else() {
    let mut fixture = PostgresSchema { schema: unique_name("plinth_soak"), pool_size: 16 };
    let report = soak::run(&mut fixture, 32, 100).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_soak_8_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut SqliteFile::new(), 8, 200).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_soak_32_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut SqliteFile::new(), 32, 100).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_8_tasks_incrementing_one_counter_lose_no_increment() {
    let mut fixture = PostgresSchema { schema: unique_name("plinth_counter"), pool_size: 8 };
    let report = counter::run(&mut fixture, 8, 40).await;
    assert!(report.conflicts > 0, "the tasks did race: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_8_tasks_incrementing_one_counter_lose_no_increment() {
    let report = counter::run(&mut SqliteFile::new(), 8, 40).await;
    assert!(report.conflicts > 0, "the tasks did race: {report:?}");
}

/// SQLite allows one writer. A session that cannot get the write lock within the busy
/// timeout (5 s) gets a typed error naming the lock, writes nothing, and can be retried;
/// the writer holding the lock commits as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_writer_blocked_past_the_busy_timeout_gets_a_typed_error() {
    let mut file = SqliteFile::new();
    let db = file.open().await;
    db.create_all(&[SoakRow::table()]).await.expect("create");
    let row = |tag: &str| SoakRow { task: 0, tag: tag.to_owned(), slot: None, version: 0 };
    let mut holder = db.session().await.expect("session");
    holder.add(row("held")).await.expect("the first writer takes the lock");

    let mut blocked = db.session().await.expect("session");
    let started = Instant::now();
    let waited = tokio::time::timeout(Duration::from_secs(20), blocked.add(row("blocked"))).await;
    let elapsed = started.elapsed();
    eprintln!("soak: sqlite busy: second writer answered after {elapsed:?}: {waited:?}");
    let waited = waited.expect("the blocked writer answers within the busy timeout, not never");
    let message = waited.as_ref().err().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(waited, Err(Error::Backend { .. })) && message.contains("database is locked"), "{waited:?}");
    assert!(elapsed >= Duration::from_secs(4), "the busy timeout is 5 s, the error came after {elapsed:?}");
    blocked.rollback().await.expect("rollback of the blocked session");

    holder.commit().await.expect("the holder commits");
    let mut retry = db.session().await.expect("session");
    retry.add(row("retried")).await.expect("the retry gets the lock");
    retry.commit().await.expect("commit");
    let tags: Vec<String> = db
        .session()
        .await
        .expect("session")
        .query::<SoakRow>()
        .all()
        .await
        .expect("read")
        .into_iter()
        .map(|r| r.tag.clone())
        .collect();
    assert_eq!(tags, ["held", "retried"]);
}
