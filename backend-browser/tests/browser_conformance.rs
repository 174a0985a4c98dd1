//! The conformance suite in headless Chromium, against localStorage, sessionStorage
//! and IndexedDB, each check on a database NAME of its own that is removed afterwards.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p plinth-browser`
//! (or `cargo xtask test`, which installs what is missing).
#![cfg(target_arch = "wasm32")]

use plinth::Database;
use plinth_browser::{GlooKeyValue, KeyValue};
use plinth_conformance::Fixture;
use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_browser);

/// A database NAME no earlier run used.
fn unique_name(scheme: &str) -> String {
    format!("check-{scheme}-{}-{}", js_sys::Date::now(), js_sys::Math::random().to_bits())
}

/// One check's database, reached through `connect` like an application would.
struct BrowserFixture {
    scheme: &'static str,
    name: String,
}

impl BrowserFixture {
    fn new(scheme: &'static str) -> Self {
        BrowserFixture { scheme, name: unique_name(scheme) }
    }
}

impl Fixture for BrowserFixture {
    async fn open(&mut self) -> Database {
        plinth_browser::connect(&format!("{}://{}", self.scheme, self.name)).await.expect("connect")
    }
}

fn remove_keys(kv: &impl KeyValue, name: &str) {
    let keys = kv.keys_with_prefix(&format!("plinth/{name}/")).expect("list keys");
    for key in keys {
        kv.remove(&key).expect("remove a key");
    }
}

impl Drop for BrowserFixture {
    fn drop(&mut self) {
        match self.scheme {
            "local" => remove_keys(&GlooKeyValue::local().expect("localStorage"), &self.name),
            "session" => remove_keys(&GlooKeyValue::session().expect("sessionStorage"), &self.name),
            _ => {
                let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).expect("IndexedDB");
                // Runs once every handle has closed; nothing waits for it.
                let _ = factory.delete_database(&format!("plinth/{}", self.name));
            }
        }
    }
}

mod local_storage {
    use wasm_bindgen_test::wasm_bindgen_test;
    plinth_conformance::conformance_suite!(wasm_bindgen_test, super::BrowserFixture::new("local"));
}

mod session_storage {
    use wasm_bindgen_test::wasm_bindgen_test;
    plinth_conformance::conformance_suite!(wasm_bindgen_test, super::BrowserFixture::new("session"));
}

mod indexeddb {
    use wasm_bindgen_test::wasm_bindgen_test;
    plinth_conformance::conformance_suite!(wasm_bindgen_test, super::BrowserFixture::new("indexeddb"));
}
