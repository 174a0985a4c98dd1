//! Faults in a real browser, each ending with typed errors, the previous data intact
//! and the store usable: a localStorage commit cut off at every one of its writes, a
//! localStorage filled in the middle of a 5,000-row `add_all`, two handles writing the
//! same rows at once, IndexedDB records edited by hand, another page upgrading or
//! deleting an IndexedDB database this page has open, and a 5 MiB value.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON=backend-browser/webdriver.json
//! cargo test --target wasm32-unknown-unknown -p plinth-browser --test browser_faults`
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Promise};
use plinth::engine::EngineBackend;
use plinth::{Database, Entity, Error, Result, Session};
use plinth_browser::{GlooKeyValue, KeyValue, WebStorageStore};
use plinth_conformance::entities::{Tag, User};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

wasm_bindgen_test_configure!(run_in_browser);

/// A database NAME no earlier run used, always of the same length.
fn unique_name(what: &str) -> String {
    // Whole milliseconds since 1970 fit a u64 exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let now = js_sys::Date::now() as u64;
    format!("{what}-{now}-{:016x}", js_sys::Math::random().to_bits())
}

async fn connect(url: &str) -> Database {
    let db = plinth_browser::connect(url).await.expect("connect");
    db.create_all(&[User::table()]).await.expect("create_all");
    db
}

/// Resolves to `"timed out"` after `ms` milliseconds.
fn timeout(ms: i32) -> Promise {
    Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let message = JsValue::from_str("timed out");
        window.set_timeout_with_callback_and_timeout_and_arguments_1(&resolve, ms, &message).expect("setTimeout");
    })
}

/// The users by id, each also found through its unique index.
async fn users(db: &Database) -> Vec<(i64, String)> {
    let mut session = db.session().await.expect("session");
    let all = session.query::<User>().all().await.expect("query");
    let mut found = Vec::new();
    for user in all {
        let by_name = session.query::<User>().filter(|c| c.username.eq(user.username.clone())).first().await;
        assert_eq!(by_name.expect("query").map(|u| u.id()), Some(user.id()), "index of {}", user.username);
        found.push((user.id().get(), user.username.clone()));
    }
    found
}

fn named(users: &[(i64, &str)]) -> Vec<(i64, String)> {
    users.iter().map(|(id, name)| (*id, (*name).to_owned())).collect()
}

fn clean_web_storage(kv: &(impl KeyValue + ?Sized), prefix: &str) {
    for key in kv.keys_with_prefix(prefix).expect("keys") {
        kv.remove(&key).expect("remove");
    }
}

/// Every key under `prefix` but the id sequence and the count of writers' turns (which
/// every write moves), with its value.
fn keys(kv: &(impl KeyValue + ?Sized), prefix: &str) -> Vec<(String, Option<String>)> {
    let mut keys = kv.keys_with_prefix(prefix).expect("keys");
    keys.retain(|k| !k.ends_with("/seq") && !k.ends_with("/generation"));
    keys.sort();
    keys.into_iter().map(|k| (k.clone(), kv.get(&k).expect("get"))).collect()
}

/// What a [`Watched`] store saw, shared with the test.
#[derive(Debug)]
struct Watch {
    /// Writes still allowed before the page "closes" and every write fails.
    writes_left: Cell<usize>,
    /// Each write made: its key and the length of key and value.
    writes: RefCell<Vec<(String, usize)>>,
    /// The key of the first write refused for space.
    refused: RefCell<Option<String>>,
}

impl Watch {
    fn new() -> Rc<Self> {
        Rc::new(Watch { writes_left: Cell::new(usize::MAX), writes: RefCell::default(), refused: RefCell::default() })
    }
}

/// A real web storage, watched: its writes are logged, and cut off once `writes_left`
/// is spent, as when a tab closes half-way through a commit.
#[derive(Debug)]
struct Watched<K> {
    kv: K,
    watch: Rc<Watch>,
}

impl<K: KeyValue> Watched<K> {
    fn write(&self, key: &str, value: Option<&str>) -> Result<()> {
        let left = self.watch.writes_left.get();
        if left == 0 {
            return Err(Error::backend("test", "the tab was closed"));
        }
        let result = match value {
            Some(value) => self.kv.set(key, value),
            None => self.kv.remove(key),
        };
        match &result {
            Ok(()) => {
                self.watch.writes_left.set(left - 1);
                self.watch.writes.borrow_mut().push((key.to_owned(), key.len() + value.map_or(0, str::len)));
            }
            Err(Error::QuotaExceeded { .. }) => {
                self.watch.refused.borrow_mut().get_or_insert_with(|| key.to_owned());
            }
            Err(_) => {}
        }
        result
    }
}

