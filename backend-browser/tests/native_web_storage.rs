//! The web-storage store's own guarantees, natively over in-memory key-value stores:
//! a commit cut off at any write is finished on the next open, a full storage undoes
//! a commit completely, and bad stored data is reported, never a panic.
//! `cargo test -p plinth-browser --test native_web_storage`.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use plinth::engine::EngineBackend;
use plinth::{Database, Entity, Error, Result};
use plinth_browser::{KeyValue, MemoryKeyValue, WebStorageStore};
use plinth_conformance::entities::User;

fn database(kv: impl KeyValue) -> Result<Database> {
    Ok(Database::new(EngineBackend::new(WebStorageStore::open(kv, "app")?)))
}

fn dump(kv: &MemoryKeyValue) -> BTreeMap<String, String> {
    let keys = kv.keys_with_prefix("").expect("keys");
    keys.into_iter().map(|k| (k.clone(), kv.get(&k).expect("get").expect("present"))).collect()
}

/// `ann` and `bob` committed: ids 1 and 2.
async fn two_users(kv: &MemoryKeyValue) -> Database {
    let db = database(kv.clone()).expect("open");
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob")]).await.expect("add");
    session.commit().await.expect("commit");
    db
}

/// Renames ann to `cat`, deletes bob, and adds a new `ann`: one commit touching rows,
/// a unique value that moves between rows, and a freed one.
async fn reshuffle(db: &Database) -> Result<()> {
    let mut session = db.session().await?;
    let mut ann = session.get::<User>(1).await?.expect("ann");
    ann.username = "cat".into();
    session.update(&mut ann).await?;
    session.delete_by_id::<User>(2).await?;
    session.add(User::named("ann")).await?;
    session.commit().await
}

/// The users by id, and each username found through its unique index.
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

/// A key-value store whose page closes after a number of writes: every later write fails.
#[derive(Debug, Clone)]
struct ClosingTab {
    kv: MemoryKeyValue,
    writes_left: Arc<AtomicUsize>,
}

impl ClosingTab {
    fn write(&self) -> Result<()> {
        let left = self.writes_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(Error::backend("test", "the tab was closed"));
        }
        self.writes_left.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

impl KeyValue for ClosingTab {
    fn name(&self) -> &'static str {
        "closing tab"
    }
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.kv.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.write()?;
        self.kv.set(key, value)
    }
    fn remove(&self, key: &str) -> Result<()> {
        self.write()?;
        self.kv.remove(key)
    }
    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        self.kv.keys_with_prefix(prefix)
    }
}

#[tokio::test]
async fn a_commit_cut_off_at_any_write_is_finished_on_the_next_open() {
    let before = vec![(1, "ann".to_owned()), (2, "bob".to_owned())];
    let after = vec![(1, "cat".to_owned()), (3, "ann".to_owned())];
    let mut cut_mid_apply = 0;
    for writes in 0.. {
        let kv = MemoryKeyValue::new();
        two_users(&kv).await;
        let tab = ClosingTab { kv: kv.clone(), writes_left: Arc::new(AtomicUsize::new(usize::MAX)) };
        let db = database(tab.clone()).expect("open");
        // Ids are handed out before commit; only the commit's writes are cut off.
        let mut session = db.session().await.expect("session");
        let mut ann = session.get::<User>(1).await.expect("get").expect("ann");
        ann.username = "cat".into();
        session.update(&mut ann).await.expect("update");
        session.delete_by_id::<User>(2).await.expect("delete");
        session.add(User::named("ann")).await.expect("add");
        tab.writes_left.store(writes, Ordering::SeqCst);
        let committed = session.commit().await.is_ok();
        let journal_left = kv.get("plinth/app/journal").expect("get").is_some();
        cut_mid_apply += usize::from(journal_left);

        let reopened = database(kv.clone()).expect("reopen");
        assert_eq!(kv.get("plinth/app/journal").expect("get"), None, "journal left after recovery");
        let expected = if committed || journal_left { &after } else { &before };
        assert_eq!(&users(&reopened).await, expected, "cut off after {writes} writes");
        if committed {
            break;
        }
    }
    assert!(cut_mid_apply >= 3, "only {cut_mid_apply} cuts fell inside the apply");
}

