//! [`GlooKeyValue`]: `localStorage` and `sessionStorage` as a [`KeyValue`], through gloo-storage.

use std::marker::PhantomData;

use gloo_storage::{LocalStorage, SessionStorage, Storage};
use plinth::{Error, Result};

use crate::js_error::from_js;
use crate::KeyValue;

/// A browser web storage — [`LocalStorage`] or [`SessionStorage`] — as a [`KeyValue`].
///
/// Values are stored as given (the record store writes JSON text itself), so they go
/// through gloo's `raw()` storage handle; gloo's typed `get`/`set` would JSON-encode
/// them a second time.
#[derive(Debug)]
pub struct GlooKeyValue<S> {
    name: &'static str,
    storage: PhantomData<S>,
}

impl GlooKeyValue<LocalStorage> {
    /// This page's `localStorage`; [`Error::Connection`] if the browser refuses it.
    pub fn local() -> Result<Self> {
        let window = window("localStorage")?;
        available("localStorage", window.local_storage())
    }
}

impl GlooKeyValue<SessionStorage> {
    /// This tab's `sessionStorage`; [`Error::Connection`] if the browser refuses it.
    pub fn session() -> Result<Self> {
        let window = window("sessionStorage")?;
        available("sessionStorage", window.session_storage())
    }
}

fn unavailable(name: &'static str, why: String) -> Error {
    Error::Connection {
        backend: name,
        source: format!("{name} is not available ({why}); it may be disabled in this browser's settings or in private browsing, or this code is not running in a page").into(),
    }
}

fn window(name: &'static str) -> Result<web_sys::Window> {
    web_sys::window().ok_or_else(|| unavailable(name, "no `window`".to_owned()))
}

/// Checked before gloo's `raw()` is ever called: it panics where storage is missing.
fn available<S>(
    name: &'static str,
    storage: std::result::Result<Option<web_sys::Storage>, wasm_bindgen::JsValue>,
) -> Result<GlooKeyValue<S>> {
    match storage {
        Ok(Some(_)) => Ok(GlooKeyValue { name, storage: PhantomData }),
        Ok(None) => Err(unavailable(name, "the browser has none".to_owned())),
        Err(e) => Err(unavailable(name, crate::js_error::from_js(name, &e).to_string())),
    }
}

impl<S: Storage + std::fmt::Debug + 'static> KeyValue for GlooKeyValue<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        S::raw().get_item(key).map_err(|e| from_js(self.name, &e))
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        S::raw().set_item(key, value).map_err(|e| from_js(self.name, &e))
    }

    fn remove(&self, key: &str) -> Result<()> {
        S::raw().remove_item(key).map_err(|e| from_js(self.name, &e))
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let storage = S::raw();
        let length = storage.length().map_err(|e| from_js(self.name, &e))?;
        let mut keys = Vec::new();
        for index in 0..length {
            match storage.key(index).map_err(|e| from_js(self.name, &e))? {
                Some(key) if key.starts_with(prefix) => keys.push(key),
                _ => {}
            }
        }
        Ok(keys)
    }
}
