//! Plinth on localStorage and IndexedDB against the code a careful engineer writes by
//! hand with gloo-storage and web-sys, in one page, round after round, Plinth and its
//! baseline alternating. Ignored by `cargo test`; `cargo xtask bench` runs it in release
//! mode and turns the lines it prints into the browser table of BENCHMARKS.md:
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=900 cargo test --release
//! --target wasm32-unknown-unknown -p plinth-browser --test browser_bench -- --include-ignored --nocapture`
//!
//! (`PLINTH_BENCH_QUICK=1` at build time for fewer rounds). Each result is one line:
//! `plinth-bench`, backend, workload, Plinth's median, 25th and 75th percentile (µs per
//! operation), the baseline's name, its three figures, and the target ratio or `-`,
//! separated by tabs.
#![cfg(target_arch = "wasm32")]

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use gloo_storage::{LocalStorage, Storage};
use js_sys::{Array, Promise};
use plinth::{Database, Entity, Filter, Id, Order};
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

wasm_bindgen_test_configure!(run_in_browser);

/// Set at build time by `cargo xtask bench --quick`.
const QUICK: bool = option_env!("PLINTH_BENCH_QUICK").is_some();

/// The row every workload reads and writes: the native benchmark's shape.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_rows")]
struct BenchRow {
    name: String,
    score: i64,
    note: Option<String>,
    active: bool,
}

/// [`BenchRow`] with an index on `score`, in a table of its own.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_rows_indexed")]
struct IndexedBenchRow {
    name: String,
    #[entity(index)]
    score: i64,
    note: Option<String>,
    active: bool,
}

fn row(i: usize) -> BenchRow {
    let score = i64::try_from(i % 1000).unwrap_or_default();
    BenchRow { name: format!("row {i:06}"), score, note: (i % 3 == 0).then(|| format!("note {i}")), active: i % 2 == 0 }
}

/// The same row as the baseline stores it: a serde struct as JSON text, id and
/// timestamps included, as Plinth's rows are.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct RawRow {
    id: i64,
    name: String,
    score: i64,
    note: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RawRow {
    fn new(id: i64, i: usize) -> Self {
        let BenchRow { name, score, note, active } = row(i);
        let now = Utc::now();
        RawRow { id, name, score, note, active, created_at: now, updated_at: now }
    }
}

/// `count` of `ids` to read, spread over them by a cheap deterministic sequence.
fn picks(seed: usize, ids: &[i64], count: u32) -> Vec<i64> {
    let mut state = u64::try_from(seed).unwrap_or_default().wrapping_add(0x9E37_79B9_7F4A_7C15);
    let n = u64::try_from(ids.len()).unwrap_or(1).max(1);
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ids[usize::try_from((state >> 11) % n).unwrap_or_default()]
        })
        .collect()
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Median and interquartile range, in µs per operation.
#[derive(Clone, Copy, Debug)]
struct Timing {
    median: f64,
    low: f64,
    high: f64,
}

impl Timing {
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            // The index of quantile q in a non-empty vector.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let i = ((samples.len() - 1) as f64 * q).round() as usize;
            samples[i]
        };
        Timing { median: at(0.5), low: at(0.25), high: at(0.75) }
    }
}

/// One timed sample: runs its operations, times only them (set-up and clean-up
/// excluded), and returns milliseconds.
type Sample<'a> = Pin<Box<dyn Future<Output = f64> + 'a>>;

/// Alternates `plinth` and `baseline` (which goes first alternates too) after one
/// warm-up each; per-operation timings in µs.
async fn pair<'a>(
    rounds: usize,
    ops: u32,
    mut plinth: impl FnMut(usize) -> Sample<'a>,
    mut baseline: impl FnMut(usize) -> Sample<'a>,
) -> (Timing, Timing) {
    plinth(0).await;
    baseline(0).await;
    let (mut ours, mut theirs) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let per_op = |ms: f64| ms * 1000.0 / f64::from(ops);
    for round in 1..=rounds {
        if round % 2 == 0 {
            ours.push(per_op(plinth(round).await));
            theirs.push(per_op(baseline(round).await));
        } else {
            theirs.push(per_op(baseline(round).await));
            ours.push(per_op(plinth(round).await));
        }
    }
    (Timing::of(ours), Timing::of(theirs))
}

