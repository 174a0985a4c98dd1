//! [`CrossTab`]: the coordinator of `localStorage` in a browser — a Web Lock per
//! database, and the turn counter in an IndexedDB database of its own.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use plinth::{Error, Result};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransactionMode;

use gloo_storage::LocalStorage;

use super::{close_turn, generation_seen, Coordinator, Turn};
use crate::indexeddb::{completion, OpenDatabase, Pending, StoreLayout};
use crate::js_error::from_js;
use crate::layout::Layout;
use crate::GlooKeyValue;

const BACKEND: &str = "localStorage";
const TURNS: &str = "turns";

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`, the Web Locks API (bound here: web-sys marks it unstable).
    type LockManager;

    /// `locks.request(name, callback)`: runs `callback` once the lock is granted and
    /// holds the lock until the promise `callback` returns settles.
    #[wasm_bindgen(method)]
    fn request(this: &LockManager, name: &str, callback: &Function) -> Promise;
}

/// How long a tab keeps the lock after its last write, so a burst of writes (an `add`
/// and its `commit`, a loop of them) pays for taking the lock once.
const LEASE_IDLE_MS: f64 = 8.0;

/// How long a tab keeps the lock at most, however busy, before the tabs waiting for it
/// (Web Locks grant in the order asked) get their turn.
const LEASE_MAX_MS: f64 = 100.0;

/// The [`Coordinator`] of `local://NAME`: the Web Lock `plinth/NAME/localStorage` makes
/// the tabs of an origin take turns, and the IndexedDB database of the same name counts
/// the turns (IndexedDB is the browser process's, so every tab reads the same count).
/// See [`tabs`](crate::tabs) for the protocol.
///
/// Taking the lock and opening a turn costs an IndexedDB transaction (about 2 ms), and
/// closing it another, so a tab keeps the lock as a lease: the writes it makes within
/// [`LEASE_IDLE_MS`] of each other, and within [`LEASE_MAX_MS`] of taking it, are one
/// turn of the protocol, closed when the lease is let go.
pub struct CrossTab(Rc<Shared>);

/// What the coordinator and the task that closes its leases share.
struct Shared {
    locks: LockManager,
    lock_name: String,
    counter: OpenDatabase,
    storage: GlooKeyValue<LocalStorage>,
    generation_key: String,
    lease: Rc<RefCell<Option<Lease>>>,
}

/// The lock, held across writes: one open turn.
struct Lease {
    lock: HeldLock,
    /// The generation the previous turn closed at, which this tab's copy must hold.
    wait_for: u64,
    /// The generation this turn closes at.
    closes_at: u64,
    /// When it was taken and last used ([`monotonic_ms`]).
    taken: f64,
    last_used: Rc<Cell<f64>>,
    /// How many turns are using it now; it is let go only when none is.
    users: Rc<Cell<usize>>,
}

/// One write's use of the lease.
struct InUse {
    last_used: Rc<Cell<f64>>,
    users: Rc<Cell<usize>>,
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.users.set(self.users.get().saturating_sub(1));
        self.last_used.set(monotonic_ms());
    }
}

impl std::fmt::Debug for CrossTab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossTab").field("lock", &self.0.lock_name).finish_non_exhaustive()
    }
}

impl CrossTab {
    /// The coordinator of the `localStorage` database `name`. [`Error::Connection`] where
    /// the browser offers no Web Locks (a page that is not a secure context — neither
    /// `https` nor `localhost`) or no IndexedDB: without them, tabs could not take
    /// turns, and writes of two tabs would be lost.
    pub async fn open(name: &str) -> Result<Self> {
        let unavailable = |what: &str| Error::Connection {
            backend: BACKEND,
            source: format!(
                "{what} is not available here, and localStorage needs it to keep the writes of several tabs apart; \
                 serve the page over https or from localhost, or use session:// (one tab) or indexeddb://"
            )
            .into(),
        };
        let window = web_sys::window().ok_or_else(|| unavailable("a `window`"))?;
        let locks = Reflect::get(&window.navigator(), &JsValue::from_str("locks")).unwrap_or(JsValue::UNDEFINED);
        if locks.is_undefined() || locks.is_null() {
            return Err(unavailable("The Web Locks API (navigator.locks)"));
        }
        let database = format!("plinth/{name}/localStorage");
        let stores = &[StoreLayout { name: TURNS, multi_entry_indexes: &[] }];
        let counter = OpenDatabase::open(BACKEND, database.clone(), 1, stores).await?;
        let shared = Rc::new(Shared {
            locks: locks.unchecked_into(),
            lock_name: database,
            counter,
            storage: GlooKeyValue::local()?,
            generation_key: Layout::new(name).generation(),
            lease: Rc::default(),
        });
        // A page hidden or closed between writes closes its turn at once, instead of
        // leaving the next tab to wait for a close its (throttled or stopped) timer
        // would have made. The handlers hold the state weakly: a dropped handle is gone.
        let weak = Rc::downgrade(&shared);
        let on_hide = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.close_if_done(true);
            }
        });
        for event in ["pagehide", "visibilitychange"] {
            let _ = window.add_event_listener_with_callback(event, on_hide.as_ref().unchecked_ref());
        }
        // Lives as long as the page: one small closure per opened database.
        on_hide.forget();
        Ok(CrossTab(shared))
    }
}