#[tokio::test]
async fn quota_exceeded_mid_commit_restores_every_key() {
    let (mut refused, mut accepted) = (0, 0);
    for extra in (0..4000).step_by(25) {
        let setup = MemoryKeyValue::new();
        two_users(&setup).await;
        let original = dump(&setup);
        let used: usize = original.iter().map(|(k, v)| k.len() + v.len()).sum();
        let kv = MemoryKeyValue::with_quota(used + extra);
        for (k, v) in &original {
            kv.set(k, v).expect("copy");
        }
        let db = database(kv.clone()).expect("open");
        match reshuffle(&db).await {
            Ok(()) => {
                accepted += 1;
                assert_eq!(users(&db).await, [(1, "cat".to_owned()), (3, "ann".to_owned())]);
            }
            Err(Error::QuotaExceeded { .. }) => {
                refused += 1;
                let mut now = dump(&kv);
                // The id handed to the new row stays used, as after any rollback.
                now.remove("plinth/app/t/users/seq");
                let mut then = original.clone();
                then.remove("plinth/app/t/users/seq");
                assert_eq!(now, then, "with {extra} bytes free");
            }
            Err(other) => panic!("with {extra} bytes free: {other}"),
        }
    }
    assert!(refused > 0 && accepted > 0, "refused {refused}, accepted {accepted}");
}

#[tokio::test]
async fn a_commit_that_does_not_fit_fails_after_its_journal_and_changes_nothing() {
    // A large row: the journal (new values) fits, the row itself then does not.
    let setup = MemoryKeyValue::new();
    two_users(&setup).await;
    let original = dump(&setup);
    let used: usize = original.iter().map(|(k, v)| k.len() + v.len()).sum();
    let big = "x".repeat(10_000);
    let kv = MemoryKeyValue::with_quota(used + 100 + 15_000);
    for (k, v) in &original {
        kv.set(k, v).expect("copy");
    }
    let db = database(kv.clone()).expect("open");
    let mut session = db.session().await.expect("session");
    session.add(User { username: "big".into(), email_address: big }).await.expect("add");
    let result = session.commit().await;
    assert!(matches!(result, Err(Error::QuotaExceeded { .. })), "{result:?}");
    assert_eq!(kv.get("plinth/app/journal").expect("get"), None);
    assert_eq!(kv.get("plinth/app/t/users/r/3").expect("get"), None);
    assert_eq!(users(&db).await, [(1, "ann".to_owned()), (2, "bob".to_owned())]);
}

#[tokio::test]
async fn bad_stored_data_is_a_decode_error_naming_the_key() {
    let kv = MemoryKeyValue::new();
    let db = two_users(&kv).await;
    let good = kv.get("plinth/app/t/users/r/1").expect("get").expect("row 1");
    let cases = [
        ("plinth/app/t/users/r/2", &good[..good.len() / 2], None),
        ("plinth/app/t/users/r/2", &good.replace("\"ann\"", "5")[..], Some("username")),
        ("plinth/app/t/users/r/2", &good[..], Some("id")),
        ("plinth/app/t/users/r/2", "null", None),
    ];
    for (key, text, column) in cases {
        kv.set(key, text).expect("corrupt");
        let mut session = db.session().await.expect("session");
        let err = session.get::<User>(2).await.expect_err("a decode error");
        match &err {
            Error::Decode { record, column: c, .. } => {
                assert!(record.contains(key), "{err}");
                assert_eq!(*c, column, "{err}");
            }
            other => panic!("{other}"),
        }
        assert!(matches!(session.query::<User>().all().await, Err(Error::Decode { .. })));
        let ann = session.get::<User>(1).await.expect("other rows stay readable");
        assert_eq!(ann.map(|u| u.username.clone()).as_deref(), Some("ann"));
    }

    kv.set("plinth/app/t/users/r/two", &good).expect("a key made by hand");
    let err = db.session().await.expect("session").query::<User>().all().await.expect_err("decode");
    assert!(err.to_string().contains("plinth/app/t/users/r/two"), "{err}");

    kv.set("plinth/app/t/users/u/username/\"ann\"", "one").expect("corrupt index");
    let mut session = db.session().await.expect("session");
    let err = session.query::<User>().filter(|c| c.username.eq("ann")).first().await.expect_err("decode");
    assert!(err.to_string().contains("u/username/\"ann\""), "{err}");

    kv.set("plinth/app/t/users/seq", "{").expect("corrupt sequence");
    let err = session.add(User::named("dan")).await.expect_err("decode");
    assert!(err.to_string().contains("plinth/app/t/users/seq"), "{err}");
}

#[tokio::test]
async fn a_corrupt_journal_is_reported_on_open() {
    let kv = MemoryKeyValue::new();
    two_users(&kv).await;
    kv.set("plinth/app/journal", "{\"redo\": [").expect("corrupt journal");
    let err = database(kv.clone()).expect_err("decode");
    assert!(matches!(err, Error::CorruptStorage { .. }) && err.to_string().contains("plinth/app/journal"), "{err}");
}