/// Prints one result line for `cargo xtask bench`.
fn report(backend: &str, workload: &str, plinth: Timing, baseline_name: &str, baseline: Timing, target: Option<f64>) {
    let target = target.map_or_else(|| "-".to_owned(), |t| t.to_string());
    console_log!(
        "plinth-bench\t{backend}\t{workload}\t{:.3}\t{:.3}\t{:.3}\t{baseline_name}\t{:.3}\t{:.3}\t{:.3}\t{target}",
        plinth.median,
        plinth.low,
        plinth.high,
        baseline.median,
        baseline.low,
        baseline.high,
    );
}

// ---------------------------------------------------------------- the baselines

/// Rows in localStorage by hand, through gloo-storage's typed `get`/`set` (serde_json
/// both ways): `raw/rows/ID` holds a row's JSON and `raw/seq` the last id.
///
/// Reads go to the rows Plinth wrote (the same JSON object per key), not to a copy:
/// Chromium gives an origin about 5 million characters of localStorage, and 20,000 rows
/// twice over do not fit.
#[derive(Debug)]
struct RawLocal {
    /// The key of row ID is this followed by ID.
    rows: String,
}

const RAW_SEQ: &str = "raw/seq";

fn raw_key(id: i64) -> String {
    format!("raw/rows/{id}")
}

impl RawLocal {
    fn get(&self, id: i64) -> Option<RawRow> {
        LocalStorage::get(format!("{}{id}", self.rows)).ok()
    }

    /// Allocates `count` ids; the first.
    fn allocate(&self, count: usize) -> i64 {
        let last: i64 = LocalStorage::get(RAW_SEQ).unwrap_or(0);
        let next = last + i64::try_from(count).unwrap_or_default();
        LocalStorage::set(RAW_SEQ, next).expect("raw seq");
        last + 1
    }

    fn insert(&self, i: usize) -> i64 {
        let id = self.allocate(1);
        LocalStorage::set(raw_key(id), RawRow::new(id, i)).expect("raw insert");
        id
    }

    fn insert_all(&self, from: usize, count: usize) -> Vec<i64> {
        let first = self.allocate(count);
        let ids: Vec<i64> = (first..).take(count).collect();
        for (id, i) in ids.iter().zip(from..) {
            LocalStorage::set(raw_key(*id), RawRow::new(*id, i)).expect("raw insert");
        }
        ids
    }

    fn delete(&self, ids: &[i64]) {
        for id in ids {
            LocalStorage::delete(raw_key(*id));
        }
    }

    /// The hand-written query: every row key, parsed, filtered, sorted, cut.
    fn top(&self, min_score: i64) -> Vec<RawRow> {
        let storage = LocalStorage::raw();
        let length = storage.length().expect("length");
        let mut rows = Vec::new();
        for index in 0..length {
            let Some(key) = storage.key(index).expect("key") else { continue };
            if !key.starts_with(&self.rows) {
                continue;
            }
            let text = storage.get_item(&key).expect("get").expect("row");
            let row: RawRow = serde_json::from_str(&text).expect("raw row");
            if row.score >= min_score {
                rows.push(row);
            }
        }
        rows.sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
        rows.truncate(100);
        rows
    }
}

/// A request's result, awaited the way every web-sys IndexedDB wrapper does it.
fn request(request: &IdbRequest) -> impl Future<Output = JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let request = request.clone();
    async move {
        JsFuture::from(promise).await.expect("IndexedDB request");
        request.result().expect("result")
    }
}

fn completion(tx: &IdbTransaction) -> JsFuture {
    JsFuture::from(Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    }))
}

fn id_key(id: i64) -> JsValue {
    #[allow(clippy::cast_precision_loss)]
    JsValue::from_f64(id as f64)
}

/// Rows in IndexedDB by hand: object store `rows` (key: the id, value: the row's JSON)
/// and `meta` (key `seq`: the last id), in a database of their own.
#[derive(Debug)]
struct RawIdb {
    db: IdbDatabase,
}

