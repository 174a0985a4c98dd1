//! [`WebStorageStore`]: the record engine's storage on a synchronous key-value store.

mod journal;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use plinth::backend::{StoredColumn, StoredRow};
use plinth::engine::{
    next_ids, row_versions, CommitPlan, RemovedTable, Replaced, Replacement, Store, StoreMut, TableUpgrade, Write,
};
use plinth::migrate::MigrationRecord;
use plinth::{Entity, Error, Result, Table, Value};

use crate::codec::{
    check_schema, decode_id, decode_row, encode_row, encode_schema, index_text, stored_columns, MAX_ID,
};
use crate::layout::Layout;
use crate::schemas::KnownSchemas;
use crate::tabs::{generation_seen, Coordinator, OneTab, CATCH_UP_LIMIT};
use crate::KeyValue;
use journal::Journal;

/// Tables, rows, unique indexes and id sequences as keys of a [`KeyValue`] store:
/// `localStorage` and `sessionStorage` in the browser, [`MemoryKeyValue`](crate::MemoryKeyValue)
/// in native tests.
///
/// A key per row, so reading or writing a row costs one key whatever the table's size;
/// a key per unique value, so a filter on a unique column reads one key. Commits go
/// through a journal key (finished or undone by the next writer if cut off) and restore
/// every key on `QuotaExceededError`. The key layout is described in the crate docs.
///
/// Every write — a commit, ids handed out, tables created — is made in a turn of the
/// store's [`Coordinator`]: [`OneTab`] for a storage only one page writes
/// (`sessionStorage`), or, for `localStorage`, one that makes each writer wait until its
/// tab's copy holds every earlier writer's writes, whichever tab made them (see
/// [`tabs`](crate::tabs)). Within a turn, no `await` comes between reading what is
/// checked and writing, so no other handle's writes interleave.
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
pub struct WebStorageStore<K, C = OneTab> {
    kv: K,
    layout: Layout,
    coordinator: C,
    /// The tables whose stored schema has been found to be theirs, and the schema
    /// generation that was under.
    known: Mutex<KnownSchemas>,
}

impl<K: KeyValue> WebStorageStore<K> {
    /// The database `name` in `kv`, which no other tab writes, finishing a commit a
    /// previous handle left half-done.
    pub fn open(kv: K, name: &str) -> Result<Self> {
        let store = WebStorageStore { kv, layout: Layout::new(name), coordinator: OneTab, known: Mutex::default() };
        journal::recover(&store.kv, &store.layout.journal())?;
        Ok(store)
    }
}

