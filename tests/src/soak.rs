//! A concurrency soak: many tasks run transactions on one shared table at once, and at
//! the end the table must equal a model built from the transactions whose `commit`
//! returned `Ok` — no lost update, no duplicate id, no row from a rolled-back or
//! failed transaction.
//!
//! Each task owns the rows it inserts: only it updates or deletes them, so its part of
//! the model is its own committed writes applied in its own order, whatever the other
//! tasks do. The tasks still collide: every row may claim a `slot` from a small shared
//! range (a unique column), so inserts and updates race for the same values, and some
//! transactions are rolled back or dropped on purpose. Every row carries a `version`
//! its owner bumps on each update, so an update that was committed but lost shows up as
//! an old version.
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn soak_8_tasks() {
//!     plinth_conformance::soak::run(&mut MyFixture::new(), 8, 200).await;
//! }
//! ```
//!
//! `PLINTH_SOAK_TRANSACTIONS=5000` runs that many transactions per task instead of the
//! caller's default, for a longer soak.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use plinth::{Database, Entity, Error};

use crate::Fixture;

/// The soak's table: a row owned by one task, with a shared unique `slot`.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "soak_rows")]
pub struct SoakRow {
    /// The task that inserted the row and alone may change it.
    pub task: i32,
    /// `task-serial`, unique by construction: two rows with one tag would be one
    /// insert stored twice.
    #[entity(unique)]
    pub tag: String,
    /// Drawn from a small range shared by every task, so writes collide on it.
    #[entity(unique)]
    pub slot: Option<i32>,
    /// Bumped by each update of the row.
    pub version: i64,
}

/// What the model says one row holds.
#[derive(Clone, Debug, PartialEq)]
struct Expected {
    task: i32,
    tag: String,
    slot: Option<i32>,
    version: i64,
}

impl Expected {
    fn of(row: &SoakRow) -> Self {
        Expected { task: row.task, tag: row.tag.clone(), slot: row.slot, version: row.version }
    }
}

/// The figures of one soak run.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// The backend's name.
    pub backend: &'static str,
    /// Concurrent tasks.
    pub tasks: usize,
    /// Sessions begun (or attempted, when `session()` itself failed).
    pub attempted: u64,
    /// Sessions whose `commit` returned `Ok`.
    pub committed: u64,
    /// Sessions rolled back or dropped on purpose.
    pub rolled_back: u64,
    /// Sessions given up after an operation failed with something other than a unique
    /// violation (the session was dropped, so rolled back).
    pub abandoned: u64,
    /// Sessions whose `commit` returned an error.
    pub commit_failed: u64,
    /// Errors by where they happened (`session`, `add`, `get`, `update`, `delete`,
    /// `rollback`, `commit`) and kind.
    pub errors: BTreeMap<String, u64>,
    /// A few messages of errors outside the expected kinds, to read.
    pub samples: Vec<String>,
    /// Rows in the table at the end.
    pub rows: usize,
    /// Wall time of the concurrent part.
    pub elapsed: Duration,
}

impl SoakReport {
    /// Sessions per second, begun.
    pub fn sessions_per_second(&self) -> f64 {
        self.attempted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Commits per second.
    pub fn commits_per_second(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The count of errors of `kind` (e.g. `UniqueViolation`) wherever they happened.
    pub fn errors_of_kind(&self, kind: &str) -> u64 {
        self.errors.iter().filter(|(key, _)| key.ends_with(&format!(" {kind}"))).map(|(_, n)| n).sum()
    }

    fn count(&mut self, site: &str, err: &Error) {
        let kind = error_kind(err);
        *self.errors.entry(format!("{site} {kind}")).or_default() += 1;
        if !EXPECTED_KINDS.contains(&kind) && self.samples.len() < 5 {
            self.samples.push(format!("{site}: {err}"));
        }
    }

    fn merge(&mut self, other: SoakReport) {
        self.attempted += other.attempted;
        self.committed += other.committed;
        self.rolled_back += other.rolled_back;
        self.abandoned += other.abandoned;
        self.commit_failed += other.commit_failed;
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
        self.samples.extend(other.samples.into_iter().take(5usize.saturating_sub(self.samples.len())));
    }

    /// Prints the figures on stderr, each line starting with `soak:`.
    pub fn print(&self) {
        eprintln!(
            "soak: {} tasks={} sessions={} committed={} rolled_back={} abandoned={} commit_failed={} rows={} \
             elapsed={:.2}s sessions/s={:.0} commits/s={:.0}",
            self.backend,
            self.tasks,
            self.attempted,
            self.committed,
            self.rolled_back,
            self.abandoned,
            self.commit_failed,
            self.rows,
            self.elapsed.as_secs_f64(),
            self.sessions_per_second(),
            self.commits_per_second(),
        );
        let errors: Vec<String> = self.errors.iter().map(|(key, n)| format!("{key}={n}")).collect();
        eprintln!("soak: {} tasks={} errors: {}", self.backend, self.tasks, errors.join(", "));
        for sample in &self.samples {
            eprintln!("soak: {} tasks={} sample error: {sample}", self.backend, self.tasks);
        }
    }
}

/// The kinds of error a soak may meet: the ones a user handles by variant, among them
/// what a database reports under load (a PostgreSQL deadlock, SQLite's busy timeout).
const EXPECTED_KINDS: [&str; 5] = ["UniqueViolation", "Conflict", "NotFound", "Deadlock", "LockTimeout"];

impl SoakReport {
    /// A problem for every error of a kind a soak should not meet (an untyped driver
    /// error, a lost connection), with the messages seen.
    pub fn untyped_errors(&self) -> Vec<String> {
        let unexpected: Vec<String> = self
            .errors
            .iter()
            .filter(|(key, _)| !EXPECTED_KINDS.iter().any(|kind| key.ends_with(&format!(" {kind}"))))
            .map(|(key, n)| format!("{key}={n}"))
            .collect();
        match unexpected.is_empty() {
            true => Vec::new(),
            false => vec![format!("errors of unexpected kinds: {unexpected:?}, e.g. {:?}", self.samples)],
        }
    }
}

/// The kind of an error, for counting: its variant, with driver errors split by what
/// they say.
pub(crate) fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::UniqueViolation { .. } => "UniqueViolation",
        Error::Conflict { .. } => "Conflict",
        Error::Connection { .. } => "Connection",
        Error::NotFound { .. } => "NotFound",
        Error::Deadlock { .. } => "Deadlock",
        Error::LockTimeout { .. } => "LockTimeout",
        Error::Backend { source, .. } => match source.to_string().contains("current transaction is aborted") {
            true => "Backend(aborted)",
            false => "Backend(other)",
        },
        _ => "Other(other)",
    }
}

