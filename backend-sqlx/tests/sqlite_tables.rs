//! What SQLite-specific code does with rows written without Plinth: timestamps stored
//! in another text form still work as the row's version. Runs anywhere:
//! `cargo test -p plinth-sqlx --test sqlite_tables`.

use plinth::{Entity, Error};
use plinth_conformance::entities::{Sample, User};
use sqlx::Row;

mod support;

use support::SqliteFile;

#[tokio::test]
async fn a_row_with_hand_written_timestamps_updates_and_a_stale_copy_of_it_is_refused() {
    let file = SqliteFile::new("plinth-sqlite-tables");
    let db = plinth_sqlx::connect(&file.url()).await.expect("open");
    db.create_all(&[User::table()]).await.expect("create_all");
    let raw = sqlx::SqlitePool::connect(&file.url()).await.expect("raw pool");
    sqlx::query(
        "INSERT INTO \"users\" (\"username\", \"email_address\", \"created_at\", \"updated_at\") \
         VALUES ('ada', 'ada@example.com', '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    )
    .execute(&raw)
    .await
    .expect("a row written by hand");

    let mut session = db.session().await.expect("session");
    let mut ada = session.get::<User>(1).await.expect("get").expect("the hand-written row reads");
    let stale = ada.clone();
    ada.email_address = "new@example.com".into();
    session.update(&mut ada).await.expect("the same instant in another text form is the same version");
    assert!(ada.updated_at() > stale.updated_at());
    let mut stale = stale;
    stale.email_address = "stale@example.com".into();
    let refused = session.update(&mut stale).await;
    assert!(matches!(refused, Err(Error::Conflict { .. })), "{refused:?}");
    session.commit().await.expect("commit");

    let stored = sqlx::query("SELECT \"email_address\", \"updated_at\" FROM \"users\" WHERE \"id\" = 1")
        .fetch_one(&raw)
        .await
        .expect("read back");
    assert_eq!(stored.get::<String, _>(0), "new@example.com");
    assert!(stored.get::<String, _>(1).ends_with('Z'), "written back in Plinth's own form");
    raw.close().await;
}

#[tokio::test]
async fn a_boolean_column_holding_another_integer_is_a_decode_error() {
    let file = SqliteFile::new("plinth-sqlite-tables");
    let db = plinth_sqlx::connect(&file.url()).await.expect("open");
    db.create_all(&[Sample::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let id = session.add(Sample::plain()).await.expect("add").id();
    session.commit().await.expect("commit");
    let raw = sqlx::SqlitePool::connect(&file.url()).await.expect("raw pool");
    sqlx::query("UPDATE \"samples\" SET \"flag\" = 2").execute(&raw).await.expect("a boolean set to 2 by hand");
    let read = db.session().await.expect("session").get::<Sample>(id).await;
    assert!(
        matches!(&read, Err(Error::Decode { column, found, .. }) if column == "flag" && found.contains("2")),
        "{read:?}"
    );
    raw.close().await;
}

#[tokio::test]
async fn two_open_sessions_on_an_in_memory_database_both_read() {
    // `sqlite::memory:` is a pool of one connection (each connection would be another
    // database): a session must not keep it between reads.
    let db = plinth_sqlx::connect("sqlite::memory:").await.expect("open");
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut first = db.session().await.expect("session");
    let mut second = db.session().await.expect("session");
    assert!(first.get::<User>(1).await.expect("first reads").is_none());
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), second.get::<User>(1)).await;
    assert!(matches!(read, Ok(Ok(None))), "the second session read at once: {read:?}");
    first.query::<User>().count().await.expect("the first reads again");
}

/// A list too long for one statement's parameters reaches SQLite through a temporary
/// table, still as bound values: every finite double and float, subnormals included,
/// matches exactly the row that holds it, and nothing else. (Sent as a JSON array for
/// `json_each`, SQLite's own number parsing missed 1 of 3,000 random doubles.)
#[tokio::test]
async fn float_lists_sent_as_json_match_bit_for_bit() {
    let file = SqliteFile::new("plinth-float-lists");
    let db = plinth_sqlx::connect(&file.url()).await.expect("open");
    db.create_all(&[Sample::table()]).await.expect("create_all");
    // xorshift64*: a fixed sequence of bit patterns across every exponent.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut doubles, mut seen) = (Vec::new(), std::collections::HashSet::new());
    while doubles.len() < 20_000 {
        let bits = next();
        // Every fourth a subnormal or tiny number, where parsing is hardest.
        let bits = if doubles.len() % 4 == 0 { bits >> 12 } else { bits };
        let x = f64::from_bits(bits);
        if x.is_finite() && x != 0.0 && seen.insert(bits) {
            doubles.push(x);
        }
    }
    let samples: Vec<Sample> = doubles
        .iter()
        .enumerate()
        .map(|(i, &double)| {
            #[allow(clippy::cast_possible_truncation)]
            let single = f32::from_bits(u32::try_from(next() >> 32).unwrap_or(1) | u32::from(i % 2 == 0));
            let single = if single.is_finite() { single } else { 1.5 };
            Sample { double, single, ..Sample::plain() }
        })
        .collect();
    let mut session = db.session().await.expect("session");
    let stored = session.add_all(samples.clone()).await.expect("add_all");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let all = session.query::<Sample>().filter(|c| c.double.is_in(doubles.clone())).count().await.expect("count");
    assert_eq!(all, 20_000, "every double in the list matches its row");
    let singles: Vec<f32> = samples.iter().map(|s| s.single).collect();
    let all = session.query::<Sample>().filter(|c| c.single.is_in(singles.clone())).count().await.expect("count");
    assert_eq!(all, 20_000, "every float in the list matches its row");
    for (record, double) in stored.iter().zip(&doubles).step_by(997) {
        let neighbours = [f64::from_bits(double.to_bits() + 1), f64::from_bits(double.to_bits() - 1)];
        let found = session.query::<Sample>().filter(|c| c.double.is_in(neighbours)).all().await.expect("query");
        assert!(found.iter().all(|r| r.id() != record.id()), "{double:e}: a neighbouring double matched its row");
        let found = session.query::<Sample>().filter(|c| c.double.is_in([*double; 20])).all().await.expect("query");
        assert_eq!(found.iter().map(|r| r.id()).collect::<Vec<_>>(), [record.id()], "{double:e}");
    }
}
