//! What a review of bulk writes, streams and keyset pages found on SQL, each a test that
//! failed before its fix (but the keyset check, which held): a finished stream kept a
//! one-connection pool's only connection, a one-row bulk update raced on a unique value
//! left the PostgreSQL session aborted, and a bulk update cancelled part-way committed
//! the rows it had updated.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx
//! --all-features --test review_regressions`

mod support;

use std::time::Duration;

use futures_util::TryStreamExt as _;
use plinth::{Database, Entity, Error};
use plinth_conformance::Fixture as _;

use support::{PostgresSchema, SqliteFile};

/// A unique column and an indexed one.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "probe_tags")]
struct PTag {
    #[entity(unique)]
    label: Option<String>,
    weight: i32,
}

async fn tags(db: &Database, n: i32) {
    db.create_all(&[PTag::table()]).await.expect("create_all");
    let mut s = db.session().await.expect("session");
    s.add_all((0..n).map(|i| PTag { label: Some(format!("t{i:05}")), weight: i % 3 })).await.expect("add_all");
    s.commit().await.expect("commit");
}

// ---------------------------------------------------------------------------------
// 1. A finished stream hands the pool's only connection back, as `all` does.

async fn stream_then_second_session(db: Database) {
    tags(&db, 10).await;
    let mut a = db.session().await.expect("session a");
    // Control: `all` releases the single connection after the read.
    let all = a.query::<PTag>().all().await.expect("all");
    let mut b = db.session().await.expect("session b");
    let counted = tokio::time::timeout(Duration::from_secs(5), b.query::<PTag>().count()).await;
    assert_eq!(counted.expect("after `all`, b does not wait").expect("count"), 10);
    drop(b);
    // The same read as a stream, run to its end.
    let streamed: Vec<_> = a.query::<PTag>().stream().try_collect().await.expect("stream");
    assert_eq!(streamed.len(), all.len());
    let mut b = db.session().await.expect("session b");
    let counted = tokio::time::timeout(Duration::from_secs(5), b.query::<PTag>().count()).await;
    assert_eq!(counted.expect("after a finished stream, b must not wait on a's connection").expect("count"), 10);
}

#[tokio::test]
async fn a_finished_stream_gives_sqlite_memorys_only_connection_back() {
    let db = plinth_sqlx::connect("sqlite::memory:").await.expect("connect");
    stream_then_second_session(db).await;
}

#[tokio::test]
async fn a_finished_stream_gives_a_postgres_pool_of_ones_connection_back() {
    let mut fx = PostgresSchema::new("plinth_stream1", 1);
    let db = fx.open().await;
    stream_then_second_session(db).await;
}

// ---------------------------------------------------------------------------------
// 3. `Query::update` doc: "if one row is refused (a unique value another row holds …),
//    no row is changed and the session goes on". A unique value another session
//    inserted and commits while the update waits on it, for a query matching 1 row vs 2.

