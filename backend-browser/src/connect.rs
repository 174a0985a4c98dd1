//! [`connect`]: a URL to a [`Database`].

use plinth::{Database, Result};

use crate::url::StorageUrl;

/// Opens the browser database a URL names: `local://NAME` (localStorage),
/// `session://NAME` (sessionStorage) or `indexeddb://NAME` (IndexedDB).
///
/// A commit that a previous page left half-done is finished (or undone) first. A URL
/// of another form is [`Error::InvalidUrl`](plinth::Error::InvalidUrl) saying what is
/// wrong; storage the browser refuses (disabled, private mode) is
/// [`Error::Connection`](plinth::Error::Connection). Outside wasm32 every well-formed URL
/// is [`Error::Unsupported`](plinth::Error::Unsupported): use `plinth::memory()` or
/// [`WebStorageStore`](crate::WebStorageStore) over [`MemoryKeyValue`](crate::MemoryKeyValue) there.
///
/// ```no_run
/// # async fn run() -> plinth::Result<()> {
/// let db = plinth_browser::connect("local://todo-app").await?;
/// assert_eq!(db.backend_name(), "localStorage");
///
/// let err = plinth_browser::connect("local://").await.unwrap_err();
/// assert!(err.to_string().contains("NAME is missing"));
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Database> {
    let url = StorageUrl::parse(url)?;
    open(&url).await
}

#[cfg(target_arch = "wasm32")]
async fn open(url: &StorageUrl) -> Result<Database> {
    use plinth::backend::Backend;
    use plinth::engine::EngineBackend;

    use crate::browser_store::BrowserStore;
    use crate::url::StorageKind;
    use crate::{Coordinator, CrossTab, GlooKeyValue, IndexedDbStore, KeyValue, OneTab, WebStorageStore};

    let store = match url.kind {
        StorageKind::Local => {
            let tabs: Box<dyn Coordinator> = Box::new(CrossTab::open(&url.name).await?);
            let kv: Box<dyn KeyValue> = Box::new(GlooKeyValue::local()?);
            BrowserStore::WebStorage(WebStorageStore::open_with(kv, &url.name, tabs).await?)
        }
        StorageKind::Session => {
            let tabs: Box<dyn Coordinator> = Box::new(OneTab);
            let kv: Box<dyn KeyValue> = Box::new(GlooKeyValue::session()?);
            BrowserStore::WebStorage(WebStorageStore::open_with(kv, &url.name, tabs).await?)
        }
        StorageKind::IndexedDb => BrowserStore::IndexedDb(IndexedDbStore::open(&url.name).await?),
    };
    let backend = EngineBackend::new(store);
    let kind = match url.kind {
        StorageKind::Local => "local",
        StorageKind::Session => "session",
        StorageKind::IndexedDb => "indexeddb",
    };
    crate::relay::start(backend.name(), &format!("plinth/{kind}/{}", url.name), &backend.changes())?;
    Ok(Database::new(backend))
}

#[cfg(not(target_arch = "wasm32"))]
async fn open(url: &StorageUrl) -> Result<Database> {
    use crate::url::StorageKind;

    let backend = match url.kind {
        StorageKind::Local => "localStorage",
        StorageKind::Session => "sessionStorage",
        StorageKind::IndexedDb => "IndexedDB",
    };
    Err(plinth::Error::Unsupported { backend, feature: "running outside a browser (wasm32)" })
}