/// A new IndexedDB database `name` with the object stores `stores`.
async fn open_database(name: &str, stores: &'static [&'static str]) -> IdbDatabase {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let open: IdbOpenDbRequest = factory.open_with_u32(name, 1).expect("open");
    let on_upgrade = Closure::<dyn FnMut()>::new({
        let open = open.clone();
        move || {
            let db: IdbDatabase = open.result().expect("db").unchecked_into();
            for store in stores {
                db.create_object_store(store).expect("object store");
            }
        }
    });
    open.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    request(&open).await.unchecked_into()
}

impl RawIdb {
    async fn open(name: &str) -> Self {
        RawIdb { db: open_database(name, &["rows", "meta"]).await }
    }

    fn tx(&self, stores: &[&str], mode: IdbTransactionMode) -> IdbTransaction {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        self.db.transaction_with_str_sequence_and_mode(&names, mode).expect("transaction")
    }

    fn store(tx: &IdbTransaction, name: &str) -> IdbObjectStore {
        tx.object_store(name).expect("store")
    }

    async fn get(&self, id: i64) -> Option<RawRow> {
        let tx = self.tx(&["rows"], IdbTransactionMode::Readonly);
        let value = request(&Self::store(&tx, "rows").get(&id_key(id)).expect("get")).await;
        value.as_string().map(|text| serde_json::from_str(&text).expect("raw row"))
    }

    /// Inserts rows `from..from + count` in one readwrite transaction: the sequence read,
    /// then every put issued, then the completion awaited.
    async fn insert_all(&self, from: usize, count: usize) -> Vec<i64> {
        let tx = self.tx(&["rows", "meta"], IdbTransactionMode::Readwrite);
        let done = completion(&tx);
        let (rows, meta) = (Self::store(&tx, "rows"), Self::store(&tx, "meta"));
        let seq = JsValue::from_str("seq");
        let last = request(&meta.get(&seq).expect("seq")).await.as_f64().unwrap_or(0.0);
        #[allow(clippy::cast_possible_truncation)]
        let first = last as i64 + 1;
        let ids: Vec<i64> = (first..).take(count).collect();
        meta.put_with_key(&id_key(first + i64::try_from(count).unwrap_or_default() - 1), &seq).expect("seq");
        for (id, i) in ids.iter().zip(from..) {
            let text = serde_json::to_string(&RawRow::new(*id, i)).expect("json");
            rows.put_with_key(&JsValue::from_str(&text), &id_key(*id)).expect("put");
        }
        done.await.expect("commit");
        ids
    }

    async fn delete(&self, ids: &[i64]) {
        let tx = self.tx(&["rows"], IdbTransactionMode::Readwrite);
        let done = completion(&tx);
        let rows = Self::store(&tx, "rows");
        for id in ids {
            rows.delete(&id_key(*id)).expect("delete");
        }
        done.await.expect("commit");
    }

    /// The hand-written query: `getAll`, parsed, filtered, sorted, cut.
    async fn top(&self, min_score: i64) -> Vec<RawRow> {
        let tx = self.tx(&["rows"], IdbTransactionMode::Readonly);
        let all: Array = request(&Self::store(&tx, "rows").get_all().expect("getAll")).await.unchecked_into();
        let mut rows = Vec::new();
        for value in all.iter() {
            let row: RawRow = serde_json::from_str(&value.as_string().expect("text")).expect("raw row");
            if row.score >= min_score {
                rows.push(row);
            }
        }
        rows.sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
        rows.truncate(100);
        rows
    }
}

#[derive(Debug)]
enum Raw {
    Local(RawLocal),
    Idb(RawIdb),
}

