//! The upsert race: many tasks upsert the same few keys at once, each in its own
//! session. Every key must end as one row, and an upsert must never answer
//! `UniqueViolation` on its own column because another session inserted the key between
//! its lookup and its write (it looks again and updates that row instead), nor its
//! commit (on the record engine, where two sessions that both inserted a key meet at
//! commit, that is a `Conflict`). Under contention an upsert, like an update, may be
//! refused with `Conflict`; each task then retries its session, as an application (or
//! `Database::transaction`) would.
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn upserts_race() {
//!     let report = plinth_conformance::upsert_race::run(&mut MyFixture::new(), 8, 5).await;
//!     assert!(report.committed > 0);
//! }
//! ```

use std::collections::BTreeMap;

use plinth::{Database, Entity, Error};

use crate::soak::error_kind;
use crate::Fixture;

/// A row per key.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "soak_upserts")]
pub struct Keyed {
    /// The key upserted by.
    #[entity(unique)]
    pub key: String,
    /// The task that wrote last.
    pub value: i64,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct UpsertRaceReport {
    /// The backend's name.
    pub backend: String,
    /// Upserts committed.
    pub committed: u64,
    /// Upserts that returned an error themselves, by kind.
    pub refused_upserts: BTreeMap<&'static str, u64>,
    /// Commits refused after a successful upsert, by kind (each retried).
    pub refused_commits: BTreeMap<&'static str, u64>,
}

/// Runs `tasks` tasks that each upsert keys `0..keys` (one committed session per key,
/// retried until its commit passes), then checks that each key is one row.
pub async fn run(fixture: &mut impl Fixture, tasks: i64, keys: usize) -> UpsertRaceReport {
    let db = fixture.open().await;
    db.create_all(&[Keyed::table()]).await.expect("create_all");
    let handles: Vec<_> = (0..tasks).map(|task| tokio::spawn(upsert_keys(db.clone(), task, keys))).collect();
    let mut report = UpsertRaceReport { backend: db.backend_name().to_owned(), ..UpsertRaceReport::default() };
    for handle in handles {
        let done = handle.await.expect("an upsert task panicked");
        report.committed += done.committed;
        for (kind, n) in done.refused_upserts {
            *report.refused_upserts.entry(kind).or_default() += n;
        }
        for (kind, n) in done.refused_commits {
            *report.refused_commits.entry(kind).or_default() += n;
        }
    }
    eprintln!("upsert race: {report:?}");
    assert!(
        !report.refused_upserts.contains_key("UniqueViolation")
            && !report.refused_commits.contains_key("UniqueViolation"),
        "an upsert lost the race to an insert: {report:?}"
    );
    let mut session = db.session().await.expect("session");
    let rows = session.query::<Keyed>().all().await.expect("rows");
    let names: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    let expected: Vec<String> = (0..keys).map(|k| format!("key {k}")).collect();
    assert_eq!(names, expected, "one row per key: {report:?}");
    assert!(rows.iter().all(|r| (0..tasks).contains(&r.value)), "each value is one a task wrote");
    assert_eq!(report.committed, tasks.unsigned_abs() * keys as u64, "{report:?}");
    report
}

async fn upsert_keys(db: Database, task: i64, keys: usize) -> UpsertRaceReport {
    let mut done = UpsertRaceReport::default();
    for key in 0..keys {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 1000, "no progress upserting key {key} in task {task}: {done:?}");
            match upsert(&db, task, key).await {
                Ok(()) => break,
                Err((Stage::Upsert, err)) => *done.refused_upserts.entry(error_kind(&err)).or_default() += 1,
                Err((Stage::Commit, err)) => *done.refused_commits.entry(error_kind(&err)).or_default() += 1,
            }
        }
        done.committed += 1;
    }
    done
}

enum Stage {
    Upsert,
    Commit,
}

async fn upsert(db: &Database, task: i64, key: usize) -> Result<(), (Stage, Error)> {
    let mut session = db.session().await.map_err(|e| (Stage::Upsert, e))?;
    let row = Keyed { key: format!("key {key}"), value: task };
    session.upsert(row, |c| c.key).await.map_err(|e| (Stage::Upsert, e))?;
    tokio::task::yield_now().await;
    session.commit().await.map_err(|e| (Stage::Commit, e))
}
