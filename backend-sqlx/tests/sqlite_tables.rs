//! What SQLite-specific code does with rows written without Plinth: timestamps stored
//! in another text form still work as the row's version. Runs anywhere:
//! `cargo test -p plinth-sqlx --test sqlite_tables`.

use plinth::{Entity, Error};
use plinth_conformance::entities::{relation_tables, Gadget, GadgetV2, Post, Sample, Score, User};
use sqlx::Row;

mod support;

use support::SqliteFile;

/// A database file with `tables` created through Plinth, and a raw pool on it for
/// writes Plinth would not make.
async fn with_raw_pool(
    name: &str,
    tables: &[&'static plinth::Table],
) -> (SqliteFile, plinth::Database, sqlx::SqlitePool) {
    let file = SqliteFile::new(name);
    let db = plinth_sqlx::connect(&file.url()).await.expect("open");
    db.create_all(tables).await.expect("create_all");
    let raw = sqlx::SqlitePool::connect(&file.url()).await.expect("raw pool");
    (file, db, raw)
}

#[tokio::test]
async fn a_row_with_hand_written_timestamps_updates_and_a_stale_copy_of_it_is_refused() {
    let (_file, db, raw) = with_raw_pool("plinth-sqlite-tables", &[User::table()]).await;
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
    let (_file, db, raw) = with_raw_pool("plinth-sqlite-tables", &[Sample::table()]).await;
    let mut session = db.session().await.expect("session");
    let id = session.add(Sample::plain()).await.expect("add").id();
    session.commit().await.expect("commit");
    sqlx::query("UPDATE \"samples\" SET \"flag\" = 2").execute(&raw).await.expect("a boolean set to 2 by hand");
    let read = db.session().await.expect("session").get::<Sample>(id).await;
    assert!(matches!(&read, Err(Error::Decode { column: Some("flag"), found, .. }) if found.contains("2")), "{read:?}");
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
/// matches exactly the rows that hold it, and a list of their neighbours (one unit in
/// the last place off) matches none of them. (Sent as a JSON array for `json_each`,
/// SQLite's own number parsing missed 1 of 3,000 random doubles.)
#[tokio::test]
async fn long_float_lists_match_bit_for_bit() {
    const LISTED: usize = 17_000;
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
    let neighbour = |x: f64| f64::from_bits(x.to_bits() + 1);
    let neighbour_is_finite = |x: f64| neighbour(x).is_finite();
    let (mut doubles, mut seen) = (Vec::new(), std::collections::HashSet::new());
    while doubles.len() < LISTED {
        let bits = next();
        // Every fourth a subnormal or tiny number, where parsing is hardest.
        let bits = if doubles.len() % 4 == 0 { bits >> 12 } else { bits };
        let x = f64::from_bits(bits);
        // Neither it nor its neighbours taken yet, so listed and unlisted never meet.
        let fresh = [bits - 1, bits, bits + 1].iter().all(|b| !seen.contains(b));
        // Not zero (its neighbours below would be another sign), not the last finite one.
        if x.is_finite() && neighbour_is_finite(x) && bits & !(1 << 63) > 1 && fresh {
            seen.extend([bits - 1, bits, bits + 1]);
            doubles.push(x);
        }
    }
    // Distinct floats four units apart, half subnormal and half near 0.5; the unlisted
    // rows hold the ones two units up.
    let singles: Vec<f32> = (0..u32::try_from(LISTED).unwrap_or(0))
        .map(|i| f32::from_bits(if i % 2 == 0 { 0x0000_1000 } else { 0x3f00_0000 } + 4 * i))
        .collect();
    // The listed rows, and as many rows holding a neighbour of each, never listed.
    let listed: Vec<Sample> =
        doubles.iter().zip(&singles).map(|(&double, &single)| Sample { double, single, ..Sample::plain() }).collect();
    let unlisted: Vec<Sample> = doubles
        .iter()
        .zip(&singles)
        .map(|(&double, &single)| Sample {
            double: neighbour(double),
            single: f32::from_bits(single.to_bits() + 2),
            ..Sample::plain()
        })
        .collect();
    let mut session = db.session().await.expect("session");
    let stored = session.add_all(listed).await.expect("add_all");
    session.add_all(unlisted).await.expect("add_all");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let found = session.query::<Sample>().filter(|c| c.double.is_in(doubles.clone())).all().await.expect("query");
    assert_eq!(found.iter().map(|r| r.id()).collect::<Vec<_>>(), stored.iter().map(|r| r.id()).collect::<Vec<_>>());
    let found = session.query::<Sample>().filter(|c| c.single.is_in(singles.clone())).count().await.expect("count");
    assert_eq!(found, LISTED as u64, "exactly the listed floats");
    let neighbours: Vec<f64> = doubles.iter().map(|&x| neighbour(x)).collect();
    let found = session.query::<Sample>().filter(|c| c.double.is_in(neighbours.clone())).all().await.expect("query");
    assert!(found.iter().all(|r| r.id() > stored[LISTED - 1].id()), "a listed double matched a neighbour");
    assert_eq!(found.len(), LISTED, "every neighbour matched its own row");
}

#[tokio::test]
async fn a_length_limit_is_a_check_that_refuses_longer_text_written_by_hand() {
    use plinth_conformance::entities::Handle;
    let (_file, _db, raw) = with_raw_pool("plinth-sqlite-length-limit", &[Handle::table()]).await;
    let fits = sqlx::query("INSERT INTO \"handles\" (\"name\") VALUES ('éééééééé')").execute(&raw).await;
    assert!(fits.is_ok(), "eight characters fit, whatever their bytes: {fits:?}");
    let refused = sqlx::query("INSERT INTO \"handles\" (\"name\") VALUES ('abcdefghi')").execute(&raw).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("CHECK")), "nine characters are refused by the CHECK");
    let short_code =
        sqlx::query("INSERT INTO \"handles\" (\"name\", \"code\") VALUES ('x', 'abcd')").execute(&raw).await;
    assert!(short_code.is_err(), "the optional column's limit holds too");
}

