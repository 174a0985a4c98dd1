//! Two tabs writing one `localStorage`, natively: a model of the browser in which each
//! tab reads and writes a copy of its own and hears of the other tab's writes later, in
//! the order the browser applied them, after a random delay — as Chromium's renderer
//! processes do. Both tabs hammer one database: users added (ids), a shared counter
//! read, incremented and written back (lost updates), and labels claimed from a small
//! shared set (unique entries).
//!
//! With the [`tabs`](plinth_browser::tabs) protocol, nothing is lost: no id is handed out
//! twice, every committed write is stored, the counter equals the committed increments,
//! and the unique entries are exactly the rows' values. Without it (each tab's store
//! alone, as before), the same run loses writes — the control that shows the model's
//! copies really lag.
//!
//! `cargo test -p plinth-browser --test native_tabs`
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use plinth::engine::EngineBackend;
use plinth::{Database, Entity, Error, Result};
use plinth_browser::tabs::close_turn;
use plinth_browser::{Coordinator, KeyValue, OneTab, Turn, WebStorageStore};
use plinth_conformance::entities::{Tag, User};

/// The key each turn writes last (see `plinth_browser::tabs`).
const GENERATION: &str = "plinth/app/generation";

/// Rounds each tab runs.
const ROUNDS: usize = 150;
/// Labels both tabs claim from.
const LABELS: u64 = 12;

/// The browser process's store and what each tab's copy has not heard of yet.
#[derive(Debug, Default)]
struct Browser {
    state: Mutex<BrowserState>,
}

#[derive(Debug, Default)]
struct BrowserState {
    applied: BTreeMap<String, String>,
    copies: Vec<BTreeMap<String, String>>,
    /// For each tab, the other tabs' writes on their way to it, in the browser's order.
    inboxes: Vec<VecDeque<(String, Option<String>)>>,
}