impl Raw {
    fn name(&self) -> &'static str {
        match self {
            Raw::Local(_) => "localStorage",
            Raw::Idb(_) => "IndexedDB",
        }
    }

    async fn get(&self, id: i64) -> Option<RawRow> {
        match self {
            Raw::Local(raw) => raw.get(id),
            Raw::Idb(raw) => raw.get(id).await,
        }
    }

    /// One row in its own transaction (localStorage: its own three writes).
    async fn insert(&self, i: usize) -> i64 {
        match self {
            Raw::Local(raw) => raw.insert(i),
            Raw::Idb(raw) => raw.insert_all(i, 1).await[0],
        }
    }

    async fn insert_all(&self, from: usize, count: usize) -> Vec<i64> {
        match self {
            Raw::Local(raw) => raw.insert_all(from, count),
            Raw::Idb(raw) => raw.insert_all(from, count).await,
        }
    }

    async fn delete(&self, ids: &[i64]) {
        match self {
            Raw::Local(raw) => raw.delete(ids),
            Raw::Idb(raw) => raw.delete(ids).await,
        }
    }

    async fn top(&self, min_score: i64) -> Vec<RawRow> {
        match self {
            Raw::Local(raw) => raw.top(min_score),
            Raw::Idb(raw) => raw.top(min_score).await,
        }
    }

    fn get_name(&self) -> &'static str {
        match self {
            Raw::Local(_) => "gloo-storage `LocalStorage::get` of Plinth's row (serde)",
            Raw::Idb(_) => "web-sys `store.get`, one readonly transaction",
        }
    }

    fn insert_name(&self) -> &'static str {
        match self {
            Raw::Local(_) => "gloo-storage: sequence get + set, row set",
            Raw::Idb(_) => "web-sys: one readwrite transaction, sequence get + 2 puts",
        }
    }

    fn insert_all_name(&self) -> &'static str {
        match self {
            Raw::Local(_) => "gloo-storage `LocalStorage::set` per row",
            Raw::Idb(_) => "web-sys puts in ONE transaction",
        }
    }

    fn scan_name(&self) -> &'static str {
        match self {
            Raw::Local(_) => "hand-written scan of every key (Plinth's rows), serde",
            Raw::Idb(_) => "hand-written `getAll`, serde",
        }
    }
}

// ---------------------------------------------------------------- Plinth's side

async fn plinth_get(db: &Database, ids: &[i64]) {
    for id in ids {
        let found = db.session().await.expect("session").get::<BenchRow>(*id).await.expect("get");
        assert!(found.is_some(), "row {id}");
    }
}

async fn plinth_insert_each(db: &Database, from: usize, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    for i in from..from + count {
        let mut session = db.session().await.expect("session");
        ids.push(session.add(row(i)).await.expect("add").id().get());
        session.commit().await.expect("commit");
    }
    ids
}

async fn plinth_insert_all(db: &Database, from: usize, count: usize) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    let records = session.add_all((from..from + count).map(row)).await.expect("add_all");
    session.commit().await.expect("commit");
    records.iter().map(|r| r.id().get()).collect()
}

async fn plinth_delete(db: &Database, ids: &[i64]) {
    let mut session = db.session().await.expect("session");
    for id in ids {
        session.delete_by_id::<BenchRow>(*id).await.expect("delete");
    }
    session.commit().await.expect("commit");
}

/// One sample: `count` rows added from `from` in one session (timed), then deleted
/// (untimed); milliseconds.
async fn plinth_add_all_sample(db: &Database, from: usize, count: usize) -> f64 {
    let started = now_ms();
    let ids = plinth_insert_all(db, from, count).await;
    let elapsed = now_ms() - started;
    plinth_delete(db, &ids).await;
    elapsed
}

/// One sample: `count` rows inserted one by one by the baseline (timed), then deleted
/// (untimed); milliseconds.
async fn raw_insert_each_sample(raw: &Raw, from: usize, count: usize) -> f64 {
    let started = now_ms();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        ids.push(raw.insert(from + i).await);
    }
    let elapsed = now_ms() - started;
    raw.delete(&ids).await;
    elapsed
}

/// The ids of the rows each side's table holds.
#[derive(Debug, Default)]
struct Ids {
    plinth: Vec<i64>,
    raw: Vec<i64>,
}

/// Grows both sides' tables to `to` rows, 1,000 per commit (on localStorage the
/// baseline reads Plinth's rows: see [`RawLocal`]).
async fn grow(db: &Database, raw: &Raw, ids: &mut Ids, to: usize) {
    for start in (ids.plinth.len()..to).step_by(1000) {
        let count = (to - start).min(1000);
        let added = plinth_insert_all(db, start, count).await;
        ids.raw.extend(match raw {
            Raw::Local(_) => added.clone(),
            Raw::Idb(raw) => raw.insert_all(start, count).await,
        });
        ids.plinth.extend(added);
    }
}

/// How many rounds of what size each workload gets.
#[derive(Clone, Copy, Debug)]
struct Plan {
    rounds: usize,
    slow_rounds: usize,
}

