//! Faults on PostgreSQL: a connection killed mid-transaction, the server going away and
//! coming back while the pool is in use, a statement timeout, a full pool, and a
//! transaction aborted by a unique violation raced with another session. Each must give
//! a typed `plinth::Error` within a bounded time, commit nothing half (checked from an
//! admin connection), and leave the same `Database` serving the next session.
//!
//! Needs a server: `cargo xtask test` finds or starts one. By hand (that URL is also the
//! default): `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx
//! --test postgres_faults -- --nocapture` prints the timings. The restart is simulated by
//! a TCP proxy in the test that drops every connection and refuses new ones for a while;
//! the shared server itself is never touched.
//!
//! A real restart runs on a private cluster only, when asked for (it is `#[ignore]`d):
//!
//! ```text
//! pg_createcluster 15 plinthfaults -p 5433 --start -- --auth-host=trust
//! PLINTH_FAULTS_RESTART_URL=postgres://postgres@127.0.0.1:5433/postgres \
//! PLINTH_FAULTS_RESTART_COMMAND='pg_ctlcluster 15 plinthfaults restart' \
//!   cargo test -p plinth-sqlx --test postgres_faults -- --ignored --nocapture
//! pg_dropcluster --stop 15 plinthfaults
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plinth::{Database, Entity, Error};
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

mod support;

use support::server_url;

/// Generous: a fault must surface in seconds, not hang.
const BOUND: Duration = Duration::from_secs(10);

/// A row of the fault tests' table.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "notes")]
struct Note {
    #[entity(unique)]
    key: String,
    body: String,
}

impl Note {
    fn new(key: &str) -> Self {
        Note { key: key.to_owned(), body: format!("body of {key}") }
    }
}

/// A schema of its own (also the application name of its connections) on a server,
/// dropped on drop.
struct Schema {
    name: String,
    server: String,
    admin: PgPool,
}

impl Schema {
    async fn new() -> Self {
        Schema::on(server_url()).await
    }

    async fn on(server: String) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("plinth_faults_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let admin = PgPool::connect(&server).await.expect("reach PostgreSQL (see the top of this file)");
        sqlx::query(&format!("CREATE SCHEMA \"{name}\"")).execute(&admin).await.expect("create schema");
        Schema { name, server, admin }
    }

    /// The URL of this schema on `base` (the server, or a proxy in front of it), with
    /// extra query parameters.
    fn url_on(&self, base: &str, extra: &str) -> String {
        let separator = if base.contains('?') { '&' } else { '?' };
        let name = &self.name;
        format!("{base}{separator}options=-c%20search_path%3D{name}{extra}&application_name={name}")
    }

    /// A database on this schema with the `notes` table, through `base`.
    async fn open_on(&self, base: &str, extra: &str) -> Database {
        let db = plinth_sqlx::connect(&self.url_on(base, extra)).await.expect("connect to the schema");
        db.create_all(&[Note::table()]).await.expect("create notes");
        db
    }

    async fn open(&self, extra: &str) -> Database {
        self.open_on(&self.server, extra).await
    }

    /// The keys stored, as another client sees them.
    async fn stored_keys(&self) -> Vec<String> {
        sqlx::query_scalar(&format!("SELECT \"key\" FROM \"{}\".\"notes\" ORDER BY \"key\"", self.name))
            .fetch_all(&self.admin)
            .await
            .expect("read notes")
    }

    /// Another client's transaction holding the lock of row `id` of `notes`.
    async fn lock_row(&self, id: i64) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut holder = self.admin.begin().await.expect("admin transaction");
        sqlx::query(&format!("SELECT 1 FROM \"{}\".\"notes\" WHERE \"id\" = $1 FOR UPDATE", self.name))
            .bind(id)
            .execute(&mut *holder)
            .await
            .expect("lock the row");
        holder
    }

    /// Ends this schema's idle connections (a pool's, between sessions); one entry each.
    async fn kill_idle(&self) -> Vec<bool> {
        sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'",
        )
        .bind(&self.name)
        .fetch_all(&self.admin)
        .await
        .expect("terminate")
    }

    /// Ends this schema's connections that are inside a transaction; returns how many.
    async fn kill_transactions(&self) -> usize {
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(&self.name)
        .fetch_all(&self.admin)
        .await
        .expect("terminate");
        killed.len()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        support::drop_schema(self.server.clone(), self.name.clone());
    }
}

