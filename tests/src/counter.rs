//! The lost-update check: many tasks increment one shared counter row by reading it,
//! adding one and writing it back, each in its own session, retrying when told the
//! row changed under them. At the end the counter must equal the number of increments
//! whose `commit` returned `Ok` — a write made from a stale read would lose one.
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn no_lost_update() {
//!     let report = plinth_conformance::counter::run(&mut MyFixture::new(), 8, 50).await;
//!     assert!(report.conflicts > 0);
//! }
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use plinth::{Database, Entity, Error, Id};

use crate::Fixture;

/// The shared row.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "soak_counters")]
pub struct Counter {
    /// What is counted.
    pub name: String,
    /// The count.
    pub value: i64,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct CounterReport {
    /// The backend's name.
    pub backend: String,
    /// Tasks that ran at once.
    pub tasks: usize,
    /// Increments committed (every task commits its share).
    pub committed: i64,
    /// Updates or commits refused with `Conflict` (each retried).
    pub conflicts: u64,
    /// Other errors by kind (each retried; a kind outside [`RETRIED_KINDS`] fails the run).
    pub other_errors: BTreeMap<String, u64>,
    /// The counter's value at the end.
    pub value: i64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Runs `tasks` tasks that each commit `increments` increments of one counter, and
/// panics unless the counter ends at `tasks × increments`. Prints the figures on
/// stderr (`counter:` lines).
pub async fn run(fixture: &mut impl Fixture, tasks: usize, increments: i64) -> CounterReport {
    let db = fixture.open().await;
    db.create_all(&[Counter::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let id = session.add(Counter { name: "hits".into(), value: 0 }).await.expect("add").id();
    session.commit().await.expect("commit");

    let started = Instant::now();
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(increment_many(db.clone(), id, increments))).collect();
    let mut report = CounterReport { backend: db.backend_name().to_owned(), tasks, ..CounterReport::default() };
    for handle in handles {
        let (committed, conflicts, others) = handle.await.expect("an increment task panicked");
        report.committed += committed;
        report.conflicts += conflicts;
        for (kind, n) in others {
            *report.other_errors.entry(kind).or_default() += n;
        }
    }
    report.elapsed = started.elapsed();
    let stored = db.session().await.expect("session").get::<Counter>(id).await.expect("get").expect("the counter");
    report.value = stored.value;
    eprintln!(
        "counter: {} tasks={} committed={} value={} conflicts={} other_errors={:?} elapsed={:.2}s commits/s={:.0}",
        report.backend,
        report.tasks,
        report.committed,
        report.value,
        report.conflicts,
        report.other_errors,
        report.elapsed.as_secs_f64(),
        report.committed as f64 / report.elapsed.as_secs_f64().max(1e-9),
    );
    assert_eq!(report.value, report.committed, "an increment was lost (or counted twice): {report:?}");
    let expected = i64::try_from(tasks).unwrap_or(i64::MAX).saturating_mul(increments);
    assert_eq!(report.committed, expected, "fewer increments committed than asked for: {report:?}");
    let unexpected: Vec<&String> =
        report.other_errors.keys().filter(|kind| !RETRIED_KINDS.contains(&kind.as_str())).collect();
    assert!(unexpected.is_empty(), "errors of unexpected kinds: {unexpected:?} in {report:?}");
    report
}

/// The driver errors an increment may meet under load and retry (a PostgreSQL deadlock,
/// SQLite's busy timeout); every other error fails the run.
const RETRIED_KINDS: [&str; 2] = ["Deadlock", "LockTimeout"];

/// Commits `increments` increments, retrying each until its commit returns `Ok`;
/// returns the commits that returned `Ok`, and the conflicts and other errors met on
/// the way.
async fn increment_many(db: Database, id: Id<Counter>, increments: i64) -> (i64, u64, BTreeMap<String, u64>) {
    let (mut conflicts, mut others) = (0, BTreeMap::<String, u64>::new());
    let mut done = 0;
    let mut attempts = 0;
    while done < increments {
        attempts += 1;
        assert!(attempts <= increments * 1000, "no progress after {attempts} attempts");
        match increment(&db, id).await {
            Ok(()) => done += 1,
            Err(Error::Conflict { .. }) => conflicts += 1,
            Err(err) => *others.entry(crate::soak::error_kind(&err).to_owned()).or_default() += 1,
        }
    }
    (done, conflicts, others)
}

async fn increment(db: &Database, id: Id<Counter>) -> plinth::Result<()> {
    let mut session = db.session().await?;
    let mut counter =
        session.get::<Counter>(id).await?.ok_or(Error::NotFound { table: Counter::table().name(), id: id.get() })?;
    counter.value += 1;
    // Let the other tasks run between the read and the write, so they race even on a
    // backend whose calls never wait (memory).
    tokio::task::yield_now().await;
    session.update(&mut counter).await?;
    session.commit().await
}