impl<K: KeyValue> KeyValue for Watched<K> {
    fn name(&self) -> &'static str {
        self.kv.name()
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

/// The database `name` in localStorage, through a [`Watched`] store.
fn watched_local(name: &str, watch: &Rc<Watch>) -> Database {
    let kv = Watched { kv: GlooKeyValue::local().expect("localStorage"), watch: watch.clone() };
    Database::new(EngineBackend::new(WebStorageStore::open(kv, name).expect("open")))
}

/// Every kind of write in one session: a rename, a delete, a rename onto the deleted
/// row's name, and two new users, one taking the first rename's old name.
async fn stage_mixed_commit(db: &Database) -> Session {
    let mut session = db.session().await.expect("session");
    let mut first = session.get::<User>(1).await.expect("get").expect("u0");
    first.username = "u0-renamed".into();
    session.update(&mut first).await.expect("update");
    session.delete_by_id::<User>(2).await.expect("delete");
    let mut third = session.get::<User>(3).await.expect("get").expect("u2");
    third.username = "u1".into();
    session.update(&mut third).await.expect("update");
    session.add_all([User::named("u0"), User::named("n1")]).await.expect("add");
    session
}

#[wasm_bindgen_test]
async fn a_local_storage_commit_cut_off_at_any_write_is_whole_after_the_next_connect() {
    let old = named(&[(1, "u0"), (2, "u1"), (3, "u2"), (4, "u3")]);
    let new = named(&[(1, "u0-renamed"), (3, "u1"), (4, "u3"), (5, "u0"), (6, "n1")]);
    let kv = GlooKeyValue::local().expect("localStorage");
    let mut journal_left_at = Vec::new();
    let mut writes_in_commit = 0;
    for k in 0.. {
        let name = unique_name("cut");
        let prefix = format!("plinth/{name}/");
        let db = connect(&format!("local://{name}")).await;
        let mut session = db.session().await.expect("session");
        session.add_all((0..4).map(|i| User::named(&format!("u{i}")))).await.expect("add");
        session.commit().await.expect("commit");

        let watch = Watch::new();
        let session = stage_mixed_commit(&watched_local(&name, &watch)).await;
        watch.writes_left.set(k);
        watch.writes.borrow_mut().clear();
        let committed = session.commit().await;
        let journal_left = kv.get(&format!("{prefix}journal")).expect("get").is_some();
        if journal_left {
            journal_left_at.push(k);
        }

        // A new page: `connect` finishes what the journal says, or finds nothing begun.
        let reopened = plinth_browser::connect(&format!("local://{name}")).await.expect("reconnect");
        assert_eq!(kv.get(&format!("{prefix}journal")).expect("get"), None);
        let expected = if committed.is_ok() || journal_left { &new } else { &old };
        assert_eq!(&users(&reopened).await, expected, "cut off after {k} writes");
        let index_entries = kv.keys_with_prefix(&format!("{prefix}t/users/u/")).expect("keys").len();
        assert_eq!(index_entries, expected.len(), "cut off after {k} writes");
        let mut session = reopened.session().await.expect("session");
        session.add(User::named("later")).await.expect("add");
        session.commit().await.expect("the store goes on");
        clean_web_storage(&kv, &prefix);
        if committed.is_ok() {
            writes_in_commit = watch.writes.borrow().len();
            break;
        }
        assert!(matches!(committed, Err(Error::Backend { .. })), "{committed:?}");
    }
    console_log!(
        "localStorage commit of {writes_in_commit} writes cut off at each: the journal was left at {journal_left_at:?}"
    );
    // Cut before the journal: old. After the journal (1), half-way through the rows,
    // and before the journal's removal (the last write): new.
    assert!(writes_in_commit >= 10, "{writes_in_commit}");
    assert_eq!(journal_left_at, (1..writes_in_commit).collect::<Vec<_>>());
}

/// Fills localStorage with values under `filler/NAME/` until it refuses even a short
/// one; the keys with their lengths, the longest first.
fn fill(kv: &impl KeyValue, name: &str) -> Vec<(String, usize)> {
    let mut fillers = Vec::new();
    for size in [1 << 16, 1 << 10, 1 << 6] {
        let chunk = "f".repeat(size);
        loop {
            let key = format!("filler/{name}/{}", fillers.len());
            if kv.set(&key, &chunk).is_err() {
                break;
            }
            let length = key.len() + size;
            fillers.push((key, length));
        }
    }
    fillers
}

/// Removes fillers, the shortest first, until at least `length` more is free.
fn free(kv: &impl KeyValue, fillers: &mut Vec<(String, usize)>, length: usize) {
    let mut freed = 0;
    while freed < length {
        let Some((key, size)) = fillers.pop() else { return };
        kv.remove(&key).expect("free");
        freed += size;
    }
}

#[wasm_bindgen_test]
async fn a_local_storage_full_in_the_middle_of_a_5000_row_add_all_keeps_nothing_of_it() {
    const BATCH: usize = 5_000;
    let batch = || (0..BATCH).map(|i| User::named(&format!("batch-{i:04}")));
    let kv = GlooKeyValue::local().expect("localStorage");
    let base = |name: String| async move {
        let db = connect(&format!("local://{name}")).await;
        let mut session = db.session().await.expect("session");
        session.add_all((0..20).map(|i| User::named(&format!("u{i:02}")))).await.expect("add");
        session.commit().await.expect("commit");
        db
    };

    // A database of the same shape with room to spare measures the commit.
    let scratch = unique_name("quota");
    base(scratch.clone()).await;
    let watch = Watch::new();
    let mut session = watched_local(&scratch, &watch).session().await.expect("session");
    session.add_all(batch()).await.expect("add_all");
    watch.writes.borrow_mut().clear();
    session.commit().await.expect("commit");
    let (journal, rows) = {
        let writes = watch.writes.borrow();
        let journal = writes.iter().find(|(k, _)| k.ends_with("/journal")).map_or(0, |(_, n)| *n);
        (journal, writes.iter().filter(|(k, _)| !k.ends_with("/journal")).map(|(_, n)| n).sum::<usize>())
    };
    clean_web_storage(&kv, &format!("plinth/{scratch}/"));

    let name = unique_name("quota");
    let prefix = format!("plinth/{name}/");
    let db = base(name.clone()).await;
    let mut fillers = fill(&kv, &name);
    let mut freed = 0;
    let mut expected_users = 20;
    for (what, room, refused_at_journal) in
        [("half the journal", journal / 2, true), ("the journal and half the rows", journal + rows / 2, false)]
    {
        free(&kv, &mut fillers, room - freed);
        freed = room;
        let before = keys(&kv, &prefix);
        let watch = Watch::new();
        let mut session = watched_local(&name, &watch).session().await.expect("session");
        session.add_all(batch()).await.expect("add_all");
        let result = session.commit().await;
        assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{what}: {result:?}");
        let refused = watch.refused.borrow().clone().expect("a refused write");
        assert_eq!(refused.ends_with("/journal"), refused_at_journal, "{what}: refused at {refused}");
        let written = watch.writes.borrow().len();
        console_log!("room for {what}: QuotaExceededError at `{refused}` after {written} writes, all undone");
        assert_eq!(keys(&kv, &prefix), before, "{what}: every key as it was");
        assert_eq!(users(&db).await.len(), expected_users, "{what}");

        let mut session = db.session().await.expect("session");
        session.add(User::named(&format!("after {what}"))).await.expect("add");
        session.commit().await.expect("a small commit fits");
        expected_users += 1;
    }

    // With the room back, the same batch goes in whole.
    clean_web_storage(&kv, &format!("filler/{name}/"));
    let mut session = db.session().await.expect("session");
    session.add_all(batch()).await.expect("add_all");
    session.commit().await.expect("the batch, with room");
    let count = db.session().await.expect("session").query::<User>().count().await.expect("count");
    assert_eq!(count, u64::try_from(expected_users + BATCH).expect("a count"));
    clean_web_storage(&kv, &prefix);
}

/// How a racing commit ended, as the promise that ran it resolves.
fn outcome(result: Result<()>) -> JsValue {
    JsValue::from_str(&match result {
        Ok(()) => "ok".to_owned(),
        Err(Error::Conflict { .. }) => "conflict".to_owned(),
        Err(Error::UniqueViolation { .. }) => "unique".to_owned(),
        Err(other) => format!("other: {other}"),
    })
}

/// Commits `sessions` at once and returns how each ended.
async fn commit_at_once(sessions: Vec<Session>) -> Vec<String> {
    let promises: Array = sessions
        .into_iter()
        .map(|session| future_to_promise(async move { Ok(outcome(session.commit().await)) }))
        .collect();
    let settled: Array = JsFuture::from(Promise::all(&promises)).await.expect("settled").unchecked_into();
    settled.iter().map(|o| o.as_string().expect("an outcome")).collect()
}

async fn staged_rename(db: &Database, id: i64, name: &str) -> Session {
    let mut session = db.session().await.expect("session");
    let mut user = session.get::<User>(id).await.expect("get").expect("a user");
    user.username = name.into();
    session.update(&mut user).await.expect("update");
    session
}

async fn race_on_one_row(url: &str) {
    let (first, second) = (connect(url).await, plinth_browser::connect(url).await.expect("second handle"));
    let mut session = first.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
    session.commit().await.expect("commit");

    let rounds = 20;
    let mut first_won = 0;
    for round in 0..rounds {
        let a = staged_rename(&first, 1, &format!("a{round}")).await;
        let b = staged_rename(&second, 1, &format!("b{round}")).await;
        let (a, b) = if round % 2 == 0 { (a, b) } else { (b, a) };
        let outcomes = commit_at_once(vec![a, b]).await;
        let winner = match outcomes.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["ok", "conflict"] => 0,
            ["conflict", "ok"] => 1,
            _ => panic!("{url}, round {round}: {outcomes:?}"),
        };
        let names = if round % 2 == 0 {
            [format!("a{round}"), format!("b{round}")]
        } else {
            [format!("b{round}"), format!("a{round}")]
        };
        first_won += usize::from(names[winner].starts_with('a'));
        assert_eq!(users(&second).await, [(1, names[winner].clone()), (2, "bob".to_owned())], "{url}, round {round}");
        let loser = second
            .session()
            .await
            .expect("session")
            .query::<User>()
            .filter(|c| c.username.eq(names[1 - winner].clone()))
            .first()
            .await;
        assert!(loser.expect("query").is_none(), "{url}, round {round}: the loser's name is not indexed");
    }

