//! Plinth's IndexedDB backend beside Dexie.js 4 and the hand-written web-sys code of
//! `backend-browser/tests/browser_bench.rs`, in one page: the three take turns round
//! after round (which goes first moves on each round), each in a database of its own.
//! Ignored by `cargo test`; `cargo xtask bench --peers` installs Dexie (`npm ci` in
//! peers/browser) and runs it in release mode, from the repository root:
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON=backend-browser/webdriver.json
//! cargo test --release --manifest-path peers/Cargo.toml -p plinth-peers-browser
//! --target wasm32-unknown-unknown --test dexie -- --include-ignored --nocapture`
//!
//! (`PLINTH_BENCH_QUICK=1` at build time for fewer rounds). Each result is a line of the
//! native peers benchmark's format (`peers/src/harness.rs`): `plinth-peers`, backend,
//! workload, Plinth's median, 25th and 75th percentile (µs per operation), the peer's
//! name and its three figures, tab-separated.
#![cfg(target_arch = "wasm32")]

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use js_sys::{Array, Promise};
use plinth::{Database, Entity};
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

wasm_bindgen_test_configure!(run_in_browser);

/// Set at build time by `cargo xtask bench --peers --quick`.
const QUICK: bool = option_env!("PLINTH_BENCH_QUICK").is_some();

#[wasm_bindgen(module = "/js/dexie.js")]
extern "C" {
    /// Dexie's class, from its ESM build (copied to js/dexie.js by `npm ci`).
    #[wasm_bindgen(thread_local_v2, js_name = Dexie)]
    static DEXIE: JsValue;
}

#[wasm_bindgen(module = "/js/dexie_peer.js")]
extern "C" {
    #[wasm_bindgen(js_name = openDexie)]
    fn open_dexie(dexie: &JsValue, name: &str) -> Promise;
    #[wasm_bindgen(js_name = dexieInsert)]
    fn dexie_insert(db: &JsValue, i: u32) -> Promise;
    #[wasm_bindgen(js_name = dexieAddAll)]
    fn dexie_add_all(db: &JsValue, from: u32, count: u32) -> Promise;
    #[wasm_bindgen(js_name = dexieGet)]
    fn dexie_get(db: &JsValue, id: f64) -> Promise;
    #[wasm_bindgen(js_name = dexieDelete)]
    fn dexie_delete(db: &JsValue, ids: &Array) -> Promise;
    #[wasm_bindgen(js_name = dexieTop)]
    fn dexie_top(db: &JsValue, min: f64) -> Promise;
    #[wasm_bindgen(js_name = dexieDrop)]
    fn dexie_drop(db: &JsValue) -> Promise;
}

/// The row every side writes: the benchmarks' shape.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "peers_rows")]
struct PeerRow {
    name: String,
    #[entity(index)]
    score: i64,
    note: Option<String>,
    active: bool,
}

fn row(i: usize) -> PeerRow {
    let score = i64::try_from(i % 1000).unwrap_or_default();
    PeerRow {
        name: format!("row {i:06}"),
        score,
        note: i.is_multiple_of(3).then(|| format!("note {i}")),
        active: i.is_multiple_of(2),
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

fn id_key(id: i64) -> JsValue {
    #[allow(clippy::cast_precision_loss)]
    JsValue::from_f64(id as f64)
}

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("a row index fits in u32")
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

/// One timed sample of one side: runs its operations, times only them, and returns
/// milliseconds.
type Sample<'a> = Pin<Box<dyn Future<Output = f64> + 'a>>;

/// The sides, in the order of the timings [`rotate`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Plinth,
    Dexie,
    WebSys,
}

const SIDES: [Side; 3] = [Side::Plinth, Side::Dexie, Side::WebSys];

/// One untimed warm-up sample per side, then `rounds` rounds in which every side takes
/// one sample, the first side moving on by one each round; per-operation timings in µs.
async fn rotate<'a>(rounds: usize, ops: u32, mut sample: impl FnMut(Side, usize) -> Sample<'a>) -> [Timing; 3] {
    for side in SIDES {
        sample(side, 0).await;
    }
    let mut samples: [Vec<f64>; 3] = Default::default();
    for round in 1..=rounds {
        for turn in 0..SIDES.len() {
            let side = (round + turn) % SIDES.len();
            samples[side].push(sample(SIDES[side], round).await * 1000.0 / f64::from(ops));
        }
    }
    samples.map(Timing::of)
}