/// Get by id and insert at `size` rows: Plinth against the baseline.
async fn point_workloads(db: &Database, raw: &Raw, plan: Plan, ids: &Ids) -> (Timing, Timing) {
    let backend = raw.name();
    let size = ids.plinth.len();
    // An IndexedDB get is a transaction of its own, hundreds of µs: fewer per sample.
    let gets: u32 = if matches!(raw, Raw::Idb(_)) { 200 } else { 1000 };
    let (ours, theirs) = pair(
        plan.rounds,
        gets,
        |round| {
            Box::pin(async move {
                let ids = picks(round, &ids.plinth, gets);
                let started = now_ms();
                plinth_get(db, &ids).await;
                now_ms() - started
            })
        },
        |round| {
            Box::pin(async move {
                let ids = picks(round + 7919, &ids.raw, gets);
                let started = now_ms();
                for id in &ids {
                    assert!(raw.get(*id).await.is_some(), "raw row {id}");
                }
                now_ms() - started
            })
        },
    )
    .await;
    let target = matches!(raw, Raw::Idb(_)).then_some(1.3);
    report(backend, &format!("get by id, {size} rows"), ours, raw.get_name(), theirs, target);
    let get = ours;

    // IndexedDB's readwrite transactions take milliseconds each: fewer per sample.
    let inserts: u32 = if matches!(raw, Raw::Idb(_)) { 50 } else { 1000 };
    let count = inserts as usize;
    let (ours, theirs) = pair(
        plan.rounds,
        inserts,
        |round| {
            Box::pin(async move {
                let started = now_ms();
                let ids = plinth_insert_each(db, size + round * count, count).await;
                let elapsed = now_ms() - started;
                plinth_delete(db, &ids).await;
                elapsed
            })
        },
        |round| Box::pin(raw_insert_each_sample(raw, size + round * count, count)),
    )
    .await;
    report(backend, &format!("insert one row (session + commit), {size} rows"), ours, raw.insert_name(), theirs, None);
    (get, ours)
}

/// `add_all` of 1,000 rows against the baseline's bulk write (and, on IndexedDB, against
/// one transaction per row).
async fn bulk_workloads(db: &Database, raw: &Raw, plan: Plan, size: usize) {
    let backend = raw.name();
    const ROWS: usize = 1000;
    let (ours, theirs) = pair(
        plan.rounds,
        1,
        |round| Box::pin(plinth_add_all_sample(db, size + round * ROWS, ROWS)),
        |round| {
            Box::pin(async move {
                let started = now_ms();
                let ids = raw.insert_all(size + round * ROWS, ROWS).await;
                let elapsed = now_ms() - started;
                raw.delete(&ids).await;
                elapsed
            })
        },
    )
    .await;
    report(backend, "add_all of 1,000 rows", ours, raw.insert_all_name(), theirs, Some(1.3));

    if let Raw::Idb(_) = raw {
        let (ours, theirs) = pair(
            plan.slow_rounds,
            1,
            |round| Box::pin(plinth_add_all_sample(db, size + round * ROWS, ROWS)),
            |round| Box::pin(raw_insert_each_sample(raw, size + round * ROWS, ROWS)),
        )
        .await;
        let name = "web-sys, one readwrite transaction per row";
        report(backend, "add_all of 1,000 rows vs one transaction per row", ours, name, theirs, Some(0.1));
    }
}

/// A filter matching 100 of the `size` rows of `E`'s table (a [`BenchRow`] with or
/// without the index on `score`), ordered, limited, against the hand-written scan.
async fn query_workload<E: Entity>(db: &Database, raw: &Raw, plan: Plan, size: usize, indexed: bool) {
    let (ours, theirs) = pair(
        plan.rounds,
        1,
        |_| {
            Box::pin(async move {
                let started = now_ms();
                let mut session = db.session().await.expect("session");
                let rows = session
                    .query::<E>()
                    .filter_by(Filter::column("score").ge(990_i64))
                    .then_order(Order::desc("score"))
                    .limit(100)
                    .all()
                    .await
                    .expect("query");
                let elapsed = now_ms() - started;
                assert_eq!(rows.len(), 100);
                elapsed
            })
        },
        |_| {
            Box::pin(async move {
                let started = now_ms();
                let rows = raw.top(990).await;
                let elapsed = now_ms() - started;
                assert_eq!(rows.len(), 100);
                elapsed
            })
        },
    )
    .await;
    let (workload, target) = match indexed {
        true => (format!("filter 100 of {size} on an indexed column, order, limit"), Some(1.2)),
        false => (format!("filter 100 of {size}, order, limit"), None),
    };
    report(raw.name(), &workload, ours, raw.scan_name(), theirs, target);
}