    // Two rows claiming one name at once: one gets it, the other a unique violation.
    let a = staged_rename(&first, 1, "same").await;
    let b = staged_rename(&second, 2, "same").await;
    let mut outcomes = commit_at_once(vec![a, b]).await;
    outcomes.sort();
    assert_eq!(outcomes, ["ok", "unique"], "{url}");
    let all = users(&first).await;
    assert_eq!(all.iter().filter(|(_, name)| name == "same").count(), 1, "{url}: {all:?}");
    console_log!("{url}: {rounds} races on one row, one commit won each ({first_won} by the first handle), the other got Conflict");
}

#[wasm_bindgen_test]
async fn two_handles_writing_one_row_at_once_one_wins_and_the_other_conflicts() {
    let local = unique_name("race");
    race_on_one_row(&format!("local://{local}")).await;
    clean_web_storage(&GlooKeyValue::local().expect("local"), &format!("plinth/{local}/"));
    let idb = unique_name("race");
    race_on_one_row(&format!("indexeddb://{idb}")).await;
    delete_database(&idb).await;
}

fn factory() -> IdbFactory {
    web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB")
}

/// The outcome of `request`, or `Err("timed out")` after five seconds.
async fn settle(request: &IdbRequest) -> std::result::Result<JsValue, JsValue> {
    let done = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let first = JsFuture::from(Promise::race(&Array::of2(&done, &timeout(5_000)))).await?;
    if first.as_string().as_deref() == Some("timed out") {
        return Err(first);
    }
    request.result()
}