/// A small deterministic generator (splitmix64): the same seed gives each task the same
/// choices, so a failing run can be replayed.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }

    fn slot(&mut self, slots: i32) -> Option<i32> {
        match self.below(5) {
            0 | 1 => None,
            _ => i32::try_from(self.below(u64::try_from(slots).unwrap_or(1))).ok(),
        }
    }

    fn pick(&mut self, rows: &BTreeMap<i64, Expected>) -> Option<i64> {
        let n = u64::try_from(rows.len()).unwrap_or(0);
        let index = usize::try_from(self.below(n)).unwrap_or(0);
        rows.keys().nth(index).copied()
    }
}

/// Transactions per task: `PLINTH_SOAK_TRANSACTIONS` if set, else `default`.
pub fn transactions_per_task(default: usize) -> usize {
    std::env::var("PLINTH_SOAK_TRANSACTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Opens a database from `fixture`, creates the soak's table, runs [`soak`] with `tasks`
/// tasks of [`transactions_per_task`]`(default_transactions)` each, prints the figures
/// and panics if the table does not equal the model. Needs a multi-threaded Tokio
/// runtime.
pub async fn run(fixture: &mut impl Fixture, tasks: usize, default_transactions: usize) -> SoakReport {
    let db = fixture.open().await;
    db.create_all(&[SoakRow::table()]).await.expect("create the soak's table");
    let report = soak(&db, tasks, transactions_per_task(default_transactions)).await;
    report.print();
    report
}

/// Runs `tasks` tasks of `transactions` transactions each on `db` (whose `soak_rows`
/// table must exist and be empty), then checks the table against the model: panics,
/// listing what differs, if it does not match.
pub async fn soak(db: &Database, tasks: usize, transactions: usize) -> SoakReport {
    let slots = i32::try_from(tasks * 2).unwrap_or(i32::MAX);
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let db = db.clone();
            let task = i32::try_from(task).unwrap_or(i32::MAX);
            tokio::spawn(async move { run_task(db, task, transactions, slots).await })
        })
        .collect();
    let mut report = SoakReport { backend: db.backend_name(), tasks, ..SoakReport::default() };
    let mut model: BTreeMap<i64, Expected> = BTreeMap::new();
    let mut problems = Vec::new();
    for handle in handles {
        let outcome = handle.await.expect("a soak task panicked");
        for (id, expected) in outcome.rows {
            if let Some(other) = model.insert(id, expected) {
                problems.push(format!("id {id} was handed to two tasks' committed inserts (one was {other:?})"));
            }
        }
        problems.extend(outcome.problems);
        report.merge(outcome.report);
    }
    report.elapsed = started.elapsed();

    let mut session = db.session().await.expect("session for the final check");
    let stored = session.query::<SoakRow>().all().await.expect("read the soak table");
    report.rows = stored.len();
    problems.extend(compare(&model, &stored));
    problems.extend(report.untyped_errors());
    if report.committed * 2 < report.attempted {
        problems.push(format!("only {} of {} sessions committed", report.committed, report.attempted));
    }
    problems.dedup();
    if !problems.is_empty() {
        report.print();
        let shown: Vec<&String> = problems.iter().take(20).collect();
        panic!("soak on {}: the table differs from the model in {} ways: {shown:#?}", report.backend, problems.len());
    }
    report
}

