//! The concurrency soak on PostgreSQL (in a schema of its own, dropped afterwards) and
//! SQLite (in a temporary file): tasks race inserts, updates and deletes on one table,
//! and the table must end equal to the model of what was committed.
//!
//! Needs a PostgreSQL server for the `postgres_*` tests: `cargo xtask test` finds or
//! starts one. By hand (that URL is also the default):
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test soak -- --nocapture`
//! prints the figures; `PLINTH_SOAK_TRANSACTIONS=5000` runs a longer soak.

use std::time::{Duration, Instant};

use plinth::{Entity, Error};
use plinth_conformance::soak::{self, SoakRow};
use plinth_conformance::Fixture;
use plinth_conformance::{counter, upsert_race};

mod support;

use support::{PostgresSchema, SqliteFile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_soak_8_tasks_keeps_every_committed_write_and_nothing_else() {
    let mut fixture = PostgresSchema::new("plinth_soak", 8);
    let report = soak::run(&mut fixture, 8, 200).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_soak_32_tasks_keeps_every_committed_write_and_nothing_else() {
    let mut fixture = PostgresSchema::new("plinth_soak", 16);
    let report = soak::run(&mut fixture, 32, 100).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_soak_8_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut SqliteFile::new("plinth-soak"), 8, 200).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_soak_32_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut SqliteFile::new("plinth-soak"), 32, 100).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_8_tasks_incrementing_one_counter_lose_no_increment() {
    let mut fixture = PostgresSchema::new("plinth_counter", 8);
    let report = counter::run(&mut fixture, 8, 40).await;
    assert!(report.conflicts > 0, "the tasks did race: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_8_tasks_incrementing_one_counter_lose_no_increment() {
    let report = counter::run(&mut SqliteFile::new("plinth-soak"), 8, 40).await;
    assert!(report.conflicts > 0, "the tasks did race: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_8_tasks_upserting_the_same_keys_leave_one_row_per_key() {
    let mut fixture = PostgresSchema::new("plinth_upsert", 8);
    upsert_race::run(&mut fixture, 8, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_8_tasks_upserting_the_same_keys_leave_one_row_per_key() {
    upsert_race::run(&mut SqliteFile::new("plinth-upsert"), 8, 5).await;
}

/// SQLite allows one writer. A session that cannot get the write lock within the busy
/// timeout (5 s) gets a typed error naming the lock, writes nothing, and can be retried;
/// the writer holding the lock commits as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_writer_blocked_past_the_busy_timeout_gets_a_typed_error() {
    let mut file = SqliteFile::new("plinth-soak");
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
    assert!(matches!(waited, Err(Error::LockTimeout { .. })) && message.contains("database is locked"), "{waited:?}");
    assert!(waited.as_ref().is_err_and(Error::is_retryable), "{waited:?}");
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