impl Browser {
    fn new(tabs: usize) -> Arc<Self> {
        let state = BrowserState {
            applied: BTreeMap::new(),
            copies: vec![BTreeMap::new(); tabs],
            inboxes: vec![VecDeque::new(); tabs],
        };
        Arc::new(Browser { state: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, BrowserState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Relays to each tab some of the writes on their way to it (`amount` picks how
    /// many), oldest first.
    fn relay(&self, mut amount: impl FnMut(usize) -> usize) {
        let mut state = self.lock();
        let BrowserState { copies, inboxes, .. } = &mut *state;
        for (copy, inbox) in copies.iter_mut().zip(inboxes.iter_mut()) {
            for _ in 0..amount(inbox.len()) {
                let Some((key, value)) = inbox.pop_front() else { break };
                match value {
                    Some(value) => copy.insert(key, value),
                    None => copy.remove(&key),
                };
            }
        }
    }

    fn relay_everything(&self) {
        self.relay(|pending| pending);
    }
}

/// One tab's view: its own copy.
#[derive(Clone, Debug)]
struct Tab {
    browser: Arc<Browser>,
    index: usize,
}

impl Tab {
    fn write(&self, key: &str, value: Option<&str>) {
        let mut state = self.browser.lock();
        let owned = value.map(str::to_owned);
        match &owned {
            Some(v) => {
                state.applied.insert(key.to_owned(), v.clone());
                state.copies[self.index].insert(key.to_owned(), v.clone());
            }
            None => {
                state.applied.remove(key);
                state.copies[self.index].remove(key);
            }
        }
        for (tab, inbox) in state.inboxes.iter_mut().enumerate() {
            if tab != self.index {
                inbox.push_back((key.to_owned(), owned.clone()));
            }
        }
    }
}

impl KeyValue for Tab {
    fn name(&self) -> &'static str {
        "localStorage (model)"
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.browser.lock().copies[self.index].get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.write(key, Some(value));
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.write(key, None);
        Ok(())
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let state = self.browser.lock();
        Ok(state.copies[self.index].keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
}

/// The model's Web Lock and IndexedDB: one lock, and the generation the last turn
/// closed at, which every tab reads alike.
#[derive(Clone, Debug)]
struct ModelLock {
    lock: Arc<tokio::sync::Mutex<()>>,
    closed: Arc<AtomicU64>,
    /// The model's clock (paused in these tests, so it moves only as the tasks sleep).
    started: tokio::time::Instant,
}

impl Default for ModelLock {
    fn default() -> Self {
        ModelLock { lock: Arc::default(), closed: Arc::default(), started: tokio::time::Instant::now() }
    }
}

/// One tab's coordinator on the shared [`ModelLock`].
#[derive(Debug)]
struct ModelCoordinator {
    shared: ModelLock,
    tab: Tab,
}

/// A turn of the model, closed (as `CrossTab` closes its leases) when it is dropped:
/// the tab writes `generation`, the model records it, then the lock is released.
struct Closing {
    tab: Tab,
    closed: Arc<AtomicU64>,
    closes_at: u64,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for Closing {
    fn drop(&mut self) {
        close_turn(&self.tab, GENERATION, self.closes_at).expect("the model takes every write");
        self.closed.store(self.closes_at, Ordering::SeqCst);
    }
}

#[async_trait]
impl Coordinator for ModelCoordinator {
    async fn enter(&self) -> Result<Turn> {
        let held = Arc::clone(&self.shared.lock).lock_owned().await;
        let wait_for = self.shared.closed.load(Ordering::SeqCst);
        let closing = Closing {
            tab: self.tab.clone(),
            closed: Arc::clone(&self.shared.closed),
            closes_at: wait_for + 2,
            _held: held,
        };
        Ok(Turn::after(wait_for, closing))
    }

    async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn clock_ms(&self) -> f64 {
        self.shared.started.elapsed().as_secs_f64() * 1_000.0
    }
}

/// A small deterministic random source (xorshift64*).
#[derive(Clone, Debug)]
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// What one tab saw committed.
#[derive(Debug, Default)]
struct TabReport {
    users: Vec<(i64, String)>,
    increments: u64,
    refused: BTreeMap<String, u64>,
}

fn note(report: &mut TabReport, err: &Error) {
    let kind = match err {
        Error::Conflict { .. } => "Conflict",
        Error::UniqueViolation { .. } => "UniqueViolation",
        Error::NotFound { .. } => "NotFound",
        other => panic!("an untyped or unexpected error: {other:?}"),
    };
    *report.refused.entry(kind.to_owned()).or_default() += 1;
}

async fn pause(random: &mut Random) {
    tokio::time::sleep(Duration::from_micros(random.below(1_500))).await;
}

/// One tab's work: add a user, increment the counter (retrying on `Conflict`), claim a
/// label or give one up; pausing at random between steps.
async fn hammer(db: Database, tab: usize, mut random: Random) -> TabReport {
    let mut report = TabReport::default();
    for round in 0..ROUNDS {
        let name = format!("tab{tab}-{round}");
        let mut session = db.session().await.expect("session");
        let added = session.add(User::named(&name)).await;
        pause(&mut random).await;
        match (added, session.commit().await) {
            (Ok(user), Ok(())) => report.users.push((user.id().get(), name)),
            (Err(err), _) | (Ok(_), Err(err)) => note(&mut report, &err),
        }
        pause(&mut random).await;

        loop {
            let mut session = db.session().await.expect("session");
            let counter = session.query::<Tag>().filter(|c| c.label.eq("counter")).first().await;
            let mut counter = counter.expect("query").expect("the counter row");
            counter.weight += 1;
            pause(&mut random).await;
            let written = session.update(&mut counter).await;
            pause(&mut random).await;
            match written.and(session.commit().await) {
                Ok(()) => {
                    report.increments += 1;
                    break;
                }
                Err(err @ Error::Conflict { .. }) => note(&mut report, &err),
                Err(other) => panic!("incrementing: {other:?}"),
            }
        }

        let label = format!("label-{}", random.below(LABELS));
        let mut session = db.session().await.expect("session");
        let mine = session.query::<Tag>().filter(|c| c.label.eq(label.clone()).and(c.weight.eq(-1))).first().await;
        let step = match mine.expect("query") {
            Some(tag) if random.below(2) == 0 => session.delete(tag).await,
            _ => session.add(Tag { label: Some(label), weight: -1 }).await.map(drop),
        };
        pause(&mut random).await;
        if let Err(err) = step.and(session.commit().await) {
            note(&mut report, &err);
        }
    }
    report
}

/// Runs two tabs on one browser model with stores made by `open`, relaying writes
/// between them in random bursts, and returns what was wrong with the result.
async fn two_tabs<S>(open: impl Fn(Tab) -> S) -> (Vec<String>, Vec<TabReport>)
where
    S: std::future::Future<Output = Database>,
{
    let browser = Browser::new(2);
    let first = open(Tab { browser: Arc::clone(&browser), index: 0 }).await;
    first.create_all(&[User::table(), Tag::table()]).await.expect("create_all");
    let mut session = first.session().await.expect("session");
    session.add(Tag { label: Some("counter".into()), weight: 0 }).await.expect("the counter");
    session.commit().await.expect("commit");
    browser.relay_everything();
    let second = open(Tab { browser: Arc::clone(&browser), index: 1 }).await;

    let relaying = {
        let browser = Arc::clone(&browser);
        let mut random = Random(0x5eed_0001);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_micros(300)).await;
                browser.relay(|pending| random.below(pending as u64 + 1) as usize);
            }
        })
    };
    let a = tokio::spawn(hammer(first, 0, Random(0x5eed_00aa)));
    let b = tokio::spawn(hammer(second, 1, Random(0x5eed_00bb)));
    let reports = vec![a.await.expect("tab 0"), b.await.expect("tab 1")];
    relaying.abort();
    browser.relay_everything();
    (check(&browser, &reports).await, reports)
}

/// Everything the tabs were told was committed is stored, once, and the unique entries
/// are exactly the rows' values.
async fn check(browser: &Arc<Browser>, reports: &[TabReport]) -> Vec<String> {
    let mut problems = Vec::new();
    let tab = Tab { browser: Arc::clone(browser), index: 0 };
    let db = Database::new(EngineBackend::new(WebStorageStore::open(tab.clone(), "app").expect("reopen")));
    let mut session = db.session().await.expect("session");
    let stored: BTreeMap<i64, String> = match session.query::<User>().all().await {
        Ok(users) => users.iter().map(|u| (u.id().get(), u.username.clone())).collect(),
        Err(err) => return vec![format!("the users cannot be read: {err}")],
    };
    let mut given = BTreeMap::new();
    for (id, name) in reports.iter().flat_map(|r| &r.users) {
        if let Some(other) = given.insert(*id, name.clone()) {
            problems.push(format!("id {id} was handed out twice: to {other} and to {name}"));
        }
        match stored.get(id) {
            Some(found) if found == name => {}
            found => problems.push(format!("committed user {name} (id {id}) is stored as {found:?}")),
        }
    }
    if stored.len() != given.len() {
        problems.push(format!("{} users stored, {} committed", stored.len(), given.len()));
    }
    let increments: u64 = reports.iter().map(|r| r.increments).sum();
    match session.query::<Tag>().filter(|c| c.label.eq("counter")).first().await {
        Ok(Some(counter)) if i64::from(counter.weight) as u64 == increments => {}
        found => problems.push(format!(
            "the counter is {:?} after {increments} committed increments",
            found.map(|c| c.map(|c| c.weight))
        )),
    }
    let tags = session.query::<Tag>().all().await.expect("tags");
    let prefixes = [("plinth/app/t/users/u/username/", "users"), ("plinth/app/t/tags/u/label/", "tags")];
    for (prefix, table) in prefixes {
        let mut entries = BTreeMap::new();
        for key in tab.keys_with_prefix(prefix).expect("keys") {
            let id: i64 = tab.get(&key).expect("get").and_then(|v| v.parse().ok()).unwrap_or(-1);
            entries.insert(key[prefix.len()..].to_owned(), id);
        }
        let rows: BTreeMap<String, i64> = match table {
            "users" => stored.iter().map(|(id, name)| (serde_json::to_string(name).expect("json"), *id)).collect(),
            _ => tags
                .iter()
                .filter_map(|t| t.label.as_ref().map(|l| (serde_json::to_string(l).expect("json"), t.id().get())))
                .collect(),
        };
        if entries != rows {
            problems.push(format!("the unique entries of `{table}` are not its rows' values"));
        }
    }
    let state = browser.lock();
    if state.copies.iter().any(|copy| *copy != state.applied) {
        problems.push("a tab's copy differs from the browser's after every write was relayed".to_owned());
    }
    problems
}

#[tokio::test(start_paused = true)]
async fn two_tabs_taking_turns_lose_nothing() {
    let shared = ModelLock::default();
    let (problems, reports) = two_tabs(|tab| {
        let coordinator = ModelCoordinator { shared: shared.clone(), tab: tab.clone() };
        async move {
            let store = WebStorageStore::open_with(tab, "app", coordinator).await.expect("open");
            Database::new(EngineBackend::new(store))
        }
    })
    .await;
    for (i, report) in reports.iter().enumerate() {
        println!(
            "tab {i}: {} users, {} increments, refused {:?}",
            report.users.len(),
            report.increments,
            report.refused
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let conflicts: u64 = reports.iter().map(|r| r.refused.get("Conflict").copied().unwrap_or(0)).sum();
    assert!(conflicts > 0, "the tabs never raced for the counter, so the run shows nothing: {reports:?}");
}

/// The control: the same run without the protocol (each tab's store on its own, as
/// before) loses writes in this model, so the model's copies do lag.
#[tokio::test(start_paused = true)]
async fn without_turns_the_same_two_tabs_lose_writes() {
    let (problems, _) = two_tabs(|tab| async move {
        let store: WebStorageStore<Tab, OneTab> = WebStorageStore::open(tab, "app").expect("open");
        Database::new(EngineBackend::new(store))
    })
    .await;
    let twice = problems.iter().filter(|p| p.contains("twice")).count();
    println!("without turns: {} problems, {twice} ids handed out twice: {problems:#?}", problems.len());
    assert!(problems.iter().any(|p| p.contains("twice")), "ids were handed out twice: {problems:#?}");
}
