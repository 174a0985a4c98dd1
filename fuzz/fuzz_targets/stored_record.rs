//! Stored data edited by hand (or by another program, or half-written) never panics the
//! browser record engine: arbitrary text is written over one key of the web-storage
//! layout — a row, a row beyond the id sequence, the sequence, a unique index entry, the
//! journal or a table's schema — and the database is then opened, read and written
//! through the public API. Every call is `Ok` or a typed error; a corrupt record is
//! `Error::Decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plinth::engine::EngineBackend;
use plinth::{Database, Entity, Error, Filter, Order, Result};
use plinth_browser::{KeyValue, MemoryKeyValue, WebStorageStore};
use plinth_fuzz::{ready, Thing};

fn open(kv: &MemoryKeyValue) -> Result<Database> {
    Ok(Database::new(EngineBackend::new(WebStorageStore::open(kv.clone(), "app")?)))
}

/// `ann` (id 1) and `bob` (id 2), committed.
fn two_things() -> MemoryKeyValue {
    let kv = MemoryKeyValue::new();
    let setup = async {
        let db = open(&kv)?;
        db.create_all(&[Thing::table()]).await?;
        let mut session = db.session().await?;
        session.add_all([Thing::named("ann"), Thing::named("bob")]).await?;
        session.commit().await
    };
    if let Err(e) = ready(setup) {
        panic!("setting up the store failed: {e}");
    }
    kv
}

/// Reads may fail only as `Decode` (a record), `CorruptStorage` (the journal), or
/// `SchemaMismatch` when the schema was edited.
fn check_read<T>(what: &str, result: Result<T>, schema_edited: bool) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(Error::Decode { .. } | Error::CorruptStorage { .. }) => None,
        Err(Error::SchemaMismatch { .. }) if schema_edited => None,
        Err(other) => panic!("{what}: not a Decode error but {other:?}"),
    }
}

/// Writes may also meet a unique value or a row changed under them, or refuse a value
/// read back from an edited record that cannot be stored (a year 0 date, text with NUL).
fn check_write(what: &str, result: Result<()>, schema_edited: bool) {
    match result {
        Ok(())
        | Err(Error::Decode { .. })
        | Err(Error::CorruptStorage { .. })
        | Err(Error::UniqueViolation { .. })
        | Err(Error::Conflict { .. })
        | Err(Error::InvalidValue { .. }) => {}
        Err(Error::SchemaMismatch { .. }) if schema_edited => {}
        Err(other) => panic!("{what}: not a typed error but {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(text);
    let key = match which % 6 {
        0 => "plinth/app/t/things/r/1",
        1 => "plinth/app/t/things/r/3",
        2 => "plinth/app/t/things/seq",
        3 => "plinth/app/t/things/u/name/\"ann\"",
        4 => "plinth/app/journal",
        _ => "plinth/app/t/things/schema",
    };
    let schema_edited = which % 6 == 5;
    let kv = two_things();
    if let Err(e) = kv.set(key, &text) {
        panic!("writing the key failed: {e}");
    }

    let Some(db) = check_read("open", open(&kv), schema_edited) else { return };
    ready(async {
        if check_read("create_all", db.create_all(&[Thing::table()]).await, schema_edited).is_none() {
            return;
        }
        let Some(mut session) = check_read("session", db.session().await, schema_edited) else { return };
        for id in [1, 2, 3] {
            if let Some(Some(found)) = check_read("get", session.get::<Thing>(id).await, schema_edited) {
                assert_eq!(found.id(), id, "get({id}) returned another row");
            }
        }
        let all = check_read("all", session.query::<Thing>().all().await, schema_edited);
        let count = check_read("count", session.query::<Thing>().count().await, schema_edited);
        if let (Some(all), Some(count)) = (&all, count) {
            assert_eq!(all.len() as u64, count, "count disagrees with all");
        }
        let by_name = session.query::<Thing>().filter(|c| c.name.eq("ann")).all().await;
        check_read("filter on the unique column", by_name, schema_edited);
        let ordered = session
            .query::<Thing>()
            .filter_by(Filter::column("rank").ge(0).or(Filter::column("note").is_null()))
            .then_order(Order::desc("moment"))
            .then_order(Order::asc("day"))
            .first()
            .await;
        check_read("ordered filter", ordered, schema_edited);

        let added = session.add(Thing::named("cat")).await.map(drop);
        check_write("add", added, schema_edited);
        if let Some(Some(mut first)) = check_read("get", session.get::<Thing>(1).await, schema_edited) {
            first.rank = first.rank.wrapping_add(1);
            check_write("update", session.update(&mut first).await, schema_edited);
        }
        check_write("delete", session.delete_by_id::<Thing>(2).await, schema_edited);
        check_write("commit", session.commit().await, schema_edited);
    });
});