/// SQLite cannot make a column `NOT NULL` after the fact: an upgrade adds one with a
/// placeholder default of its type, then gives every row its value. The table then
/// refuses `NULL` there and keeps ids, indexes and the id sequence, but a raw `INSERT`
/// that leaves the column out gets the placeholder (a table made by `create_all` would
/// refuse it).
#[tokio::test]
async fn a_table_upgraded_on_sqlite_keeps_its_ids_constraints_and_indexes() {
    let (_file, db, raw) = with_raw_pool("plinth-sqlite-upgrade", &[Gadget::table()]).await;
    let mut session = db.session().await.expect("session");
    let rows = session.add_all([Gadget::new("lamp", "L-1"), Gadget::new("fan", "F-1")]).await.expect("add_all");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    session.delete_by_id::<Gadget>(rows[1].id()).await.expect("delete the last row");
    session.commit().await.expect("commit");
    db.create_all(&[GadgetV2::table()]).await.expect("version 2 upgrades the table");

    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gadgets'")
        .fetch_one(&raw)
        .await
        .expect("the table's SQL");
    assert!(sql.contains("\"size\" INTEGER NOT NULL DEFAULT 0") && sql.contains("STRICT"), "{sql}");
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_index_list('gadgets') WHERE origin = 'c' ORDER BY name")
            .fetch_all(&raw)
            .await
            .expect("indexes");
    assert!(indexes.iter().any(|i| i.starts_with("gadgets_size_") && i.ends_with("_idx")), "{indexes:?}");
    assert!(indexes.iter().any(|i| i.starts_with("gadgets_code_") && i.ends_with("_key")), "{indexes:?}");
    let refused =
        sqlx::query("INSERT INTO gadgets (name, code, size, tint, finish) VALUES ('saw', 'S-1', NULL, 'Red', 'x')")
            .execute(&raw)
            .await;
    assert!(refused.is_err(), "`size` is NOT NULL");
    let old_rows: Vec<i64> = sqlx::query_scalar("SELECT size FROM gadgets").fetch_all(&raw).await.expect("sizes");
    assert_eq!(old_rows, [3], "the stored row holds the default, not the placeholder");

    let mut session = db.session().await.expect("session");
    let next = session.add(GadgetV2 {
        colour: None,
        name: "saw".into(),
        code: "S-1".into(),
        size: 1,
        tint: plinth_conformance::entities::Colour::Red,
        finish: "x".into(),
    });
    let next = next.await.expect("add after the upgrade");
    assert_eq!(next.id().get(), rows[1].id().get() + 1, "the id sequence was carried over: no id is handed out twice");
}