/// Waits for `tx` to commit.
async fn committed(tx: &IdbTransaction) {
    let done = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
        tx.set_onerror(Some(&reject));
    });
    JsFuture::from(done).await.expect("the transaction commits");
}

/// Opens `plinth/NAME` as another page would, at `version` (the current one if
/// `None`); also says whether the request was blocked on the way.
async fn open_as_another_page(name: &str, version: Option<u32>) -> (std::result::Result<IdbDatabase, JsValue>, bool) {
    let name = format!("plinth/{name}");
    let request: IdbOpenDbRequest = match version {
        Some(version) => factory().open_with_u32(&name, version),
        None => factory().open(&name),
    }
    .expect("open");
    let blocked = Rc::new(Cell::new(false));
    let on_blocked = Closure::<dyn FnMut()>::new({
        let blocked = blocked.clone();
        move || blocked.set(true)
    });
    request.set_onblocked(Some(on_blocked.as_ref().unchecked_ref()));
    let result = settle(&request).await.map(JsCast::unchecked_into);
    request.set_onblocked(None);
    (result, blocked.get())
}

/// Deletes `plinth/NAME` and waits until it is gone: within five seconds, or a
/// connection left open is blocking it. Whether a `blocked` event came on the way: it
/// does while a closing connection still finishes a transaction.
async fn delete_database(name: &str) -> bool {
    let request = factory().delete_database(&format!("plinth/{name}")).expect("deleteDatabase");
    let blocked = Rc::new(Cell::new(false));
    let on_blocked = Closure::<dyn FnMut()>::new({
        let blocked = blocked.clone();
        move || blocked.set(true)
    });
    request.set_onblocked(Some(on_blocked.as_ref().unchecked_ref()));
    let result = settle(&request).await;
    request.set_onblocked(None);
    assert!(result.is_ok(), "deleting {name}: {result:?}");
    blocked.get()
}

