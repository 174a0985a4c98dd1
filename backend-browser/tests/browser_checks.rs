//! What only a real browser can show: data survives a new `connect`, a cut-off commit
//! is finished on the next open, a full sessionStorage undoes a commit, two handles
//! adding at once get distinct ids, and an IndexedDB session that awaits a timer
//! between its writes and its commit still commits all or nothing.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p plinth-browser`
#![cfg(target_arch = "wasm32")]

use std::collections::HashSet;

use js_sys::Promise;
use plinth::{Database, Entity, Error};
use plinth_browser::{GlooKeyValue, KeyValue};
use plinth_conformance::entities::User;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn unique_name(what: &str) -> String {
    format!("{what}-{}-{}", js_sys::Date::now(), js_sys::Math::random().to_bits())
}

async fn connect(url: &str) -> Database {
    let db = plinth_browser::connect(url).await.expect("connect");
    db.create_all(&[User::table()]).await.expect("create_all");
    db
}

/// Resolves after `ms` milliseconds: an await that returns to the event loop.
async fn sleep(ms: i32) {
    let promise: Promise = Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

async fn usernames(db: &Database) -> Vec<String> {
    let all = db.session().await.expect("session").query::<User>().all().await.expect("query");
    all.iter().map(|u| u.username.clone()).collect()
}

fn clean_web_storage(kv: &impl KeyValue, prefix: &str) {
    for key in kv.keys_with_prefix(prefix).expect("keys") {
        kv.remove(&key).expect("remove");
    }
}

/// Removes the database `scheme://name` (`local` or `indexeddb`) a test made.
fn clean_up(scheme: &str, name: &str) {
    match scheme {
        "indexeddb" => delete_indexeddb(name),
        _ => clean_web_storage(&GlooKeyValue::local().expect("localStorage"), &format!("plinth/{name}/")),
    }
}

fn delete_indexeddb(name: &str) {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let _ = factory.delete_database(&format!("plinth/{name}"));
}

#[wasm_bindgen_test]
async fn committed_data_survives_a_new_connect_on_every_store() {
    for scheme in ["local", "session", "indexeddb"] {
        let name = unique_name("reopen");
        let url = format!("{scheme}://{name}");
        let db = connect(&url).await;
        let mut session = db.session().await.expect("session");
        session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
        session.commit().await.expect("commit");
        drop(db);

        // No create_all: the stored schema says which tables exist.
        let reopened = plinth_browser::connect(&url).await.expect("reconnect");
        assert_eq!(usernames(&reopened).await, ["ann", "bob"], "{scheme}");
        drop(reopened);
        match scheme {
            "local" => clean_web_storage(&GlooKeyValue::local().expect("local"), &format!("plinth/{name}/")),
            "session" => clean_web_storage(&GlooKeyValue::session().expect("session"), &format!("plinth/{name}/")),
            _ => delete_indexeddb(&name),
        }
    }
}

#[wasm_bindgen_test]
async fn a_commit_cut_off_by_a_closed_tab_is_finished_on_the_next_connect() {
    let name = unique_name("journal");
    let prefix = format!("plinth/{name}/");
    let kv = GlooKeyValue::local().expect("localStorage");
    let db = connect(&format!("local://{name}")).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("ann")).await.expect("add");
    session.commit().await.expect("commit");
    drop(db);

    // What a tab closed half-way through committing `bob` leaves: the journal, and
    // the row written but not its unique index entry.
    let row_key = format!("{prefix}t/users/r/2");
    let index_key = format!("{prefix}t/users/u/username/\"bob\"");
    let row = r#"{"id":2,"username":"bob","email_address":"bob@example.com","created_at":"2024-05-01T12:00:00.123456Z","updated_at":"2024-05-01T12:00:00.123456Z"}"#;
    let journal = serde_json::json!({
        "redo": [[index_key, "2"], [row_key, row]],
        "undo": [[index_key, null], [row_key, null]],
    });
    kv.set(&format!("{prefix}t/users/seq"), "2").expect("seq");
    kv.set(&format!("{prefix}journal"), &journal.to_string()).expect("journal");
    kv.set(&row_key, row).expect("half of the commit");

    let reopened = plinth_browser::connect(&format!("local://{name}")).await.expect("reconnect");
    assert_eq!(kv.get(&format!("{prefix}journal")).expect("get"), None);
    assert_eq!(usernames(&reopened).await, ["ann", "bob"]);
    let mut session = reopened.session().await.expect("session");
    let bob = session.query::<User>().filter(|c| c.username.eq("bob")).first().await.expect("query");
    assert_eq!(bob.map(|b| b.id().get()), Some(2));
    assert!(matches!(session.add(User::named("bob")).await, Err(Error::UniqueViolation { .. })));
    drop(session);
    clean_web_storage(&kv, &prefix);
}

