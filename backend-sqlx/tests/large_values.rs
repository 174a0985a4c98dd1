//! Oversized values on the SQL backends: a 16 MiB text and a 16 MiB byte string
//! round-trip exactly through add, get, update and a query, on SQLite and PostgreSQL.
//! PostgreSQL part needs a server, like `tests/postgres.rs`.

use plinth::{Database, Entity};
use plinth_conformance::Fixture;

mod support;

use support::{PostgresSchema, SqliteFile};

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "large_values")]
struct Large {
    label: String,
    text: String,
    bytes: Vec<u8>,
}

const SIZE: usize = 16 * 1024 * 1024;

fn large(seed: u8) -> Large {
    // Every byte value and a multi-byte character, so nothing is trimmed or re-encoded unseen.
    let text: String = "héllo, wörld ✓ 🦀 ".chars().cycle().take(SIZE / 4).collect();
    let bytes: Vec<u8> = (0..SIZE).map(|i| u8::try_from(i % 256).unwrap_or(0) ^ seed).collect();
    Large { label: format!("large {seed}"), text, bytes }
}

async fn round_trip(db: &Database) {
    db.create_all(&[Large::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let mut record = session.add(large(1)).await.expect("add 16 MiB values");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let stored = session.get::<Large>(record.id()).await.expect("get").expect("stored");
    assert!(stored.text == large(1).text && stored.bytes == large(1).bytes, "exact round trip");
    let replacement = large(2);
    record.text.clone_from(&replacement.text);
    record.bytes.clone_from(&replacement.bytes);
    session.update(&mut record).await.expect("update with 16 MiB values");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let found = session.query::<Large>().filter(|c| c.label.eq("large 1")).all().await.expect("query");
    assert_eq!(found.len(), 1);
    assert!(found[0].text == replacement.text && found[0].bytes == replacement.bytes);
}

#[tokio::test]
async fn sixteen_mebibyte_values_round_trip_on_sqlite() {
    let mut file = SqliteFile::new("plinth-large");
    round_trip(&file.open().await).await;
}

#[tokio::test]
async fn sixteen_mebibyte_values_round_trip_on_postgres() {
    let mut schema = PostgresSchema::new("plinth_large", 2);
    round_trip(&schema.open().await).await;
}