/// Runs `fault`, which must end within [`BOUND`]; returns its output and how long it took.
async fn timed<T>(what: &str, fault: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output =
        tokio::time::timeout(BOUND, fault).await.unwrap_or_else(|_| panic!("{what}: no answer within {BOUND:?}"));
    let elapsed = started.elapsed();
    eprintln!("faults: {what}: {elapsed:?}");
    (output, elapsed)
}

/// The database serves a new session: add, commit, and read back from another session.
async fn serves_the_next_session(db: &Database, key: &str) {
    let (record, _) = timed(&format!("{key}: next session add+commit"), async {
        let mut session = db.session().await.expect("session after the fault");
        let record = session.add(Note::new(key)).await.expect("add after the fault");
        session.commit().await.expect("commit after the fault");
        record
    })
    .await;
    let again = db.session().await.expect("session").get::<Note>(record.id()).await.expect("get after the fault");
    assert_eq!(again.map(|r| r.into_entity()), Some(Note::new(key)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_transaction_fails_the_session_and_commits_nothing() {
    let schema = Schema::new().await;
    let db = schema.open("").await;

    // Killed, then the session writes again: the write fails, and so does the commit.
    let mut session = db.session().await.expect("session");
    session.add(Note::new("a1")).await.expect("first write begins the transaction");
    assert_eq!(schema.kill_transactions().await, 1);
    let (next, _) = timed("killed: next write", session.add(Note::new("a2"))).await;
    assert!(matches!(next, Err(Error::Connection { .. })), "{next:?}");
    let (commit, _) = timed("killed: commit after a failed write", session.commit()).await;
    assert!(matches!(commit, Err(Error::Connection { .. })), "{commit:?}");

    // Killed, then the session commits at once.
    let mut session = db.session().await.expect("session");
    session.add(Note::new("b1")).await.expect("write");
    session.add(Note::new("b2")).await.expect("write");
    assert_eq!(schema.kill_transactions().await, 1);
    let (commit, _) = timed("killed: commit", session.commit()).await;
    assert!(matches!(commit, Err(Error::Connection { .. })), "{commit:?}");

    assert_eq!(schema.stored_keys().await, Vec::<String>::new(), "nothing of either session is stored");
    serves_the_next_session(&db, "after-kill").await;
    assert_eq!(schema.stored_keys().await, ["after-kill"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_connection_killed_between_reads_is_replaced_and_the_read_runs_once_more() {
    let schema = Schema::new().await;
    let db = schema.open("&max_connections=2").await;
    serves_the_next_session(&db, "kept").await;

    // The session holds the connection of its first read; it is killed while idle.
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<Note>().count().await.expect("first read"), 1);
    let killed = schema.kill_idle().await;
    assert!(!killed.is_empty(), "the session's reading connection was found");
    let (read, _) = timed("killed reader: next read", session.query::<Note>().count()).await;
    assert_eq!(read.expect("the read ran once more, on a live connection"), 1);
    let (again, _) = timed("killed reader: the read after", session.query::<Note>().count()).await;
    assert_eq!(again.expect("the session reads on"), 1);
    session.commit().await.expect("nothing to commit");
    serves_the_next_session(&db, "after-reader-kill").await;
    // Every idle connection killed, then a session whose first call is a write: its
    // BEGIN finds a dead connection and runs once more on a live one.
    let killed = schema.kill_idle().await;
    assert!(!killed.is_empty(), "the pool's idle connections were found");
    serves_the_next_session(&db, "after-idle-pool-kill").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_timeout_fails_the_session_and_commits_nothing() {
    let schema = Schema::new().await;
    let db = schema.open("%20-c%20statement_timeout%3D500").await;
    let mut session = db.session().await.expect("session");
    let mut locked = session.add(Note::new("locked")).await.expect("add");
    session.commit().await.expect("commit");

    // Another client holds the row's lock, so Plinth's update waits past the timeout.
    let holder = schema.lock_row(locked.id().get()).await;
    let mut session = db.session().await.expect("session");
    session.add(Note::new("written-before-the-timeout")).await.expect("add");
    locked.body = "changed".into();
    let (update, elapsed) = timed("statement timeout: update of a locked row", session.update(&mut locked)).await;
    let message = update.as_ref().err().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(update, Err(Error::StatementTimeout { .. })) && message.contains("statement timeout"),
        "{update:?}"
    );
    assert!(!update.as_ref().is_err_and(Error::is_retryable), "the same work would run as long again");
    assert!(elapsed >= Duration::from_millis(400), "the timeout is 500 ms, it fired after {elapsed:?}");
    let (commit, _) = timed("statement timeout: commit", session.commit()).await;
    let message = commit.as_ref().err().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(commit, Err(Error::StatementTimeout { .. })) && message.contains("nothing was committed"),
        "{commit:?}"
    );
    holder.rollback().await.expect("release the lock");

    assert_eq!(schema.stored_keys().await, ["locked"], "the insert before the timeout is not stored");
    let stored = db.session().await.expect("session").get::<Note>(locked.id()).await.expect("get");
    assert_eq!(stored.map(|r| r.into_entity()), Some(Note::new("locked")), "the update is not stored");
    serves_the_next_session(&db, "after-timeout").await;
}

/// A lock waited for past `lock_timeout` is `LockTimeout`, which a retried transaction
/// runs again: once the other client lets go, the work commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_timeout_is_retryable_and_a_transaction_commits_once_the_lock_is_free() {
    let schema = Schema::new().await;
    let db = schema.open("%20-c%20lock_timeout%3D300").await;
    let mut session = db.session().await.expect("session");
    let locked = session.add(Note::new("locked")).await.expect("add");
    session.commit().await.expect("commit");
    let holder = schema.lock_row(locked.id().get()).await;

    let mut session = db.session().await.expect("session");
    let mut copy = session.get::<Note>(locked.id()).await.expect("get").expect("the note");
    copy.body = "changed".into();
    let (update, _) = timed("lock timeout: update of a locked row", session.update(&mut copy)).await;
    assert!(matches!(update, Err(Error::LockTimeout { .. })), "{update:?}");
    assert!(update.as_ref().is_err_and(Error::is_retryable));
    drop(session);

    let attempts = Arc::new(AtomicUsize::new(0));
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        holder.rollback().await.expect("release the lock");
    });
    let (done, _) = timed(
        "lock timeout: a retried transaction",
        db.transaction(|session| {
            let (attempts, id) = (Arc::clone(&attempts), locked.id());
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                let mut note = session.get::<Note>(id).await?.expect("the note");
                note.body = "changed by the transaction".into();
                session.update(&mut note).await
            })
        }),
    )
    .await;
    done.expect("the transaction commits once the lock is free");
    release.await.expect("the holder");
    assert!(attempts.load(Ordering::SeqCst) >= 2, "the first attempt met the lock");
    let stored = db.session().await.expect("session").get::<Note>(locked.id()).await.expect("get");
    assert_eq!(stored.map(|r| r.body.clone()).as_deref(), Some("changed by the transaction"));
}