/// Writes `value` at `key` of `store` by hand, as a person in the developer tools would.
async fn put_by_hand(name: &str, store: &str, key: &JsValue, value: &JsValue) {
    let (db, _) = open_as_another_page(name, None).await;
    let db = db.expect("open by hand");
    let tx = db.transaction_with_str_and_mode(store, IdbTransactionMode::Readwrite).expect("transaction");
    tx.object_store(store).expect("store").put_with_key(value, key).expect("put");
    committed(&tx).await;
    db.close();
}

/// Every value of the `records` store, read by hand.
async fn records_by_hand(db: &IdbDatabase) -> Vec<String> {
    let tx = db.transaction_with_str("records").expect("transaction");
    let request = tx.object_store("records").expect("store").get_all().expect("getAll");
    let all: Array = settle(&request).await.expect("getAll").unchecked_into();
    all.iter().map(|v| v.as_string().unwrap_or_default()).collect()
}

fn js_key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

#[wasm_bindgen_test]
async fn indexeddb_entries_edited_by_hand_are_typed_errors_and_the_rest_stays_readable() {
    let name = unique_name("idb-corrupt");
    let db = connect(&format!("indexeddb://{name}")).await;
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob"), User::named("cat")]).await.expect("add");
    session.commit().await.expect("commit");
    let table_name = JsValue::from_str("users");
    let decode_error = |result: Result<String>, what: &str| match result {
        Err(Error::Decode { table, ref record, .. }) => {
            assert_eq!(table, "users", "{what}");
            assert!(record.contains(&format!("plinth/{name}")), "{what}: {record}");
            record.clone()
        }
        other => panic!("{what}: {other:?}"),
    };

    // A row: cut short, then not even text.
    for (what, value) in [
        ("a row cut short", JsValue::from_str("{\"id\":2,\"username\":\"bo")),
        ("a number instead of a row", JsValue::from_f64(42.0)),
    ] {
        put_by_hand(&name, "records", &js_key(&[table_name.clone(), JsValue::from_f64(2.0)]), &value).await;
        let mut session = db.session().await.expect("session");
        let got = session.get::<User>(2).await.map(|u| format!("{u:?}"));
        let record = decode_error(got, what);
        assert!(record.contains("records") && record.contains('2'), "{what}: {record}");
        let all = session.query::<User>().all().await.map(|u| format!("{u:?}"));
        decode_error(all, what);
        let ann = session.get::<User>(1).await.expect("ann stays readable").expect("ann");
        assert_eq!(ann.username, "ann");
    }

    // A unique index entry: finding by it, and a commit that moves it, both refuse.
    let ann_entry = js_key(&[table_name.clone(), JsValue::from_str("username"), JsValue::from_str("\"ann\"")]);
    put_by_hand(&name, "unique", &ann_entry, &JsValue::from_str("one")).await;
    let mut session = db.session().await.expect("session");
    let found = session.query::<User>().filter(|c| c.username.eq("ann")).first().await.map(|u| format!("{u:?}"));
    let record = decode_error(found, "a unique entry");
    assert!(record.contains("unique"), "{record}");
    let mut ann = session.get::<User>(1).await.expect("get").expect("ann");
    ann.username = "ann2".into();
    session.update(&mut ann).await.expect("update");
    let moved = session.commit().await.map(|()| "committed".to_owned());
    decode_error(moved, "a commit moving a corrupt unique entry");
    let cat = db.session().await.expect("session").query::<User>().filter(|c| c.username.eq("cat")).first().await;
    assert_eq!(cat.expect("other entries stay readable").map(|c| c.id().get()), Some(3));

    // The id sequence.
    put_by_hand(&name, "meta", &js_key(&[JsValue::from_str("seq"), table_name.clone()]), &JsValue::from_str("x")).await;
    let added = db.session().await.expect("session").add(User::named("dan")).await.map(|u| format!("{u:?}"));
    let record = decode_error(added, "the id sequence");
    assert!(record.contains("meta"), "{record}");

    // The schema: refused as a different one by every operation (a table is only used
    // with the schema it was made with), while the rows stay stored.
    put_by_hand(&name, "meta", &js_key(&[JsValue::from_str("schema"), table_name]), &JsValue::from_f64(1.0)).await;
    let reopened = plinth_browser::connect(&format!("indexeddb://{name}")).await.expect("reconnect");
    let created = reopened.create_all(&[User::table()]).await;
    assert!(matches!(created, Err(Error::SchemaMismatch { table, .. }) if table == "users"), "{created:?}");
    let got = reopened.session().await.expect("session").get::<User>(3).await;
    assert!(matches!(got, Err(Error::SchemaMismatch { table, .. }) if table == "users"), "{got:?}");
    let (stored, _) = open_as_another_page(&name, None).await;
    let stored = stored.expect("open by hand");
    assert!(records_by_hand(&stored).await.iter().any(|r| r.contains("\"cat\"")), "the rows stay stored");
    stored.close();
    drop((db, reopened));
    delete_database(&name).await;
}

