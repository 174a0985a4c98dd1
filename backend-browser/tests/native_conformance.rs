//! The conformance suite on the web-storage store over an in-memory key-value store:
//! the browser backend's logic, natively. `cargo test -p plinth-browser`.
#![cfg(not(target_arch = "wasm32"))]

use plinth::engine::EngineBackend;
use plinth::Database;
use plinth_browser::{MemoryKeyValue, WebStorageStore};
use plinth_conformance::Fixture;

/// A fresh key-value store per check; reopening builds a new store on the same keys.
#[derive(Default)]
struct KeyValueFixture {
    kv: MemoryKeyValue,
}

impl Fixture for KeyValueFixture {
    async fn open(&mut self) -> Database {
        let store = WebStorageStore::open(self.kv.clone(), "conformance").expect("open the store");
        Database::new(EngineBackend::new(store))
    }
}

plinth_conformance::conformance_suite!(tokio::test, KeyValueFixture::default());
