//! [`Fixture`]: how the suite gets a database of the backend under test.

use std::sync::Arc;

use plinth::engine::{EngineBackend, MemoryStore};
use plinth::Database;

/// Gives each check its own storage. The first [`open`](Fixture::open) returns a handle
/// on new, empty storage; every later call returns a *new* handle on that same storage,
/// as an application restart or a page reload would.
#[allow(async_fn_in_trait)]
pub trait Fixture {
    /// A handle on this check's storage; panics with a message if it cannot be had.
    async fn open(&mut self) -> Database;

    /// What the backend can do; checks that depend on it say so and test the
    /// backend's documented behaviour instead.
    fn capabilities(&self) -> Capabilities {
        Capabilities { concurrent_writers: true }
    }
}

/// What a backend can do that not every backend can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Two sessions may hold uncommitted writes at once (SQLite allows one writer).
    pub concurrent_writers: bool,
}

/// The memory backend: every check gets a new store, and reopening builds a new
/// backend over the same store.
#[derive(Debug, Default)]
pub struct MemoryFixture {
    store: Option<Arc<MemoryStore>>,
}

impl Fixture for MemoryFixture {
    async fn open(&mut self) -> Database {
        let store = self.store.get_or_insert_with(|| Arc::new(MemoryStore::new()));
        Database::new(EngineBackend::with_store(Arc::clone(store)))
    }
}
