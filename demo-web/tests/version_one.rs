//! Version 1 of the demo's browser data, as the end-to-end test seeds it into
//! localStorage, sessionStorage and IndexedDB (`e2e/version-1.json`): the keys a
//! version-1 page wrote under `plinth/plinth-demo/`. Checked here to be exactly what
//! Plinth writes for the version-1 model, and to open — upgraded, every note yellow and
//! without an author — in today's demo. `PLINTH_WRITE_FIXTURE=1 cargo test -p plinth-demo --test version_one`
//! writes it anew.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::PathBuf;

use plinth::engine::EngineBackend;
use plinth::{Database, Entity};
use plinth_browser::{KeyValue, MemoryKeyValue, WebStorageStore};
use plinth_demo::model::version_one::{sample_notes, Note as NoteV1};
use plinth_demo::model::User;
use plinth_demo::service::{self, Kind, Sort};

const PREFIX: &str = "plinth/plinth-demo/";

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e").join("version-1.json")
}

fn database(kv: &MemoryKeyValue) -> Database {
    Database::new(EngineBackend::new(WebStorageStore::open(kv.clone(), "plinth-demo").expect("open")))
}

fn dump(kv: &MemoryKeyValue) -> BTreeMap<String, String> {
    let keys = kv.keys_with_prefix(PREFIX).expect("keys");
    keys.into_iter().map(|k| (k.clone(), kv.get(&k).expect("get").expect("present"))).collect()
}

/// What a version-1 page stored: its tables, and the sample notes.
async fn written_by_version_one() -> BTreeMap<String, String> {
    let kv = MemoryKeyValue::new();
    let db = database(&kv);
    db.create_all(&[User::table(), NoteV1::table()]).await.expect("version 1's tables");
    let mut session = db.session().await.expect("session");
    session.add_all(sample_notes()).await.expect("notes");
    session.commit().await.expect("commit");
    // The schema generation is left out: the Plinth that version 1 of the demo ran on
    // did not write one yet, so the fixture is as such a page left its storage.
    let mut written = dump(&kv);
    written.remove(&format!("{PREFIX}schemas"));
    written
}

fn fixture() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixture_path()).expect("e2e/version-1.json");
    serde_json::from_str(&text).expect("a JSON object of keys and values")
}

#[tokio::test]
async fn the_fixture_is_what_version_one_wrote() {
    let written = written_by_version_one().await;
    if std::env::var_os("PLINTH_WRITE_FIXTURE").is_some() {
        let text = serde_json::to_string_pretty(&written).expect("JSON");
        std::fs::write(fixture_path(), text + "\n").expect("write the fixture");
    }
    let fixture = fixture();
    let keys = |map: &BTreeMap<String, String>| map.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&fixture), keys(&written), "the same keys");
    // Rows hold the moment they were written; but for it, everything is exactly alike.
    let timeless = |text: &str| {
        let mut row: serde_json::Value = serde_json::from_str(text).expect("JSON");
        if let Some(row) = row.as_object_mut().filter(|_| text.starts_with("{\"id\"")) {
            row.remove("created_at");
            row.remove("updated_at");
        }
        row
    };
    for (key, value) in &fixture {
        assert_eq!(Some(timeless(value)), written.get(key).map(|w| timeless(w)), "{key}");
    }
}

#[tokio::test]
async fn version_one_data_opens_upgraded_in_todays_demo() {
    let kv = MemoryKeyValue::new();
    for (key, value) in fixture() {
        kv.set(&key, &value).expect("seed");
    }
    let db = database(&kv);
    service::create_tables(&db).await.expect("today's demo opens it");
    let notes = service::list(&db, Kind::Notes, "", Sort::Oldest, None).await.expect("notes");
    let seen: Vec<(&str, &str)> =
        notes.iter().map(|n| (n["title"].as_str().unwrap_or(""), n["colour"].as_str().unwrap_or(""))).collect();
    assert_eq!(seen, [("Old note one", "yellow"), ("Old note two", "yellow")]);
    assert!(notes.iter().all(|n| n["author"].is_null() && n["author_username"].is_null()), "old notes have no author");
    let created = service::create(&db, Kind::Notes, r#"{"title":"New","colour":"blue"}"#).await.expect("a new note");
    assert_eq!(created["colour"], "blue");
    assert!(created["id"].as_i64() > notes[1]["id"].as_i64());
}
