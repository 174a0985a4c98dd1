//! `create_all` as several app replicas run it: eight processes at once on a fresh
//! database, and upgrading a table, on PostgreSQL and on one SQLite file; and the names of constraints and
//! indexes, which a schema (PostgreSQL) or a database (SQLite) shares between tables.
//!
//! Needs PostgreSQL like `tests/postgres.rs`: `cargo test -p plinth-sqlx --test create_all`.

use plinth::{Database, Entity, Error, Table};
use plinth_conformance::entities::{all_tables, Gadget, GadgetV2, User};
use plinth_conformance::Fixture;

mod support;

use support::{PostgresSchema, SqliteFile};

/// How many replicas start at once.
const REPLICAS: usize = 8;

/// `REPLICAS` databases on `url`, each its own pool (as separate processes would have),
/// all calling `create_all(tables)` at the same moment; every one must succeed.
async fn create_all_at_once(url: &str, tables: &[&'static Table]) -> Vec<Database> {
    let mut databases = Vec::new();
    for _ in 0..REPLICAS {
        databases.push(plinth_sqlx::connect(url).await.expect("connect"));
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(REPLICAS));
    let tasks: Vec<_> = databases
        .iter()
        .cloned()
        .map(|db: Database| {
            let start = std::sync::Arc::clone(&start);
            let tables = tables.to_vec();
            tokio::spawn(async move {
                start.wait().await;
                db.create_all(&tables).await
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(err) = task.await.expect("the task ran") {
            failures.push(err.to_string());
        }
    }
    assert!(failures.is_empty(), "{} of {REPLICAS} replicas failed: {failures:#?}", failures.len());
    databases
}

/// Replicas creating every table of a fresh database at once: the tables then work.
async fn replicas_create_all_at_once(url: &str) {
    let databases = create_all_at_once(url, &all_tables()).await;
    for (i, db) in databases.iter().enumerate() {
        let mut session = db.session().await.expect("session");
        session.add(User::named(&format!("replica{i}"))).await.expect("add");
        session.commit().await.expect("commit");
    }
    let count = databases[0].session().await.expect("session").query::<User>().count().await.expect("count");
    assert_eq!(count, REPLICAS as u64);
}

/// Replicas of the app's second version upgrading the first version's table at once:
/// each change is made once, and every row reads back upgraded.
async fn replicas_upgrade_at_once(url: &str) {
    let first = plinth_sqlx::connect(url).await.expect("connect");
    first.create_all(&[Gadget::table()]).await.expect("version 1");
    let mut session = first.session().await.expect("session");
    session.add_all((0..50).map(|i| Gadget::new(&format!("g{i}"), &format!("c{i}")))).await.expect("add_all");
    session.commit().await.expect("commit");
    let databases = create_all_at_once(url, &[GadgetV2::table()]).await;
    let mut session = databases[REPLICAS - 1].session().await.expect("session");
    let rows = session.query::<GadgetV2>().all().await.expect("version 2 reads every row");
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|g| g.size == 3 && g.colour.is_none()), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_running_create_all_at_once_on_postgres_all_succeed() {
    for _ in 0..3 {
        let mut schema = PostgresSchema::new("plinth_replicas", 2);
        drop(schema.open().await);
        replicas_create_all_at_once(&schema.url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_running_create_all_at_once_on_one_sqlite_file_all_succeed() {
    for _ in 0..3 {
        let file = SqliteFile::new("plinth-replicas");
        replicas_create_all_at_once(&file.url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_upgrading_a_table_at_once_on_postgres_all_succeed() {
    let mut schema = PostgresSchema::new("plinth_upgrades", 2);
    drop(schema.open().await);
    replicas_upgrade_at_once(&schema.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_upgrading_a_table_at_once_on_one_sqlite_file_all_succeed() {
    let file = SqliteFile::new("plinth-upgrades");
    replicas_upgrade_at_once(&file.url()).await;
}

/// `order` with `item_code` and `order_item` with `code`: `{table}_{column}` is the same
/// text for both.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "order")]
struct Order {
    #[entity(unique)]
    item_code: String,
    #[entity(index)]
    item_note: String,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "order_item")]
struct OrderItem {
    #[entity(unique)]
    code: String,
    #[entity(index)]
    note: String,
}

/// `{table}_{column}` past PostgreSQL's 63 bytes, alike in its first 63.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "a_table_whose_name_is_long_enough_to_fill_the_limit")]
struct LongNames {
    #[entity(unique)]
    a_column_whose_name_is_also_rather_long_number_one: String,
    #[entity(unique)]
    a_column_whose_name_is_also_rather_long_number_two: String,
    #[entity(index)]
    a_column_whose_name_is_also_rather_long_number_three: i64,
}

fn long(one: &str, two: &str) -> LongNames {
    LongNames {
        a_column_whose_name_is_also_rather_long_number_one: one.into(),
        a_column_whose_name_is_also_rather_long_number_two: two.into(),
        a_column_whose_name_is_also_rather_long_number_three: 1,
    }
}

/// Both tables get their constraints and indexes (no `create_all` fails, none is
/// skipped), and each violation names its own column, however long the names.
async fn names_never_collide(db: &Database, indexes: impl std::future::Future<Output = Vec<String>>) {
    db.create_all(&[Order::table(), OrderItem::table(), LongNames::table()]).await.expect("create_all");
    db.create_all(&[OrderItem::table(), Order::table(), LongNames::table()]).await.expect("create_all again");
    let mut session = db.session().await.expect("session");
    session.add(Order { item_code: "x".into(), item_note: "n".into() }).await.expect("add");
    session.add(OrderItem { code: "x".into(), note: "n".into() }).await.expect("the same value in the other table");
    session.add(long("a", "b")).await.expect("add");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    let violated = |result: plinth::Result<()>| match result {
        Err(Error::UniqueViolation { table, column }) => (table, column),
        other => panic!("expected a unique violation, got {other:?}"),
    };
    let order = session.add(Order { item_code: "x".into(), item_note: "m".into() }).await.map(drop);
    assert_eq!(violated(order), ("order", Some("item_code")));
    let item = session.add(OrderItem { code: "x".into(), note: "m".into() }).await.map(drop);
    assert_eq!(violated(item), ("order_item", Some("code")));
    let one = session.add(long("a", "c")).await.map(drop);
    assert_eq!(violated(one).1, Some("a_column_whose_name_is_also_rather_long_number_one"));
    let two = session.add(long("c", "b")).await.map(drop);
    assert_eq!(violated(two).1, Some("a_column_whose_name_is_also_rather_long_number_two"));
    let indexed = indexes.await;
    for column in ["item_code", "item_note", "code", "note", "a_column_whose_name_is_also_rather_long_number_three"] {
        assert!(indexed.iter().any(|c| c == column), "no index on `{column}`: {indexed:?}");
    }
}

#[tokio::test]
async fn constraint_and_index_names_never_collide_on_postgres() {
    let mut schema = PostgresSchema::new("plinth_names", 2);
    let db = schema.open().await;
    let pool = sqlx::PgPool::connect(&schema.url()).await.expect("pool");
    let indexes = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
         WHERE n.nspname = current_schema() AND NOT i.indisprimary",
    )
    .fetch_all(&pool);
    names_never_collide(&db, async { indexes.await.expect("indexes") }).await;
}

#[tokio::test]
async fn constraint_and_index_names_never_collide_on_sqlite() {
    let mut file = SqliteFile::new("plinth-names");
    let db = file.open().await;
    let pool = sqlx::SqlitePool::connect(&file.url()).await.expect("pool");
    let indexes = sqlx::query_scalar(
        "SELECT info.name FROM sqlite_schema AS s, pragma_index_list(s.name) AS list, \
         pragma_index_info(list.name) AS info WHERE s.type = 'table'",
    )
    .fetch_all(&pool);
    names_never_collide(&db, async { indexes.await.expect("indexes") }).await;
}