/// What one task committed, and what it saw go wrong.
struct TaskOutcome {
    rows: BTreeMap<i64, Expected>,
    report: SoakReport,
    problems: Vec<String>,
}

async fn run_task(db: Database, task: i32, transactions: usize, slots: i32) -> TaskOutcome {
    let mut choices = Choices(0x5EED_0000 + u64::try_from(task).unwrap_or(0));
    let mut rows: BTreeMap<i64, Expected> = BTreeMap::new();
    let mut report = SoakReport::default();
    let mut problems = Vec::new();
    let mut serial = 0u64;
    for _ in 0..transactions {
        report.attempted += 1;
        let mut session = match db.session().await {
            Ok(session) => session,
            Err(err) => {
                report.count("session", &err);
                continue;
            }
        };
        let mut staged = rows.clone();
        let mut abandoned = false;
        for _ in 0..1 + choices.below(3) {
            // Few rows: mostly insert; many: mostly update and delete.
            let insert = staged.len() < 2 || choices.below(10) < 3;
            // The memory backend never waits, so without this a session would run from
            // begin to commit without another task's session in between.
            tokio::task::yield_now().await;
            let outcome = if insert {
                serial += 1;
                let row = SoakRow { task, tag: format!("{task}-{serial}"), slot: choices.slot(slots), version: 0 };
                match session.add(row.clone()).await {
                    Ok(record) if record.entity() != &row => {
                        problems.push(format!("task {task}: add returned {record:?} for {row:?}"));
                        Ok(())
                    }
                    Ok(record) => {
                        if staged.insert(record.id().get(), Expected::of(&row)).is_some() {
                            problems.push(format!("task {task}: id {} handed out twice", record.id()));
                        }
                        Ok(())
                    }
                    Err(err) => Err(("add", err)),
                }
            } else if let Some(id) = choices.pick(&staged) {
                let expected = staged.get(&id).cloned();
                match session.get::<SoakRow>(id).await {
                    Ok(Some(record)) if Some(Expected::of(&record)) != expected => {
                        problems.push(format!("task {task}: id {id} reads {record:?}, the model says {expected:?}"));
                        Ok(())
                    }
                    Ok(None) => {
                        problems.push(format!("task {task}: id {id} vanished; the model says {expected:?}"));
                        Ok(())
                    }
                    Ok(Some(_)) if choices.below(3) == 0 => match session.delete_by_id::<SoakRow>(id).await {
                        Ok(()) => {
                            staged.remove(&id);
                            Ok(())
                        }
                        Err(err) => Err(("delete", err)),
                    },
                    Ok(Some(mut record)) => {
                        record.version += 1;
                        record.slot = choices.slot(slots);
                        match session.update(&mut record).await {
                            Ok(()) => {
                                staged.insert(id, Expected::of(&record));
                                Ok(())
                            }
                            Err(err) => Err(("update", err)),
                        }
                    }
                    Err(err) => Err(("get", err)),
                }
            } else {
                Ok(())
            };
            if let Err((site, err)) = outcome {
                report.count(site, &err);
                // A unique violation leaves the session usable; anything else ends it.
                if !matches!(err, Error::UniqueViolation { .. }) {
                    abandoned = true;
                    break;
                }
            }
        }
        if abandoned {
            report.abandoned += 1;
            continue;
        }
        match choices.below(8) {
            0 => {
                if let Err(err) = session.rollback().await {
                    report.count("rollback", &err);
                }
                report.rolled_back += 1;
            }
            1 => {
                drop(session);
                report.rolled_back += 1;
            }
            _ => match session.commit().await {
                Ok(()) => {
                    rows = staged;
                    report.committed += 1;
                }
                Err(err) => {
                    report.count("commit", &err);
                    report.commit_failed += 1;
                }
            },
        }
    }
    TaskOutcome { rows, report, problems }
}

/// Every way the stored rows differ from the model.
fn compare(model: &BTreeMap<i64, Expected>, stored: &[plinth::Record<SoakRow>]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen_ids = HashSet::new();
    let mut slot_owner: HashMap<i32, i64> = HashMap::new();
    for record in stored {
        let id = record.id().get();
        if !seen_ids.insert(id) {
            problems.push(format!("id {id} is stored twice"));
        }
        if let Some(slot) = record.slot {
            if let Some(other) = slot_owner.insert(slot, id) {
                problems.push(format!("slot {slot} is held by ids {other} and {id}"));
            }
        }
        match model.get(&id) {
            None => problems.push(format!(
                "id {id} ({:?}) is stored but no committed transaction left it: a rolled-back or failed \
                 transaction's row, or a delete that was lost",
                record.entity()
            )),
            Some(expected) if expected != &Expected::of(record) => problems.push(format!(
                "id {id} holds {:?}, the committed transactions left {expected:?} (a lost or phantom update)",
                record.entity()
            )),
            Some(_) => {}
        }
    }
    for (id, expected) in model {
        if !seen_ids.contains(id) {
            problems.push(format!("id {id} ({expected:?}) was committed but is not stored: a lost write"));
        }
    }
    problems
}
