//! [`IndexedDbStore`]: the record engine's storage in IndexedDB.

mod connection;
mod index;
mod request;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use js_sys::Array;
use plinth::backend::{StoredColumn, StoredRow};
use plinth::engine::{
    next_ids, row_versions, CommitPlan, IndexScan, RemovedTable, Replaced, Replacement, Store, StoreMut, TableUpgrade,
    Write,
};
use plinth::migrate::MigrationRecord;
use plinth::{Entity, Error, Result, Table, Value};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbTransaction, IdbTransactionMode};

use crate::codec::{check_schema, decode_row, encode_row, encode_schema, index_text, stored_columns, MAX_ID};
use crate::id_blocks;
use crate::js_error::from_js;
use crate::schemas::KnownSchemas;
pub(crate) use connection::{OpenDatabase, StoreLayout};
pub(crate) use request::{completion, Pending};

const BACKEND: &str = "IndexedDB";
/// The layout's version: bumped, with an upgrade step, only when the layout changes.
/// Version 2 added the `records` store's index of indexed columns (see [`index`]).
const VERSION: u32 = 2;
const RECORDS: &str = "records";
const UNIQUE: &str = "unique";
const META: &str = "meta";
const STORES: &[StoreLayout] = &[
    StoreLayout { name: RECORDS, multi_entry_indexes: &[(index::INDEX, index::INDEX)] },
    StoreLayout { name: UNIQUE, multi_entry_indexes: &[] },
    StoreLayout { name: META, multi_entry_indexes: &[] },
];

/// Tables, rows, unique values and id sequences in one IndexedDB database named
/// `plinth/NAME`; see the crate docs for the layout and why it is fixed.
///
/// Every operation is one IndexedDB transaction whose requests are all issued before
/// control returns to the event loop, so none outlives the call that made it; a
/// commit is one readwrite transaction over rows and unique values.
///
/// The connection closes itself when another page upgrades or deletes the database,
/// and the next operation opens a new one; see the crate docs.
pub struct IndexedDbStore {
    database: OpenDatabase,
    name: String,
    /// The tables whose stored schema has been found to be theirs on this connection,
    /// and the schema generation that was under; a deleted database takes them all.
    known: RefCell<KnownSchemas>,
}

impl fmt::Debug for IndexedDbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexedDbStore").field("name", &self.name).finish_non_exhaustive()
    }
}

fn js(exception: JsValue) -> Error {
    from_js(BACKEND, &exception)
}

/// The IndexedDB database that `indexeddb://NAME` names.
pub(crate) fn database_name(name: &str) -> String {
    format!("plinth/{name}")
}

impl IndexedDbStore {
    /// Opens (creating on first use) the database for `indexeddb://NAME`;
    /// [`Error::Connection`] if the browser offers no IndexedDB.
    pub async fn open(name: &str) -> Result<Self> {
        let database = OpenDatabase::open(BACKEND, database_name(name), VERSION, STORES).await?;
        Ok(IndexedDbStore { database, name: name.to_owned(), known: RefCell::default() })
    }

    /// The open connection; a new connection (the last one was closed under this
    /// handle) forgets the tables seen on the last one.
    async fn database(&self) -> Result<IdbDatabase> {
        let (db, reopened) = self.database.connection().await?;
        if reopened {
            self.known.borrow_mut().reconnected();
            id_blocks::forget(&database_name(&self.name));
        }
        Ok(db)
    }

    async fn transaction(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        self.database().await?.transaction_with_str_sequence_and_mode(&names, mode).map_err(js)
    }

    fn record_name(&self, store: &str, key: &str) -> String {
        format!("IndexedDB `{}` store `{store}` key {key}", database_name(&self.name))
    }

    /// Checks that `table` is stored with its schema, unless this connection found so
    /// under the schema generation it saw last.
    async fn require(&self, table: &'static Table) -> Result<()> {
        // First: a new connection forgets the tables seen on the last one.
        self.database().await?;
        if self.known.borrow().is_known(table) {
            return Ok(());
        }
        let tx = self.transaction(&[META], IdbTransactionMode::Readonly).await?;
        let meta = store(&tx, META)?;
        let generation = Pending::new(meta.get(&generation_key()).map_err(js)?);
        let found = Pending::new(meta.get(&meta_key("schema", table)).map_err(js)?);
        self.observe(&generation.result().await.map_err(js)?);
        self.check_stored_schema(table, &found.result().await.map_err(js)?)
    }

    /// Notes the schema generation an operation read in its own transaction.
    fn observe(&self, generation: &JsValue) {
        self.known.borrow_mut().observe(generation.as_string());
    }

