//! Faults of the web-storage store, natively over an in-memory key-value store that
//! fails on purpose: a commit cut off at every one of its writes (and its recovery cut
//! off again), a byte budget running out in the middle of a 5,000-row `add_all` or
//! while a refused commit is being undone, two handles writing the same rows, and an
//! oversized value. Every case ends with the store fully as before or fully as after,
//! its unique index matching its rows, and usable.
//!
//! `cargo test -p plinth-browser --test native_faults`
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use plinth::engine::{Change, CommitPlan, EngineBackend, Store, StoreMut};
use plinth::migrate::{Migration, MigrationRecord, Step};
use plinth::{Database, Entity, Error, Result, Session};
use plinth_browser::{KeyValue, MemoryKeyValue, WebStorageStore};
use plinth_conformance::entities::{Gadget, GadgetV2, User, Widget};
use serde_json::Value as Json;

const PREFIX: &str = "plinth/app/";
const JOURNAL: &str = "plinth/app/journal";
const SEQUENCE: &str = "plinth/app/t/users/seq";

/// A key-value store that fails on purpose. Once `writes_left` writes are spent every
/// write fails, as after the tab closed; a write that would make the keys and values
/// longer than `byte_limit` is refused with `QuotaExceeded`, as by a full web storage.
#[derive(Debug, Clone)]
struct Faulty {
    kv: MemoryKeyValue,
    state: Arc<Mutex<Limits>>,
}

#[derive(Debug)]
struct Limits {
    writes_left: usize,
    byte_limit: usize,
    /// The length of every key and value now stored.
    bytes: usize,
    /// The most `bytes` has been since the last `reset`.
    peak: usize,
    /// The longest value written since the last `reset`.
    largest_value: usize,
    /// The key of the first write refused for space since the last `reset`.
    refused: Option<String>,
}

impl Faulty {
    fn over(kv: &MemoryKeyValue) -> Self {
        let bytes = dump(kv).iter().map(|(k, v)| k.len() + v.len()).sum();
        let limits = Limits {
            writes_left: usize::MAX,
            byte_limit: usize::MAX,
            bytes,
            peak: bytes,
            largest_value: 0,
            refused: None,
        };
        Faulty { kv: kv.clone(), state: Arc::new(Mutex::new(limits)) }
    }

    fn limits(&self) -> MutexGuard<'_, Limits> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, allow `writes` more writes and keep within `bytes`.
    fn reset(&self, writes: usize, bytes: usize) {
        let mut limits = self.limits();
        limits.writes_left = writes;
        limits.byte_limit = bytes;
        limits.peak = limits.bytes;
        limits.largest_value = 0;
        limits.refused = None;
    }

    /// Accounts for `key` becoming `value`, or fails as the limits say.
    fn write(&self, key: &str, value: Option<&str>) -> Result<()> {
        let mut limits = self.limits();
        if limits.writes_left == 0 {
            return Err(Error::backend("test", "the tab was closed"));
        }
        let old = self.kv.get(key)?.map_or(0, |v| key.len() + v.len());
        let new = value.map_or(0, |v| key.len() + v.len());
        let bytes = limits.bytes - old + new;
        if bytes > limits.byte_limit {
            limits.refused.get_or_insert_with(|| key.to_owned());
            return Err(Error::QuotaExceeded { detail: format!("{bytes} bytes > {}", limits.byte_limit) });
        }
        limits.writes_left -= 1;
        limits.bytes = bytes;
        limits.peak = limits.peak.max(bytes);
        limits.largest_value = limits.largest_value.max(value.map_or(0, str::len));
        match value {
            Some(value) => self.kv.set(key, value),
            None => self.kv.remove(key),
        }
    }
}

impl KeyValue for Faulty {
    fn name(&self) -> &'static str {
        "faulty key-value store"
    }
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.kv.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.write(key, Some(value))
    }
    fn remove(&self, key: &str) -> Result<()> {
        self.write(key, None)
    }
    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        self.kv.keys_with_prefix(prefix)
    }
}

fn database(kv: impl KeyValue) -> Result<Database> {
    Ok(Database::new(EngineBackend::new(WebStorageStore::open(kv, "app")?)))
}

