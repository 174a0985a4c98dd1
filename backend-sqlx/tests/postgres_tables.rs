//! What PostgreSQL itself sees of Plinth's tables: typed columns, constraints, the
//! `updated_at` trigger, rows readable without Plinth, prepared statements reused,
//! and connection errors. Needs a server, like `tests/postgres.rs`:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test postgres_tables`.

use std::time::{Duration, Instant};

use plinth::{Entity, Error};
use plinth_conformance::entities::{relation_tables, Gadget, GadgetV2, Post, Sample, Tag, User};
use sqlx::{PgPool, Row};

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A pool on a schema of its own (one connection, so statement reuse can be seen),
/// and a guard that drops the schema.
async fn schema(name: &str) -> (PgPool, SchemaGuard) {
    let schema = format!("plinth_tables_{}_{name}", std::process::id());
    let admin = PgPool::connect(&server_url()).await.expect("PostgreSQL is reachable (run `cargo xtask test`)");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&admin).await.expect("drop");
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\"")).execute(&admin).await.expect("create schema");
    let options: sqlx::postgres::PgConnectOptions = server_url().parse().expect("a valid DATABASE_URL");
    let options = options.options([("search_path", schema.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(options).await.expect("connect");
    (pool, SchemaGuard { admin, schema })
}

struct SchemaGuard {
    admin: PgPool,
    schema: String,
}

impl SchemaGuard {
    async fn drop_schema(self, pool: PgPool) {
        pool.close().await;
        let sql = format!("DROP SCHEMA \"{}\" CASCADE", self.schema);
        sqlx::query(&sql).execute(&self.admin).await.expect("drop schema");
    }
}

#[tokio::test]
async fn tables_have_typed_columns_and_constraints() {
    let (pool, guard) = schema("typed").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[User::table(), Sample::table(), Tag::table()]).await.expect("create_all");
    let columns: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'samples' \
         ORDER BY ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    let typed: Vec<(&str, &str, &str)> =
        columns.iter().map(|(n, t, null, _)| (n.as_str(), t.as_str(), null.as_str())).collect();
    assert_eq!(
        &typed[..13],
        &[
            ("id", "bigint", "NO"),
            ("flag", "boolean", "NO"),
            ("small", "smallint", "NO"),
            ("medium", "integer", "NO"),
            ("big", "bigint", "NO"),
            ("single", "real", "NO"),
            ("double", "double precision", "NO"),
            ("text", "text", "NO"),
            ("day", "date", "NO"),
            ("moment", "timestamp with time zone", "NO"),
            ("doc", "jsonb", "NO"),
            ("blob", "bytea", "NO"),
            ("key", "uuid", "NO"),
        ]
    );
    assert_eq!(typed[13], ("maybe_flag", "boolean", "YES"));
    let created_at = columns.iter().find(|c| c.0 == "created_at").expect("created_at");
    assert_eq!((created_at.1.as_str(), created_at.3.as_deref()), ("timestamp with time zone", Some("now()")));
    let identity: String = sqlx::query_scalar(
        "SELECT is_identity::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'id'",
    )
    .fetch_one(&pool)
    .await
    .expect("identity");
    assert_eq!(identity, "YES");
    let constraints: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("constraints");
    // `{table}_{column}_{hash}_key`: readable, and unique per table and column.
    let named = |prefix: &str, suffix: &str, names: &[String]| {
        names
            .iter()
            .any(|n| n.starts_with(prefix) && n.ends_with(suffix) && n.len() == prefix.len() + 16 + suffix.len())
    };
    assert!(named("users_username_", "_key", &constraints), "{constraints:?}");
    assert!(named("tags_label_", "_key", &constraints), "{constraints:?}");
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()")
            .fetch_all(&pool)
            .await
            .expect("indexes");
    assert!(named("tags_weight_", "_idx", &indexes), "{indexes:?}");
    guard.drop_schema(pool).await;
}

#[tokio::test]
async fn raw_sql_updates_move_updated_at_and_rows_read_without_plinth() {
    let (pool, guard) = schema("trigger").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let ada = session.add(User::named("ada")).await.expect("add");
    session.commit().await.expect("commit");
    tokio::time::sleep(Duration::from_millis(5)).await;

    sqlx::query("UPDATE users SET email_address = 'raw@example.com' WHERE username = 'ada'")
        .execute(&pool)
        .await
        .expect("raw update");
    let row = sqlx::query("SELECT username, email_address, created_at, updated_at FROM users WHERE id = $1")
        .bind(ada.id().get())
        .fetch_one(&pool)
        .await
        .expect("plain sqlx reads the row");
    assert_eq!(row.get::<String, _>("username"), "ada");
    assert_eq!(row.get::<String, _>("email_address"), "raw@example.com");
    let created: chrono::DateTime<chrono::Utc> = row.get("created_at");
    let updated: chrono::DateTime<chrono::Utc> = row.get("updated_at");
    assert_eq!(created, ada.created_at());
    assert!(updated > ada.updated_at(), "the trigger moved updated_at: {updated} vs {}", ada.updated_at());
    guard.drop_schema(pool).await;
}

#[tokio::test]
async fn repeated_operations_reuse_one_prepared_statement() {
    let (pool, guard) = schema("prepared").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let users = session.add_all((0..5).map(|i| User::named(&format!("u{i}")))).await.expect("add_all");
    for user in &users {
        session.get::<User>(user.id()).await.expect("get");
    }
    session.commit().await.expect("commit");
    // One connection, so this sees the statements Plinth prepared on it.
    let prepared: Vec<String> = sqlx::query_scalar("SELECT statement FROM pg_prepared_statements")
        .fetch_all(&pool)
        .await
        .expect("prepared statements");
    let gets = prepared.iter().filter(|s| s.starts_with("SELECT \"id\"") && s.ends_with("WHERE \"id\" = $1")).count();
    assert_eq!(gets, 1, "five gets, one prepared statement: {prepared:#?}");
    guard.drop_schema(pool).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_connection_error_within_the_timeout() {
    let started = Instant::now();
    let result = plinth_sqlx::connect("postgres://postgres@127.0.0.1:9/test?connect_timeout=5").await;
    assert!(matches!(result, Err(Error::Connection { backend: "postgres", .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(6), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn sqlite_in_memory_works_with_one_connection() {
    let db = plinth_sqlx::connect("sqlite::memory:").await.expect("connect");
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    session.add(User::named("ada")).await.expect("add");
    session.commit().await.expect("commit");
    let count = db.session().await.expect("session").query::<User>().count().await.expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_length_limit_is_varchar_and_the_server_refuses_longer_text() {
    use plinth_conformance::entities::Handle;
    let (pool, _guard) = schema("length_limit").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[Handle::table()]).await.expect("create_all");
    let ty: String = sqlx::query_scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'handles'::regclass AND attname = 'name'")
        .fetch_one(&pool)
        .await
        .expect("the column's type");
    assert_eq!(ty, "character varying(8)");
    let fits = sqlx::query("INSERT INTO \"handles\" (\"name\") VALUES ('😀😀😀😀😀😀😀😀')").execute(&pool).await;
    assert!(fits.is_ok(), "eight characters fit, whatever their bytes: {fits:?}");
    let refused = sqlx::query("INSERT INTO \"handles\" (\"name\") VALUES ('abcdefghi')").execute(&pool).await;
    assert!(refused.is_err(), "nine characters written by hand are refused by the server");
}

#[tokio::test]
async fn an_upgraded_table_is_what_create_all_makes_and_its_trigger_still_moves_updated_at() {
    let (pool, guard) = schema("upgrade").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[Gadget::table()]).await.expect("version 1");
    let mut session = db.session().await.expect("session");
    let lamp = session.add(Gadget::new("lamp", "L-1")).await.expect("add");
    session.commit().await.expect("commit");
    db.create_all(&[GadgetV2::table()]).await.expect("version 2");

    let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, is_nullable::text, column_default::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'gadgets' AND column_name IN ('colour', 'size', 'finish') \
         ORDER BY column_name",
    )
    .fetch_all(&pool)
    .await
    .expect("the catalog");
    let expected = [("colour", "YES"), ("finish", "NO"), ("size", "NO")];
    let seen: Vec<(&str, &str)> = columns.iter().map(|(c, n, _)| (c.as_str(), n.as_str())).collect();
    assert_eq!(seen, expected, "NOT NULL where the entity says so");
    assert!(columns.iter().all(|(_, _, default)| default.is_none()), "no default is left in the table: {columns:?}");
    let refused = sqlx::query("INSERT INTO gadgets (name, code, tint, finish) VALUES ('fan', 'F-1', 'Red', 'x')")
        .execute(&pool)
        .await;
    assert!(refused.is_err(), "a row without `size` is refused, as in a table made by version 2");

    tokio::time::sleep(Duration::from_millis(5)).await;
    sqlx::query("UPDATE gadgets SET code = 'L-2'").execute(&pool).await.expect("raw update");
    let updated: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM gadgets").fetch_one(&pool).await.expect("read");
    assert!(updated > lamp.updated_at(), "the trigger is enabled again after the fill");
    guard.drop_schema(pool).await;
}

#[tokio::test]
async fn a_migration_plan_lists_the_sql_it_would_run() {
    use plinth_conformance::cases::migrations::MIGRATIONS;
    use plinth_conformance::entities::{Memo, NoteV1};
    let (pool, guard) = schema("plan").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&[NoteV1::table()]).await.expect("version 1");
    let plan = db.migration_plan(&MIGRATIONS, &[Memo::table()]).await.expect("plan");
    let text = plan.to_string();
    for expected in [
        "postgres: migration 1 `body becomes text; notes get a colour`:",
        "ALTER TABLE \"notes\" RENAME COLUMN \"body\" TO \"text\";",
        "ALTER TABLE \"notes\" ADD COLUMN \"colour\" TEXT COLLATE \"C\";",
        "ALTER TABLE \"notes\" DISABLE TRIGGER \"notes_touch_updated_at\";",
        "UPDATE \"notes\" SET \"colour\" = $1;",
        "ALTER TABLE \"notes\" ALTER COLUMN \"colour\" SET NOT NULL;",
        "run the migration's data step in a session;",
        "ALTER TABLE \"notes\" RENAME TO \"memos\";",
        "ALTER TRIGGER \"notes_touch_updated_at\" ON \"memos\" RENAME TO \"memos_touch_updated_at\";",
        "ALTER TABLE \"memos\" DROP CONSTRAINT \"memos_title_",
    ] {
        assert!(text.contains(expected), "the plan says `{expected}`:\n{text}");
    }
    guard.drop_schema(pool).await;
}

#[tokio::test]
async fn references_are_constraints_the_server_enforces_with_their_delete_rules() {
    let (pool, guard) = schema("references").await;
    let db = plinth_sqlx::from_pg_pool(pool.clone());
    db.create_all(&relation_tables()).await.expect("create_all, children given first");
    let rules: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT t.relname::text || '.' || a.attname::text, p.relname::text, c.confdeltype::text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1] \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("constraints");
    let rules: Vec<(&str, &str, &str)> = rules.iter().map(|(c, p, r)| (c.as_str(), p.as_str(), r.as_str())).collect();
    assert_eq!(
        rules,
        [
            ("badges.holder", "users", "a"),
            ("comments.by", "users", "a"),
            ("comments.post", "posts", "c"),
            ("posts.author", "users", "c"),
            ("posts.editor", "users", "n"),
            ("posttopics.post", "posts", "c"),
            ("posttopics.topic", "topics", "c"),
        ]
    );
    let mut session = db.session().await.expect("session");
    let ada = session.add(User::named("ada")).await.expect("user");
    session.add(Post::by(ada.id(), "hers")).await.expect("post");
    session.commit().await.expect("commit");
    // Raw SQL meets the same rules: a missing parent is refused, a delete cascades.
    let orphan = sqlx::query("INSERT INTO posts (author, title) VALUES (999, 'x')").execute(&pool).await;
    assert!(orphan.is_err_and(|e| e.to_string().contains("foreign key")));
    sqlx::query("DELETE FROM users").execute(&pool).await.expect("raw delete");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM posts").fetch_one(&pool).await.expect("count");
    assert_eq!(left, 0, "the server cascaded the raw delete");
    guard.drop_schema(pool).await;
}