/// Prints the workload's two result lines, Plinth against each peer.
fn report(workload: &str, [plinth, dexie, web_sys]: [Timing; 3], web_sys_name: &str) {
    for (peer, theirs) in [("Dexie.js 4.4", dexie), (web_sys_name, web_sys)] {
        console_log!(
            "plinth-peers\tIndexedDB\t{workload}\t{:.3}\t{:.3}\t{:.3}\t{peer}\t{:.3}\t{:.3}\t{:.3}",
            plinth.median,
            plinth.low,
            plinth.high,
            theirs.median,
            theirs.low,
            theirs.high,
        );
    }
}

// ------------------------------------------- the web-sys baseline, as browser_bench.rs

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

/// The row as the baseline stores it: a serde struct as JSON text, id and timestamps
/// included, as Plinth's rows are (browser_bench.rs's `RawRow`).
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
        let PeerRow { name, score, note, active } = row(i);
        let now = Utc::now();
        RawRow { id, name, score, note, active, created_at: now, updated_at: now }
    }
}

/// Rows in IndexedDB by hand: object store `rows` (key: the id, value: the row's JSON)
/// and `meta` (key `seq`: the last id), in a database of its own.
#[derive(Debug)]
struct RawIdb {
    db: IdbDatabase,
}

impl RawIdb {
    async fn open(name: &str) -> Self {
        let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
        let open: IdbOpenDbRequest = factory.open_with_u32(name, 1).expect("open");
        let on_upgrade = Closure::<dyn FnMut()>::new({
            let open = open.clone();
            move || {
                let db: IdbDatabase = open.result().expect("db").unchecked_into();
                for store in ["rows", "meta"] {
                    db.create_object_store(store).expect("object store");
                }
            }
        });
        open.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        RawIdb { db: request(&open).await.unchecked_into() }
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
    async fn top(&self, min_score: i64) -> usize {
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
        rows.len()
    }
}

// ------------------------------------------------------------------------- the sides

/// The three databases, each with its own copy of the rows.
struct Sides {
    plinth: Database,
    dexie: JsValue,
    raw: RawIdb,
    /// The ids each side's table holds, in [`SIDES`] order.
    ids: [Vec<i64>; 3],
}

async fn js(promise: Promise) -> JsValue {
    JsFuture::from(promise).await.expect("Dexie")
}

fn ids_of(value: &JsValue) -> Vec<i64> {
    #[allow(clippy::cast_possible_truncation)]
    let ids = value.unchecked_ref::<Array>().iter().map(|v| v.as_f64().expect("an id") as i64).collect();
    ids
}

impl Sides {
    async fn open(stamp: f64) -> Self {
        let plinth = plinth_browser::connect(&format!("indexeddb://peers-{stamp}")).await.expect("connect");
        plinth.create_all(&[PeerRow::table()]).await.expect("create_all");
        let dexie = DEXIE.with(|dexie| open_dexie(dexie, &format!("dexie-peers-{stamp}")));
        Sides {
            plinth,
            dexie: js(dexie).await,
            raw: RawIdb::open(&format!("raw-peers-{stamp}")).await,
            ids: Default::default(),
        }
    }

    /// Rows `from..from + count` added in one transaction; their ids.
    async fn add_all(&self, side: Side, from: usize, count: usize) -> Vec<i64> {
        match side {
            Side::Plinth => {
                let mut session = self.plinth.session().await.expect("session");
                let records = session.add_all((from..from + count).map(row)).await.expect("add_all");
                session.commit().await.expect("commit");
                records.iter().map(|r| r.id().get()).collect()
            }
            Side::Dexie => ids_of(&js(dexie_add_all(&self.dexie, index(from), index(count))).await),
            Side::WebSys => self.raw.insert_all(from, count).await,
        }
    }

    /// Row `i` added in a transaction of its own; its id.
    async fn insert(&self, side: Side, i: usize) -> i64 {
        match side {
            Side::Plinth => {
                let mut session = self.plinth.session().await.expect("session");
                let record = session.add(row(i)).await.expect("add");
                session.commit().await.expect("commit");
                record.id().get()
            }
            #[allow(clippy::cast_possible_truncation)]
            Side::Dexie => js(dexie_insert(&self.dexie, index(i))).await.as_f64().expect("an id") as i64,
            Side::WebSys => self.raw.insert_all(i, 1).await[0],
        }
    }

    /// Whether row `id` is there, read in a transaction of its own.
    async fn get(&self, side: Side, id: i64) -> bool {
        match side {
            Side::Plinth => self.plinth.session().await.expect("session").get::<PeerRow>(id).await.expect("get").is_some(),
            #[allow(clippy::cast_precision_loss)]
            Side::Dexie => !js(dexie_get(&self.dexie, id as f64)).await.is_undefined(),
            Side::WebSys => self.raw.get(id).await.is_some(),
        }
    }