async fn raced_unique_update(matching: i32) -> (plinth::Result<u64>, plinth::Result<u64>, plinth::Result<()>) {
    let mut fx = PostgresSchema::new("plinth_race", 4);
    let db = fx.open().await;
    db.create_all(&[PTag::table()]).await.expect("create_all");
    let mut s = db.session().await.expect("session");
    s.add_all((0..matching).map(|i| PTag { label: Some(format!("m{i}")), weight: 7 })).await.expect("add");
    s.add(PTag { label: Some("other".into()), weight: 0 }).await.expect("add");
    s.commit().await.expect("commit");

    // B holds "x" uncommitted.
    let mut b = db.session().await.expect("b");
    b.add(PTag { label: Some("x".into()), weight: 1 }).await.expect("b adds x");

    let db_a = db.clone();
    let a = tokio::spawn(async move {
        let mut a = db_a.session().await.expect("a");
        a.add(PTag { label: Some("a's own".into()), weight: 2 }).await.expect("a writes first");
        let updated = a.query::<PTag>().filter(|c| c.weight.eq(7)).update(|c| c.label.set(Some("x".to_owned()))).await;
        let goes_on = a.query::<PTag>().count().await;
        let committed = a.commit().await;
        (updated, goes_on, committed)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.commit().await.expect("b commits x");
    let out = tokio::time::timeout(Duration::from_secs(10), a).await.expect("a finishes").expect("join");
    drop(fx);
    out
}

#[tokio::test]
async fn a_two_row_bulk_update_raced_on_a_unique_value_leaves_the_session_usable() {
    let (updated, goes_on, committed) = raced_unique_update(2).await;
    assert!(matches!(updated, Err(Error::UniqueViolation { .. })), "{updated:?}");
    assert_eq!(goes_on.expect("two rows: the session goes on"), 5);
    committed.expect("two rows: the session commits its own write");
}

#[tokio::test]
async fn a_one_row_bulk_update_raced_on_a_unique_value_leaves_the_session_usable() {
    let (updated, goes_on, committed) = raced_unique_update(1).await;
    assert!(matches!(updated, Err(Error::UniqueViolation { .. })), "{updated:?}");
    assert_eq!(goes_on.expect("one row: the session goes on (as with two)"), 4);
    committed.expect("one row: the session commits its own write (as with two)");
}

// ---------------------------------------------------------------------------------
// 4. All or nothing under cancellation: a `Query::update` future dropped part-way
//    (a timeout) must not leave part of the batch in the session to be committed.

#[tokio::test]
async fn a_bulk_update_cancelled_part_way_commits_none_of_it() {
    let mut fx = PostgresSchema::new("plinth_cancel", 4);
    let db = fx.open().await;
    tags(&db, 400).await;
    let mut cancelled = 0;
    for millis in [2_i32, 5, 10, 20, 40, 80, 160] {
        let mut s = db.session().await.expect("session");
        let value = 100 + millis;
        let run = s.query::<PTag>().update(|c| c.weight.set(value));
        if tokio::time::timeout(Duration::from_millis(millis.unsigned_abs().into()), run).await.is_ok() {
            continue;
        }
        cancelled += 1;
        // Cancelled while it wrote, the commit is refused; cancelled while it read,
        // there is nothing to commit.
        let commit = s.commit().await;
        assert!(matches!(commit, Ok(()) | Err(Error::Conflict { .. })), "{commit:?}");
        eprintln!("cancelled after {millis} ms: commit {commit:?}");
        let mut r = db.session().await.expect("reader");
        let n = r.query::<PTag>().filter(|c| c.weight.eq(value)).count().await.expect("count");
        assert_eq!(n, 0, "none of a bulk update cancelled after {millis} ms was committed");
    }
    assert!(cancelled > 0, "some update was cancelled part-way");
}

// ---------------------------------------------------------------------------------
// 5. Keyset pages over every ordered type, nullable and not, with repeats and NULLs,
//    equal the whole query, on every backend, and the whole query orders the same.

use plinth_conformance::entities::Sample;

fn samples() -> Vec<Sample> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    (0..40)
        .map(|_| {
            let mut s = Sample::plain();
            let pick = next(4);
            s.flag = next(2) == 0;
            s.small = next(3) as i16 - 1;
            s.double = [-1.5, 0.0, 2.25, 1e300][next(4) as usize];
            s.text = ["", "a", "B", "é", "ab"][next(5) as usize].to_owned();
            s.maybe_flag = (pick != 0).then(|| next(2) == 0);
            s.maybe_small = (next(3) != 0).then(|| next(3) as i16);
            s.maybe_single = (next(3) != 0).then(|| [0.1f32, -2.5, 3.0][next(3) as usize]);
            s.maybe_text = (next(3) != 0).then(|| ["x", "X", "xy", ""][next(4) as usize].to_owned());
            s.maybe_day =
                (next(3) != 0).then(|| chrono::NaiveDate::from_ymd_opt(2020 + next(3) as i32, 1, 1).expect("a date"));
            s.maybe_moment = (next(3) != 0).then(|| {
                chrono::DateTime::from_timestamp(1_700_000_000 + next(3) as i64, next(3) as u32 * 1000).expect("a time")
            });
            s.maybe_blob = (next(3) != 0).then(|| [vec![], vec![0], vec![0, 0], vec![255]][next(4) as usize].clone());
            s.maybe_key = (next(3) != 0).then(|| uuid::Uuid::from_u128(u128::from(next(3) as u8) << 120 | 7));
            s
        })
        .collect()
}

async fn keyset_matches_whole(db: Database) -> Vec<Vec<i64>> {
    use plinth::Order;
    db.create_all(&[Sample::table()]).await.expect("create_all");
    let mut s = db.session().await.expect("session");
    s.add_all(samples()).await.expect("add");
    s.commit().await.expect("commit");
    let orders = [
        vec![Order::asc("maybe_single"), Order::desc("maybe_flag")],
        vec![Order::desc("maybe_single")],
        vec![Order::asc("maybe_blob"), Order::desc("maybe_key")],
        vec![Order::desc("maybe_blob")],
        vec![Order::asc("maybe_key")],
        vec![Order::desc("maybe_moment"), Order::asc("maybe_day")],
        vec![Order::asc("maybe_text"), Order::asc("maybe_small")],
        vec![Order::desc("text"), Order::asc("double"), Order::desc("small")],
        vec![Order::asc("flag"), Order::desc("maybe_text"), Order::desc("maybe_day")],
        vec![Order::desc("updated_at"), Order::desc("id")],
    ];
    let mut wholes = Vec::new();
    for order in &orders {
        let mut s = db.session().await.expect("session");
        let mut q = s.query::<Sample>();
        for key in order {
            q = q.then_order(key.clone());
        }
        let whole: Vec<i64> = q.all().await.expect("all").iter().map(|r| r.id().get()).collect();
        for size in [1, 3, 7] {
            let mut got = Vec::new();
            let mut last: Option<plinth::Record<Sample>> = None;
            loop {
                let mut q = s.query::<Sample>().limit(size);
                for key in order {
                    q = q.then_order(key.clone());
                }
                if let Some(l) = &last {
                    q = q.after(l);
                }
                let page = q.all().await.expect("page");
                got.extend(page.iter().map(|r| r.id().get()));
                match page.into_iter().last() {
                    Some(r) => last = Some(r),
                    None => break,
                }
                assert!(got.len() <= 40, "{order:?} {size}: pages repeat rows: {got:?}");
            }
            assert_eq!(got, whole, "{} {order:?} {size} per page", db.backend_name());
        }
        wholes.push(whole);
    }
    wholes
}

#[tokio::test]
async fn keyset_pages_of_every_ordered_type_equal_the_whole_query_everywhere() {
    let memory = keyset_matches_whole(plinth::memory()).await;
    let mut fx = SqliteFile::new("plinth_keyset");
    let sqlite = keyset_matches_whole(fx.open().await).await;
    let mut pg = PostgresSchema::new("plinth_keyset", 4);
    let postgres = keyset_matches_whole(pg.open().await).await;
    // `updated_at` differs per backend; compare the others.
    let n = memory.len() - 1;
    assert_eq!(sqlite[..n], memory[..n], "sqlite orders as memory");
    assert_eq!(postgres[..n], memory[..n], "postgres orders as memory");
}