    /// After an operation that read the schema generation alongside: if it moved since
    /// `require`, checks `table` again (its result, read in the same transaction, stands
    /// if the table is still the entity's).
    async fn recheck(&self, table: &'static Table, generation: &JsValue) -> Result<()> {
        self.observe(generation);
        self.require(table).await
    }

    /// Checks a schema read from `meta`: [`Error::NoSuchTable`] if there is none,
    /// [`Error::SchemaMismatch`] if it is another ([`Error::SchemaChanged`] if this
    /// connection had found it to be `table`'s before); remembered if it is `table`'s.
    fn check_stored_schema(&self, table: &'static Table, stored: &JsValue) -> Result<()> {
        let checked = if stored.is_undefined() {
            Err(Error::NoSuchTable { table: table.name() })
        } else {
            // Anything but the text of a schema is a schema that cannot be read.
            check_schema(table, &stored.as_string().unwrap_or_else(|| format!("{stored:?}")))
        };
        let mut known = self.known.borrow_mut();
        match checked {
            Ok(()) => {
                known.remember(table);
                Ok(())
            }
            Err(err) => Err(known.explain(table, err)),
        }
    }

    /// Issues, in `tx`, the write of the next schema generation: every schema change
    /// makes one.
    async fn issue_next_generation(&self, meta: &IdbObjectStore) -> Result<()> {
        let current = Pending::new(meta.get(&generation_key()).map_err(js)?).result().await.map_err(js)?;
        let next = KnownSchemas::next_generation(current.as_string().as_deref());
        meta.put_with_key(&JsValue::from_str(&next), &generation_key()).map_err(js)?;
        self.known.borrow_mut().observe(Some(next));
        Ok(())
    }