    async fn delete(&self, side: Side, ids: &[i64]) {
        match side {
            Side::Plinth => {
                let mut session = self.plinth.session().await.expect("session");
                for id in ids {
                    session.delete_by_id::<PeerRow>(*id).await.expect("delete");
                }
                session.commit().await.expect("commit");
            }
            Side::Dexie => {
                let ids: Array = ids.iter().map(|id| id_key(*id)).collect();
                js(dexie_delete(&self.dexie, &ids)).await;
            }
            Side::WebSys => self.raw.delete(ids).await,
        }
    }

    /// Score ≥ 990, score descending then id, the first 100; how many came back.
    async fn top(&self, side: Side) -> usize {
        match side {
            Side::Plinth => {
                let mut session = self.plinth.session().await.expect("session");
                let query = session.query::<PeerRow>().filter(|c| c.score.ge(990)).order_by(|c| c.score.desc());
                query.limit(100).all().await.expect("query").len()
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Side::Dexie => js(dexie_top(&self.dexie, 990.0)).await.as_f64().expect("a count") as usize,
            Side::WebSys => self.raw.top(990).await,
        }
    }

    /// Grows every side's table to `to` rows, 1,000 per transaction.
    async fn grow(&mut self, to: usize) {
        for (slot, side) in SIDES.into_iter().enumerate() {
            for start in (self.ids[slot].len()..to).step_by(1000) {
                let added = self.add_all(side, start, (to - start).min(1000)).await;
                self.ids[slot].extend(added);
            }
        }
    }

    async fn drop_all(self, stamp: f64) {
        drop(self.plinth);
        js(dexie_drop(&self.dexie)).await;
        self.raw.db.close();
        let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
        let _ = factory.delete_database(&format!("plinth/peers-{stamp}"));
        let _ = factory.delete_database(&format!("raw-peers-{stamp}"));
    }
}

fn slot(side: Side) -> usize {
    SIDES.iter().position(|s| *s == side).unwrap_or_default()
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: `cargo xtask bench --peers` runs it"]
async fn plinth_beside_dexie() {
    let rounds = if QUICK { 5 } else { 15 };
    let stamp = js_sys::Date::now();
    let mut sides = Sides::open(stamp).await;
    sides.grow(1_000).await;
    let size = sides.ids[0].len();
    let sides_ref = &sides;

    const INSERTS: u32 = 50;
    let timings = rotate(rounds, INSERTS, |side, round| {
        Box::pin(async move {
            let from = size + round * INSERTS as usize;
            let started = now_ms();
            let mut ids = Vec::with_capacity(INSERTS as usize);
            for i in from..from + INSERTS as usize {
                ids.push(sides_ref.insert(side, i).await);
            }
            let elapsed = now_ms() - started;
            sides_ref.delete(side, &ids).await;
            elapsed
        })
    })
    .await;
    let baseline = "web-sys: one readwrite transaction, sequence get + 2 puts";
    report("insert one row (session + commit), 1000 rows", timings, baseline);

    const GETS: u32 = 200;
    let timings = rotate(rounds, GETS, |side, round| {
        Box::pin(async move {
            let ids = picks(round, &sides_ref.ids[slot(side)], GETS);
            let started = now_ms();
            for id in ids {
                assert!(sides_ref.get(side, id).await, "{side:?}: row {id}");
            }
            now_ms() - started
        })
    })
    .await;
    report("get by id, 1000 rows", timings, "web-sys `store.get`, one readonly transaction");

    const ROWS: usize = 1000;
    let timings = rotate(rounds, 1, |side, round| {
        Box::pin(async move {
            let started = now_ms();
            let ids = sides_ref.add_all(side, size + round * ROWS, ROWS).await;
            let elapsed = now_ms() - started;
            assert_eq!(ids.len(), ROWS);
            sides_ref.delete(side, &ids).await;
            elapsed
        })
    })
    .await;
    report("add_all of 1,000 rows", timings, "web-sys puts in ONE transaction");

    sides.grow(10_000).await;
    let sides_ref = &sides;
    let timings = rotate(rounds, 1, |side, _| {
        Box::pin(async move {
            let started = now_ms();
            let count = sides_ref.top(side).await;
            let elapsed = now_ms() - started;
            assert_eq!(count, 100, "{side:?}");
            elapsed
        })
    })
    .await;
    let baseline = "hand-written `getAll`, serde";
    report("filter 100 of 10000, order, limit", timings, baseline);
    sides.drop_all(stamp).await;
}
