//! [`CrossTab`]: the coordinator of `localStorage` in a browser — a Web Lock per
//! database, and the turn counter in an IndexedDB database of its own.

use js_sys::{Array, Function, Promise, Reflect};
use plinth::{Error, Result};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransactionMode;

use super::{Coordinator, Turn};
use crate::indexeddb::{completion, OpenDatabase, Pending};
use crate::js_error::from_js;

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

/// The [`Coordinator`] of `local://NAME`: the Web Lock `plinth/NAME/localStorage` makes
/// the tabs of an origin take turns, and the IndexedDB database of the same name counts
/// the turns (IndexedDB is the browser process's, so every tab reads the same count).
/// See [`tabs`](crate::tabs) for the protocol.
pub struct CrossTab {
    locks: LockManager,
    lock_name: String,
    counter: OpenDatabase,
}

impl std::fmt::Debug for CrossTab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossTab").field("lock", &self.lock_name).finish_non_exhaustive()
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
        let counter = OpenDatabase::open(BACKEND, database.clone(), 1, &[TURNS]).await?;
        Ok(CrossTab { locks: locks.unchecked_into(), lock_name: database, counter })
    }

    /// Reads the number of turns taken so far and counts this one, in one readwrite
    /// transaction (IndexedDB runs those one at a time, whichever tab asks).
    async fn count_turn(&self) -> Result<u64> {
        let js = |exception: JsValue| from_js(BACKEND, &exception);
        let (db, _) = self.counter.connection().await?;
        let tx = db.transaction_with_str_and_mode(TURNS, IdbTransactionMode::Readwrite).map_err(js)?;
        let done = completion(&tx);
        let store = tx.object_store(TURNS).map_err(js)?;
        let key = JsValue::from_str(TURNS);
        let stored = Pending::new(store.get(&key).map_err(js)?).result().await.map_err(js)?;
        // A whole number below 2^53; anything else (edited by hand) counts as none.
        let earlier = stored.as_f64().filter(|n| n.fract() == 0.0 && (0.0..9.0e15).contains(n)).unwrap_or(0.0);
        store.put_with_key(&JsValue::from_f64(earlier + 1.0), &key).map_err(js)?;
        done.await.map_err(js)?;
        // Checked above: a whole number that fits.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(earlier as u64)
    }
}

#[async_trait::async_trait(?Send)]
impl Coordinator for CrossTab {
    async fn enter(&self) -> Result<Turn> {
        let held = HeldLock::request(&self.locks, &self.lock_name).await?;
        let earlier = self.count_turn().await?;
        Ok(Turn::after(earlier, held))
    }

    async fn pause(&self) {
        let timer = Promise::new(&mut |resolve, _| {
            let set = web_sys::window().map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 1));
            if !matches!(set, Some(Ok(_))) {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        let _ = JsFuture::from(timer).await;
    }
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
