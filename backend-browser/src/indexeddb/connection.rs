//! [`OpenDatabase`]: an IndexedDB database this page keeps open, and opens again after
//! another page made it close.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use plinth::{Error, Result};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{DomException, IdbDatabase, IdbIndexParameters, IdbOpenDbRequest};

use super::Pending;
use crate::js_error::from_js;

/// An object store of the layout, and its indexes.
pub(crate) struct StoreLayout {
    /// The store's name.
    pub(crate) name: &'static str,
    /// Its indexes: name and key path, each `multiEntry` (an array at the key path
    /// gives one entry per element).
    pub(crate) multi_entry_indexes: &'static [(&'static str, &'static str)],
}

/// A database of fixed object stores at a fixed version, open in this page.
///
/// Another page that upgrades the database or deletes it needs every other connection
/// closed, and waits, blocked, until they are; so the connection closes itself as soon
/// as it is told (`onversionchange`, or `onclose` when the browser closes it).
/// Transactions already issued finish first, so no commit that returned is lost. The
/// next use opens a new connection.
pub(crate) struct OpenDatabase {
    backend: &'static str,
    name: String,
    version: u32,
    stores: &'static [StoreLayout],
    connection: RefCell<Connection>,
}

/// One open connection, and the handlers that see it closed under this handle.
struct Connection {
    db: IdbDatabase,
    /// Set once the connection is closed: by this handle when another page upgrades or
    /// deletes the database (so that page is not blocked), or by the browser (site
    /// data cleared).
    closed: Rc<Cell<bool>>,
    _on_version_change: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.set_onclose(None);
        self.db.close();
    }
}

impl OpenDatabase {
    /// Opens database `name` at `version`, creating the `stores` and indexes that are
    /// missing; errors are reported as `backend`'s.
    pub(crate) async fn open(
        backend: &'static str,
        name: String,
        version: u32,
        stores: &'static [StoreLayout],
    ) -> Result<Self> {
        let connection = Connection::open(backend, &name, version, stores).await?;
        Ok(OpenDatabase { backend, name, version, stores, connection: RefCell::new(connection) })
    }

    /// The open connection, opening a new one if the last was closed under this handle;
    /// `true` if it is a new one.
    pub(crate) async fn connection(&self) -> Result<(IdbDatabase, bool)> {
        if !self.connection.borrow().closed.get() {
            return Ok((self.connection.borrow().db.clone(), false));
        }
        let fresh = Connection::open(self.backend, &self.name, self.version, self.stores).await?;
        let mut connection = self.connection.borrow_mut();
        // Another operation may have reopened it meanwhile; then `fresh` just closes.
        if connection.closed.get() {
            *connection = fresh;
        }
        Ok((connection.db.clone(), true))
    }
}

impl Connection {
    async fn open(backend: &'static str, name: &str, version: u32, stores: &'static [StoreLayout]) -> Result<Self> {
        let js = |exception: JsValue| from_js(backend, &exception);
        let unavailable = |why: String| {
            Error::Connection {
            backend,
            source: format!("IndexedDB is not available ({why}); it may be disabled in this browser's settings or in private browsing, or this code is not running in a page").into(),
        }
        };
        let window = web_sys::window().ok_or_else(|| unavailable("no `window`".to_owned()))?;
        let factory = window
            .indexed_db()
            .map_err(|e| unavailable(js(e).to_string()))?
            .ok_or_else(|| unavailable("the browser has none".to_owned()))?;
        let request = factory.open_with_u32(name, version).map_err(js)?;
        let on_upgrade = Closure::<dyn FnMut()>::new({
            let request = request.clone();
            move || create_stores(&request, stores)
        });
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        let opened = Pending::new(request.clone().unchecked_into()).result().await;
        request.set_onupgradeneeded(None);
        let db: IdbDatabase = opened.map_err(|e| open_error(backend, name, version, e))?.dyn_into().map_err(js)?;
        let closed = Rc::new(Cell::new(false));
        let on_version_change = Closure::<dyn FnMut()>::new({
            let (db, closed) = (db.clone(), closed.clone());
            // Transactions already issued still finish: no commit that returned is lost.
            move || {
                closed.set(true);
                db.close();
            }
        });
        let on_close = Closure::<dyn FnMut()>::new({
            let closed = closed.clone();
            move || closed.set(true)
        });
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Connection { db, closed, _on_version_change: on_version_change, _on_close: on_close })
    }
}

/// Runs in `onupgradeneeded`: creates the object stores and indexes a database lacks.
/// A store or index that cannot be made aborts the upgrade, and the open request
/// reports it.
fn create_stores(request: &IdbOpenDbRequest, stores: &[StoreLayout]) {
    let Some(db) = request.result().ok().and_then(|r| r.dyn_into::<IdbDatabase>().ok()) else { return };
    let Some(upgrade) = request.transaction() else { return };
    let existing = db.object_store_names();
    for layout in stores {
        let store = match existing.contains(layout.name) {
            true => upgrade.object_store(layout.name),
            false => db.create_object_store(layout.name),
        };
        let Ok(store) = store else {
            let _ = upgrade.abort();
            return;
        };
        let indexes = store.index_names();
        for (name, key_path) in layout.multi_entry_indexes {
            if indexes.contains(name) {
                continue;
            }
            let parameters = IdbIndexParameters::new();
            parameters.set_multi_entry(true);
            if store.create_index_with_str_and_optional_parameters(name, key_path, &parameters).is_err() {
                let _ = upgrade.abort();
                return;
            }
        }
    }
}

/// The error for a failed open: a database upgraded past `version` by newer code in
/// another page is a [`Error::Connection`] saying so.
fn open_error(backend: &'static str, name: &str, version: u32, exception: JsValue) -> Error {
    match exception.dyn_ref::<DomException>() {
        Some(e) if e.name() == "VersionError" => Error::Connection {
            backend,
            source: format!(
                "IndexedDB `{name}` has been upgraded past layout version {version} by newer code in another page ({}); reload this page",
                e.message()
            )
            .into(),
        },
        _ => from_js(backend, &exception),
    }
}