#[wasm_bindgen_test]
async fn an_indexeddb_upgrade_by_another_page_goes_through_and_keeps_every_commit() {
    let name = unique_name("idb-upgrade");
    let url = format!("indexeddb://{name}");
    let db = connect(&url).await;
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
    session.commit().await.expect("commit");

    // One commit in flight as the other page asks for its upgrade.
    let mut in_flight = db.session().await.expect("session");
    in_flight.add(User::named("cat")).await.expect("add");
    let in_flight = future_to_promise(async move { Ok(outcome(in_flight.commit().await)) });
    let (upgraded, blocked) = open_as_another_page(&name, Some(3)).await;
    // Within five seconds: this page's connection closed itself (after finishing the
    // commit in flight, during which a `blocked` event may come).
    let upgraded = upgraded.expect("the upgrade goes through");
    let in_flight = JsFuture::from(in_flight).await.expect("settled").as_string().expect("an outcome");
    let stored = records_by_hand(&upgraded).await;
    let cat_stored = stored.iter().any(|r| r.contains("\"cat\""));
    assert_eq!(in_flight == "ok", cat_stored, "in flight: {in_flight}; stored: {stored:?}");
    assert!(stored.iter().any(|r| r.contains("\"ann\"")) && stored.iter().any(|r| r.contains("\"bob\"")), "{stored:?}");
    upgraded.close();

    // This page's code is older than the layout now: every operation says to reload.
    let err = db.session().await.expect("session").get::<User>(1).await.expect_err("an older layout");
    assert!(matches!(err, Error::Connection { backend: "IndexedDB", .. }), "{err}");
    assert!(err.to_string().contains("reload this page"), "{err}");
    let err = plinth_browser::connect(&url).await.expect_err("an older layout");
    assert!(matches!(err, Error::Connection { .. }) && err.to_string().contains("reload"), "{err}");
    console_log!("IndexedDB upgraded by another page: done (blocked event on the way: {blocked}); in-flight commit `{in_flight}`, stored: {cat_stored}; next operation: {err}");
    drop(db);
    delete_database(&name).await;
}

/// The ids of the tags of at least `weight`, as a new session of `db` sees them.
async fn tags_from(db: &Database, weight: i32) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    let found = session.query::<Tag>().filter(|c| c.weight.ge(weight)).all().await.expect("query");
    found.iter().map(|t| t.id().get()).collect()
}

/// How many entries the `records` store's index of indexed columns holds, read by hand.
async fn index_entries_by_hand(db: &IdbDatabase) -> f64 {
    let tx = db.transaction_with_str("records").expect("transaction");
    let index = tx.object_store("records").expect("store").index("ix").expect("the index");
    settle(&index.count().expect("count")).await.expect("count").as_f64().expect("a number")
}

