//! Writing one web storage from several tabs: the [`Coordinator`] a
//! [`WebStorageStore`](crate::WebStorageStore) takes a turn from before every write.
//!
//! # Why a lock is not enough
//!
//! `localStorage` is not one store. Each tab is a renderer process with a copy of its
//! own: a write lands in the writing tab's copy at once and in every other tab's copy
//! later, when the browser process relays it. The Web Locks API serialises tabs, but
//! the lock holder still reads its own copy, which may not yet hold what the previous
//! holder wrote. Measured in Chromium with two tabs (plain JavaScript, every step under
//! `navigator.locks.request`): a shared counter incremented 4,000 times ended at
//! 2,627–3,434, and 349–1,148 ids were handed out twice.
//!
//! # The protocol
//!
//! The browser process applies the writes of all tabs in one order and relays them to
//! every tab in that order. So a tab that sees a write has seen every write applied
//! before it. The protocol makes each writer wait until its copy holds the previous
//! writer's last write, and makes that last write one it can recognise:
//!
//! 1. Take the origin-wide lock of this database (a Web Lock).
//! 2. Holding it, read which turn was opened last, `o` (an odd number), from where every
//!    tab reads the same value (IndexedDB, whose transactions are the browser
//!    process's), and record this turn as opened, `o + 2`.
//! 3. Wait until this tab's copy holds `generation` ≥ `o + 1`: the key every turn
//!    writes last, `o + 1` being the close of turn `o`. Then every write of every
//!    earlier turn is in this copy.
//! 4. Make the turn's writes: finish a commit journal an earlier turn left (its tab
//!    closed half-way), then commit, hand out ids, create tables — one write or, in a
//!    burst, many ([`CrossTab`] keeps the lock as a short lease).
//! 5. Close the turn: write `generation` = `o + 3` to this tab's storage, then release
//!    the lock. (Nothing more is recorded: the next turn knows the close to wait for from
//!    the opening, so closing is synchronous, and a page being hidden or closed between
//!    writes closes its turn at once.)
//!
//! A turn whose tab closed before step 5 never writes its close: the next turn waits
//! [`CATCH_UP_LIMIT`] for it, and goes on with what has arrived by then (a commit cut off
//! half-way is finished from its journal, which it wrote first). So does a turn that
//! finds the counter gone or behind what its storage has seen (IndexedDB cleared while
//! localStorage was kept), and numbering then goes on above what was seen. In those two
//! cases a write still on its way after the wait is the one thing the protocol cannot
//! order; `RELIABILITY.md` lists it.
//!
//! Reads take no turn: a session may read a copy that lags by the time a relay takes,
//! as a session on a server reads what was committed when its statement began. Every
//! commit is checked, inside its turn, against the caught-up copy, so a stale read
//! leads to `Conflict`, never to a lost write.

#[cfg(target_arch = "wasm32")]
mod cross_tab;

use std::fmt;

use async_trait::async_trait;
use plinth::backend::SendOutsideWasm;
use plinth::backend::SyncOutsideWasm;
use plinth::Result;

#[cfg(target_arch = "wasm32")]
pub use cross_tab::CrossTab;

/// How long, in milliseconds, a turn waits for the previous turn's last write to reach
/// this tab before it goes on without it (the previous turn's tab closed in the middle).
pub const CATCH_UP_LIMIT: f64 = 3_000.0;

/// Decides which handle may write a web storage database now; see the module docs for
/// the protocol and why it is correct. An implementation closes every turn itself —
/// writes `generation` into the storage and records it where the next turn reads it —
/// before another handle may enter.
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
pub trait Coordinator: SendOutsideWasm + SyncOutsideWasm + fmt::Debug + 'static {
    /// Waits until this handle alone may write the database, and takes a turn.
    async fn enter(&self) -> Result<Turn>;

    /// Lets other tabs' writes arrive for about a millisecond (a turn of the event loop
    /// in a browser).
    async fn pause(&self);

    /// A monotonic clock, in milliseconds, for [`CATCH_UP_LIMIT`]: it must not jump
    /// with the wall clock.
    fn clock_ms(&self) -> f64;
}

/// A boxed coordinator, so one [`WebStorageStore`](crate::WebStorageStore) type serves
/// [`CrossTab`] and [`OneTab`] alike (one copy of its code in the page's wasm).
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<C: Coordinator + ?Sized> Coordinator for Box<C> {
    async fn enter(&self) -> Result<Turn> {
        (**self).enter().await
    }

    async fn pause(&self) {
        (**self).pause().await;
    }

    fn clock_ms(&self) -> f64 {
        (**self).clock_ms()
    }
}

/// One writer's turn: while it lives, no other handle of any tab writes the database.
pub struct Turn {
    wait_for: Option<u64>,
    _hold: Box<dyn SendOutsideWasm>,
}

impl Turn {
    /// A turn that may write once this tab's storage holds `generation` ≥ `wait_for`
    /// (the close of the previous turn), held until `hold` is dropped.
    pub fn after(wait_for: u64, hold: impl SendOutsideWasm + 'static) -> Self {
        Turn { wait_for: Some(wait_for), _hold: Box::new(hold) }
    }

    /// A turn of a storage only this handle's page writes (sessionStorage, or one
    /// page's memory): there is nothing to wait for.
    pub fn alone() -> Self {
        Turn { wait_for: None, _hold: Box::new(()) }
    }

    /// The `generation` this tab's storage must hold before the turn writes; `None`
    /// for [`Turn::alone`].
    pub fn wait_for(&self) -> Option<u64> {
        self.wait_for
    }
}

impl fmt::Debug for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn").field("wait_for", &self.wait_for).finish_non_exhaustive()
    }
}

/// Writes the `generation` a turn closes at: fixed width, so the write never needs more
/// room than the last one took, and goes through even when a full storage refused the
/// turn's own writes.
pub fn close_turn(kv: &impl crate::KeyValue, key: &str, generation: u64) -> Result<()> {
    kv.set(key, &format!("{generation:020}"))
}

/// The `generation` a tab's storage holds (`0` if none, or if it is not a number).
pub fn generation_seen(kv: &impl crate::KeyValue, key: &str) -> Result<u64> {
    Ok(kv.get(key)?.and_then(|text| text.trim().parse().ok()).unwrap_or(0))
}

/// The coordinator of a storage no other tab writes: `sessionStorage` (each tab has
/// its own), and [`MemoryKeyValue`](crate::MemoryKeyValue) in tests. Handles in one
/// page need none: their writes are synchronous calls with no `await` between them.
#[derive(Clone, Copy, Debug, Default)]
pub struct OneTab;

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Coordinator for OneTab {
    async fn enter(&self) -> Result<Turn> {
        Ok(Turn::alone())
    }

    async fn pause(&self) {}

    fn clock_ms(&self) -> f64 {
        0.0
    }
}
