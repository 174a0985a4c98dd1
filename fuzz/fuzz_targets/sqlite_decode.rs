//! Values another program wrote into a Plinth table on SQLite never panic the decoder:
//! arbitrary integers, reals, text, blobs and NULLs are written by raw SQL into any
//! column of a stored row (the `STRICT` table refuses what its column types cannot
//! hold), and the row is then read through the public API. Every read is `Ok` or
//! `Error::Decode`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plinth::{Database, Entity, Error, Filter, Order, Result};
use plinth_fuzz::Thing;
use sqlx::SqlitePool;

/// A runtime, a pool on one in-memory database and Plinth over that pool, made once.
fn state() -> &'static (tokio::runtime::Runtime, SqlitePool, Database) {
    static STATE: OnceLock<(tokio::runtime::Runtime, SqlitePool, Database)> = OnceLock::new();
    STATE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (pool, db) = runtime.block_on(async {
            let options = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).min_connections(1);
            let pool = options.idle_timeout(None).max_lifetime(None).connect("sqlite::memory:").await.expect("pool");
            let db = plinth_sqlx::from_sqlite_pool(pool.clone());
            db.create_all(&[Thing::table()]).await.expect("create_all");
            (pool, db)
        });
        (runtime, pool, db)
    })
}

/// Every column a raw write may target.
const COLUMNS: [&str; 17] = [
    "id",
    "name",
    "rank",
    "flag",
    "small",
    "big",
    "single",
    "double",
    "day",
    "moment",
    "doc",
    "blob",
    "note",
    "maybe_day",
    "maybe_doc",
    "created_at",
    "updated_at",
];

fn check<T>(what: &str, result: Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(Error::Decode { .. }) => None,
        Err(other) => panic!("{what}: not a Decode error but {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (runtime, pool, db) = state();
    runtime.block_on(async {
        sqlx::query("DELETE FROM \"things\"").execute(pool).await.expect("empty the table");
        let mut session = db.session().await.expect("session");
        let id = session.add(Thing::named("ann")).await.expect("add").id();
        session.commit().await.expect("commit");

        // Chunks of [column, kind, length, payload…]: one raw UPDATE each.
        let mut rest = data;
        while let [column, kind, length, tail @ ..] = rest {
            let (payload, next) = tail.split_at(usize::from(*length).min(tail.len()));
            rest = next;
            let column = COLUMNS[usize::from(*column) % COLUMNS.len()];
            let sql = format!("UPDATE \"things\" SET \"{column}\" = ?1");
            let mut word = [0_u8; 8];
            word[..payload.len().min(8)].copy_from_slice(&payload[..payload.len().min(8)]);
            let query = sqlx::query(&sql);
            let query = match kind % 5 {
                0 => query.bind(None::<i64>),
                1 => query.bind(i64::from_le_bytes(word)),
                2 => query.bind(f64::from_le_bytes(word)),
                3 => query.bind(String::from_utf8_lossy(payload).into_owned()),
                _ => query.bind(payload.to_vec()),
            };
            // STRICT tables and NOT NULL refuse some writes; those change nothing.
            let _ = query.execute(pool).await;
        }

        let ids: Vec<i64> = sqlx::query_scalar("SELECT \"id\" FROM \"things\"").fetch_all(pool).await.expect("ids");
        let mut session = db.session().await.expect("session");
        for id in ids.iter().copied().chain([id]) {
            if let Some(Some(found)) = check("get", session.get::<Thing>(id).await) {
                assert_eq!(found.id(), id, "get({id}) returned another row");
                let _ = found.to_dict();
            }
        }
        let all = check("all", session.query::<Thing>().all().await);
        let count = check("count", session.query::<Thing>().count().await);
        if let (Some(all), Some(count)) = (&all, count) {
            assert_eq!(all.len() as u64, count, "count disagrees with all");
        }
        let ordered = session
            .query::<Thing>()
            .filter_by(Filter::column("rank").ge(0).or(Filter::column("note").is_null()))
            .then_order(Order::desc("moment"))
            .then_order(Order::asc("day"))
            .all()
            .await;
        check("ordered filter", ordered);
    });
});