/// Fills the table of [`IndexedBenchRow`] with `size` rows, untimed.
async fn fill_indexed(db: &Database, size: usize) {
    db.create_all(&[IndexedBenchRow::table()]).await.expect("create_all");
    for start in (0..size).step_by(1000) {
        let mut session = db.session().await.expect("session");
        let rows = (start..(start + 1000).min(size)).map(|i| {
            let BenchRow { name, score, note, active } = row(i);
            IndexedBenchRow { name, score, note, active }
        });
        session.add_all(rows).await.expect("add_all");
        session.commit().await.expect("commit");
    }
}

/// Every workload on one backend, the table growing 1,000 → 10,000 → 20,000 rows.
async fn run_backend(db: &Database, raw: &Raw, plan: Plan) {
    db.create_all(&[BenchRow::table()]).await.expect("create_all");
    let mut ids = Ids::default();
    grow(db, raw, &mut ids, 1_000).await;
    let (get_small, insert_small) = point_workloads(db, raw, plan, &ids).await;
    bulk_workloads(db, raw, plan, 1_000).await;
    grow(db, raw, &mut ids, 10_000).await;
    query_workload::<BenchRow>(db, raw, plan, 10_000, false).await;
    // Web storage has no indexes (and no room for the rows twice over).
    if matches!(raw, Raw::Idb(_)) {
        fill_indexed(db, 10_000).await;
        query_workload::<IndexedBenchRow>(db, raw, plan, 10_000, true).await;
    }
    grow(db, raw, &mut ids, 20_000).await;
    let (get_large, insert_large) = point_workloads(db, raw, plan, &ids).await;
    let backend = raw.name();
    report(backend, "get by id: 20000 rows vs 1000", get_large, "Plinth at 1000 rows", get_small, Some(1.5));
    let workload = "insert one row: 20000 rows vs 1000";
    report(backend, workload, insert_large, "Plinth at 1000 rows", insert_small, Some(1.5));
}

// ---------------------------------------------------------------- the scale curve

/// A row of the scale curve: every `score` distinct, so a filter on it matches one row
/// whatever the table's size (the native benchmark's `StreamRow`).
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "scale_rows")]
struct ScaleRow {
    name: String,
    #[entity(index)]
    score: i64,
}

/// Per round, in µs per operation: a get by id, a query filtered on the indexed `score`
/// (one row), an insert + commit (scored -1, which no filter matches), on a table of
/// `rows` rows.
async fn scale_costs(db: &Database, plan: Plan, rows: usize) -> (Timing, Timing, Timing) {
    const OPS: u32 = 100;
    let ids: Vec<i64> = (1..=i64::try_from(rows).unwrap_or_default()).collect();
    let (mut gets, mut filters, mut inserts) = (Vec::new(), Vec::new(), Vec::new());
    let per_op = |ms: f64| ms * 1000.0 / f64::from(OPS);
    for round in 0..=plan.rounds {
        let picked = picks(round, &ids, OPS);
        let started = now_ms();
        for id in &picked {
            let found = db.session().await.expect("session").get::<ScaleRow>(*id).await.expect("get");
            assert!(found.is_some(), "row {id}");
        }
        let get = per_op(now_ms() - started);
        let started = now_ms();
        for id in &picked {
            let mut session = db.session().await.expect("session");
            let found = session.query::<ScaleRow>().filter(|c| c.score.eq(*id)).all().await.expect("query");
            assert_eq!(found.len(), 1, "score {id}");
        }
        let filter = per_op(now_ms() - started);
        let started = now_ms();
        for i in 0..OPS {
            let mut session = db.session().await.expect("session");
            session.add(ScaleRow { name: format!("added {i}"), score: -1 }).await.expect("add");
            session.commit().await.expect("commit");
        }
        let insert = per_op(now_ms() - started);
        // Round 0 warms up.
        if round > 0 {
            gets.push(get);
            filters.push(filter);
            inserts.push(insert);
        }
    }
    (Timing::of(gets), Timing::of(filters), Timing::of(inserts))
}

