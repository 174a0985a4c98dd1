//! [`WebStorageStore`]: the record engine's storage on a synchronous key-value store.

mod journal;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use plinth::engine::{check_unique, Change, RecordStore};
use plinth::{Error, Result, StoredRow, Table, Value};

use crate::codec::{check_schema, decode_id, decode_row, encode_row, encode_schema, index_text};
use crate::layout::Layout;
use crate::KeyValue;
use journal::Journal;

/// Tables, rows, unique indexes and id sequences as keys of a [`KeyValue`] store:
/// `localStorage` and `sessionStorage` in the browser, [`MemoryKeyValue`](crate::MemoryKeyValue)
/// in native tests.
///
/// A key per row, so reading or writing a row costs one key whatever the table's size;
/// a key per unique value, so a filter on a unique column reads one key. Commits go
/// through a journal key (finished or undone on the next [`open`](WebStorageStore::open)
/// if cut off) and restore every key on `QuotaExceededError`. Ids come from a sequence
/// key read and written with no `await` in between, so handles in one page never share
/// one. The key layout is described in the crate docs.
///
/// Two tabs writing the same storage at the same instant are not serialised: the
/// browser gives web storage no cross-tab lock. Use IndexedDB where that matters.
///
/// ```
/// use plinth::engine::EngineBackend;
/// use plinth_browser::{MemoryKeyValue, WebStorageStore};
/// let store = WebStorageStore::open(MemoryKeyValue::new(), "app")?;
/// let db = plinth::Database::new(EngineBackend::new(store));
/// assert_eq!(db.backend_name(), "memory key-value store");
/// # Ok::<(), plinth::Error>(())
/// ```
#[derive(Debug)]
pub struct WebStorageStore<K> {
    kv: K,
    layout: Layout,
    /// The tables whose stored schema has been found to be theirs, by name; tables are
    /// never dropped.
    known: Mutex<HashMap<&'static str, &'static Table>>,
}

impl<K: KeyValue> WebStorageStore<K> {
    /// The database `name` in `kv`, finishing a commit a previous handle left half-done.
    pub fn open(kv: K, name: &str) -> Result<Self> {
        let store = WebStorageStore { kv, layout: Layout::new(name), known: Mutex::default() };
        journal::recover(&store.kv, &store.layout.journal())?;
        Ok(store)
    }

    /// The key-value store underneath.
    pub fn key_value(&self) -> &K {
        &self.kv
    }

    /// The prefix of every key this database uses (`plinth/NAME/`).
    pub fn key_prefix(&self) -> &str {
        self.layout.prefix()
    }

    fn is_known(&self, table: &'static Table) -> bool {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(table.name()).is_some_and(|seen| std::ptr::eq(*seen, table))
    }

    fn remember(&self, table: &'static Table) {
        self.known.lock().unwrap_or_else(PoisonError::into_inner).insert(table.name(), table);
    }

    /// Refuses a table that was never created in this database
    /// ([`Error::NoSuchTable`]), or that is stored with another schema
    /// ([`Error::SchemaMismatch`]).
    fn require(&self, table: &'static Table) -> Result<()> {
        if self.is_known(table) {
            return Ok(());
        }
        match self.kv.get(&self.layout.schema(table))? {
            None => return Err(Error::NoSuchTable { table: table.name().to_owned() }),
            Some(stored) => check_schema(table, &stored)?,
        }
        self.remember(table);
        Ok(())
    }

    fn record_name(&self, key: &str) -> String {
        format!("{} key `{key}`", self.kv.name())
    }

    fn read_row(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        let key = self.layout.row(table, id);
        let Some(text) = self.kv.get(&key)? else { return Ok(None) };
        self.decode_row_at(table, &key, id, &text).map(Some)
    }

    fn decode_row_at(&self, table: &'static Table, key: &str, id: i64, text: &str) -> Result<StoredRow> {
        let row = decode_row(table, || self.record_name(key), text)?;
        if row.meta.id != id {
            return Err(Error::Decode {
                table: table.name().to_owned(),
                record: self.record_name(key),
                column: "id".to_owned(),
                found: format!("id {} in the record", row.meta.id),
            });
        }
        Ok(row)
    }

    fn unique_key(&self, table: &'static Table, column: usize, value: &Value) -> String {
        self.layout.unique(table, column, &index_text(value))
    }