fn dump(kv: &MemoryKeyValue) -> BTreeMap<String, String> {
    let keys = kv.keys_with_prefix("").expect("keys");
    keys.into_iter().map(|k| (k.clone(), kv.get(&k).expect("get").expect("present"))).collect()
}

/// A new store holding what `kv` holds.
fn copy(kv: &MemoryKeyValue) -> MemoryKeyValue {
    let copy = MemoryKeyValue::new();
    for (k, v) in dump(kv) {
        copy.set(&k, &v).expect("copy");
    }
    copy
}

/// Every key of the database with its value, exactly as stored (timestamps, the
/// version `Conflict` relies on, included); `with_sequence` keeps the id sequence,
/// which staging a session moves before its commit.
fn snapshot(kv: &MemoryKeyValue, with_sequence: bool) -> BTreeMap<String, String> {
    let mut keys = dump(kv);
    keys.retain(|k, _| k.starts_with(PREFIX) && (with_sequence || k != SEQUENCE));
    keys
}

/// A web-storage store that records the change set of every commit, so one commit, the
/// same to the microsecond, can be applied again to copies of a store.
#[derive(Debug)]
struct Recording {
    store: WebStorageStore<MemoryKeyValue>,
    commits: Mutex<Vec<Vec<Change>>>,
}

impl Recording {
    fn last_commit(&self) -> Vec<Change> {
        self.commits.lock().unwrap_or_else(PoisonError::into_inner).last().cloned().expect("a commit")
    }
}

#[async_trait::async_trait]
impl Store for Recording {
    fn name(&self) -> &'static str {
        self.store.name()
    }
    async fn get(&self, table: &'static plinth::Table, id: i64) -> Result<Option<plinth::backend::StoredRow>> {
        self.store.get(table, id).await
    }
    async fn scan(&self, table: &'static plinth::Table) -> Result<Vec<plinth::backend::StoredRow>> {
        self.store.scan(table).await
    }
    async fn find_unique(
        &self,
        table: &'static plinth::Table,
        column: usize,
        value: &plinth::Value,
    ) -> Result<Option<i64>> {
        self.store.find_unique(table, column, value).await
    }
}