/// Get, a filter on an indexed column and insert at 10,000 and at 100,000 rows.
async fn scale_workload(plan: Plan, stamp: f64) {
    let db = plinth_browser::connect(&format!("indexeddb://bench-scale-{stamp}")).await.expect("connect");
    db.create_all(&[ScaleRow::table()]).await.expect("create_all");
    let grow = |from: usize, to: usize| {
        let db = &db;
        async move {
            for start in (from..to).step_by(5_000) {
                let mut session = db.session().await.expect("session");
                let batch = (start..to.min(start + 5_000)).map(|i| {
                    let score = i64::try_from(i).unwrap_or_default() + 1;
                    ScaleRow { name: format!("row {i:06}"), score }
                });
                session.add_all(batch).await.expect("add_all");
                session.commit().await.expect("commit");
            }
        }
    };
    let (small, large) = (10_000, 100_000);
    grow(0, small).await;
    let at_small = scale_costs(&db, plan, small).await;
    grow(small, large).await;
    let at_large = scale_costs(&db, plan, large).await;
    let baseline = format!("Plinth at {small} rows");
    for (workload, cost_large, cost_small) in [
        ("get by id", at_large.0, at_small.0),
        ("filter on an indexed column", at_large.1, at_small.1),
        ("insert one row", at_large.2, at_small.2),
    ] {
        report(
            "IndexedDB",
            &format!("{workload}: {large} rows vs {small}"),
            cost_large,
            &baseline,
            cost_small,
            Some(1.5),
        );
    }
    drop(db);
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let _ = factory.delete_database(&format!("plinth/bench-scale-{stamp}"));
}

// ------------------------------------------------- loading records with their parents

/// An author, the parent of [`BenchNote`]s.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_authors")]
struct BenchAuthor {
    name: String,
}

/// A note by an author.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_notes")]
struct BenchNote {
    #[entity(on_delete = "cascade")]
    author: Id<BenchAuthor>,
    title: String,
}

const AUTHORS: usize = 200;
const NOTES: usize = 2_000;

/// The notes and authors by hand: object stores `authors` and `notes` (keys: ids,
/// values: JSON), the author of note `i` being `i * 7 % AUTHORS + 1`.
struct RawRelations {
    db: IdbDatabase,
}

#[derive(Serialize, Deserialize)]
struct RawNote {
    id: i64,
    author: i64,
    title: String,
}

impl RawRelations {
    async fn open(name: &str) -> Self {
        let raw = RawRelations { db: open_database(name, &["authors", "notes"]).await };
        let names: Array = ["authors", "notes"].iter().map(|s| JsValue::from_str(s)).collect();
        let tx = raw.db.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite).expect("tx");
        let done = completion(&tx);
        let (authors, notes) = (tx.object_store("authors").expect("authors"), tx.object_store("notes").expect("notes"));
        for i in 1..=AUTHORS {
            let text = serde_json::json!({ "id": i, "name": format!("author {i}") }).to_string();
            authors
                .put_with_key(&JsValue::from_str(&text), &id_key(i64::try_from(i).unwrap_or_default()))
                .expect("put");
        }
        for i in 1..=NOTES {
            let id = i64::try_from(i).unwrap_or_default();
            let note = RawNote { id, author: id * 7 % AUTHORS as i64 + 1, title: format!("note {i}") };
            let text = serde_json::to_string(&note).expect("json");
            notes.put_with_key(&JsValue::from_str(&text), &id_key(id)).expect("put");
        }
        done.await.expect("fill");
        raw
    }

    /// Notes `first..=last` and their authors in one readonly transaction: the notes
    /// by key range, then every author's `get` issued at once.
    async fn load(&self, first: i64, last: i64) -> usize {
        let names: Array = ["authors", "notes"].iter().map(|s| JsValue::from_str(s)).collect();
        let tx = self.db.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly).expect("tx");
        let range = web_sys::IdbKeyRange::bound(&id_key(first), &id_key(last)).expect("range");
        let notes = tx.object_store("notes").expect("notes").get_all_with_key(&range).expect("getAll");
        let notes: Array = request(&notes).await.unchecked_into();
        let notes: Vec<RawNote> =
            notes.iter().map(|v| serde_json::from_str(&v.as_string().expect("text")).expect("note")).collect();
        let mut ids: Vec<i64> = notes.iter().map(|n| n.author).collect();
        ids.sort_unstable();
        ids.dedup();
        let authors = tx.object_store("authors").expect("authors");
        let pending: Vec<IdbRequest> = ids.iter().map(|id| authors.get(&id_key(*id)).expect("get")).collect();
        for get in &pending {
            let author: serde_json::Value =
                serde_json::from_str(&request(get).await.as_string().expect("text")).expect("author");
            assert!(author.get("name").is_some());
        }
        notes.len()
    }
}