#[tokio::test]
async fn a_migration_plan_lists_the_sql_it_would_run() {
    use plinth_conformance::cases::migrations::MIGRATIONS;
    use plinth_conformance::entities::{Memo, NoteV1};
    let (_file, db, _raw) = with_raw_pool("plinth-sqlite-plan", &[NoteV1::table()]).await;
    let plan = db.migration_plan(&MIGRATIONS, &[Memo::table()]).await.expect("plan");
    let text = plan.to_string();
    for expected in [
        "sqlite: migration 1 `body becomes text; notes get a colour`:",
        "ALTER TABLE \"notes\" RENAME COLUMN \"body\" TO \"text\";",
        "ALTER TABLE \"notes\" ADD COLUMN \"colour\" TEXT NOT NULL DEFAULT '';",
        "UPDATE \"notes\" SET \"colour\" = ?1;",
        "-- for each row: SELECT \"id\", \"stars\" FROM \"notes\"",
        "ALTER TABLE \"notes\" DROP COLUMN \"stars\";",
        "run the migration's data step in a session;",
        "ALTER TABLE \"notes\" RENAME TO \"memos\";",
        "DROP INDEX \"notes_title_",
    ] {
        assert!(text.contains(expected), "the plan says `{expected}`:\n{text}");
    }
    let count = db.session().await.expect("session").query::<NoteV1>().count().await.expect("nothing ran");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn references_are_foreign_keys_every_connection_enforces() {
    let (_file, db, raw) = with_raw_pool("plinth-sqlite-references", &relation_tables()).await;
    let rules: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name || '.' || f.\"from\", f.\"table\", f.on_delete \
         FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' ORDER BY 1",
    )
    .fetch_all(&raw)
    .await
    .expect("foreign keys");
    let rules: Vec<(&str, &str, &str)> = rules.iter().map(|(c, p, r)| (c.as_str(), p.as_str(), r.as_str())).collect();
    assert_eq!(
        rules,
        [
            ("badges.holder", "users", "NO ACTION"),
            ("comments.by", "users", "NO ACTION"),
            ("comments.post", "posts", "CASCADE"),
            ("posts.author", "users", "CASCADE"),
            ("posts.editor", "users", "SET NULL"),
            ("posttopics.post", "posts", "CASCADE"),
            ("posttopics.topic", "topics", "CASCADE"),
        ]
    );
    let mut session = db.session().await.expect("session");
    let ada = session.add(User::named("ada")).await.expect("user");
    session.add(Post::by(ada.id(), "hers")).await.expect("post");
    session.commit().await.expect("commit");
    // sqlx's SQLite connections switch foreign keys on: a raw write meets the rules too.
    let orphan = sqlx::query("INSERT INTO posts (author, title) VALUES (999, 'x')").execute(&raw).await;
    assert!(orphan.is_err_and(|e| e.to_string().contains("FOREIGN KEY")));
    sqlx::query("DELETE FROM users").execute(&raw).await.expect("raw delete");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM posts").fetch_one(&raw).await.expect("count");
    assert_eq!(left, 0, "SQLite cascaded the raw delete");
}

#[tokio::test]
async fn a_foreign_key_to_another_column_than_id_is_no_reference() {
    let (file, db, raw) = with_raw_pool("plinth-sqlite-other-key", &[Score::table()]).await;
    // Made by hand, shaped as Plinth makes tables, but `points` refers to the scores'
    // unique `points`, not to their id.
    let now = "DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))";
    sqlx::query(&format!(
        "CREATE TABLE \"bypoints\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \
         \"points\" INTEGER NOT NULL REFERENCES \"scores\" (\"points\") ON DELETE CASCADE, \
         \"created_at\" TEXT NOT NULL {now}, \"updated_at\" TEXT NOT NULL {now}) STRICT; \
         CREATE INDEX \"bypoints_points\" ON \"bypoints\" (\"points\")"
    ))
    .execute(&raw)
    .await
    .expect("a table by hand");
    let mut session = db.session().await.expect("session");
    let scores = session
        .add_all(vec![Score { points: 2, plinth_converting: None }, Score { points: 1, plinth_converting: None }])
        .await
        .expect("scores");
    session.commit().await.expect("commit");
    // Refers to the score whose points are 1: the second, whose id is 2.
    sqlx::query("INSERT INTO \"bypoints\" (\"points\") VALUES (1)").execute(&raw).await.expect("a row by hand");
    let reopened = plinth_sqlx::connect(&file.url()).await.expect("reopen");
    let mut session = reopened.session().await.expect("session");
    session.delete(scores[0].clone()).await.expect("delete the score with id 1 (points 2)");
    session.commit().await.expect("commit");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM \"bypoints\"").fetch_one(&raw).await.expect("count");
    assert_eq!(left, 1, "the row refers to the other score; nothing refers to id 1");
}
