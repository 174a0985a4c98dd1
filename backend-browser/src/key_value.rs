//! [`KeyValue`]: the synchronous string store web storage is, and an in-memory one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use plinth::backend::{SendOutsideWasm, SyncOutsideWasm};
use plinth::{Error, Result};

/// A synchronous map from string keys to string values: what `localStorage` and
/// `sessionStorage` are. [`WebStorageStore`](crate::WebStorageStore) builds the record
/// engine's storage on any of them, so its logic runs natively over
/// [`MemoryKeyValue`] as well as in the browser.
///
/// Every call completes before it returns, so a read-modify-write done without an
/// `await` in between cannot interleave with another handle in the same page.
pub trait KeyValue: SendOutsideWasm + SyncOutsideWasm + fmt::Debug + 'static {
    /// A short name for messages: `localStorage`, `sessionStorage`…
    fn name(&self) -> &'static str;

    /// The value at `key`.
    fn get(&self, key: &str) -> Result<Option<String>>;

    /// Stores `value` at `key`; a full storage is [`Error::QuotaExceeded`], and then
    /// nothing changed.
    fn set(&self, key: &str, value: &str) -> Result<()>;

    /// Removes `key` (nothing if it is absent).
    fn remove(&self, key: &str) -> Result<()>;

    /// Every key that starts with `prefix`, in no particular order.
    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>>;
}

/// A boxed store, so one [`WebStorageStore`](crate::WebStorageStore) type serves
/// `localStorage` and `sessionStorage` alike (one copy of its code in the page's wasm).
impl<K: KeyValue + ?Sized> KeyValue for Box<K> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        (**self).get(key)
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        (**self).set(key, value)
    }

    fn remove(&self, key: &str) -> Result<()> {
        (**self).remove(key)
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        (**self).keys_with_prefix(prefix)
    }
}

/// A [`KeyValue`] in process memory, optionally with a quota like a browser's. Clones
/// share the data, as two handles on one `localStorage` do.
///
/// ```
/// use plinth_browser::{KeyValue, MemoryKeyValue};
/// let kv = MemoryKeyValue::with_quota(16);
/// kv.set("a", "1")?;
/// assert!(matches!(kv.set("b", "a value too long for the quota"), Err(plinth::Error::QuotaExceeded { .. })));
/// assert_eq!(kv.get("a")?.as_deref(), Some("1"));
/// # Ok::<(), plinth::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryKeyValue {
    entries: Arc<Mutex<BTreeMap<String, String>>>,
    quota: Option<usize>,
}

impl MemoryKeyValue {
    /// An empty store without a size limit.
    pub fn new() -> Self {
        MemoryKeyValue::default()
    }

    /// An empty store refusing writes that would make its keys and values together
    /// longer than `bytes`.
    pub fn with_quota(bytes: usize) -> Self {
        MemoryKeyValue { entries: Arc::default(), quota: Some(bytes) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        // No critical section can panic half-way, so a poisoned map is still whole.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyValue for MemoryKeyValue {
    fn name(&self) -> &'static str {
        "memory key-value store"
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.lock().get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        let mut entries = self.lock();
        if let Some(quota) = self.quota {
            let used: usize = entries.iter().filter(|(k, _)| *k != key).map(|(k, v)| k.len() + v.len()).sum();
            if used + key.len() + value.len() > quota {
                return Err(Error::QuotaExceeded {
                    detail: format!(
                        "{} of {quota} bytes in use; writing `{key}` needs {}",
                        used,
                        key.len() + value.len()
                    ),
                });
            }
        }
        entries.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let entries = self.lock();
        Ok(entries.range(prefix.to_owned()..).map(|(k, _)| k).take_while(|k| k.starts_with(prefix)).cloned().collect())
    }
}