#[wasm_bindgen_test]
async fn a_layout_1_database_is_upgraded_and_create_all_fills_its_index_entries() {
    let name = unique_name("idb-layout-1");
    // An empty database of layout version 1: before the `index` store.
    let request = factory().open_with_u32(&format!("plinth/{name}"), 1).expect("open");
    let on_upgrade = Closure::<dyn FnMut()>::new({
        let request = request.clone();
        move || {
            let db: IdbDatabase = request.result().expect("db").unchecked_into();
            for store in ["records", "unique", "meta"] {
                db.create_object_store(store).expect("object store");
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let old: IdbDatabase = settle(&request).await.expect("open at version 1").unchecked_into();
    old.close();

    let url = format!("indexeddb://{name}");
    let db = plinth_browser::connect(&url).await.expect("connect upgrades the layout");
    db.create_all(&[Tag::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    session.add_all((0..6).map(|i| Tag { label: Some(format!("t{i}")), weight: i % 3 })).await.expect("add");
    session.commit().await.expect("commit");
    assert_eq!(tags_from(&db, 1).await, [2, 3, 5, 6]);

    // Layout 1 stored a row as its text alone, with no entries: rewrite the rows so,
    // and remove the record that the column's entries are complete, by hand.
    let (raw, _) = open_as_another_page(&name, None).await;
    let raw = raw.expect("open by hand");
    assert_eq!(index_entries_by_hand(&raw).await, 6.0, "one entry per row");
    let names: Array = ["records", "meta"].iter().map(|s| JsValue::from_str(s)).collect();
    let tx = raw.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite).expect("transaction");
    let records = tx.object_store("records").expect("store");
    let keys: Array = settle(&records.get_all_keys().expect("keys")).await.expect("keys").unchecked_into();
    let values: Array = settle(&records.get_all().expect("values")).await.expect("values").unchecked_into();
    for (key, value) in keys.iter().zip(values.iter()) {
        let text = js_sys::Reflect::get(&value, &JsValue::from_str("row")).expect("row");
        assert!(text.is_string(), "a row of an indexed table is stored with its entries: {value:?}");
        records.put_with_key(&text, &key).expect("put");
    }
    let marker = js_key(&[JsValue::from_str("indexed"), JsValue::from_str("tags")]);
    tx.object_store("meta").expect("store").delete(&marker).expect("delete");
    committed(&tx).await;
    assert_eq!(index_entries_by_hand(&raw).await, 0.0);
    raw.close();

    // Without entries the table is scanned, and a commit meanwhile is found too.
    let reopened = plinth_browser::connect(&url).await.expect("reconnect");
    assert_eq!(tags_from(&reopened, 1).await, [2, 3, 5, 6]);
    let mut session = reopened.session().await.expect("session");
    session.add(Tag { label: Some("t6".into()), weight: 2 }).await.expect("add");
    session.commit().await.expect("commit");
    assert_eq!(tags_from(&reopened, 2).await, [3, 6, 7]);

    reopened.create_all(&[Tag::table()]).await.expect("create_all fills the entries");
    let (raw, _) = open_as_another_page(&name, None).await;
    let raw = raw.expect("open by hand");
    assert_eq!(index_entries_by_hand(&raw).await, 7.0, "one entry per row again");
    raw.close();
    assert_eq!(tags_from(&reopened, 1).await, [2, 3, 5, 6, 7]);
    assert_eq!(tags_from(&db, 2).await, [3, 6, 7]);
    drop((db, reopened));
    delete_database(&name).await;
}

#[wasm_bindgen_test]
async fn an_indexeddb_deleted_by_another_page_goes_through_and_this_handle_reopens_it() {
    let name = unique_name("idb-delete");
    let url = format!("indexeddb://{name}");
    let (first, second) = (connect(&url).await, plinth_browser::connect(&url).await.expect("second handle"));
    let mut session = first.session().await.expect("session");
    session.add(User::named("ann")).await.expect("add");
    session.commit().await.expect("commit");
    assert_eq!(users(&second).await, named(&[(1, "ann")]));

    let mut stale = first.session().await.expect("session");
    stale.add(User::named("cat")).await.expect("add");
    let blocked = delete_database(&name).await;
    console_log!("IndexedDB deleted by another page with two handles open: done (blocked event on the way: {blocked})");

    // Both handles carry on, on a new, empty database; a session staged before the
    // delete writes nothing into it.
    let result = stale.commit().await;
    assert!(matches!(result, Err(Error::NoSuchTable { .. })), "{result:?}");
    for db in [&first, &second] {
        let err = db.session().await.expect("session").get::<User>(1).await.expect_err("the table went with it");
        assert!(matches!(err, Error::NoSuchTable { table } if table == "users"), "{err}");
    }
    first.create_all(&[User::table()]).await.expect("create_all again");
    let mut session = second.session().await.expect("session");
    session.add(User::named("bob")).await.expect("add");
    session.commit().await.expect("commit");
    assert_eq!(users(&first).await, named(&[(1, "bob")]));

    // And a second delete finds them out of its way again.
    delete_database(&name).await;
    let err = first.session().await.expect("session").query::<User>().count().await.expect_err("gone again");
    assert!(matches!(err, Error::NoSuchTable { .. }), "{err}");
    drop((first, second));
    delete_database(&name).await;
}

#[wasm_bindgen_test]
async fn a_5_mib_value_is_quota_exceeded_in_web_storage_and_round_trips_in_indexeddb() {
    let huge = "h".repeat(5 << 20);
    for scheme in ["local", "session"] {
        let name = unique_name("huge");
        let prefix = format!("plinth/{name}/");
        let kv: Box<dyn KeyValue> = match scheme {
            "local" => Box::new(GlooKeyValue::local().expect("local")),
            _ => Box::new(GlooKeyValue::session().expect("session")),
        };
        let db = connect(&format!("{scheme}://{name}")).await;
        let mut session = db.session().await.expect("session");
        session.add(User::named("ann")).await.expect("add");
        session.commit().await.expect("commit");
        let before = keys(&*kv, &prefix);

        let mut session = db.session().await.expect("session");
        session.add(User { username: "huge".into(), email_address: huge.clone() }).await.expect("add");
        let result = session.commit().await;
        assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{scheme}: {result:?}");
        assert_eq!(keys(&*kv, &prefix), before, "{scheme}: every key as it was");
        let mut session = db.session().await.expect("session");
        session.add(User::named("bob")).await.expect("add");
        session.commit().await.expect("the store goes on");
        assert_eq!(users(&db).await, named(&[(1, "ann"), (3, "bob")]), "{scheme}");
        clean_web_storage(&*kv, &prefix);
    }

    let name = unique_name("huge");
    let db = connect(&format!("indexeddb://{name}")).await;
    let mut session = db.session().await.expect("session");
    let stored = session.add(User { username: "huge".into(), email_address: huge.clone() }).await.expect("add");
    session.commit().await.expect("IndexedDB holds 5 MiB");
    let read = db.session().await.expect("session").get::<User>(stored.id()).await.expect("get").expect("huge");
    assert!(read.email_address == huge, "5 MiB read back exactly");
    drop(db);
    delete_database(&name).await;
}

/// Makes the browser refuse the `nth` call of `IDBObjectStore.prototype.put` from now on
/// with a thrown `DataError`, as it does for a value it cannot store; returns the
/// function that puts the real `put` back.
fn fail_put_call(nth: u32) -> js_sys::Function {
    let patch = js_sys::Function::new_with_args(
        "nth",
        "const original = IDBObjectStore.prototype.put; let calls = 0; \
         IDBObjectStore.prototype.put = function (...args) { \
           calls += 1; \
           if (calls === nth) throw new DOMException('refused by the test', 'DataError'); \
           return original.apply(this, args); \
         }; \
         return () => { IDBObjectStore.prototype.put = original; };",
    );
    patch.call1(&JsValue::NULL, &JsValue::from(nth)).expect("patch put").unchecked_into()
}

#[wasm_bindgen_test]
async fn an_indexeddb_write_the_browser_refuses_mid_commit_aborts_the_whole_commit() {
    let name = unique_name("idb-refused-put");
    let db = connect(&format!("indexeddb://{name}")).await;
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
    session.commit().await.expect("commit");

    // Two renames: each row is removed, then put back with its new unique entry.
    let mut session = db.session().await.expect("session");
    for (id, new_name) in [(1, "ann2"), (2, "bob2")] {
        let mut user = session.get::<User>(id).await.expect("get").expect("stored");
        user.username = new_name.into();
        session.update(&mut user).await.expect("update");
    }
    let restore = fail_put_call(2);
    let refused = session.commit().await;
    restore.call0(&JsValue::NULL).expect("restore put");
    assert!(matches!(refused, Err(Error::Backend { .. })), "{refused:?}");
    assert!(refused.err().map(|e| e.to_string()).unwrap_or_default().contains("refused by the test"));

    // Nothing of the commit was written: not the deletes, not the first put.
    assert_eq!(users(&db).await, named(&[(1, "ann"), (2, "bob")]));
    let (stored, _) = open_as_another_page(&name, None).await;
    let stored = stored.expect("open by hand");
    let records = records_by_hand(&stored).await;
    assert_eq!(records.len(), 2, "{records:?}");
    stored.close();
    let mut session = db.session().await.expect("session");
    session.add(User::named("ann2")).await.expect("the store goes on");
    session.commit().await.expect("commit");
    drop(db);
    delete_database(&name).await;
}