impl Shared {
    /// Opens a turn in IndexedDB, in one readwrite transaction (IndexedDB runs those one
    /// at a time, whichever tab asks): reads the turn opened last, `o` (odd), whose
    /// close is `generation` = `o + 1`, and records this turn as `o + 2`. Returns the
    /// generation to wait for and the one this turn closes at.
    ///
    /// A counter that is gone, or behind what this tab's storage has seen, was reset
    /// (IndexedDB cleared, localStorage kept): then nothing says which writes are still
    /// on their way, so the turn waits the whole `CATCH_UP_LIMIT`, and numbering goes on
    /// above what was seen.
    async fn open_turn(&self) -> Result<(u64, u64)> {
        let seen = generation_seen(&self.storage, &self.generation_key)?;
        // The turn opened last, when the counter can be trusted.
        let trusted = |last: Option<u64>| match last {
            None if seen == 0 => Some(None),
            Some(last) if seen <= last + 1 => Some(Some(last)),
            _ => None,
        };
        let opening = |last: Option<u64>| match trusted(last) {
            Some(None) => 1,
            Some(Some(last)) => last + 2,
            None => (seen | 1) + 2,
        };
        let last = self.read_write_counter(opening).await?;
        let wait_for = match trusted(last) {
            Some(None) => 0,
            Some(Some(last)) => last + 1,
            None => u64::MAX,
        };
        Ok((wait_for, opening(last) + 1))
    }

    /// Reads the counter — the turn opened last, an odd number, if any — and stores
    /// `next(counter)`, in one transaction; returns what was stored before.
    async fn read_write_counter(&self, next: impl FnOnce(Option<u64>) -> u64) -> Result<Option<u64>> {
        let js = |exception: JsValue| from_js(BACKEND, &exception);
        let (db, _) = self.counter.connection().await?;
        let tx = db.transaction_with_str_and_mode(TURNS, IdbTransactionMode::Readwrite).map_err(js)?;
        let done = completion(&tx);
        let store = tx.object_store(TURNS).map_err(js)?;
        let key = JsValue::from_str(TURNS);
        let stored = Pending::new(store.get(&key).map_err(js)?).result().await.map_err(js)?;
        // An odd whole number below 2^53; anything else (edited by hand) counts as none.
        let stored = stored.as_f64().filter(|n| n.fract() == 0.0 && (1.0..9.0e15).contains(n) && n % 2.0 == 1.0);
        // Checked above: a whole number that fits.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let stored = stored.map(|n| n as u64);
        // Below 2^53, so exact as a JavaScript number.
        #[allow(clippy::cast_precision_loss)]
        store.put_with_key(&JsValue::from_f64(next(stored) as f64), &key).map_err(js)?;
        done.await.map_err(js)?;
        Ok(stored)
    }

    /// A write in the lease this tab holds, if it holds one young enough and the page
    /// is shown (a hidden page's timers are throttled, so its lease could linger).
    fn within_lease(&self) -> Option<Turn> {
        let lease = self.lease.borrow();
        let lease = lease.as_ref().filter(|lease| monotonic_ms() - lease.taken < LEASE_MAX_MS && !page_hidden())?;
        lease.users.set(lease.users.get() + 1);
        let in_use = InUse { last_used: Rc::clone(&lease.last_used), users: Rc::clone(&lease.users) };
        Some(Turn::after(lease.wait_for, in_use))
    }

