//! SQL injection: classic attack strings go through every filter kind and every write on
//! SQLite and PostgreSQL, into tables and columns named with SQL keywords and quotes.
//! After each step the database is compared with a full snapshot taken by raw SQL (every
//! row of every table, and the catalog: tables, indexes, triggers): a read changes
//! nothing, a write changes exactly the row it meant to, and every value reads back
//! exactly as written.
//!
//! Needs PostgreSQL (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`),
//! used in a schema of its own that is dropped afterwards:
//! `cargo test -p plinth-sqlx --test injection`.

use std::collections::BTreeMap;
use std::fmt::Debug;

use plinth::{like_escape, Database, Entity, Error, Filter, Order};
use plinth_conformance::entities::{Keyword, User};
use plinth_conformance::Fixture;
use sqlx::Row as _;

mod support;

use support::{PostgresSchema, SqliteFile};

/// Strings that break SQL built by pasting text, one per classic trick.
const ATTACKS: [&str; 24] = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "' OR 1=1 --",
    "admin'--",
    "\\'; DROP TABLE \"order\"; --",
    "\\",
    "\\\\",
    "\"",
    "\"; DROP TABLE users; --",
    "$1",
    "$1::text; DELETE FROM users",
    "?",
    "?1",
    "%",
    "_",
    "%' OR '%'='",
    "/* comment */",
    "*/ DROP TABLE users /*",
    "’ OR ‘1’=‘1",
    "ʼ; DROP TABLE users; --",
    "$$; DROP TABLE users; $$",
    "E'\\x27'",
    "1); DELETE FROM users WHERE (1=1",
    "\u{feff}' UNION SELECT * FROM users --",
];

/// A table whose name is itself an attack, with keyword columns, a unique constraint and
/// an index, and bytes and JSON that carry attack text too.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "we\"ird'; DROP TABLE users; --")]
struct Quoted {
    r#select: String,
    r#from: Option<String>,
    #[entity(unique)]
    r#table: String,
    #[entity(index)]
    r#limit: i32,
    r#group: Vec<u8>,
    r#having: serde_json::Value,
}

impl Quoted {
    fn carrying(text: &str) -> Self {
        Quoted {
            r#select: text.to_owned(),
            r#from: Some(text.to_owned()),
            r#table: text.to_owned(),
            r#limit: 7,
            r#group: [text.as_bytes(), b"\0'\0"].concat(),
            r#having: serde_json::Value::Object(
                [(text.to_owned(), serde_json::json!([text, "'"]))].into_iter().collect(),
            ),
        }
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every row of every table as text, plus the catalog, read by raw SQL.
type Snapshot = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::new();
        match self {
            Raw::Sqlite(pool) => {
                let catalog: Vec<(String, String, Option<String>)> =
                    sqlx::query_as("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
                        .fetch_all(pool)
                        .await
                        .expect("catalog");
                let tables: Vec<String> =
                    catalog.iter().filter(|(kind, _, _)| kind == "table").map(|(_, name, _)| name.clone()).collect();
                snapshot.insert("(catalog)".into(), catalog.iter().map(|c| format!("{c:?}")).collect());
                // The id counters: they move on every insert, by design (ids are never reused).
                for table in tables.iter().filter(|t| *t != "sqlite_sequence") {
                    let columns: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                            .bind(table)
                            .fetch_all(pool)
                            .await
                            .expect("columns");
                    let row =
                        columns.iter().map(|c| format!("quote({})", quote(c))).collect::<Vec<_>>().join(" || ',' || ");
                    let mut rows: Vec<String> = sqlx::query_scalar(&format!("SELECT {row} FROM {}", quote(table)))
                        .fetch_all(pool)
                        .await
                        .expect("rows");
                    rows.sort();
                    snapshot.insert(table.clone(), rows);
                }
            }
            Raw::Postgres(pool) => {
                let catalog: Vec<String> = sqlx::query_scalar(
                    "SELECT 'table ' || table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
                     UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                     UNION ALL SELECT 'trigger ' || tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                       WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal \
                     UNION ALL SELECT 'schema ' || nspname::text FROM pg_namespace WHERE nspname = current_schema() \
                     ORDER BY 1",
                )
                .fetch_all(pool)
                .await
                .expect("catalog");
                let tables: Vec<String> =
                    catalog.iter().filter_map(|c| c.strip_prefix("table ")).map(str::to_owned).collect();
                snapshot.insert("(catalog)".into(), catalog);
                for table in tables {
                    let mut rows: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {} AS t", quote(&table)))
                            .fetch_all(pool)
                            .await
                            .expect("rows");
                    rows.sort();
                    snapshot.insert(table, rows);
                }
            }
        }
        snapshot
    }

