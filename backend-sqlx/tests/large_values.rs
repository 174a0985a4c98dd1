//! Oversized values on the SQL backends: a 16 MiB text and a 16 MiB byte string
//! round-trip exactly through add, get, update and a query, on SQLite and PostgreSQL.
//! PostgreSQL part needs a server, like `tests/postgres.rs`.

use plinth::{Database, Entity};

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
    let path = std::env::temp_dir().join(format!("plinth-large-{}.sqlite", std::process::id()));
    let db = plinth_sqlx::connect(&format!("sqlite://{}", path.display())).await.expect("open");
    round_trip(&db).await;
    drop(db);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[tokio::test]
async fn sixteen_mebibyte_values_round_trip_on_postgres() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("plinth_large_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL is reachable (run `cargo xtask test`)");
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\"")).execute(&admin).await.expect("create schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    let db =
        plinth_sqlx::connect(&format!("{url}{separator}options=-c%20search_path%3D{schema}")).await.expect("connect");
    round_trip(&db).await;
    drop(db);
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&admin).await.expect("drop schema");
}