    /// Issues, in `tx`, every read `plan` needs, checks them, and issues every write;
    /// the `add` requests come back, as their failure names a conflict.
    async fn issue_commit(
        &self,
        tx: &IdbTransaction,
        plan: &CommitPlan,
    ) -> Result<Vec<(&'static Table, i64, web_sys::IdbRequest)>> {
        let mut tables: Vec<&'static Table> = plan.changes().iter().map(|c| c.table).collect();
        tables.extend(plan.referenced_rows().iter().map(|r| r.table));
        tables.extend(plan.referring_tables());
        tables.sort_unstable_by_key(|t| t.name());
        tables.dedup_by_key(|t| t.name());
        let (records, unique, meta) = (store(tx, RECORDS)?, store(tx, UNIQUE)?, store(tx, META)?);
        // A session staged before another page deleted the database writes nothing: the
        // tables' schemas are read inside the commit's own transaction, so no delete can
        // come between that check and the writes.
        let mut schemas = Vec::with_capacity(tables.len());
        for table in tables {
            schemas.push((table, Pending::new(meta.get(&meta_key("schema", table)).map_err(js)?)));
        }
        // Which columns' index entries each written table's rows carry (see `index`).
        let mut markers = Vec::new();
        for change in plan.changes() {
            if !markers.iter().any(|(table, _): &(&'static Table, _)| table.name() == change.table.name()) {
                markers.push((change.table, Pending::new(meta.get(&index::marker_key(change.table)).map_err(js)?)));
            }
        }

        // Every read the checks need, issued at once, in this one transaction. A new
        // row is not read: its `add` below fails if the key is taken (`Write::PutRow`).
        let mut rows = Vec::with_capacity(plan.changes().len());
        for change in plan.changes().iter().filter(|c| c.before.is_some()) {
            rows.push((change, Pending::new(records.get(&record_key(change.table, change.id)).map_err(js)?)));
        }
        let mut owners = Vec::with_capacity(plan.unique_slots().len());
        for slot in plan.unique_slots() {
            owners.push(Pending::new(unique.get(&unique_key(slot.table, slot.column, &slot.value)).map_err(js)?));
        }
        let mut parents = Vec::with_capacity(plan.referenced_rows().len());
        for parent in plan.referenced_rows() {
            parents.push(Pending::new(records.count_with_key(&record_key(parent.table, parent.id)).map_err(js)?));
        }
        let mut referring = Vec::with_capacity(plan.referring_tables().len());
        for &table in plan.referring_tables() {
            referring.push((table, self.read_rows(&records, table).await?));
        }
        let mut sequences = Vec::new();
        for (table, last_new) in newest_ids(plan) {
            sequences.push((table, last_new, Pending::new(meta.get(&meta_key("seq", table)).map_err(js)?)));
        }

        for (table, schema) in schemas {
            self.check_stored_schema(table, &schema.result().await.map_err(js)?)?;
        }
        let mut indexed = Vec::with_capacity(markers.len());
        for (table, marker) in markers {
            let names = index::marked_columns(&marker.result().await.map_err(js)?);
            indexed.push((table.name(), index::Entries::new(table, &names)));
        }
        for (change, row) in rows {
            let value = row.result().await.map_err(js)?;
            let current = if value.is_undefined() {
                None
            } else {
                Some(self.decode_row(change.table, &[], change.id, &value)?)
            };
            change.check_current(current.as_ref())?;
        }
        let mut exists = Vec::with_capacity(parents.len());
        for count in parents {
            exists.push(count.result().await.map_err(js)?.as_f64().is_some_and(|n| n > 0.0));
        }
        let mut rows = Vec::with_capacity(referring.len());
        for (table, read) in referring {
            rows.push(self.decode_rows(table, &[], read)?);
        }
        plan.check_references(&exists, &rows)?;
        // Every new row's id is reserved already (`allocate_ids`); should the sequence be
        // behind it all the same (the database deleted and made again by another page
        // while this one held a block), it is moved past it, so no id is handed out twice.
        for (table, last_new, stored) in sequences {
            let stored = stored.result().await.map_err(js)?;
            let last = if stored.is_undefined() { 0 } else { self.decode_id(table, META, "[\"seq\", …]", &stored)? };
            if last < last_new {
                meta.put_with_key(&id_value(last_new), &meta_key("seq", table)).map_err(js)?;
            }
        }
        let mut owner_ids = Vec::with_capacity(owners.len());
        for (slot, pending) in plan.unique_slots().iter().zip(owners) {
            let value = pending.result().await.map_err(js)?;
            owner_ids.push(match value.is_undefined() {
                true => None,
                false => {
                    let column = slot.table.columns()[slot.column].name();
                    let key = format!("[{:?}, {column:?}, {:?}]", slot.table.name(), index_text(&slot.value));
                    Some(self.decode_id(slot.table, UNIQUE, &key, &value)?)
                }
            });
        }

        // Every write, issued at once, in the plan's order.
        let mut added = Vec::new();
        for write in plan.decide(|i, _| Ok(owner_ids[i]))? {
            // The requests of deletes and puts need no watching: a failed one aborts the
            // transaction, and `apply` reports it.
            match write {
                Write::DeleteRow { table, id } => {
                    records.delete(&record_key(table, id)).map_err(js)?;
                }
                Write::DeleteUnique { table, column, value } => {
                    unique.delete(&unique_key(table, column, value)).map_err(js)?;
                }
                Write::PutRow { table, id, row, new } => {
                    let entries = indexed.iter().find(|(name, _)| *name == table.name()).map(|(_, entries)| entries);
                    let text = encode_row(table, row);
                    let record = match entries {
                        Some(entries) => entries.record(row, &text)?,
                        None => JsValue::from_str(&text),
                    };
                    if new {
                        added.push((table, id, records.add_with_key(&record, &record_key(table, id)).map_err(js)?));
                    } else {
                        records.put_with_key(&record, &record_key(table, id)).map_err(js)?;
                    }
                }
                Write::PutUnique { table, column, value, id } => {
                    unique.put_with_key(&id_value(id), &unique_key(table, column, value)).map_err(js)?;
                }
            }
        }
        Ok(added)
    }

    /// Issues, in `tx`, the schema of each table that is missing, and for each stored
    /// with an earlier schema its upgrade ([`TableUpgrade`]): every row rewritten, the
    /// new unique index entries, the new schema. A stored table whose rows do not all
    /// carry their index entries (made by layout version 1) has them rewritten.
    async fn issue_create_tables(&self, tx: &IdbTransaction, tables: &[&'static Table]) -> Result<()> {
        let (records, unique, meta) = (store(tx, RECORDS)?, store(tx, UNIQUE)?, store(tx, META)?);
        let generation = Pending::new(meta.get(&generation_key()).map_err(js)?);
        let mut lookups = Vec::with_capacity(tables.len());
        for table in tables {
            let schema = Pending::new(meta.get(&meta_key("schema", table)).map_err(js)?);
            let marker = Pending::new(meta.get(&index::marker_key(table)).map_err(js)?);
            lookups.push((*table, schema, marker));
        }
        self.observe(&generation.result().await.map_err(js)?);
        let mut changed = false;
        for (table, lookup, marker) in lookups {
            let stored = lookup.result().await.map_err(js)?;
            let marked = index::marked_columns(&marker.result().await.map_err(js)?);
            if stored.is_undefined() {
                self.known.borrow().may_create(table)?;
            } else {
                // Anything but the text of a schema is a schema that cannot be read.
                let text = stored.as_string().unwrap_or_else(|| format!("{stored:?}"));
                let columns = stored_columns(table.name(), &text)?;
                let Some(upgrade) = TableUpgrade::plan(table, &columns)? else {
                    // The same schema (but for indexes: the stored ones are kept).
                    let wanted: Vec<String> = columns.iter().filter(|c| c.indexed).map(|c| c.name.clone()).collect();
                    if !wanted.iter().all(|name| marked.contains(name)) {
                        let rows = self.decode_rows(table, &[], self.read_rows(&records, table).await?)?;
                        issue_rows(&records, &meta, table, &wanted, &rows)?;
                    }
                    continue;
                };
                let rows = self.decode_rows(table, &upgrade.fills(), self.read_rows(&records, table).await?)?;
                for (column, value, id) in upgrade.unique_entries(&rows)? {
                    unique.put_with_key(&id_value(id), &unique_key(table, column, value)).map_err(js)?;
                }
                issue_rows(&records, &meta, table, &index::indexed_names(table), &rows)?;
            }
            if stored.is_undefined() {
                issue_rows(&records, &meta, table, &index::indexed_names(table), &[])?;
            }
            meta.put_with_key(&JsValue::from_str(&encode_schema(table)), &meta_key("schema", table)).map_err(js)?;
            changed = true;
        }
        if changed {
            self.issue_next_generation(&meta).await?;
        }
        Ok(())
    }

    /// The keys and values of every row of `table`, in id order.
    async fn read_rows(&self, records: &IdbObjectStore, table: &'static Table) -> Result<(Array, Array)> {
        self.read_rows_between(records, table, (f64::NEG_INFINITY, f64::INFINITY), None).await
    }

    /// The keys and values of the rows of `table` with ids from `first` to `last`, in
    /// id order.
    async fn read_rows_between(
        &self,
        records: &IdbObjectStore,
        table: &'static Table,
        (first, last): (f64, f64),
        limit: Option<u32>,
    ) -> Result<(Array, Array)> {
        let name = JsValue::from_str(table.name());
        let lower = Array::of2(&name, &JsValue::from_f64(first));
        let upper = Array::of2(&name, &JsValue::from_f64(last));
        let range = IdbKeyRange::bound(&lower, &upper).map_err(js)?;
        let (keys, values) = match limit {
            Some(limit) => (
                records.get_all_keys_with_key_and_limit(&range, limit),
                records.get_all_with_key_and_limit(&range, limit),
            ),
            None => (records.get_all_keys_with_key(&range), records.get_all_with_key(&range)),
        };
        let keys = Pending::new(keys.map_err(js)?);
        let values = Pending::new(values.map_err(js)?);
        let keys: Array = keys.result().await.map_err(js)?.unchecked_into();
        let values: Array = values.result().await.map_err(js)?.unchecked_into();
        Ok((keys, values))
    }

    /// The id in a row's key `[table, id]`.
    fn key_id(&self, table: &'static Table, key: &JsValue) -> Result<i64> {
        let id_part = Array::from(key).get(1);
        // The record's name is formatted only when its key is bad.
        js_id(&id_part).ok_or_else(|| {
            let key = format!("[{:?}, {id_part:?}]", table.name());
            decode_error(table, &self.record_name(RECORDS, &key), &id_part)
        })
    }

    /// Issues, in `tx`, the writes of a schema migration (see [`StoreMut::replace`]);
    /// `false` if its record is there already.
    async fn issue_replace(&self, tx: &IdbTransaction, replacement: &Replacement) -> Result<Replaced> {
        let (records, unique, meta) = (store(tx, RECORDS)?, store(tx, UNIQUE)?, store(tx, META)?);
        let record_table = MigrationRecord::table();
        let version = &replacement.record.row.values()[0];
        let recorded = Pending::new(unique.get(&unique_key(record_table, 0, version)).map_err(js)?);
        let mut stored = Vec::with_capacity(replacement.removed.len());
        for removed in &replacement.removed {
            let schema = Pending::new(meta.get(&meta_key("schema", removed.table)).map_err(js)?);
            let sequence = Pending::new(meta.get(&meta_key("seq", removed.table)).map_err(js)?);
            stored.push((removed, schema, sequence));
        }
        if !recorded.result().await.map_err(js)?.is_undefined() {
            return Ok(Replaced::AlreadyRecorded);
        }
        let mut sequences = HashMap::new();
        for (RemovedTable { table, rows: read }, schema, sequence) in stored {
            let schema = schema.result().await.map_err(js)?;
            if schema.is_undefined() {
                return Err(Error::NoSuchTable { table: table.name() });
            }
            check_schema(table, &schema.as_string().unwrap_or_else(|| format!("{schema:?}")))?;
            let rows = self.decode_rows(table, &[], self.read_rows(&records, table).await?)?;
            if row_versions(&rows) != *read {
                return Ok(Replaced::ChangedMeanwhile);
            }
            sequences.insert(table.name(), sequence.result().await.map_err(js)?);
            let everything: JsValue = table_range(table)?.into();
            records.delete(&everything).map_err(js)?;
            unique.delete(&everything).map_err(js)?;
            meta.delete(&meta_key("schema", table)).map_err(js)?;
            meta.delete(&meta_key("seq", table)).map_err(js)?;
            meta.delete(&index::marker_key(table)).map_err(js)?;
        }
        let added = replacement.added.iter().map(|a| (a.table, a.rows.as_slice(), Some(a.sequence_of)));
        let record = (record_table, std::slice::from_ref(&replacement.record), None);
        for (table, rows, sequence_of) in added.chain([record]) {
            issue_rows(&records, &meta, table, &index::indexed_names(table), rows)?;
            for row in rows {
                for (column, value) in table.unique_values(&row.row) {
                    unique.put_with_key(&id_value(row.meta.id), &unique_key(table, column, value)).map_err(js)?;
                }
            }
            let Some(sequence_of) = sequence_of else { continue };
            meta.put_with_key(&JsValue::from_str(&encode_schema(table)), &meta_key("schema", table)).map_err(js)?;
            if let Some(last) = sequences.get(sequence_of).filter(|last| !last.is_undefined()) {
                meta.put_with_key(last, &meta_key("seq", table)).map_err(js)?;
            }
        }
        self.issue_next_generation(&meta).await?;
        Ok(Replaced::Done)
    }

    /// The rows `read_rows` read (keys and values alike in order), with the columns in
    /// `fills` a row lacks filled (see [`decode_row`]).
    fn decode_rows(
        &self,
        table: &'static Table,
        fills: &[Option<Value>],
        (keys, values): (Array, Array),
    ) -> Result<Vec<StoredRow>> {
        let mut rows = Vec::with_capacity(values.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            rows.push(self.decode_row(table, fills, self.key_id(table, &key)?, &value)?);
        }
        Ok(rows)
    }

    /// Row `id` of `table` as stored, with the columns in `fills` it lacks filled (see
    /// [`decode_row`]).
    fn decode_row(
        &self,
        table: &'static Table,
        fills: &[Option<Value>],
        id: i64,
        value: &JsValue,
    ) -> Result<StoredRow> {
        // Named only for an error: a scan decodes thousands of rows.
        let record = || self.record_name(RECORDS, &format!("[{:?}, {id}]", table.name()));
        let text = index::row_text(value).ok_or_else(|| decode_error(table, &record(), value))?;
        let row = decode_row(table, fills, record, &text)?;
        if row.meta.id != id {
            return Err(Error::Decode {
                table: table.name(),
                record: record(),
                column: Some("id"),
                found: format!("id {} in the record", row.meta.id),
            });
        }
        Ok(row)
    }

    fn decode_id(&self, table: &'static Table, store: &str, key: &str, value: &JsValue) -> Result<i64> {
        js_id(value).ok_or_else(|| decode_error(table, &self.record_name(store, key), value))
    }
}

/// Each table `plan` inserts rows into, with the highest new id.
fn newest_ids(plan: &CommitPlan) -> Vec<(&'static Table, i64)> {
    let mut newest: Vec<(&'static Table, i64)> = Vec::new();
    for change in plan.changes().iter().filter(|c| c.before.is_none() && c.after.is_some()) {
        match newest.iter_mut().find(|(table, _)| table.name() == change.table.name()) {
            Some((_, last)) => *last = (*last).max(change.id),
            None => newest.push((change.table, change.id)),
        }
    }
    newest
}

/// Issues the records of `rows` of `table`, with the index entries of the columns
/// named `names`, and records those columns as the table's complete ones.
fn issue_rows(
    records: &IdbObjectStore,
    meta: &IdbObjectStore,
    table: &'static Table,
    names: &[String],
    rows: &[StoredRow],
) -> Result<()> {
    let entries = index::Entries::new(table, names);
    for row in rows {
        let record = entries.record(row, &encode_row(table, row))?;
        records.put_with_key(&record, &record_key(table, row.meta.id)).map_err(js)?;
    }
    let marker: Array = names.iter().map(|name| JsValue::from_str(name)).collect();
    meta.put_with_key(&marker, &index::marker_key(table)).map_err(js)?;
    Ok(())
}

/// Every key of `table` in a store keyed `[table, …]`: after `[table]`, before
/// `[table, []]` (an array sorts after every other key).
fn table_range(table: &Table) -> Result<IdbKeyRange> {
    let name = JsValue::from_str(table.name());
    IdbKeyRange::bound(&Array::of1(&name), &Array::of2(&name, &Array::new())).map_err(js)
}

fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(js)
}

fn record_key(table: &Table, id: i64) -> JsValue {
    // Ids never exceed MAX_ID (see allocate_ids), so the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let id = id as f64;
    Array::of2(&JsValue::from_str(table.name()), &JsValue::from_f64(id)).into()
}

fn unique_key(table: &Table, column: usize, value: &Value) -> JsValue {
    let name = table.columns().get(column).map_or("", |c| c.name());
    Array::of3(&JsValue::from_str(table.name()), &JsValue::from_str(name), &JsValue::from_str(&index_text(value)))
        .into()
}

/// The key of the schema generation (see [`crate::schemas`]).
fn generation_key() -> JsValue {
    Array::of1(&JsValue::from_str("schemas")).into()
}

fn meta_key(kind: &str, table: &Table) -> JsValue {
    Array::of2(&JsValue::from_str(kind), &JsValue::from_str(table.name())).into()
}

/// An id stored as a JavaScript number.
fn js_id(value: &JsValue) -> Option<i64> {
    let n = value.as_f64()?;
    if n.fract() != 0.0 || !(0.0..=9_007_199_254_740_991.0).contains(&n) {
        return None;
    }
    // Checked above: a whole number within i64's exact range.
    #[allow(clippy::cast_possible_truncation)]
    Some(n as i64)
}

fn id_value(id: i64) -> JsValue {
    #[allow(clippy::cast_precision_loss)]
    JsValue::from_f64(id as f64)
}

fn decode_error(table: &Table, record: &str, value: &JsValue) -> Error {
    Error::Decode {
        table: table.name(),
        record: record.to_owned(),
        column: None,
        found: value.as_string().unwrap_or_else(|| format!("{value:?}")),
    }
}

#[async_trait(?Send)]
impl Store for IndexedDbStore {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.require(table).await?;
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        let value = Pending::new(store(&tx, RECORDS)?.get(&record_key(table, id)).map_err(js)?).result().await;
        let value = value.map_err(js)?;
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        if value.is_undefined() {
            return Ok(None);
        }
        self.decode_row(table, &[], id, &value).map(Some)
    }

    /// Every row's `get` issued at once, in one readonly transaction.
    async fn get_many(&self, table: &'static Table, ids: &[i64]) -> Result<Vec<StoredRow>> {
        self.require(table).await?;
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        let records = store(&tx, RECORDS)?;
        let mut pending = Vec::with_capacity(ids.len());
        for &id in ids {
            pending.push((id, Pending::new(records.get(&record_key(table, id)).map_err(js)?)));
        }
        let mut values = Vec::with_capacity(ids.len());
        for (id, value) in pending {
            values.push((id, value.result().await.map_err(js)?));
        }
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        let found = values.into_iter().filter(|(_, value)| !value.is_undefined());
        found.map(|(id, value)| self.decode_row(table, &[], id, &value)).collect()
    }

    /// The rows by key range: ids are the second part of every row's key.
    async fn scan_ids(&self, table: &'static Table, first: i64, last: i64) -> Result<Vec<StoredRow>> {
        self.require(table).await?;
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        // Ids are exact as JavaScript numbers up to 2^53 - 1, and none is stored past it.
        #[allow(clippy::cast_precision_loss)]
        let (first, last) = (first.max(0) as f64, last.min(MAX_ID) as f64);
        if first > last {
            return Ok(Vec::new());
        }
        let read = self.read_rows_between(&store(&tx, RECORDS)?, table, (first, last), None).await?;
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        self.decode_rows(table, &[], read)
    }

    /// Keys are `[table, id]`, so a key range with a count is a page in id order.
    async fn scan_page(&self, table: &'static Table, after: i64, limit: usize) -> Result<Option<Vec<StoredRow>>> {
        self.require(table).await?;
        // Ids are exact as JavaScript numbers up to 2^53 - 1, and none is stored past it.
        #[allow(clippy::cast_precision_loss)]
        let first = after.saturating_add(1).max(0) as f64;
        #[allow(clippy::cast_precision_loss)]
        let last = MAX_ID as f64;
        if after >= MAX_ID {
            return Ok(Some(Vec::new()));
        }
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let read = self.read_rows_between(&store(&tx, RECORDS)?, table, (first, last), Some(limit)).await?;
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        let mut rows = self.decode_rows(table, &[], read)?;
        rows.sort_by_key(|row| row.meta.id);
        Ok(Some(rows))
    }

    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
        self.require(table).await?;
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        let read = self.read_rows(&store(&tx, RECORDS)?, table).await?;
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        self.decode_rows(table, &[], read)
    }