/// 100 notes with their authors: Plinth's query and `load_parents` against the
/// hand-written two reads in one transaction.
async fn relation_workload(plan: Plan, stamp: f64) {
    let db = plinth_browser::connect(&format!("indexeddb://bench-rel-{stamp}")).await.expect("connect");
    db.create_all(&[BenchNote::table(), BenchAuthor::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let authors =
        session.add_all((0..AUTHORS).map(|i| BenchAuthor { name: format!("author {i}") })).await.expect("authors");
    let notes = (0..NOTES).map(|i| BenchNote { author: authors[(i * 7) % AUTHORS].id(), title: format!("note {i}") });
    session.add_all(notes).await.expect("notes");
    session.commit().await.expect("commit");
    let raw = RawRelations::open(&format!("raw-rel-{stamp}")).await;
    let window = |round: usize| {
        let first = i64::try_from(round * 97 % (NOTES - 100)).unwrap_or_default() + 1;
        (first, first + 99)
    };
    let (ours, theirs) = pair(
        plan.rounds,
        1,
        |round| {
            let db = db.clone();
            Box::pin(async move {
                let (first, last) = window(round);
                let started = now_ms();
                let mut session = db.session().await.expect("session");
                let notes = session
                    .query::<BenchNote>()
                    .filter(|c| c.id.ge(first).and(c.id.le(last)))
                    .all()
                    .await
                    .expect("notes");
                let authors = session.load_parents(&notes, BenchNote::columns().author).await.expect("authors");
                let elapsed = now_ms() - started;
                assert_eq!(notes.len(), 100);
                assert!(notes.iter().all(|n| authors.get(n.author).is_some()));
                elapsed
            })
        },
        |round| {
            let raw = &raw;
            Box::pin(async move {
                let (first, last) = window(round);
                let started = now_ms();
                let count = raw.load(first, last).await;
                let elapsed = now_ms() - started;
                assert_eq!(count, 100);
                elapsed
            })
        },
    )
    .await;
    let baseline = "web-sys: notes by key range, then each author's get, one transaction";
    report("IndexedDB", &format!("load 100 notes with their authors ({NOTES} notes)"), ours, baseline, theirs, None);
    drop(db);
    raw.db.close();
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let _ = factory.delete_database(&format!("plinth/bench-rel-{stamp}"));
    let _ = factory.delete_database(&format!("raw-rel-{stamp}"));
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: `cargo xtask bench` runs it"]
async fn browser_benchmarks() {
    let plan = if QUICK { Plan { rounds: 5, slow_rounds: 2 } } else { Plan { rounds: 15, slow_rounds: 5 } };
    let stamp = js_sys::Date::now();

    LocalStorage::clear();
    let db = plinth_browser::connect(&format!("local://bench-{stamp}")).await.expect("connect");
    let rows = format!("plinth/bench-{stamp}/t/bench_rows/r/");
    run_backend(&db, &Raw::Local(RawLocal { rows }), plan).await;
    drop(db);
    LocalStorage::clear();

    let db = plinth_browser::connect(&format!("indexeddb://bench-{stamp}")).await.expect("connect");
    let raw = Raw::Idb(RawIdb::open(&format!("raw-bench-{stamp}")).await);
    run_backend(&db, &raw, plan).await;
    drop(db);
    if let Raw::Idb(raw) = raw {
        raw.db.close();
    }
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
    let _ = factory.delete_database(&format!("plinth/bench-{stamp}"));
    let _ = factory.delete_database(&format!("raw-bench-{stamp}"));
    relation_workload(plan, stamp).await;
    scale_workload(plan, stamp).await;
}