#[async_trait::async_trait]
impl StoreMut for Recording {
    async fn create_tables(&self, tables: &[&'static plinth::Table]) -> Result<()> {
        self.store.create_tables(tables).await
    }
    async fn allocate_ids(&self, table: &'static plinth::Table, count: u64) -> Result<i64> {
        self.store.allocate_ids(table, count).await
    }
    async fn apply(&self, plan: CommitPlan) -> Result<()> {
        self.commits.lock().unwrap_or_else(PoisonError::into_inner).push(plan.changes().to_vec());
        self.store.apply(plan).await
    }
    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<plinth::backend::StoredColumn>>> {
        self.store.stored_columns(name).await
    }
    async fn table_names(&self) -> Result<Vec<String>> {
        self.store.table_names().await
    }
    async fn replace(&self, replacement: plinth::engine::Replacement) -> Result<plinth::engine::Replaced> {
        self.store.replace(replacement).await
    }
}

/// The rows and the unique index agree: each row's username leads to it, and no
/// index entry leads anywhere else; no journal is left. The users by id.
fn assert_consistent(kv: &MemoryKeyValue) -> BTreeMap<i64, String> {
    assert_eq!(kv.get(JOURNAL).expect("get"), None, "a journal left behind");
    let rows_prefix = "plinth/app/t/users/r/";
    let index_prefix = "plinth/app/t/users/u/username/";
    let mut users = BTreeMap::new();
    for key in kv.keys_with_prefix(rows_prefix).expect("keys") {
        let row: Json = serde_json::from_str(&kv.get(&key).expect("get").expect("row")).expect("a row");
        let id: i64 = key[rows_prefix.len()..].parse().expect("an id");
        assert_eq!(row["id"].as_i64(), Some(id), "{key}");
        let name = row["username"].as_str().expect("a username").to_owned();
        let index = kv.get(&format!("{index_prefix}{}", Json::from(name.clone()))).expect("get");
        assert_eq!(index, Some(id.to_string()), "the index entry of {name}");
        users.insert(id, name);
    }
    let entries = kv.keys_with_prefix(index_prefix).expect("keys");
    assert_eq!(entries.len(), users.len(), "index entries {entries:?} for users {users:?}");
    users
}

/// A store with `count` committed users `u00`, `u01`…, ids 1 to `count`.
async fn base(count: usize) -> MemoryKeyValue {
    let kv = MemoryKeyValue::new();
    let db = database(kv.clone()).expect("open");
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    session.add_all((0..count).map(|i| User::named(&format!("u{i:02}")))).await.expect("add");
    session.commit().await.expect("commit");
    kv
}

/// One session of every kind of write, staged: a rename, an address change, a delete,
/// a rename onto the deleted row's name, and four new users, one taking the first
/// rename's old name.
async fn stage_mixed_commit(db: &Database) -> Result<Session> {
    let mut session = db.session().await?;
    let mut first = session.get::<User>(1).await?.expect("u00");
    first.username = "u00-renamed".into();
    session.update(&mut first).await?;
    let mut second = session.get::<User>(2).await?.expect("u01");
    second.email_address = "new@example.com".into();
    session.update(&mut second).await?;
    session.delete_by_id::<User>(3).await?;
    let mut fourth = session.get::<User>(4).await?.expect("u03");
    fourth.username = "u02".into();
    session.update(&mut fourth).await?;
    session.add_all([User::named("u00"), User::named("n1"), User::named("n2"), User::named("n3")]).await?;
    Ok(session)
}

/// The store still takes commits and checks unique values.
async fn assert_usable(kv: &MemoryKeyValue) {
    let db = database(kv.clone()).expect("open");
    let before = assert_consistent(kv).len();
    let mut session = db.session().await.expect("session");
    session.add(User::named("after-the-fault")).await.expect("add");
    let again = session.add(User::named("after-the-fault")).await;
    assert!(matches!(again, Err(Error::UniqueViolation { .. })), "{again:?}");
    session.commit().await.expect("commit");
    assert_eq!(assert_consistent(kv).len(), before + 1);
}

#[tokio::test]
async fn every_crash_point_of_a_commit_leaves_it_fully_old_or_fully_new() {
    let original = base(12).await;
    // One commit, staged once and recorded, then applied to a copy of the store per
    // crash point: every copy is compared with the whole old or new state, timestamps
    // included, byte for byte.
    let reference = copy(&original);
    let recording = Arc::new(Recording {
        store: WebStorageStore::open(reference.clone(), "app").expect("open"),
        commits: Mutex::default(),
    });
    let db = Database::new(EngineBackend::with_store(Arc::clone(&recording)));
    stage_mixed_commit(&db).await.expect("stage").commit().await.expect("commit");
    let changes = recording.last_commit();
    let new = snapshot(&reference, true);
    // Staging handed out the new rows' ids: the sequence moved before the commit.
    let staged = copy(&original);
    staged.set(SEQUENCE, &reference.get(SEQUENCE).expect("get").expect("a sequence")).expect("set");
    let old = snapshot(&staged, true);
    assert_ne!(old, new);

    let (mut came_out_old, mut came_out_new, mut recoveries_cut) = (0, 0, 0);
    let mut crash_points = 0;
    for k in 0.. {
        let kv = copy(&staged);
        let faulty = Faulty::over(&kv);
        let store = WebStorageStore::open(faulty.clone(), "app").expect("open");
        faulty.reset(k, usize::MAX);
        let committed = store.apply(CommitPlan::new(changes.clone())).await;
        if committed.is_ok() {
            crash_points = k;
            assert_eq!(snapshot(&kv, true), new, "the whole commit");
            break;
        }
        assert!(matches!(committed, Err(Error::Backend { .. })), "{committed:?}");
        let journal_left = kv.get(JOURNAL).expect("get").is_some();

        // The next page's open is itself cut off after each of its writes, then again
        // opened in full: a journal, once written, is always rolled forward.
        if journal_left {
            for j in 0.. {
                let crashed = copy(&kv);
                let faulty = Faulty::over(&crashed);
                faulty.reset(j, usize::MAX);
                let reopened = WebStorageStore::open(faulty, "app");
                database(crashed.clone()).expect("reopen");
                assert_eq!(snapshot(&crashed, true), new, "commit cut after {k} writes, recovery after {j}");
                assert_consistent(&crashed);
                if reopened.is_ok() {
                    break;
                }
                recoveries_cut += 1;
            }
        }

        database(kv.clone()).expect("reopen");
        let now = snapshot(&kv, true);
        if journal_left {
            assert_eq!(now, new, "cut off after {k} writes, with the journal written");
            came_out_new += 1;
        } else {
            assert_eq!(now, old, "cut off after {k} writes, before the journal");
            came_out_old += 1;
        }
        assert_consistent(&kv);
        assert_usable(&kv).await;
    }
    println!(
        "{crash_points} crash points: {came_out_old} came out old, {came_out_new} new; {recoveries_cut} recoveries cut off and finished"
    );
    // The journal, then a write per changed row and index entry, then the journal's removal.
    assert!(crash_points >= 12, "only {crash_points} writes in the commit");
    assert_eq!((came_out_old, came_out_new), (1, crash_points - 1));
    assert!(recoveries_cut >= crash_points, "{recoveries_cut}");
}

/// A store with version 1 of `gadgets` (and `more` tables) holding `count` gadgets.
async fn gadgets(more: &[&'static plinth::Table], count: usize) -> MemoryKeyValue {
    let kv = MemoryKeyValue::new();
    let db = database(kv.clone()).expect("open");
    db.create_all(&[Gadget::table()]).await.expect("version 1");
    db.create_all(more).await.expect("the other tables");
    let mut session = db.session().await.expect("session");
    session.add_all((0..count).map(|i| Gadget::new(&format!("g{i}"), &format!("c{i}")))).await.expect("add");
    session.commit().await.expect("commit");
    kv
}

/// [`snapshot`] but for the schema generation, which holds the moment it was written.
fn schemas_aside(kv: &MemoryKeyValue) -> BTreeMap<String, String> {
    let mut keys = snapshot(kv, true);
    keys.remove("plinth/app/schemas");
    keys
}

/// A copy of `original`, and a database on it whose store fails every write after the
/// first `writes`.
fn cut_after(original: &MemoryKeyValue, writes: usize) -> (MemoryKeyValue, Database) {
    let kv = copy(original);
    let faulty = Faulty::over(&kv);
    let db = database(faulty.clone()).expect("open");
    faulty.reset(writes, usize::MAX);
    (kv, db)
}

/// A schema upgrade (`create_all` of a table's second version) rewrites every row and
/// adds a unique index in one journaled write: cut off at every write, the store comes
/// back with every row of the first version, or every row of the second, never a mix.
#[tokio::test]
async fn every_crash_point_of_a_schema_upgrade_leaves_it_fully_old_or_fully_new() {
    let original = gadgets(&[], 6).await;
    let old = schemas_aside(&original);
    let reference = copy(&original);
    database(reference.clone()).expect("open").create_all(&[GadgetV2::table()]).await.expect("version 2");
    let new = schemas_aside(&reference);
    assert_ne!(old, new);

    let (mut came_out_old, mut came_out_new) = (0, 0);
    for k in 0.. {
        let (kv, cut) = cut_after(&original, k);
        if cut.create_all(&[GadgetV2::table()]).await.is_ok() {
            assert_eq!(schemas_aside(&kv), new, "the whole upgrade");
            break;
        }
        let reopened = database(kv.clone()).expect("the next open finishes or undoes it");
        assert_eq!(kv.get(JOURNAL).expect("get"), None, "no journal is left");
        let mut session = reopened.session().await.expect("session");
        if schemas_aside(&kv) == old {
            came_out_old += 1;
            assert_eq!(session.query::<Gadget>().count().await.expect("version 1 reads every row"), 6);
        } else {
            assert_eq!(schemas_aside(&kv), new, "cut off after {k} writes");
            came_out_new += 1;
            let rows = session.query::<GadgetV2>().all().await.expect("version 2 reads every row");
            assert!(rows.len() == 6 && rows.iter().all(|g| g.size == 3), "{rows:?}");
        }
    }
    println!("schema upgrade: {came_out_old} crash points came out old, {came_out_new} new");
    // The journal, a write per row (6), per new index entry (6) and the schema, the removal.
    assert_eq!(came_out_old, 1, "only a cut before the journal keeps the old version");
    assert!(came_out_new >= 13, "{came_out_new}");
}

/// A versioned migration — a table renamed, a column renamed and one added — is one
/// journaled write with its record: cut off at every write, the store comes back at
/// the old version (no record, `gadgets` whole) or the new (the record, `widgets`
/// whole), never between; and migrating again then finishes the job.
#[tokio::test]
async fn every_crash_point_of_a_migration_leaves_the_old_version_or_the_new() {
    static MIGRATIONS: [Migration; 1] = [Migration::schema(
        1,
        "gadgets become widgets",
        &[
            Step::RenameTable { from: "gadgets", to: "widgets" },
            Step::RenameColumn { table: "widgets", from: "name", to: "label" },
            Step::AddIndex { table: "widgets", column: "code" },
        ],
    )];
    let original = gadgets(&[MigrationRecord::table()], 5).await;

    let (mut came_out_old, mut came_out_new) = (0, 0);
    for k in 0.. {
        let (kv, cut) = cut_after(&original, k);
        if cut.migrate(&MIGRATIONS, &[Widget::table()]).await.is_ok() {
            break;
        }
        let reopened = database(kv.clone()).expect("the next open finishes or undoes the migration");
        assert_eq!(kv.get(JOURNAL).expect("get"), None, "no journal is left");
        let mut session = reopened.session().await.expect("session");
        let recorded = session.query::<MigrationRecord>().count().await.expect("records");
        let gadgets = session.query::<Gadget>().count().await;
        let widgets = session.query::<Widget>().count().await;
        match recorded {
            0 => {
                came_out_old += 1;
                assert_eq!(gadgets.expect("version 1 whole"), 5);
                assert!(matches!(widgets, Err(Error::NoSuchTable { .. })), "{widgets:?}");
            }
            _ => {
                came_out_new += 1;
                assert_eq!(widgets.expect("the new version whole"), 5);
                assert!(matches!(gadgets, Err(Error::NoSuchTable { .. })), "{gadgets:?}");
            }
        }
        drop(session);
        reopened.migrate(&MIGRATIONS, &[Widget::table()]).await.expect("migrating again finishes");
        let widgets = reopened.session().await.expect("session").query::<Widget>().count().await;
        assert_eq!(widgets.expect("widgets"), 5);
    }
    println!("migration: {came_out_old} crash points came out old, {came_out_new} new");
    assert!(came_out_old >= 1 && came_out_new >= 10, "{came_out_old} old, {came_out_new} new");
}

/// A schema upgrade that does not fit in the store is `QuotaExceeded`, and the store
/// keeps the first version whole.
#[tokio::test]
async fn a_schema_upgrade_that_does_not_fit_is_quota_exceeded_and_keeps_the_old_version() {
    let kv = gadgets(&[], 200).await;
    let old = snapshot(&kv, true);
    let faulty = Faulty::over(&kv);
    let bytes = faulty.limits().bytes;
    faulty.reset(usize::MAX, bytes + bytes / 2);
    let refused = database(faulty).expect("open").create_all(&[GadgetV2::table()]).await;
    assert!(matches!(refused, Err(Error::QuotaExceeded { .. })), "{refused:?}");
    let reopened = database(kv.clone()).expect("reopen");
    assert_eq!(snapshot(&kv, true), old, "every key as before");
    assert_eq!(reopened.session().await.expect("session").query::<Gadget>().count().await.expect("count"), 200);
}

/// Stages, in `session`, ann's address made short and bob's made `long`.
async fn shrink_ann_grow_bob(session: &mut Session, long: &str) {
    let mut ann = session.get::<User>(1).await.expect("get").expect("ann");
    ann.email_address = "a@x".into();
    session.update(&mut ann).await.expect("update");
    let mut bob = session.get::<User>(2).await.expect("get").expect("bob");
    bob.email_address = long.to_owned();
    session.update(&mut bob).await.expect("update");
}

/// Stores ann with a 2,000-character address and bob with a short one; returns ann's.
async fn ann_long_and_bob_short(kv: &MemoryKeyValue) -> String {
    let db = database(kv.clone()).expect("open");
    db.create_all(&[User::table()]).await.expect("create_all");
    let long = "l".repeat(2_000);
    let mut session = db.session().await.expect("session");
    session.add(User { username: "ann".into(), email_address: long.clone() }).await.expect("add");
    session.add(User { username: "bob".into(), email_address: "b@x".into() }).await.expect("add");
    session.commit().await.expect("commit");
    long
}

#[tokio::test]
async fn a_full_store_while_a_refused_commit_is_undone_still_restores_every_key() {
    // ann's long address becomes short and bob's short one long in one commit, with a
    // new row besides: undoing it half-way puts ann's long address back while bob's
    // still takes its room, unless space is freed before it is taken.
    let kv = MemoryKeyValue::new();
    let long = ann_long_and_bob_short(&kv).await;
    let original = snapshot(&kv, false);
    let used: usize = dump(&kv).iter().map(|(k, v)| k.len() + v.len()).sum();

    let (mut refused, mut accepted, mut refused_mid_apply) = (0, 0, 0);
    for extra in (0..8_000).step_by(20) {
        let kv = copy(&kv);
        let faulty = Faulty::over(&kv);
        let db = database(faulty.clone()).expect("open");
        let mut session = db.session().await.expect("session");
        shrink_ann_grow_bob(&mut session, &long).await;
        session.add(User { username: "cat".into(), email_address: "c".repeat(500) }).await.expect("add");
        faulty.reset(usize::MAX, used + extra);
        match session.commit().await {
            Ok(()) => accepted += 1,
            Err(Error::QuotaExceeded { .. }) => {
                refused += 1;
                refused_mid_apply += usize::from(faulty.limits().refused.as_deref() != Some(JOURNAL));
                assert_eq!(snapshot(&kv, false), original, "with {extra} bytes free");
                assert_consistent(&kv);
                database(kv.clone()).expect("reopen");
                assert_eq!(snapshot(&kv, false), original, "reopened, with {extra} bytes free");
            }
            Err(other) => panic!("with {extra} bytes free: {other}"),
        }
    }
    println!("{refused} commits refused ({refused_mid_apply} after the journal), {accepted} accepted");
    assert!(refused_mid_apply >= 10 && accepted > 0, "{refused_mid_apply} refused mid-apply, {accepted} accepted");
}

#[tokio::test]
async fn a_store_full_in_the_middle_of_a_5000_row_add_all_keeps_nothing_of_it() {
    const BATCH: usize = 5_000;
    let original = base(20).await;
    let batch = || (0..BATCH).map(|i| User::named(&format!("batch-{i:04}")));

    // A run with room to spare measures the commit: the journal, then every key.
    let kv = copy(&original);
    let faulty = Faulty::over(&kv);
    let mut session = database(faulty.clone()).expect("open").session().await.expect("session");
    session.add_all(batch()).await.expect("add_all");
    let before = faulty.limits().bytes;
    faulty.reset(usize::MAX, usize::MAX);
    session.commit().await.expect("commit");
    let (journal, peak) = {
        let limits = faulty.limits();
        (limits.largest_value, limits.peak)
    };
    assert_eq!(assert_consistent(&kv).len(), 20 + BATCH);

    let limits = [
        ("half the journal", before + journal / 2, false),
        ("the journal and half the rows", before + journal + (peak - before - journal) / 2, false),
        ("all but the last write", peak - 1, false),
        ("exactly enough", peak, true),
    ];
    for (what, limit, fits) in limits {
        let kv = copy(&original);
        let faulty = Faulty::over(&kv);
        let db = database(faulty.clone()).expect("open");
        let mut session = db.session().await.expect("session");
        session.add_all(batch()).await.expect("add_all");
        faulty.reset(usize::MAX, limit);
        let result = session.commit().await;
        if fits {
            result.expect("a commit with exactly enough room");
            assert_eq!(assert_consistent(&kv).len(), 20 + BATCH, "{what}");
            continue;
        }
        assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{what}: {result:?}");
        let refused = faulty.limits().refused.clone().expect("a refused write");
        assert_eq!(refused == JOURNAL, what == "half the journal", "{what}: refused at {refused}");
        assert_eq!(snapshot(&kv, false), snapshot(&original, false), "{what}");
        assert_eq!(assert_consistent(&kv).len(), 20, "{what}");

        // Usable at once: a small commit fits, and the batch fits once there is room.
        assert_usable(&kv).await;
        let mut session = db.session().await.expect("session");
        session.add_all(batch()).await.expect("add_all");
        faulty.reset(usize::MAX, usize::MAX);
        session.commit().await.expect("the batch, with room");
        assert_eq!(assert_consistent(&kv).len(), 21 + BATCH, "{what}");
    }
}

#[tokio::test]
async fn an_oversized_value_is_quota_exceeded_and_the_store_goes_on() {
    let original = base(3).await;
    let kv = copy(&original);
    let faulty = Faulty::over(&kv);
    let db = database(faulty.clone()).expect("open");
    // A browser's web storage holds about 5 MiB an origin.
    faulty.reset(usize::MAX, 5 << 20);
    let mut session = db.session().await.expect("session");
    session.add(User { username: "huge".into(), email_address: "h".repeat(5 << 20) }).await.expect("add");
    let result = session.commit().await;
    assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{result:?}");
    assert_eq!(snapshot(&kv, false), snapshot(&original, false));
    assert_usable(&kv).await;
}

/// What one of two racing sessions does to a row both have read.
#[derive(Clone, Copy, Debug)]
enum Write {
    Rename(&'static str),
    Readdress,
    Delete,
}

async fn stage(db: &Database, id: i64, write: Write) -> Session {
    let mut session = db.session().await.expect("session");
    let mut user = session.get::<User>(id).await.expect("get").expect("a user");
    match write {
        Write::Rename(name) => {
            user.username = name.into();
            session.update(&mut user).await.expect("update");
        }
        Write::Readdress => {
            user.email_address = format!("{}@elsewhere.example", user.username);
            session.update(&mut user).await.expect("update");
        }
        Write::Delete => session.delete(user).await.expect("delete"),
    }
    session
}

#[tokio::test]
async fn two_handles_writing_the_same_row_one_wins_and_the_other_conflicts() {
    let cases = [
        (Write::Rename("first"), Write::Rename("second")),
        (Write::Rename("first"), Write::Readdress),
        (Write::Readdress, Write::Delete),
        (Write::Delete, Write::Rename("second")),
        (Write::Delete, Write::Delete),
    ];
    for (a, b) in cases {
        let kv = base(3).await;
        let (first, second) = (database(kv.clone()).expect("open"), database(kv.clone()).expect("open"));
        let winner = stage(&first, 1, a).await;
        let loser = stage(&second, 1, b).await;
        winner.commit().await.expect("the first commit wins");
        let after_winner = snapshot(&kv, true);
        let result = loser.commit().await;
        assert!(
            matches!(result, Err(Error::Conflict { table, id: 1 }) if table == "users"),
            "{a:?} then {b:?}: {result:?}"
        );
        assert_eq!(snapshot(&kv, true), after_winner, "{a:?} then {b:?}: the loser wrote nothing");
        assert_consistent(&kv);

        // Read again, the loser's write goes through when the row is still there.
        let retried = second.session().await.expect("session").get::<User>(1).await.expect("get");
        if retried.is_some() {
            stage(&second, 1, b).await.commit().await.expect("the retry");
        }
        assert_consistent(&kv);
        assert_usable(&kv).await;
    }
}

#[tokio::test]
async fn two_handles_claiming_one_username_one_wins_and_the_other_is_a_unique_violation() {
    let kv = base(3).await;
    let (first, second) = (database(kv.clone()).expect("open"), database(kv.clone()).expect("open"));
    let renamed = stage(&first, 1, Write::Rename("taken")).await;
    let also_renamed = stage(&second, 2, Write::Rename("taken")).await;
    let mut added = second.session().await.expect("session");
    added.add(User::named("taken")).await.expect("not yet taken");
    renamed.commit().await.expect("the first commit wins");
    for (what, result) in [("rename", also_renamed.commit().await), ("add", added.commit().await)] {
        assert!(
            matches!(result, Err(Error::UniqueViolation { column, .. }) if column == Some("username")),
            "{what}: {result:?}"
        );
    }
    let users = assert_consistent(&kv);
    assert_eq!(users.values().filter(|name| *name == "taken").count(), 1);
    assert_eq!(users.get(&1).map(String::as_str), Some("taken"));
    assert_eq!(users.get(&2).map(String::as_str), Some("u01"));
}

#[tokio::test]
async fn a_cut_off_commit_that_fits_neither_forward_nor_back_is_reported_until_there_is_room() {
    // ann's long address becomes short and bob's short one long; the tab closes after
    // the journal and ann's row. Then other data fills the store: finishing needs room
    // for bob's long address, undoing it room for ann's.
    let kv = MemoryKeyValue::new();
    let long = ann_long_and_bob_short(&kv).await;

    let faulty = Faulty::over(&kv);
    let db = database(faulty.clone()).expect("open");
    let mut session = db.session().await.expect("session");
    shrink_ann_grow_bob(&mut session, &long).await;
    faulty.reset(2, usize::MAX);
    assert!(matches!(session.commit().await, Err(Error::Backend { .. })));
    let half = dump(&kv);
    assert!(half.contains_key(JOURNAL));

    let full = Faulty::over(&kv);
    let bytes = full.limits().bytes;
    full.reset(usize::MAX, bytes);
    let err = WebStorageStore::open(full, "app").expect_err("no room either way");
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err}");
    assert_eq!(dump(&kv), half, "the journal stays for a later open");

    let reopened = database(kv.clone()).expect("with room, the commit is finished");
    let mut session = reopened.session().await.expect("session");
    let ann = session.get::<User>(1).await.expect("get").expect("ann");
    let bob = session.get::<User>(2).await.expect("get").expect("bob");
    assert_eq!((ann.email_address.as_str(), bob.email_address.len()), ("a@x", 2_000));
    assert_consistent(&kv);
}

/// A coordinator of one tab whose turns begin only after the task yields once, so
/// other tasks' work interleaves with a handle's between its reads and its turn.
#[derive(Debug)]
struct Yielding;

#[async_trait::async_trait]
impl plinth_browser::tabs::Coordinator for Yielding {
    async fn enter(&self) -> Result<plinth_browser::tabs::Turn> {
        tokio::task::yield_now().await;
        Ok(plinth_browser::tabs::Turn::alone())
    }
    async fn pause(&self) {}
    fn clock_ms(&self) -> f64 {
        0.0
    }
}

/// `gadgets` with the note migration 1 below adds.
#[derive(plinth::Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
struct GadgetWithNote {
    #[entity(unique)]
    name: String,
    code: String,
    note: Option<String>,
}

/// A commit that lands while another handle migrates — after the migration read the
/// table, before it wrote it back — is kept: the migration sees the table changed and
/// computes its writes again, instead of writing back what it read.
#[tokio::test]
async fn a_commit_landing_while_another_handle_migrates_is_kept() {
    static ADD_NOTE: [Migration; 1] = [Migration::schema(
        1,
        "gadgets get a note",
        &[Step::AddColumn { table: "gadgets", column: plinth::backend::ColumnDef::of::<Option<String>>("note") }],
    )];
    let kv = gadgets(&[MigrationRecord::table()], 1).await;
    let open = || async {
        let store = WebStorageStore::open_with(kv.clone(), "app", Yielding).await.expect("open");
        Database::new(EngineBackend::new(store))
    };
    let (old, newer) = (open().await, open().await);
    let mut session = old.session().await.expect("session");
    let mut first = session.get::<Gadget>(1).await.expect("get").expect("g0");
    first.code = "changed".into();
    session.update(&mut first).await.expect("update");
    session.add(Gadget::new("fan", "F-1")).await.expect("add");
    let tables = [GadgetWithNote::table()];
    let (migrated, committed) = tokio::join!(newer.migrate(&ADD_NOTE, &tables), async {
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        session.commit().await
    });
    migrated.expect("the migration");
    let rows = newer.session().await.expect("session").query::<GadgetWithNote>().all().await.expect("rows");
    let seen: Vec<(&str, &str)> = rows.iter().map(|g| (g.name.as_str(), g.code.as_str())).collect();
    match committed {
        Ok(()) => assert_eq!(seen, [("g0", "changed"), ("fan", "F-1")], "the commit's writes are kept"),
        Err(err) => {
            assert!(matches!(err, Error::SchemaChanged { .. }), "{err:?}");
            assert_eq!(seen, [("g0", "c0")]);
        }
    }
}