    /// The rows from the `records` store's index, keys and values, in one readonly
    /// transaction; `None` where the column's entries are not recorded as complete.
    async fn scan_index(
        &self,
        table: &'static Table,
        column: usize,
        scan: &IndexScan,
    ) -> Result<Option<Vec<StoredRow>>> {
        self.require(table).await?;
        let tx = self.transaction(&[RECORDS, META], IdbTransactionMode::Readonly).await?;
        let meta = store(&tx, META)?;
        let generation = Pending::new(meta.get(&generation_key()).map_err(js)?);
        let marker = Pending::new(meta.get(&index::marker_key(table)).map_err(js)?);
        let entries = store(&tx, RECORDS)?.index(index::INDEX).map_err(js)?;
        let mut reads = Vec::new();
        for range in index::ranges(table, column, scan)? {
            let keys = Pending::new(entries.get_all_keys_with_key(&range).map_err(js)?);
            let values = Pending::new(entries.get_all_with_key(&range).map_err(js)?);
            reads.push((keys, values));
        }
        let marked = index::marked_columns(&marker.result().await.map_err(js)?);
        let mut found = Vec::with_capacity(reads.len());
        for (keys, values) in reads {
            let keys: Array = keys.result().await.map_err(js)?.unchecked_into();
            let values: Array = values.result().await.map_err(js)?.unchecked_into();
            found.push((keys, values));
        }
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        if !table.columns().get(column).is_some_and(|c| marked.iter().any(|m| m == c.name())) {
            return Ok(None);
        }
        let mut rows = Vec::new();
        for read in found {
            rows.extend(self.decode_rows(table, &[], read)?);
        }
        Ok(Some(rows))
    }

    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        self.require(table).await?;
        let tx = self.transaction(&[UNIQUE, META], IdbTransactionMode::Readonly).await?;
        let generation = Pending::new(store(&tx, META)?.get(&generation_key()).map_err(js)?);
        let key = unique_key(table, column, value);
        let found = Pending::new(store(&tx, UNIQUE)?.get(&key).map_err(js)?).result().await.map_err(js)?;
        self.recheck(table, &generation.result().await.map_err(js)?).await?;
        if found.is_undefined() {
            return Ok(None);
        }
        self.decode_id(table, UNIQUE, &format!("{value}"), &found).map(Some)
    }
}