    /// How many user tables the whole database has, across schemas: an injected DROP or
    /// CREATE anywhere would change it.
    async fn table_count(&self) -> i64 {
        match self {
            Raw::Sqlite(pool) => sqlx::query("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                .fetch_one(pool)
                .await
                .expect("count")
                .get(0),
            Raw::Postgres(pool) => sqlx::query("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
                .fetch_one(pool)
                .await
                .expect("count")
                .get(0),
        }
    }
}

/// The rows of `table` that are in `after` but not in `before` and vice versa; every
/// other table must be equal.
fn changed(before: &Snapshot, after: &Snapshot, table: &str) -> (Vec<String>, Vec<String>) {
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "the catalog's tables changed");
    for (name, rows) in before {
        if name != table {
            assert_eq!(rows, &after[name], "table {name} changed, but the write was to {table}");
        }
    }
    let old = &before[table];
    let new = &after[table];
    let added = new.iter().filter(|r| !old.contains(r)).cloned().collect();
    let removed = old.iter().filter(|r| !new.contains(r)).cloned().collect();
    (added, removed)
}

/// How one entity is built from attack text and which text column filters target.
struct Target<E> {
    make: fn(&str) -> E,
    column: &'static str,
}

async fn ids<E: Entity>(db: &Database, filter: Filter) -> plinth::Result<Vec<i64>> {
    let mut session = db.session().await?;
    Ok(session
        .query::<E>()
        .filter_by(filter)
        .order_by(|_| Order::asc("id"))
        .all()
        .await?
        .iter()
        .map(|r| r.id().get())
        .collect())
}

/// Every filter kind with `attack` as its value: none may change the database, and each
/// must return exactly the rows a reference evaluation in Rust picks.
async fn filters_leave_everything_alone<E: Entity + Debug>(
    db: &Database,
    raw: &Raw,
    target: &Target<E>,
    attack: &str,
    text_of: fn(&E) -> String,
) {
    let before = raw.snapshot().await;
    let mut session = db.session().await.expect("session");
    let rows = session.query::<E>().all().await.expect("all rows");
    drop(session);
    let expect = |keep: &dyn Fn(&str) -> bool| -> Vec<i64> {
        rows.iter().filter(|r| keep(&text_of(r))).map(|r| r.id().get()).collect()
    };
    let column = || Filter::column(target.column);
    let a = attack;
    let cases: Vec<(&str, Filter, Vec<i64>)> = vec![
        ("eq", column().eq(a), expect(&|t| t == a)),
        ("ne", column().ne(a), expect(&|t| t != a)),
        ("lt", column().lt(a), expect(&|t| t.as_bytes() < a.as_bytes())),
        ("le", column().le(a), expect(&|t| t.as_bytes() <= a.as_bytes())),
        ("gt", column().gt(a), expect(&|t| t.as_bytes() > a.as_bytes())),
        ("ge", column().ge(a), expect(&|t| t.as_bytes() >= a.as_bytes())),
        ("in", column().is_in([a, "x"]), expect(&|t| t == a || t == "x")),
        ("like escaped", column().like(format!("%{}%", like_escape(a))), expect(&|t| t.contains(a))),
        ("not eq", !column().eq(a), expect(&|t| t != a)),
        ("eq or is_null", column().eq(a).or(column().is_null()), expect(&|t| t == a)),
    ];
    for (name, filter, expected) in cases {
        let found = ids::<E>(db, filter).await;
        assert_eq!(found.ok(), Some(expected), "{name} {attack:?} on {}", E::table().name());
    }
    // As a raw LIKE pattern the attack either is a valid pattern or a typed refusal.
    match ids::<E>(db, column().like(a)).await {
        Ok(_) => {}
        Err(Error::InvalidValue { .. }) => assert!(a.ends_with('\\'), "only a trailing `\\` is refused: {a:?}"),
        Err(e) => panic!("like {a:?}: {e}"),
    }
    // As a column name it is unknown, before any I/O.
    let unknown = ids::<E>(db, Filter::column(a.to_owned()).eq(a)).await;
    assert!(matches!(unknown, Err(Error::UnknownColumn { .. })), "{unknown:?}");
    let mut session = db.session().await.expect("session");
    let ordered = session.query::<E>().then_order(Order::asc(a.to_owned())).all().await;
    assert!(matches!(ordered, Err(Error::UnknownColumn { .. })), "{ordered:?}");
    drop(session);
    assert_eq!(raw.snapshot().await, before, "a read changed the database");
}

/// Adds, finds, updates and deletes a row carrying `attack` (and a pair through
/// `add_all`), checking the snapshot after each step.
async fn writes_touch_only_their_row<E: Entity + Clone + PartialEq + Debug>(
    db: &Database,
    raw: &Raw,
    target: &Target<E>,
    attack: &str,
) {
    let table = E::table().name();
    let start = raw.snapshot().await;

    let mut session = db.session().await.expect("session");
    let record = session.add((target.make)(attack)).await.expect("add");
    session.commit().await.expect("commit");
    let after_add = raw.snapshot().await;
    let (added, removed) = changed(&start, &after_add, table);
    assert_eq!((added.len(), removed.len()), (1, 0), "add {attack:?}: {added:?} {removed:?}");

    let mut session = db.session().await.expect("session");
    let mut stored = session.get::<E>(record.id()).await.expect("get").expect("the added row");
    assert_eq!(*stored, (target.make)(attack), "round trip of {attack:?}");
    let by_value = ids::<E>(db, Filter::column(target.column).eq(attack)).await.expect("eq");
    assert_eq!(by_value, [record.id()]);
    let by_like = ids::<E>(db, Filter::column(target.column).like(like_escape(attack))).await.expect("like");
    assert_eq!(by_like, [record.id()]);

    let replacement: String = attack.chars().rev().chain("'--".chars()).collect();
    *stored = (target.make)(&replacement);
    session.update(&mut stored).await.expect("update");
    session.commit().await.expect("commit");
    let after_update = raw.snapshot().await;
    let (added, removed) = changed(&after_add, &after_update, table);
    assert_eq!((added.len(), removed.len()), (1, 1), "update {attack:?}: {added:?} {removed:?}");
    let mut session = db.session().await.expect("session");
    let reread = session.get::<E>(record.id()).await.expect("get").expect("the updated row");
    assert_eq!(*reread, (target.make)(&replacement), "round trip of {replacement:?}");

    session.delete_by_id::<E>(record.id()).await.expect("delete");
    session.commit().await.expect("commit");
    assert_eq!(raw.snapshot().await, start, "delete {attack:?} left the database different");

    let mut session = db.session().await.expect("session");
    let pair = [(target.make)(attack), (target.make)(&format!("{attack}{attack}"))];
    let records = session.add_all(pair.clone()).await.expect("add_all");
    session.commit().await.expect("commit");
    let (added, removed) = changed(&start, &raw.snapshot().await, table);
    assert_eq!((added.len(), removed.len()), (2, 0), "add_all {attack:?}");
    let mut session = db.session().await.expect("session");
    for (record, expected) in records.iter().zip(&pair) {
        let stored = session.get::<E>(record.id()).await.expect("get").expect("added by add_all");
        assert_eq!(&*stored, expected);
        session.delete_by_id::<E>(record.id()).await.expect("delete");
    }
    session.commit().await.expect("commit");
    assert_eq!(raw.snapshot().await, start, "deleting the add_all rows left the database different");
}

async fn every_attack_on_every_table(db: &Database, raw: &Raw) {
    db.create_all(&[User::table(), Keyword::table(), Quoted::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    session.add_all([User::named("ann"), User::named("bob"), User::named("x")]).await.expect("users");
    session.add(Keyword { select: "s".into(), user: None, r#where: "w".into() }).await.expect("keyword row");
    session.add(Quoted::carrying("seed")).await.expect("quoted row");
    session.commit().await.expect("commit");
    let tables = raw.table_count().await;
    let seeded = raw.snapshot().await;
    for table in [User::table(), Keyword::table(), Quoted::table()] {
        let rows = seeded.get(table.name()).map_or(0, Vec::len);
        assert!(rows > 0, "the snapshot must see the seed rows of {}", table.name());
    }

    let users =
        Target { make: |s: &str| User { username: s.to_owned(), email_address: s.to_owned() }, column: "username" };
    let keywords = Target {
        make: |s: &str| Keyword { select: s.to_owned(), user: Some(s.to_owned()), r#where: s.to_owned() },
        column: "where",
    };
    let quoted = Target { make: Quoted::carrying, column: "table" };
    for attack in ATTACKS {
        filters_leave_everything_alone(db, raw, &users, attack, |u| u.username.clone()).await;
        filters_leave_everything_alone(db, raw, &keywords, attack, |k| k.r#where.clone()).await;
        filters_leave_everything_alone(db, raw, &quoted, attack, |q| q.r#table.clone()).await;
        writes_touch_only_their_row(db, raw, &users, attack).await;
        writes_touch_only_their_row(db, raw, &keywords, attack).await;
        writes_touch_only_their_row(db, raw, &quoted, attack).await;
    }
    assert_eq!(raw.table_count().await, tables, "a table was created or dropped");

    // NUL: refused with a typed error in text, stored exactly in bytes.
    let mut session = db.session().await.expect("session");
    let refused = session.add(User::named("nul\0'; DROP TABLE users; --")).await;
    assert!(matches!(refused, Err(Error::InvalidValue { column, .. }) if column == Some("username")), "{refused:?}");
    let filter = ids::<User>(db, Filter::column("username").eq("a\0b")).await;
    assert!(matches!(filter, Err(Error::InvalidValue { .. })), "{filter:?}");
}

#[tokio::test]
async fn attacks_change_nothing_on_sqlite() {
    let mut file = SqliteFile::new("plinth-injection");
    let db = file.open().await;
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&file.url()).await.expect("raw"));
    every_attack_on_every_table(&db, &raw).await;
}

#[tokio::test]
async fn attacks_change_nothing_on_postgres() {
    let mut schema = PostgresSchema::new("plinth_injection", 2);
    let db = schema.open().await;
    let raw = Raw::Postgres(sqlx::PgPool::connect(&schema.url()).await.expect("raw"));
    every_attack_on_every_table(&db, &raw).await;
    if let Raw::Postgres(pool) = raw {
        pool.close().await;
    }
}