    /// Closes the lease's turn once no write uses it and it has been idle long enough,
    /// or is too old, or the page is hidden.
    fn close_when_done(self: &Rc<Self>) {
        let this = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            while this.lease.borrow().is_some() {
                sleep(LEASE_IDLE_MS).await;
                this.close_if_done(false);
            }
        });
    }

    /// Step 5 of the protocol, if the lease is not in use and (unless `now`) is idle,
    /// old, or the page hidden: the turn's last write, then the lock released. It is
    /// synchronous, so a page being hidden or closed (`pagehide`) closes its turn.
    fn close_if_done(&self, now: bool) {
        let mut held = self.lease.borrow_mut();
        let Some(lease) = held.as_ref() else { return };
        let time = monotonic_ms();
        let due =
            now || page_hidden() || time - lease.last_used.get() >= LEASE_IDLE_MS || time - lease.taken >= LEASE_MAX_MS;
        if lease.users.get() > 0 || !due {
            return;
        }
        if let Some(lease) = held.take() {
            // If this write fails (a storage so full that even an equal-length value is
            // refused), the next turn waits out `CATCH_UP_LIMIT`.
            let _ = close_turn(&self.storage, &self.generation_key, lease.closes_at);
            drop(lease.lock);
        }
    }
}

/// Milliseconds on the page's monotonic clock (`performance.now()`): lease and
/// catch-up times must not jump with the wall clock.
pub(crate) fn monotonic_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn page_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

#[async_trait::async_trait(?Send)]
impl Coordinator for CrossTab {
    async fn enter(&self) -> Result<Turn> {
        let shared = &self.0;
        if let Some(turn) = shared.within_lease() {
            return Ok(turn);
        }
        let lock = HeldLock::request(&shared.locks, &shared.lock_name).await?;
        let (wait_for, closes_at) = shared.open_turn().await?;
        let now = monotonic_ms();
        let users = Rc::new(Cell::new(1));
        let last_used = Rc::new(Cell::new(now));
        let in_use = InUse { last_used: Rc::clone(&last_used), users: Rc::clone(&users) };
        // Holding the lock, this page has no other lease: the last one was let go.
        *shared.lease.borrow_mut() = Some(Lease { lock, wait_for, closes_at, taken: now, last_used, users });
        shared.close_when_done();
        Ok(Turn::after(wait_for, in_use))
    }

    async fn pause(&self) {
        sleep(1.0).await;
    }

    fn clock_ms(&self) -> f64 {
        monotonic_ms()
    }
}

/// Resolves after about `ms` milliseconds (a turn of the event loop at least).
async fn sleep(ms: f64) {
    let timer = Promise::new(&mut |resolve, _| {
        // Whole milliseconds; the timer API takes an i32.
        #[allow(clippy::cast_possible_truncation)]
        let ms = ms as i32;
        let set = web_sys::window().map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms));
        if !matches!(set, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(timer).await;
}

/// A Web Lock, held until this is dropped.
struct HeldLock {
    /// Resolves the promise the lock's callback returned, which releases the lock.
    release: Function,
}

impl HeldLock {
    /// Waits until the lock `name` is granted. The release handle exists before the
    /// wait, so a request abandoned half-way (its future dropped) releases the lock as
    /// soon as it is granted, instead of holding it for good.
    async fn request(locks: &LockManager, name: &str) -> Result<Self> {
        let mut release = None;
        let held_until = Promise::new(&mut |resolve, _| release = Some(resolve));
        let mut grant = None;
        let granted = Promise::new(&mut |resolve, _| grant = Some(resolve));
        let (Some(release), Some(grant)) = (release, grant) else {
            return Err(Error::backend(BACKEND, "a JavaScript promise did not hand out its resolver"));
        };
        let held = HeldLock { release };
        let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            let _ = grant.call0(&JsValue::UNDEFINED);
            held_until.into()
        });
        // Settles only once the lock is released again, unless the request fails.
        let requested = locks.request(name, callback.unchecked_ref());
        let first = Promise::race(&Array::of2(&granted, &requested));
        JsFuture::from(first).await.map_err(|e| from_js(BACKEND, &e))?;
        Ok(held)
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}