#[wasm_bindgen_test]
async fn a_full_session_storage_undoes_the_commit_and_says_quota_exceeded() {
    let name = unique_name("quota");
    let prefix = format!("plinth/{name}/");
    let kv = GlooKeyValue::session().expect("sessionStorage");
    let db = connect(&format!("session://{name}")).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("ann")).await.expect("add");
    session.commit().await.expect("commit");

    // Fill sessionStorage until it refuses even a kilobyte.
    let filler = |i: usize| format!("filler/{name}/{i}");
    let mut count = 0;
    for size in [1 << 20, 1 << 16, 1 << 10] {
        let chunk = "f".repeat(size);
        while kv.set(&filler(count), &chunk).is_ok() {
            count += 1;
        }
    }
    // Free ~150 kB: enough for the journal of a 100 kB row, not for the row after it.
    let mut freed = 0;
    while freed < 150_000 && count > 0 {
        count -= 1;
        freed += kv.get(&filler(count)).expect("get").map_or(0, |v| v.len());
        kv.remove(&filler(count)).expect("free");
    }
    let before: Vec<(String, Option<String>)> = kv
        .keys_with_prefix(&prefix)
        .expect("keys")
        .into_iter()
        .filter(|k| !k.ends_with("/seq"))
        .map(|k| (k.clone(), kv.get(&k).expect("get")))
        .collect();

    let mut session = db.session().await.expect("session");
    session.add(User { username: "big".into(), email_address: "b".repeat(100_000) }).await.expect("add");
    let result = session.commit().await;
    assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{result:?}");
    let after: Vec<(String, Option<String>)> =
        before.iter().map(|(k, _)| (k.clone(), kv.get(k).expect("get"))).collect();
    assert_eq!(after, before, "every key as it was");
    let leftovers: Vec<String> = kv.keys_with_prefix(&prefix).expect("keys");
    assert_eq!(leftovers.len(), before.len() + 1, "only the sequence besides: {leftovers:?}");
    assert_eq!(usernames(&db).await, ["ann"]);

    // Once there is room again, the same commit goes through.
    clean_web_storage(&kv, &format!("filler/{name}/"));
    let mut session = db.session().await.expect("session");
    session.add(User { username: "big".into(), email_address: "b".repeat(100_000) }).await.expect("add");
    session.commit().await.expect("commit with room");
    assert_eq!(usernames(&db).await, ["ann", "big"]);
    clean_web_storage(&kv, &prefix);
}

/// Eight tasks on two handles, each adding and committing five users at once.
async fn concurrent_adds(url: &str) {
    let handles = [connect(url).await, plinth_browser::connect(url).await.expect("second handle")];
    let tasks = js_sys::Array::new();
    for task in 0..8 {
        let db = handles[task % 2].clone();
        tasks.push(&future_to_promise(async move {
            for i in 0..5 {
                let mut session = db.session().await.map_err(|e| JsValue::from_str(&e.to_string()))?;
                session
                    .add(User::named(&format!("t{task}-{i}")))
                    .await
                    .map_err(|e| JsValue::from_str(&e.to_string()))?;
                sleep(1).await;
                session.commit().await.map_err(|e| JsValue::from_str(&e.to_string()))?;
            }
            Ok(JsValue::UNDEFINED)
        }));
    }
    JsFuture::from(Promise::all(&tasks)).await.expect("every task commits");
    for db in &handles {
        let all = db.session().await.expect("session").query::<User>().all().await.expect("query");
        let ids: HashSet<i64> = all.iter().map(|u| u.id().get()).collect();
        assert_eq!((all.len(), ids.len()), (40, 40), "{url}: no write lost, no id shared");
    }
}

#[wasm_bindgen_test]
async fn two_handles_adding_at_once_get_distinct_ids_and_lose_no_write() {
    let local = unique_name("handles");
    concurrent_adds(&format!("local://{local}")).await;
    clean_web_storage(&GlooKeyValue::local().expect("local"), &format!("plinth/{local}/"));
    let idb = unique_name("handles");
    concurrent_adds(&format!("indexeddb://{idb}")).await;
    delete_indexeddb(&idb);
}