/// Two sessions that each lock a row the other then wants: PostgreSQL picks one to
/// roll back with a deadlock, which is `Deadlock` (retryable); the other commits. Run as
/// retried transactions, both commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_retryable_and_retried_transactions_both_commit() {
    let schema = Schema::new().await;
    let db = schema.open("").await;
    let mut session = db.session().await.expect("session");
    let notes = session.add_all([Note::new("a"), Note::new("b")]).await.expect("add");
    session.commit().await.expect("commit");
    let (a, b) = (notes[0].id(), notes[1].id());
    let crossing = Arc::new(tokio::sync::Barrier::new(2));

    // Each task updates its first note, waits for the other to do the same, then
    // updates its second; only their first attempts meet at the barrier.
    let task = |first, second, tag: &'static str| {
        let (db, crossing) = (db.clone(), Arc::clone(&crossing));
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&attempts);
        let run = tokio::spawn(async move {
            let errors = Arc::new(Mutex::new(Vec::new()));
            let seen = Arc::clone(&errors);
            let done = db
                .transaction(move |session| {
                    let (crossing, attempts, errors) = (Arc::clone(&crossing), Arc::clone(&counted), Arc::clone(&seen));
                    Box::pin(async move {
                        let first_attempt = attempts.fetch_add(1, Ordering::SeqCst) == 0;
                        let result: plinth::Result<()> = async {
                            for (n, id) in [first, second].into_iter().enumerate() {
                                let mut note = session.get::<Note>(id).await?.expect("the note");
                                note.body.push_str(tag);
                                session.update(&mut note).await?;
                                if n == 0 && first_attempt {
                                    crossing.wait().await;
                                }
                            }
                            Ok(())
                        }
                        .await;
                        if let Err(err) = &result {
                            errors.lock().expect("errors").push(err.is_retryable().then(|| err.to_string()));
                        }
                        result
                    })
                })
                .await;
            let errors = errors.lock().expect("errors").clone();
            (done, errors)
        });
        (run, attempts)
    };
    let (one, one_attempts) = task(a, b, "+1");
    let (two, two_attempts) = task(b, a, "+2");
    let ((one, one_errors), _) = timed("deadlock: first task", async { one.await.expect("task") }).await;
    let ((two, two_errors), _) = timed("deadlock: second task", async { two.await.expect("task") }).await;
    one.expect("the first task commits");
    two.expect("the second task commits");
    let errors: Vec<Option<String>> = one_errors.into_iter().chain(two_errors).collect();
    assert_eq!(errors.len(), 1, "one of the two was rolled back: {errors:?}");
    let message = errors[0].clone().expect("a retryable error");
    assert!(message.contains("deadlock"), "{message}");
    let attempts = one_attempts.load(Ordering::SeqCst) + two_attempts.load(Ordering::SeqCst);
    assert_eq!(attempts, 3, "the rolled-back one ran again once");
    let mut session = db.session().await.expect("session");
    for id in [a, b] {
        let body = session.get::<Note>(id).await.expect("get").expect("the note").body.clone();
        assert!(body.contains("+1") && body.contains("+2"), "both wrote note {id}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_fails_the_next_session_after_the_acquire_timeout() {
    let schema = Schema::new().await;
    let db = schema.open("&max_connections=2&acquire_timeout=1").await;
    let mut first = db.session().await.expect("session");
    first.add(Note::new("first")).await.expect("holds a connection");
    let mut second = db.session().await.expect("session");
    second.add(Note::new("second")).await.expect("holds the other connection");

    let mut third = db.session().await.expect("a session takes no connection until it needs one");
    let (waited, elapsed) = timed("full pool: add", third.add(Note::new("third"))).await;
    assert!(matches!(waited, Err(Error::Connection { .. })), "{waited:?}");
    assert!(elapsed >= Duration::from_millis(900), "the acquire timeout is 1 s, it fired after {elapsed:?}");
    third.commit().await.expect("a session that wrote nothing commits nothing");

    first.commit().await.expect("the holders are unharmed");
    serves_the_next_session(&db, "after-full-pool").await;
    second.commit().await.expect("the holders are unharmed");
    assert_eq!(schema.stored_keys().await, ["after-full-pool", "first", "second"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_violation_that_aborts_the_transaction_fails_its_commit() {
    let schema = Schema::new().await;
    let db = schema.open("").await;
    let mut setup = db.session().await.expect("session");
    let mut mine = setup.add(Note::new("mine")).await.expect("add");
    let mut theirs = setup.add(Note::new("theirs")).await.expect("add");
    setup.commit().await.expect("commit");

    // The other session takes `wanted` first, uncommitted, so this session's update
    // waits on the unique index and fails inside PostgreSQL once the other commits:
    // the server aborts the whole transaction, including the insert made before.
    let mut other = db.session().await.expect("session");
    theirs.key = "wanted".into();
    other.update(&mut theirs).await.expect("the other session takes the value");
    let mut session = db.session().await.expect("session");
    session.add(Note::new("inserted-before")).await.expect("add");
    mine.key = "wanted".into();
    let racing = tokio::spawn(async move {
        let result = session.update(&mut mine).await;
        (session, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.commit().await.expect("the other session commits");
    let (session, update) = racing.await.expect("the update task");
    assert!(matches!(&update, Err(Error::UniqueViolation { column: Some("key"), .. })), "{update:?}");
    let commit = session.commit().await;
    assert!(matches!(&commit, Err(Error::UniqueViolation { column: Some("key"), .. })), "{commit:?}");

    assert_eq!(schema.stored_keys().await, ["mine", "wanted"], "the insert before the violation is not stored");
    serves_the_next_session(&db, "after-race").await;
}

/// A TCP proxy in front of the server that can be cut like a server restart: every open
/// connection dropped, new ones refused, then accepted again on the same port.
struct Proxy {
    port: u16,
    accepting: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let mut proxy = Proxy { port, accepting: None, connections: Arc::default() };
        proxy.accept_on(listener);
        proxy
    }

    fn accept_on(&mut self, listener: TcpListener) {
        let connections = Arc::clone(&self.connections);
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let forwarding = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(forwarding);
            }
        }));
    }

    /// The server "goes down": the port is closed and every connection dropped.
    fn cut(&mut self) {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
        for connection in self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..) {
            connection.abort();
        }
    }

    /// The server "is back" on the same port.
    async fn resume(&mut self) {
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.accept_on(listener);
    }

    fn url(&self) -> String {
        let server = url::Url::parse(&server_url()).expect("DATABASE_URL");
        let user = server.username();
        format!("postgres://{user}@127.0.0.1:{}{}", self.port, server.path())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_fails_sessions_in_flight_and_the_pool_recovers() {
    let schema = Schema::new().await;
    let mut proxy = Proxy::start().await;
    let db = schema.open_on(&proxy.url(), "&max_connections=4&acquire_timeout=3&connect_timeout=3").await;
    writers_through_a_restart(&schema, &db, "proxy restart", async {
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        proxy.resume().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts a private PostgreSQL cluster: see the top of this file"]
async fn a_real_server_restart_fails_sessions_in_flight_and_the_pool_recovers() {
    let server = std::env::var("PLINTH_FAULTS_RESTART_URL").expect("PLINTH_FAULTS_RESTART_URL: the private cluster");
    let command =
        std::env::var("PLINTH_FAULTS_RESTART_COMMAND").expect("PLINTH_FAULTS_RESTART_COMMAND: how to restart it");
    let schema = Schema::on(server.clone()).await;
    let db = schema.open_on(&server, "&max_connections=4&acquire_timeout=3&connect_timeout=3").await;
    writers_through_a_restart(&schema, &db, "real restart", async {
        let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        let started = Instant::now();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new(&words[0]).args(&words[1..]).status().expect("run the restart command")
        })
        .await
        .expect("the restart command's thread");
        assert!(status.success(), "`{command}` failed: {status}");
        eprintln!("faults: real restart: `{command}` took {:?}", started.elapsed());
    })
    .await;
}

/// What the writers saw during a restart.
#[derive(Debug, Default)]
struct Outcomes {
    committed: Vec<String>,
    failed_before_commit: Vec<String>,
    failed_commit: Vec<String>,
    errors: Vec<String>,
    slowest: Duration,
    /// Sessions committed after the restart was over.
    committed_after: usize,
}

/// Four writers commit two rows per session on `db` for 4 s while `restart` runs after
/// the first second. Every session must end within [`BOUND`] with `Ok` or
/// `Error::Connection`, and sessions begun after the restart must commit; afterwards every committed session is stored whole, every
/// session that failed before its commit is not stored at all, a commit whose answer was
/// lost is stored whole or not at all, and the database serves the next session.
async fn writers_through_a_restart(schema: &Schema, db: &Database, what: &str, restart: impl Future<Output = ()>) {
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let restarted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_at = Instant::now() + Duration::from_secs(4);
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (db, outcomes, restarted) = (db.clone(), Arc::clone(&outcomes), Arc::clone(&restarted));
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < stop_at {
                    n += 1;
                    let key = format!("w{writer}-{n}");
                    let started = Instant::now();
                    let begun_after_restart = restarted.load(Ordering::SeqCst);
                    let result = async {
                        let mut session = db.session().await.map_err(|e| (false, e))?;
                        session.add(Note::new(&format!("{key}-a"))).await.map_err(|e| (false, e))?;
                        session.add(Note::new(&format!("{key}-b"))).await.map_err(|e| (false, e))?;
                        session.commit().await.map_err(|e| (true, e))
                    }
                    .await;
                    let took = started.elapsed();
                    assert!(took < BOUND, "a session took {took:?} during the restart");
                    let mut seen = outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    seen.slowest = seen.slowest.max(took);
                    match result {
                        Ok(()) => {
                            seen.committed.push(key);
                            seen.committed_after += usize::from(begun_after_restart);
                        }
                        Err((at_commit, err)) => {
                            assert!(matches!(err, Error::Connection { .. }), "{key}: {err:?}");
                            seen.errors.push(format!("{took:?} {err}"));
                            match at_commit {
                                true => seen.failed_commit.push(key),
                                false => seen.failed_before_commit.push(key),
                            }
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // A session in its transaction when the server goes: the restart must reach it, so
    // the run always shows a session cut off (the writers' timing alone may miss).
    let mut cut_off = db.session().await.expect("session");
    cut_off.add(Note::new("cut-off-a")).await.expect("a write before the restart");
    restart.await;
    restarted.store(true, Ordering::SeqCst);
    let after = async {
        cut_off.add(Note::new("cut-off-b")).await?;
        cut_off.commit().await
    }
    .await;
    assert!(matches!(after, Err(Error::Connection { .. })), "{what}: a session in its transaction: {after:?}");
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    serves_the_next_session(db, &format!("after-{}", what.replace(' ', "-"))).await;

    let stored = schema.stored_keys().await;
    let outcomes = outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let halves = |key: &String| {
        [format!("{key}-a"), format!("{key}-b")].iter().filter(|half| stored.binary_search(half).is_ok()).count()
    };
    assert_eq!(halves(&"cut-off".to_owned()), 0, "the session cut off by the restart stored something");
    for key in &outcomes.committed {
        assert_eq!(halves(key), 2, "{key} was committed but is not stored whole");
    }
    for key in &outcomes.failed_before_commit {
        assert_eq!(halves(key), 0, "{key} failed before its commit but something of it is stored");
    }
    for key in &outcomes.failed_commit {
        assert_ne!(halves(key), 1, "{key} is stored half");
    }
    let landed = outcomes.failed_commit.iter().filter(|key| halves(key) == 2).count();
    eprintln!(
        "faults: {what}: committed={} failed_before_commit={} failed_commit={} (of which landed={landed}) \
         stored_rows={} slowest_session={:?} committed_after_restart={}",
        outcomes.committed.len(),
        outcomes.failed_before_commit.len(),
        outcomes.failed_commit.len(),
        stored.len(),
        outcomes.slowest,
        outcomes.committed_after,
    );
    for error in outcomes.errors.iter().take(6) {
        eprintln!("faults: {what} error: {error}");
    }
    // Whether a session was in flight at the cut is up to timing; that the pool serves
    // sessions again afterwards is not.
    assert!(outcomes.committed_after > 0, "no session committed after the restart: {outcomes:?}");
}