#[async_trait(?Send)]
impl StoreMut for IndexedDbStore {
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
        let tx = self.transaction(&[RECORDS, UNIQUE, META], IdbTransactionMode::Readwrite).await?;
        let done = completion(&tx);
        // Whatever fails — a schema `create_all` does not upgrade, a unique constraint
        // the stored values violate — aborts the transaction: no table changes.
        if let Err(err) = self.issue_create_tables(&tx, tables).await {
            let _ = tx.abort();
            return Err(err);
        }
        done.await.map_err(js)?;
        let mut known = self.known.borrow_mut();
        for table in tables {
            known.remember(table);
        }
        Ok(())
    }

    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<StoredColumn>>> {
        let tx = self.transaction(&[META], IdbTransactionMode::Readonly).await?;
        let key: JsValue = Array::of2(&JsValue::from_str("schema"), &JsValue::from_str(name)).into();
        let stored = Pending::new(store(&tx, META)?.get(&key).map_err(js)?).result().await.map_err(js)?;
        if stored.is_undefined() {
            return Ok(None);
        }
        stored_columns(name, &stored.as_string().unwrap_or_else(|| format!("{stored:?}"))).map(Some)
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        let tx = self.transaction(&[META], IdbTransactionMode::Readonly).await?;
        // Every key `["schema", NAME]`: after `["schema"]`, before `["schema", []]` (an
        // array sorts after every string).
        let kind = JsValue::from_str("schema");
        let range = IdbKeyRange::bound(&Array::of1(&kind), &Array::of2(&kind, &Array::new())).map_err(js)?;
        let keys = Pending::new(store(&tx, META)?.get_all_keys_with_key(&range).map_err(js)?);
        let keys: Array = keys.result().await.map_err(js)?.unchecked_into();
        Ok(keys.iter().filter_map(|key| Array::from(&key).get(1).as_string()).collect())
    }

    async fn replace(&self, replacement: Replacement) -> Result<Replaced> {
        let tx = self.transaction(&[RECORDS, UNIQUE, META], IdbTransactionMode::Readwrite).await?;
        let done = completion(&tx);
        let replaced = match self.issue_replace(&tx, &replacement).await {
            Ok(replaced) => replaced,
            Err(err) => {
                let _ = tx.abort();
                return Err(err);
            }
        };
        done.await.map_err(js)?;
        if replaced == Replaced::Done {
            id_blocks::forget(&database_name(&self.name));
            let mut known = self.known.borrow_mut();
            for removed in &replacement.removed {
                known.forget(removed.table.name());
            }
            for added in &replacement.added {
                known.remember(added.table);
            }
        }
        Ok(replaced)
    }

    /// From the page's block of reserved ids when it holds enough (see [`id_blocks`]);
    /// else one readwrite transaction reserves the next block, continuing the page's
    /// block when no one reserved ids since, so a page's ids have no gaps of its own.
    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
        let database = database_name(&self.name);
        self.require(table).await?;
        if let Some(first) = id_blocks::take(&database, table.name(), count) {
            return Ok(first);
        }
        let reserve = id_blocks::reservation(&database, table.name(), count);
        let (tx, done, meta, stored) = loop {
            self.require(table).await?;
            let tx = self.transaction(&[META], IdbTransactionMode::Readwrite).await?;
            let done = completion(&tx);
            let meta = store(&tx, META)?;
            let generation = Pending::new(meta.get(&generation_key()).map_err(js)?);
            let stored = Pending::new(meta.get(&meta_key("seq", table)).map_err(js)?);
            let generation = generation.result().await.map_err(js)?;
            let stored = stored.result().await.map_err(js)?;
            if self.known.borrow().is_current(&generation.as_string()) {
                break (tx, done, meta, stored);
            }
            // Another page changed a schema: check the table again before handing out
            // its ids (an error if it is no longer this entity's).
            let _ = tx.abort();
            self.recheck(table, &generation).await?;
        };
        let key = meta_key("seq", table);
        let last = if stored.is_undefined() { 0 } else { self.decode_id(table, META, "[\"seq\", …]", &stored)? };
        // The ids left in the page's block (fewer than `count`) come first when they end
        // where the sequence does; the block asked for where the sequence has room for
        // it, else just `count`.
        let from = match id_blocks::remainder(&database, table.name()) {
            Some((next, end)) if end == last => next,
            _ => last + 1,
        };
        let reserved = next_ids(BACKEND, table, from - 1, reserve, MAX_ID)
            .map(|ids| (ids, reserve))
            .or_else(|_| next_ids(BACKEND, table, from - 1, count, MAX_ID).map(|ids| (ids, count)));
        let ((first, next), reserved) = match reserved {
            Ok(reserved) => reserved,
            Err(err) => {
                let _ = tx.abort();
                return Err(err);
            }
        };
        meta.put_with_key(&id_value(next), &key).map_err(js)?;
        done.await.map_err(js)?;
        let taken = i64::try_from(count).map_err(|e| Error::backend(BACKEND, e))?;
        id_blocks::keep(&database, table.name(), first + taken, next, reserved);
        Ok(first)
    }

    async fn apply(&self, plan: CommitPlan) -> Result<()> {
        let tx = self.transaction(&[RECORDS, UNIQUE, META], IdbTransactionMode::Readwrite).await?;
        let done = completion(&tx);
        // Whatever fails after the transaction began — a check, a request the browser
        // refuses — aborts it, so none of the requests issued so far is committed.
        let added = match self.issue_commit(&tx, &plan).await {
            Ok(added) => added,
            Err(err) => {
                let _ = tx.abort();
                return Err(err);
            }
        };
        done.await.map_err(|exception| {
            // An `add` refused for an existing key: a row the session took for new is there.
            let taken = added
                .iter()
                .find(|(_, _, request)| request.error().ok().flatten().is_some_and(|e| e.name() == "ConstraintError"));
            match taken {
                Some((table, id, _)) => Error::Conflict { table: table.name(), id: *id },
                None => js(exception),
            }
        })
    }
}