#[wasm_bindgen_test]
async fn an_indexeddb_session_awaiting_a_timer_before_commit_commits_all_or_nothing() {
    let name = unique_name("autocommit");
    let db = connect(&format!("indexeddb://{name}")).await;

    // All: writes, a timer, more writes, another timer, then commit.
    let mut session = db.session().await.expect("session");
    let mut ann = session.add(User::named("ann")).await.expect("add");
    sleep(30).await;
    session.add(User::named("bob")).await.expect("add");
    ann.email_address = "ann@new.example".into();
    session.update(&mut ann).await.expect("update");
    sleep(30).await;
    session.commit().await.expect("commit after timers");
    assert_eq!(usernames(&db).await, ["ann", "bob"]);

    // Nothing: while this session waits, another commits the username it claims.
    let mut late = db.session().await.expect("session");
    late.add(User::named("cat")).await.expect("add");
    late.add(User::named("dan")).await.expect("add");
    sleep(30).await;
    let mut rival = db.session().await.expect("session");
    rival.add(User::named("dan")).await.expect("add");
    rival.commit().await.expect("rival commits first");
    sleep(30).await;
    let result = late.commit().await;
    assert!(matches!(result, Err(Error::UniqueViolation { column, .. }) if column == Some("username")), "{result:?}");
    assert_eq!(usernames(&db).await, ["ann", "bob", "dan"], "none of the late session's rows");

    // Nothing either: a session dropped after a timer.
    let mut dropped = db.session().await.expect("session");
    dropped.add(User::named("eve")).await.expect("add");
    sleep(30).await;
    drop(dropped);
    let mut session = db.session().await.expect("session");
    let ann = session.get::<User>(ann.id()).await.expect("get").expect("ann");
    assert_eq!(ann.email_address, "ann@new.example");
    assert_eq!(usernames(&db).await, ["ann", "bob", "dan"]);
    drop((session, db));
    delete_indexeddb(&name);
}

#[wasm_bindgen_test]
async fn a_record_edited_by_hand_is_a_decode_error_and_the_others_stay_readable() {
    let name = unique_name("corrupt");
    let prefix = format!("plinth/{name}/");
    let kv = GlooKeyValue::local().expect("localStorage");
    let db = connect(&format!("local://{name}")).await;
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
    session.commit().await.expect("commit");
    kv.set(&format!("{prefix}t/users/r/2"), "{\"id\":2,\"username\":\"bo").expect("truncate");

    let mut session = db.session().await.expect("session");
    let err = session.get::<User>(2).await.expect_err("decode");
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains(&format!("{prefix}t/users/r/2")), "{err}");
    let ann = session.get::<User>(1).await.expect("ann is readable");
    assert_eq!(ann.map(|a| a.username.clone()).as_deref(), Some("ann"));
    drop(session);
    clean_web_storage(&kv, &prefix);
}

/// A page whose tables another page migrated meanwhile (a newer version of the app)
/// gets `SchemaChanged` — telling it to reload — on its next read or write, never a
/// decode failure; the migrated data stays as the newer page left it.
#[wasm_bindgen_test]
async fn a_page_whose_tables_a_newer_page_migrated_is_told_to_reload() {
    use plinth::migrate::{Migration, Step};
    use plinth_conformance::entities::{Gadget, Widget};
    static MIGRATIONS: [Migration; 1] = [Migration::schema(
        1,
        "gadgets become widgets",
        &[
            Step::RenameTable { from: "gadgets", to: "widgets" },
            Step::RenameColumn { table: "widgets", from: "name", to: "label" },
        ],
    )];
    for scheme in ["local", "indexeddb"] {
        let name = unique_name("newer");
        let url = format!("{scheme}://{name}");
        let old = plinth_browser::connect(&url).await.expect("connect");
        old.create_all(&[Gadget::table()]).await.expect("create_all");
        let mut session = old.session().await.expect("session");
        let lamp = session.add(Gadget::new("lamp", "L-1")).await.expect("add");
        session.commit().await.expect("commit");

        let newer = plinth_browser::connect(&url).await.expect("the newer page");
        newer.migrate(&MIGRATIONS, &[Widget::table()]).await.expect("migrate");

        let mut session = old.session().await.expect("session");
        let read = session.get::<Gadget>(lamp.id()).await;
        assert!(matches!(read, Err(Error::SchemaChanged { table: "gadgets", .. })), "{scheme}: {read:?}");
        let message = read.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("reload"), "{message}");
        let written = session.add(Gadget::new("fan", "F-1")).await;
        assert!(matches!(written, Err(Error::SchemaChanged { .. })), "{scheme}: {written:?}");
        // A fresh session's first write, too: no id of the old table is handed out.
        let added = old.session().await.expect("session").add(Gadget::new("saw", "S-1")).await;
        assert!(matches!(added, Err(Error::SchemaChanged { .. })), "{scheme}: {added:?}");
        let recreated = old.create_all(&[Gadget::table()]).await;
        assert!(matches!(recreated, Err(Error::SchemaChanged { .. })), "{scheme}: {recreated:?}");
        let widgets = newer.session().await.expect("session").query::<Widget>().all().await.expect("widgets");
        assert_eq!(widgets.iter().map(|w| w.label.as_str()).collect::<Vec<_>>(), ["lamp"], "{scheme}");
        clean_up(scheme, &name);
    }
}