    fn read_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        let key = self.unique_key(table, column, value);
        match self.kv.get(&key)? {
            Some(text) => decode_id(table, &self.record_name(&key), &text).map(Some),
            None => Ok(None),
        }
    }

    /// The keys `changes` write, with their new values; `None` removes a key.
    fn plan(&self, changes: &[Change]) -> Result<BTreeMap<String, Option<String>>> {
        let mut writes = BTreeMap::new();
        let unique_values = |change: &Change, row: &StoredRow| {
            let columns = change.table.columns().iter().enumerate().filter(|(_, c)| c.is_unique());
            let values: Vec<(usize, Value)> =
                columns.map(|(i, _)| (i, row.row.values()[i].clone())).filter(|(_, v)| !v.is_null()).collect();
            values
        };
        for change in changes {
            let Some(before) = &change.before else { continue };
            writes.insert(self.layout.row(change.table, change.id), None);
            for (column, value) in unique_values(change, before) {
                if self.read_unique(change.table, column, &value)? == Some(change.id) {
                    writes.insert(self.unique_key(change.table, column, &value), None);
                }
            }
        }
        for change in changes {
            let Some(after) = &change.after else { continue };
            writes.insert(self.layout.row(change.table, change.id), Some(encode_row(change.table, after)));
            for (column, value) in unique_values(change, after) {
                writes.insert(self.unique_key(change.table, column, &value), Some(change.id.to_string()));
            }
        }
        Ok(writes)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<K: KeyValue> RecordStore for WebStorageStore<K> {
    fn name(&self) -> &'static str {
        self.kv.name()
    }

    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
        let mut missing = Vec::new();
        for table in tables {
            match self.kv.get(&self.layout.schema(table))? {
                Some(stored) => check_schema(table, &stored)?,
                None => missing.push(*table),
            }
        }
        for table in missing {
            self.kv.set(&self.layout.schema(table), &encode_schema(table))?;
        }
        for table in tables {
            self.remember(table);
        }
        Ok(())
    }

    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.require(table)?;
        self.read_row(table, id)
    }

    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
        self.require(table)?;
        let prefix = self.layout.rows(table);
        let mut keyed = Vec::new();
        for key in self.kv.keys_with_prefix(&prefix)? {
            let id = decode_id(table, &self.record_name(&key), &key[prefix.len()..])?;
            keyed.push((id, key));
        }
        keyed.sort_unstable();
        let mut rows = Vec::with_capacity(keyed.len());
        for (id, key) in keyed {
            // A key removed since the listing is a row deleted meanwhile.
            if let Some(text) = self.kv.get(&key)? {
                rows.push(self.decode_row_at(table, &key, id, &text)?);
            }
        }
        Ok(rows)
    }

    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        self.require(table)?;
        self.read_unique(table, column, value)
    }

    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
        self.require(table)?;
        let key = self.layout.sequence(table);
        let last = match self.kv.get(&key)? {
            Some(text) => decode_id(table, &self.record_name(&key), &text)?,
            None => 0,
        };
        let exhausted =
            || Error::backend(self.kv.name(), format!("table `{}`: the id sequence is exhausted", table.name()));
        let next = i64::try_from(count).ok().and_then(|count| last.checked_add(count)).ok_or_else(exhausted)?;
        self.kv.set(&key, &next.to_string())?;
        Ok(last + 1)
    }

    async fn apply(&self, changes: Vec<Change>) -> Result<()> {
        let journal_key = self.layout.journal();
        journal::recover(&self.kv, &journal_key)?;
        // Each row's stored text, read once: checked against the session's view, and
        // kept as the value to restore. No await follows, so it cannot go stale.
        let mut stored = HashMap::with_capacity(changes.len());
        for change in &changes {
            self.require(change.table)?;
            let key = self.layout.row(change.table, change.id);
            let text = self.kv.get(&key)?;
            let current = match &text {
                Some(text) => Some(self.decode_row_at(change.table, &key, change.id, text)?),
                None => None,
            };
            if current != change.before {
                return Err(Error::Conflict { table: change.table.name().to_owned(), id: change.id });
            }
            stored.insert(key, text);
        }
        check_unique(&changes, |table, column, value| self.read_unique(table, column, value))?;
        let mut journal = Journal::default();
        for (key, value) in self.plan(&changes)? {
            let old = match stored.remove(&key) {
                Some(old) => old,
                None => self.kv.get(&key)?,
            };
            journal.undo.push((key.clone(), old));
            journal.redo.push((key, value));
        }
        if let [(key, value)] = journal.redo.as_slice() {
            // A single write happens whole or not at all (a full store refuses it and
            // changes nothing): there is nothing for a journal to finish or undo.
            return match value {
                Some(value) => self.kv.set(key, value),
                None => self.kv.remove(key),
            };
        }
        journal::commit(&self.kv, &journal_key, &journal)
    }
}