impl<K: KeyValue, C: Coordinator> WebStorageStore<K, C> {
    /// The database `name` in `kv`, written by the handles `coordinator` lets take
    /// turns (in every tab), finishing a commit a previous turn left half-done.
    pub async fn open_with(kv: K, name: &str, coordinator: C) -> Result<Self> {
        let store = WebStorageStore { kv, layout: Layout::new(name), coordinator, known: Mutex::default() };
        store.in_turn(|| Ok(())).await?;
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

    fn known(&self) -> std::sync::MutexGuard<'_, KnownSchemas> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses a table that was never created in this database
    /// ([`Error::NoSuchTable`]), that is stored with another schema
    /// ([`Error::SchemaMismatch`]), or that another page changed since this handle
    /// checked it ([`Error::SchemaChanged`]). Reads the schema generation every time
    /// (one key), the table's schema only when the generation moved.
    fn require(&self, table: &'static Table) -> Result<()> {
        self.observe_generation()?;
        self.require_seen(table)
    }

    /// Notes the store's schema generation (see [`require`](Self::require)); once per
    /// operation, however many tables it touches.
    fn observe_generation(&self) -> Result<()> {
        let generation = self.kv.get(&self.layout.schemas())?;
        self.known().observe(generation);
        Ok(())
    }

    /// [`require`](Self::require) under the generation last observed.
    fn require_seen(&self, table: &'static Table) -> Result<()> {
        let mut known = self.known();
        if known.is_known(table) {
            return Ok(());
        }
        let checked = match self.kv.get(&self.layout.schema(table))? {
            None => Err(Error::NoSuchTable { table: table.name() }),
            Some(stored) => check_schema(table, &stored),
        };
        checked.map_err(|err| known.explain(table, err))?;
        known.remember(table);
        Ok(())
    }

    /// Adds to `keys` the next schema generation, which every schema change writes, and
    /// returns it.
    fn next_generation(&self, keys: &mut BTreeMap<String, Option<String>>) -> Result<String> {
        let key = self.layout.schemas();
        let next = KnownSchemas::next_generation(self.kv.get(&key)?.as_deref());
        keys.insert(key, Some(next.clone()));
        Ok(next)
    }

    fn record_name(&self, key: &str) -> String {
        format!("{} key `{key}`", self.kv.name())
    }

    fn read_row(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        let key = self.layout.row(table, id);
        let Some(text) = self.kv.get(&key)? else { return Ok(None) };
        self.decode_row_at(table, &[], &key, id, &text).map(Some)
    }

    fn decode_row_at(
        &self,
        table: &'static Table,
        fills: &[Option<Value>],
        key: &str,
        id: i64,
        text: &str,
    ) -> Result<StoredRow> {
        let row = decode_row(table, fills, || self.record_name(key), text)?;
        if row.meta.id != id {
            return Err(Error::Decode {
                table: table.name(),
                record: self.record_name(key),
                column: Some("id"),
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

    /// Every row of `table`, by id, as stored now; a column with a value in `fills` (by
    /// position) that a row lacks reads as it (see [`decode_row`]).
    fn rows_now(&self, table: &'static Table, fills: &[Option<Value>]) -> Result<Vec<StoredRow>> {
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
                rows.push(self.decode_row_at(table, fills, &key, id, &text)?);
            }
        }
        Ok(rows)
    }

    /// Runs `work`, which writes the store, in a turn of the coordinator: after every
    /// earlier turn's writes have reached this handle's copy, and a commit an earlier
    /// turn left half-done is finished.
    async fn in_turn<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let turn = self.coordinator.enter().await?;
        if let Some(generation) = turn.wait_for() {
            self.catch_up(generation).await?;
        }
        journal::recover(&self.kv, &self.layout.journal())?;
        let done = work();
        drop(turn);
        done
    }

    /// Waits until this copy holds `generation` ≥ `closed`, the previous turn's last
    /// write (or [`CATCH_UP_LIMIT`] has passed: that turn's tab closed before it).
    async fn catch_up(&self, closed: u64) -> Result<()> {
        let deadline = self.coordinator.clock_ms() + CATCH_UP_LIMIT;
        while generation_seen(&self.kv, &self.layout.generation())? < closed && self.coordinator.clock_ms() <= deadline
        {
            self.coordinator.pause().await;
        }
        Ok(())
    }

    /// Records the schemas of the tables that are missing and upgrades those stored with
    /// an earlier schema, all through one journaled write; see
    /// [`StoreMut::create_tables`].
    fn create_tables_now(&self, tables: &[&'static Table]) -> Result<()> {
        self.observe_generation()?;
        let mut keys = BTreeMap::new();
        for table in tables {
            let key = self.layout.schema(table);
            let upgrade = match self.kv.get(&key)? {
                None => {
                    self.known().may_create(table)?;
                    None
                }
                Some(stored) => match TableUpgrade::plan(table, &stored_columns(table.name(), &stored)?)? {
                    None => continue,
                    upgrade => upgrade,
                },
            };
            if let Some(upgrade) = upgrade {
                self.upgrade_rows(&upgrade, &mut keys)?;
            }
            keys.insert(key, Some(encode_schema(table)));
        }
        let generation = if keys.is_empty() { None } else { Some(self.next_generation(&mut keys)?) };
        self.write(keys, HashMap::new())?;
        let mut known = self.known();
        if let Some(generation) = generation {
            known.observe(Some(generation));
        }
        for table in tables {
            known.remember(table);
        }
        Ok(())
    }

    /// Adds to `keys` every row of `upgrade`'s table rewritten in its new schema (the
    /// added columns filled) and the entries of the unique indexes it adds; the entries
    /// of the unique columns it keeps stay as they are (they are keyed by name).
    fn upgrade_rows(&self, upgrade: &TableUpgrade, keys: &mut BTreeMap<String, Option<String>>) -> Result<()> {
        let table = upgrade.table();
        let rows = self.rows_now(table, &upgrade.fills())?;
        for (column, value, id) in upgrade.unique_entries(&rows)? {
            keys.insert(self.unique_key(table, column, value), Some(id.to_string()));
        }
        for row in &rows {
            keys.insert(self.layout.row(table, row.meta.id), Some(encode_row(table, row)));
        }
        Ok(())
    }

    /// Writes a schema migration's tables and record in one journaled write; see
    /// [`StoreMut::replace`]. Called in a turn.
    fn replace_now(&self, replacement: &Replacement) -> Result<Replaced> {
        let records = MigrationRecord::table();
        self.require(records)?;
        if self.read_unique(records, 0, &replacement.record.row.values()[0])?.is_some() {
            return Ok(Replaced::AlreadyRecorded);
        }
        let mut keys = BTreeMap::new();
        let mut sequences = HashMap::new();
        for RemovedTable { table, rows: read } in &replacement.removed {
            match self.kv.get(&self.layout.schema(table))? {
                Some(stored) => check_schema(table, &stored)?,
                None => return Err(Error::NoSuchTable { table: table.name() }),
            }
            if row_versions(&self.rows_now(table, &[])?) != *read {
                return Ok(Replaced::ChangedMeanwhile);
            }
            sequences.insert(table.name(), self.kv.get(&self.layout.sequence(table))?);
            for key in self.kv.keys_with_prefix(&self.layout.table_named(table.name()))? {
                keys.insert(key, None);
            }
        }
        let added = replacement.added.iter().map(|a| (a.table, a.rows.as_slice(), Some(a.sequence_of)));
        let record = (records, std::slice::from_ref(&replacement.record), None);
        for (table, rows, sequence_of) in added.chain([record]) {
            for row in rows {
                keys.insert(self.layout.row(table, row.meta.id), Some(encode_row(table, row)));
                for (column, value) in table.unique_values(&row.row) {
                    keys.insert(self.unique_key(table, column, value), Some(row.meta.id.to_string()));
                }
            }
            let Some(sequence_of) = sequence_of else { continue };
            keys.insert(self.layout.schema(table), Some(encode_schema(table)));
            if let Some(Some(last)) = sequences.get(sequence_of) {
                keys.insert(self.layout.sequence(table), Some(last.clone()));
            }
        }
        let generation = self.next_generation(&mut keys)?;
        self.write(keys, HashMap::new())?;
        let mut known = self.known();
        known.observe(Some(generation));
        for removed in &replacement.removed {
            known.forget(removed.table.name());
        }
        for added in &replacement.added {
            known.remember(added.table);
        }
        Ok(Replaced::Done)
    }

    /// Hands out `count` ids of `table`; see [`StoreMut::allocate_ids`]. Ids are
    /// JavaScript numbers in the browser, exact up to 2^53 - 1, as on IndexedDB.
    fn allocate_ids_now(&self, table: &'static Table, count: u64) -> Result<i64> {
        let key = self.layout.sequence(table);
        let last = match self.kv.get(&key)? {
            Some(text) => decode_id(table, &self.record_name(&key), &text)?,
            None => 0,
        };
        let (first, next) = next_ids(self.kv.name(), table, last, count, MAX_ID)?;
        self.kv.set(&key, &next.to_string())?;
        Ok(first)
    }

    /// Checks and applies `plan` all at once, through the journal; see
    /// [`StoreMut::apply`]. Called in a turn, after an earlier journal was finished.
    fn apply_now(&self, plan: &CommitPlan) -> Result<()> {
        // Each row's stored text, read once: checked against the session's view, and
        // kept as the value to restore. No await follows, so it cannot go stale.
        let mut stored = HashMap::with_capacity(plan.changes().len());
        self.observe_generation()?;
        for change in plan.changes() {
            self.require_seen(change.table)?;
            let key = self.layout.row(change.table, change.id);
            let text = self.kv.get(&key)?;
            let current = match &text {
                Some(text) => Some(self.decode_row_at(change.table, &[], &key, change.id, text)?),
                None => None,
            };
            change.check_current(current.as_ref())?;
            stored.insert(key, text);
        }
        let mut exists = Vec::with_capacity(plan.referenced_rows().len());
        for parent in plan.referenced_rows() {
            self.require_seen(parent.table)?;
            exists.push(self.kv.get(&self.layout.row(parent.table, parent.id))?.is_some());
        }
        let mut referring = Vec::with_capacity(plan.referring_tables().len());
        for &table in plan.referring_tables() {
            self.require_seen(table)?;
            referring.push(self.rows_now(table, &[])?);
        }
        plan.check_references(&exists, &referring)?;
        let writes = plan.decide(|_, slot| self.read_unique(slot.table, slot.column, &slot.value))?;
        // The keys the writes touch, with their new values (`None` removes a key); a key
        // removed and then written keeps the write.
        let mut keys = BTreeMap::new();
        for write in writes {
            let (key, value) = match write {
                Write::DeleteRow { table, id } => (self.layout.row(table, id), None),
                Write::DeleteUnique { table, column, value } => (self.unique_key(table, column, value), None),
                Write::PutRow { table, id, row, .. } => (self.layout.row(table, id), Some(encode_row(table, row))),
                Write::PutUnique { table, column, value, id } => {
                    (self.unique_key(table, column, value), Some(id.to_string()))
                }
            };
            keys.insert(key, value);
        }
        self.write(keys, stored)
    }

    /// Writes `keys` (`None` removes a key) all at once, through the journal; `stored`
    /// holds the current values of keys already read, the rest are read here for the
    /// journal's undo.
    fn write(&self, keys: BTreeMap<String, Option<String>>, mut stored: HashMap<String, Option<String>>) -> Result<()> {
        let mut journal = Journal::default();
        for (key, value) in keys {
            let old = match stored.remove(&key) {
                Some(old) => old,
                None => self.kv.get(&key)?,
            };
            journal.undo.push((key.clone(), old));
            journal.redo.push((key, value));
        }
        match journal.redo.as_slice() {
            [] => Ok(()),
            // A single write happens whole or not at all (a full store refuses it and
            // changes nothing): there is nothing for a journal to finish or undo.
            [(key, Some(value))] => self.kv.set(key, value),
            [(key, None)] => self.kv.remove(key),
            _ => journal::commit(&self.kv, &self.layout.journal(), &journal),
        }
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<K: KeyValue, C: Coordinator> Store for WebStorageStore<K, C> {
    fn name(&self) -> &'static str {
        self.kv.name()
    }

    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.require(table)?;
        self.read_row(table, id)
    }

    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
        self.require(table)?;
        self.rows_now(table, &[])
    }

    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        self.require(table)?;
        self.read_unique(table, column, value)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<K: KeyValue, C: Coordinator> StoreMut for WebStorageStore<K, C> {
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
        self.in_turn(|| self.create_tables_now(tables)).await
    }

    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
        self.require(table)?;
        self.in_turn(|| self.allocate_ids_now(table, count)).await
    }

    async fn apply(&self, plan: CommitPlan) -> Result<()> {
        self.in_turn(|| self.apply_now(&plan)).await
    }

    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<StoredColumn>>> {
        match self.kv.get(&self.layout.schema_named(name))? {
            Some(stored) => stored_columns(name, &stored).map(Some),
            None => Ok(None),
        }
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        let keys = self.kv.keys_with_prefix(&self.layout.tables())?;
        Ok(keys.iter().filter_map(|key| self.layout.table_of_schema(key)).collect())
    }

    async fn replace(&self, replacement: Replacement) -> Result<Replaced> {
        self.in_turn(|| self.replace_now(&replacement)).await
    }
}