/// The first operation of a page after another page migrated its table may be an
/// `add` of an entity without unique columns (which reads nothing but the id
/// sequence): it is `SchemaChanged` too, and hands out no id.
#[wasm_bindgen_test]
async fn an_add_after_another_page_migrated_the_table_is_refused() {
    use plinth::migrate::{Migration, Step};
    use plinth_conformance::entities::Gizmo;
    static GIZMOS_GONE: [Migration; 1] =
        [Migration::schema(1, "gizmos become things", &[Step::RenameTable { from: "gizmos", to: "things" }])];
    for scheme in ["local", "indexeddb"] {
        let name = unique_name("first-add");
        let url = format!("{scheme}://{name}");
        let old = plinth_browser::connect(&url).await.expect("connect");
        old.create_all(&[Gizmo::table()]).await.expect("create_all");
        let mut session = old.session().await.expect("session");
        session.add(Gizmo { label: "a".into() }).await.expect("add");
        session.commit().await.expect("commit");
        let newer = plinth_browser::connect(&url).await.expect("the newer page");
        newer.migrate(&GIZMOS_GONE, &[]).await.expect("migrate");
        let added = old.session().await.expect("session").add(Gizmo { label: "b".into() }).await;
        assert!(matches!(added, Err(Error::SchemaChanged { table: "gizmos", .. })), "{scheme}: {added:?}");
        clean_up(scheme, &name);
    }
}

/// Resolves with `request`'s result once it succeeds.
async fn idb_result(request: &web_sys::IdbRequest) -> JsValue {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await.expect("IndexedDB request");
    request.result().expect("result")
}

/// The `meta` store of `indexeddb://name`, as another page reaches it: a connection of
/// its own, one transaction in `mode`.
async fn raw_meta(name: &str, mode: web_sys::IdbTransactionMode) -> web_sys::IdbObjectStore {
    use wasm_bindgen::JsCast;
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let open = factory.open(&format!("plinth/{name}")).expect("open");
    let db: web_sys::IdbDatabase = idb_result(&open).await.unchecked_into();
    db.transaction_with_str_and_mode("meta", mode).and_then(|tx| tx.object_store("meta")).expect("meta")
}

/// The last id the stored sequence of table `users` has handed out, if any.
async fn stored_sequence(name: &str) -> Option<f64> {
    let meta = raw_meta(name, web_sys::IdbTransactionMode::Readonly).await;
    idb_result(&meta.get(&js_sys::Array::of2(&"seq".into(), &"users".into())).expect("get")).await.as_f64()
}

/// Adds one user per session, committing each, and returns the ids.
async fn add_one_by_one(db: &Database, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names {
        let mut session = db.session().await.expect("session");
        ids.push(session.add(User::named(name)).await.expect("add").id().get());
        session.commit().await.expect("commit");
    }
    ids
}

/// An IndexedDB page reserves ids ahead in blocks, so most inserts need no transaction
/// of their own; ids another page reserved meanwhile are never handed out, and the
/// page's own ids have no gaps.
#[wasm_bindgen_test]
async fn ids_another_page_reserved_are_never_handed_out() {
    let name = unique_name("blocks");
    let db = connect(&format!("indexeddb://{name}")).await;
    assert_eq!(add_one_by_one(&db, &["a", "b", "c", "d", "e"]).await, [1, 2, 3, 4, 5]);
    let reserved = stored_sequence(&name).await.expect("a sequence");
    assert!(reserved > 5.0, "ids are reserved ahead: the sequence is at {reserved}");

    // Another page reserves ten ids.
    let meta = raw_meta(&name, web_sys::IdbTransactionMode::Readwrite).await;
    let key = js_sys::Array::of2(&"seq".into(), &"users".into());
    idb_result(&meta.put_with_key(&JsValue::from_f64(reserved + 10.0), &key).expect("put")).await;

    let mut session = db.session().await.expect("session");
    let rows = session.add_all((0..70).map(|i| User::named(&format!("n{i}")))).await.expect("add_all");
    session.commit().await.expect("commit");
    let ids: Vec<i64> = rows.iter().map(|r| r.id().get()).collect();
    #[allow(clippy::cast_possible_truncation)]
    let first = reserved as i64 + 11;
    assert_eq!(ids, (first..first + 70).collect::<Vec<_>>(), "after the other page's ten, in one run");
    assert_eq!(add_one_by_one(&db, &["f"]).await, [first + 70]);
    delete_indexeddb(&name);
}