#[tokio::test]
async fn reopened_stores_know_their_tables_and_refuse_other_schemas() {
    let kv = MemoryKeyValue::new();
    two_users(&kv).await;
    let reopened = database(kv.clone()).expect("reopen");
    // No create_all: the stored schema says the table exists.
    assert_eq!(users(&reopened).await.len(), 2);

    let schema = kv.get("plinth/app/t/users/schema").expect("get").expect("schema");
    // A stored type that is not the entity's is no change `create_all` makes.
    kv.set("plinth/app/t/users/schema", &schema.replacen("\"type\":\"String\"", "\"type\":\"i64\"", 1)).expect("edit");
    let err = reopened.create_all(&[User::table()]).await.expect_err("mismatch");
    assert!(matches!(err, Error::SchemaMismatch { table, .. } if table == "users"), "{err}");
    assert!(err.to_string().contains("column `username` is stored as i64"), "{err}");
}

#[tokio::test]
async fn two_handles_on_one_store_never_share_an_id() {
    let kv = MemoryKeyValue::new();
    let first = two_users(&kv).await;
    let second = database(kv.clone()).expect("second handle");
    let mut a = first.session().await.expect("session");
    let mut b = second.session().await.expect("session");
    let x = a.add(User::named("x")).await.expect("add");
    let y = b.add(User::named("y")).await.expect("add");
    assert_ne!(x.id(), y.id());
    a.commit().await.expect("commit");
    b.commit().await.expect("commit");
    assert_eq!(users(&first).await.len(), 4);
}

#[tokio::test]
async fn urls_are_checked_and_native_targets_say_why_they_cannot_connect() {
    let err = plinth_browser::connect("localstorage://app").await.expect_err("invalid");
    assert!(matches!(err, Error::InvalidUrl { .. }) && err.to_string().contains("unknown scheme"), "{err}");
    let err = plinth_browser::connect("indexeddb://app").await.expect_err("unsupported");
    assert!(matches!(err, Error::Unsupported { backend: "IndexedDB", .. }), "{err}");
}

#[tokio::test]
async fn a_handle_whose_table_another_handle_upgraded_is_told_to_reload() {
    use plinth_conformance::entities::{Gadget, GadgetV2};
    let kv = MemoryKeyValue::new();
    let old = database(kv.clone()).expect("open");
    old.create_all(&[Gadget::table()]).await.expect("create_all");
    let mut session = old.session().await.expect("session");
    let lamp = session.add(Gadget::new("lamp", "L-1")).await.expect("add");
    session.commit().await.expect("commit");

    let newer = database(kv.clone()).expect("a newer page");
    newer.create_all(&[GadgetV2::table()]).await.expect("upgrade");

    let mut session = old.session().await.expect("session");
    let read = session.get::<Gadget>(lamp.id()).await;
    assert!(matches!(read, Err(Error::SchemaChanged { table: "gadgets", .. })), "{read:?}");
    let all = session.query::<Gadget>().all().await;
    assert!(matches!(all, Err(Error::SchemaChanged { .. })), "{all:?}");
    let written = session.add(Gadget::new("fan", "F-1")).await;
    assert!(matches!(written, Err(Error::SchemaChanged { .. })), "{written:?}");
    let rows = newer.session().await.expect("session").query::<GadgetV2>().count().await;
    assert_eq!(rows.expect("the newer handle reads on"), 1);
}

#[tokio::test]
async fn a_store_wiped_and_set_up_again_by_a_newer_page_is_no_store_an_older_page_knows() {
    use plinth_conformance::entities::{Gadget, GadgetV2};
    let kv = MemoryKeyValue::new();
    let old = database(kv.clone()).expect("open");
    old.create_all(&[Gadget::table()]).await.expect("create_all");
    for key in kv.keys_with_prefix("").expect("keys") {
        kv.remove(&key).expect("wipe");
    }
    let newer = database(kv.clone()).expect("a newer page");
    newer.create_all(&[GadgetV2::table()]).await.expect("set up again");
    let read = old.session().await.expect("session").get::<Gadget>(1).await;
    assert!(matches!(read, Err(Error::SchemaChanged { .. })), "the generation is not the one seen before: {read:?}");
}

#[tokio::test]
async fn an_older_page_does_not_create_anew_a_table_a_newer_page_renamed() {
    use plinth::migrate::{Migration, Step};
    use plinth_conformance::entities::{Gadget, Widget};
    static RENAME: [Migration; 1] = [Migration::schema(
        1,
        "gadgets become widgets",
        &[
            Step::RenameTable { from: "gadgets", to: "widgets" },
            Step::RenameColumn { table: "widgets", from: "name", to: "label" },
        ],
    )];
    let kv = MemoryKeyValue::new();
    let old = database(kv.clone()).expect("open");
    old.create_all(&[Gadget::table()]).await.expect("create_all");
    let newer = database(kv.clone()).expect("a newer page");
    newer.migrate(&RENAME, &[Widget::table()]).await.expect("migrate");
    let again = old.create_all(&[Gadget::table()]).await;
    assert!(matches!(again, Err(Error::SchemaChanged { table: "gadgets", .. })), "{again:?}");
    assert_eq!(kv.get("plinth/app/t/gadgets/schema").expect("get"), None, "no empty `gadgets` beside `widgets`");
}
