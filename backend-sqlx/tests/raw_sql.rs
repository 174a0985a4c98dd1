//! Raw SQL on a session's own transaction (`plinth_sqlx::raw`), on PostgreSQL (a schema
//! of its own) and SQLite (a file of its own): it sees the session's writes and the
//! session sees its own, both commit or roll back together, parameters stay values,
//! rows read as tuples or as records, and a refused statement on PostgreSQL fails the
//! commit.
//!
//! Needs a PostgreSQL server for the `postgres_*` tests: `cargo xtask test` finds or
//! starts one; by hand `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test
//! -p plinth-sqlx --test raw_sql`.

mod support;

use plinth::{Database, Entity, Error, Value};
use plinth_conformance::entities::User;
use plinth_conformance::Fixture;
use support::{PostgresSchema, SqliteFile};

/// The placeholder for parameter `n` in each database's words.
fn p(db: &Database, n: usize) -> String {
    match db.backend_name() {
        "postgres" => format!("${n}"),
        _ => format!("?{n}"),
    }
}

async fn open(fixture: &mut impl Fixture) -> Database {
    let db = fixture.open().await;
    db.create_all(&[User::table()]).await.expect("create_all");
    db
}

async fn statements_share_the_sessions_transaction(db: Database) {
    let mut session = db.session().await.expect("session");
    session.add(User::named("ada")).await.expect("add");
    let mut sql = plinth_sqlx::raw(&mut session).expect("raw SQL on a SQL session");
    let changed = sql
        .execute(
            &format!(r#"UPDATE "users" SET "email_address" = {} WHERE "username" = {}"#, p(&db, 1), p(&db, 2)),
            &[Value::from("ada@raw.example"), Value::from("ada")],
        )
        .await
        .expect("an update the session's own insert is visible to");
    assert_eq!(changed, 1);
    sql.execute(
        &format!(
            r#"INSERT INTO "users" ("username", "email_address", "created_at", "updated_at") VALUES ({}, 'b@x', {}, {})"#,
            p(&db, 1),
            p(&db, 2),
            p(&db, 2)
        ),
        &[Value::from("bob"), Value::Timestamp(plinth::backend::clock::now())],
    )
    .await
    .expect("an insert");
    let hostile = "x'); DROP TABLE \"users\"; --";
    let found: Vec<(i64,)> = sql
        .fetch(&format!(r#"SELECT count(*) FROM "users" WHERE "username" = {}"#, p(&db, 1)), &[Value::from(hostile)])
        .await
        .expect("a bound parameter is a value, never SQL");
    assert_eq!(found, [(0,)]);
    let names: Vec<(String, Option<String>)> =
        sql.fetch(r#"SELECT "username", "email_address" FROM "users" ORDER BY "username""#, &[]).await.expect("tuples");
    assert_eq!(
        names,
        [("ada".to_owned(), Some("ada@raw.example".to_owned())), ("bob".to_owned(), Some("b@x".to_owned()))]
    );
    let columns = plinth_sqlx::RawSql::columns::<User>();
    let records = sql
        .fetch_records::<User>(&format!(r#"SELECT {columns} FROM "users" ORDER BY "id" DESC"#), &[])
        .await
        .expect("records");
    assert_eq!(records.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["bob", "ada"]);
    let wrong: plinth::Result<Vec<(i64, i64)>> = sql.fetch(r#"SELECT "username", "id" FROM "users""#, &[]).await;
    assert!(matches!(wrong, Err(Error::Decode { .. })), "{wrong:?}");
    let seen = session.query::<User>().filter(|c| c.username.eq("bob")).first().await.expect("query");
    assert_eq!(seen.map(|u| u.email_address.clone()).as_deref(), Some("b@x"), "the session sees the raw insert");
    let ada = session.get::<User>(records[1].id()).await.expect("get").expect("ada");
    assert_eq!(ada.email_address, "ada@raw.example");
    session.rollback().await.expect("rollback");
    let mut after = db.session().await.expect("session");
    assert_eq!(after.query::<User>().count().await.expect("count"), 0, "both rolled back together");
}

async fn a_refused_statement_fails_the_commit_on_postgres_only(db: Database) {
    let mut session = db.session().await.expect("session");
    session.add(User::named("ada")).await.expect("add");
    let mut sql = plinth_sqlx::raw(&mut session).expect("raw SQL");
    let refused = sql.execute(r#"INSERT INTO "users" ("username") VALUES ('no email')"#, &[]).await;
    assert!(refused.is_err(), "NOT NULL holds: {refused:?}");
    let commit = session.commit().await;
    match db.backend_name() {
        // PostgreSQL aborted the transaction: the add before it cannot be committed.
        "postgres" => assert!(commit.is_err(), "{commit:?}"),
        _ => commit.expect("SQLite undoes only the failed statement"),
    }
    let mut after = db.session().await.expect("session");
    let expected = u64::from(db.backend_name() != "postgres");
    assert_eq!(after.query::<User>().count().await.expect("count"), expected);
}

#[tokio::test]
async fn postgres_raw_sql_shares_the_sessions_transaction() {
    let mut schema = PostgresSchema::new("plinth_raw", 2);
    statements_share_the_sessions_transaction(open(&mut schema).await).await;
}

#[tokio::test]
async fn sqlite_raw_sql_shares_the_sessions_transaction() {
    let mut file = SqliteFile::new("plinth-raw");
    statements_share_the_sessions_transaction(open(&mut file).await).await;
}

#[tokio::test]
async fn postgres_a_refused_raw_statement_fails_the_commit() {
    let mut schema = PostgresSchema::new("plinth_raw", 2);
    a_refused_statement_fails_the_commit_on_postgres_only(open(&mut schema).await).await;
}

#[tokio::test]
async fn sqlite_a_refused_raw_statement_undoes_only_itself() {
    let mut file = SqliteFile::new("plinth-raw");
    a_refused_statement_fails_the_commit_on_postgres_only(open(&mut file).await).await;
}

#[tokio::test]
async fn raw_sql_and_pools_are_refused_off_sql() {
    let db = plinth::memory();
    let mut session = db.session().await.expect("session");
    let refused = plinth_sqlx::raw(&mut session);
    assert!(matches!(refused, Err(Error::Unsupported { .. })), "{refused:?}");
    assert!(plinth_sqlx::pg_pool(&db).is_none() && plinth_sqlx::sqlite_pool(&db).is_none());
}

#[tokio::test]
async fn the_pool_under_a_database_is_reachable() {
    let mut file = SqliteFile::new("plinth-raw");
    let db = open(&mut file).await;
    let pool = plinth_sqlx::sqlite_pool(&db).expect("a SQLite pool");
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'users'")
        .fetch_one(&pool)
        .await
        .expect("query the pool");
    assert_eq!(tables, 1);
    let mut schema = PostgresSchema::new("plinth_raw", 2);
    let pg = open(&mut schema).await;
    let pool = plinth_sqlx::pg_pool(&pg).expect("a PostgreSQL pool");
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.expect("query the pool");
    assert_eq!(one, 1);
}