/// A database another page deleted starts its ids at 1 again in this page, although
/// this page held ids reserved in the old one.
#[wasm_bindgen_test]
async fn ids_start_at_one_in_a_database_another_page_deleted() {
    let name = unique_name("deleted");
    let db = connect(&format!("indexeddb://{name}")).await;
    assert_eq!(add_one_by_one(&db, &["a", "b", "c", "d"]).await, [1, 2, 3, 4]);
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    idb_result(&factory.delete_database(&format!("plinth/{name}")).expect("delete")).await;
    db.create_all(&[User::table()]).await.expect("create_all");
    assert_eq!(add_one_by_one(&db, &["x", "y"]).await, [1, 2]);
    delete_indexeddb(&name);
}

/// A commit moves the stored sequence past its new rows' ids should it be behind them
/// (another page dropped the table and made it again while this page held reserved
/// ids), so the ids committed are never handed out again.
#[wasm_bindgen_test]
async fn a_commit_moves_a_sequence_left_behind_past_its_ids() {
    let name = unique_name("behind");
    let db = connect(&format!("indexeddb://{name}")).await;
    assert_eq!(add_one_by_one(&db, &["a", "b"]).await, [1, 2]);
    let meta = raw_meta(&name, web_sys::IdbTransactionMode::Readwrite).await;
    idb_result(&meta.delete(&js_sys::Array::of2(&"seq".into(), &"users".into())).expect("delete")).await;
    assert_eq!(add_one_by_one(&db, &["c"]).await, [3], "from the page's block");
    assert_eq!(stored_sequence(&name).await, Some(3.0));
    delete_indexeddb(&name);
}

/// The next result of `live`, or a panic after five seconds without one.
async fn next_within<T>(live: &mut plinth::LiveQuery<T>, what: &str) -> T {
    use futures_util::future::{select, Either};
    use futures_util::StreamExt;
    match select(live.next(), Box::pin(sleep(5_000))).await {
        Either::Left((Some(result), _)) => result.expect(what),
        Either::Left((None, _)) => panic!("{what}: the live query ended"),
        Either::Right(_) => panic!("{what}: no result within five seconds"),
    }
}

#[wasm_bindgen_test]
async fn a_live_query_sees_the_commits_of_other_handles_as_of_other_pages() {
    for scheme in ["local", "session", "indexeddb"] {
        let name = unique_name("live");
        let url = format!("{scheme}://{name}");
        // Each handle has a BroadcastChannel of its own, as each page has.
        let (watching, writing) = (connect(&url).await, connect(&url).await);
        let mut live = watching.watch(|session| {
            Box::pin(async move {
                let all = session.query::<User>().order_by(|c| c.username.asc()).all().await?;
                Ok(all.iter().map(|u| u.username.clone()).collect::<Vec<_>>())
            })
        });
        assert_eq!(next_within(&mut live, "first").await, Vec::<String>::new(), "{scheme}");
        let mut session = writing.session().await.expect("session");
        session.add(User::named("bob")).await.expect("add");
        session.commit().await.expect("commit");
        assert_eq!(next_within(&mut live, "bob").await, ["bob"], "{scheme}");
        // A third handle, opened after the query began.
        let third = connect(&url).await;
        let mut session = third.session().await.expect("session");
        session.add(User::named("ann")).await.expect("add");
        session.commit().await.expect("commit");
        assert_eq!(next_within(&mut live, "ann").await, ["ann", "bob"], "{scheme}");
        // The watching handle's own commit, through its own hub.
        let mut session = watching.session().await.expect("session");
        session.add(User::named("cy")).await.expect("add");
        session.commit().await.expect("commit");
        assert_eq!(next_within(&mut live, "cy").await, ["ann", "bob", "cy"], "{scheme}");
        drop((live, watching, writing, third));
        clean_up(scheme, &name);
    }
}
