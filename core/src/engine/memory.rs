//! [`MemoryStore`]: committed rows in process memory, the reference backend.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::backend::{check_engine_schema, engine_columns, StoredColumn};
use crate::engine::{
    next_ids, row_versions, sort_key, CommitPlan, IndexScan, Replaced, Replacement, Store, StoreMut, TableUpgrade,
    Write,
};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::migrate::MigrationRecord;
use crate::row::{Row, StoredRow};
use crate::table::Table;
use crate::value::{IndexKey, Value};

/// Rows in hash maps (get and insert in O(1)), a hash index per unique column, an
/// ordered index per indexed column, and an id sequence per table, behind one lock taken only for the length of a call.
///
/// Use it through [`plinth::memory()`](crate::memory); it is the backend tests swap in.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<HashMap<&'static str, MemoryTable>>,
}

#[derive(Debug)]
struct MemoryTable {
    table: &'static Table,
    rows: HashMap<i64, StoredRow>,
    last_id: i64,
    /// For each column: its unique index, if the column is unique.
    unique: Vec<Option<HashMap<IndexKey, i64>>>,
    /// For each column: its index ([`sort_key`], id), if the column is indexed.
    indexed: Vec<Option<OrderedIndex>>,
}

/// A non-unique index: ([`sort_key`] of the value, id) for every row with a value.
type OrderedIndex = BTreeSet<(Vec<u8>, i64)>;

impl MemoryTable {
    fn new(table: &'static Table) -> Self {
        let unique = table.columns().iter().map(|c| c.is_unique().then(HashMap::new)).collect();
        let indexed = table.columns().iter().map(|c| c.is_indexed().then(BTreeSet::new)).collect();
        MemoryTable { table, rows: HashMap::new(), last_id: 0, unique, indexed }
    }

    /// This table's rows and ids in `upgrade`'s table: each row's values moved to
    /// their columns' new places (added columns filled), the unique indexes rebuilt.
    fn upgraded(&self, upgrade: &TableUpgrade) -> Result<Self> {
        let table = upgrade.table();
        let fills = upgrade.fills();
        let sources: Vec<Option<usize>> = table
            .columns()
            .iter()
            .map(|c| self.table.columns().iter().position(|old| old.name() == c.name()))
            .collect();
        let rows: Vec<StoredRow> = self
            .rows
            .values()
            .map(|stored| {
                let values = sources
                    .iter()
                    .zip(&fills)
                    .map(|(source, fill)| match (source, fill) {
                        (Some(old), _) => stored.row.values()[*old].clone(),
                        (None, fill) => fill.clone().unwrap_or(Value::Null),
                    })
                    .collect();
                StoredRow { meta: stored.meta, row: Row::new(values) }
            })
            .collect();
        upgrade.unique_entries(&rows)?;
        let mut data = MemoryTable { last_id: self.last_id, ..MemoryTable::new(table) };
        for row in rows {
            data.insert(row);
        }
        Ok(data)
    }

    /// Stores `row`, with its unique and non-unique index entries.
    fn insert(&mut self, row: StoredRow) {
        for (column, value) in self.table.unique_values(&row.row) {
            if let Some(index) = &mut self.unique[column] {
                index.insert(IndexKey(value.clone()), row.meta.id);
            }
        }
        self.index(&row);
        self.rows.insert(row.meta.id, row);
    }

    /// Adds `row`'s entries to the non-unique indexes: those of this stored table's
    /// indexed columns, whichever entity writes it.
    fn index(&mut self, row: &StoredRow) {
        for (column, value) in self.table.indexed_values(&row.row) {
            if let (Some(Some(index)), Some(key)) = (self.indexed.get_mut(column), sort_key(value)) {
                index.insert((key, row.meta.id));
            }
        }
    }

    /// Removes `row`'s entries from the non-unique indexes.
    fn unindex(&mut self, row: &StoredRow) {
        for (column, value) in self.table.indexed_values(&row.row) {
            if let (Some(Some(index)), Some(key)) = (self.indexed.get_mut(column), sort_key(value)) {
                index.remove(&(key, row.meta.id));
            }
        }
    }

    /// The ids the index of `column` holds for what `scan` admits; `None` if the
    /// column has no index here.
    fn scan_index(&self, column: usize, scan: &IndexScan) -> Option<Vec<i64>> {
        let index = self.indexed.get(column)?.as_ref()?;
        // The entries between two sort-key bounds, which admit at least one key.
        let ids_between = |lower: Bound<&Vec<u8>>, upper: Bound<&Vec<u8>>| -> Vec<i64> {
            let lower = match lower {
                Bound::Included(key) => Bound::Included((key.clone(), i64::MIN)),
                Bound::Excluded(key) => Bound::Excluded((key.clone(), i64::MAX)),
                Bound::Unbounded => Bound::Unbounded,
            };
            let upper = match upper {
                Bound::Included(key) => Bound::Included((key.clone(), i64::MAX)),
                Bound::Excluded(key) => Bound::Excluded((key.clone(), i64::MIN)),
                Bound::Unbounded => Bound::Unbounded,
            };
            index.range((lower, upper)).map(|(_, id)| *id).collect()
        };
        Some(match scan {
            IndexScan::Values(values) => values
                .iter()
                .filter_map(sort_key)
                .flat_map(|key| ids_between(Bound::Included(&key), Bound::Included(&key)))
                .collect(),
            IndexScan::Range { lower, upper } => match IndexScan::key_range(lower, upper) {
                Some((lower, upper)) => ids_between(lower.as_ref(), upper.as_ref()),
                None => Vec::new(),
            },
        })
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<&'static str, MemoryTable>> {
        // Every critical section leaves the maps consistent before it can panic, so a
        // poisoned lock still guards valid data.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The stored table `table` names, if its stored schema is the entity's.
fn table_of<'m>(tables: &'m mut HashMap<&'static str, MemoryTable>, table: &Table) -> Result<&'m mut MemoryTable> {
    let data = tables.get_mut(table.name()).ok_or_else(|| Error::NoSuchTable { table: table.name() })?;
    if !std::ptr::eq(data.table, table) {
        check_engine_schema(table, &engine_columns(data.table))?;
    }
    Ok(data)
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        Ok(table_of(&mut self.lock(), table)?.rows.get(&id).cloned())
    }

    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
        Ok(table_of(&mut self.lock(), table)?.rows.values().cloned().collect())
    }

    async fn scan_index(
        &self,
        table: &'static Table,
        column: usize,
        scan: &IndexScan,
    ) -> Result<Option<Vec<StoredRow>>> {
        let mut state = self.lock();
        let data = table_of(&mut state, table)?;
        // Positions are the same in every schema the stored one is taken for.
        let ids = data.scan_index(column, scan);
        Ok(ids.map(|ids| ids.iter().filter_map(|id| data.rows.get(id).cloned()).collect()))
    }

    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        let mut state = self.lock();
        let index = table_of(&mut state, table)?.unique.get(column).and_then(Option::as_ref);
        Ok(index.and_then(|index| index.get(&IndexKey(value.clone())).copied()))
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl StoreMut for MemoryStore {
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
        let mut state = self.lock();
        // Every table's upgrade is planned and checked before any table changes, so a
        // refused one leaves them all as they were.
        let mut upgraded = Vec::new();
        for table in tables {
            let Some(existing) = state.get(table.name()) else { continue };
            if let Some(upgrade) = TableUpgrade::plan(table, &engine_columns(existing.table))? {
                upgraded.push(existing.upgraded(&upgrade)?);
            }
        }
        for data in upgraded {
            state.insert(data.table.name(), data);
        }
        for table in tables {
            state.entry(table.name()).or_insert_with(|| MemoryTable::new(table));
        }
        Ok(())
    }

    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<StoredColumn>>> {
        Ok(self.lock().get(name).map(|data| engine_columns(data.table)))
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        Ok(self.lock().keys().map(|name| (*name).to_owned()).collect())
    }

    async fn replace(&self, replacement: Replacement) -> Result<Replaced> {
        let mut state = self.lock();
        let record = &replacement.record;
        let record_table = table_of(&mut state, MigrationRecord::table())?;
        let version = IndexKey(record.row.values()[0].clone());
        if record_table.unique[0].as_ref().is_some_and(|index| index.contains_key(&version)) {
            return Ok(Replaced::AlreadyRecorded);
        }
        for removed in &replacement.removed {
            if row_versions(table_of(&mut state, removed.table)?.rows.values()) != removed.rows {
                return Ok(Replaced::ChangedMeanwhile);
            }
        }
        // Checked: from here on nothing fails, so the tables change whole.
        let mut last_ids = HashMap::new();
        for removed in &replacement.removed {
            if let Some(data) = state.remove(removed.table.name()) {
                last_ids.insert(removed.table.name(), data.last_id);
            }
        }
        for added in replacement.added {
            let mut data = MemoryTable::new(added.table);
            data.last_id = last_ids.get(added.sequence_of).copied().unwrap_or(0);
            for row in added.rows {
                data.insert(row);
            }
            state.insert(added.table.name(), data);
        }
        let record_table = table_of(&mut state, MigrationRecord::table())?;
        record_table.insert(replacement.record);
        Ok(Replaced::Done)
    }

    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
        let mut state = self.lock();
        let data = table_of(&mut state, table)?;
        let (first, last) = next_ids("memory", table, data.last_id, count, i64::MAX)?;
        data.last_id = last;
        Ok(first)
    }

    async fn apply(&self, plan: CommitPlan) -> Result<()> {
        let mut state = self.lock();
        for change in plan.changes() {
            change.check_current(table_of(&mut state, change.table)?.rows.get(&change.id))?;
        }
        let exists = plan
            .referenced_rows()
            .iter()
            .map(|r| Ok(table_of(&mut state, r.table)?.rows.contains_key(&r.id)))
            .collect::<Result<Vec<_>>>()?;
        let referring = plan
            .referring_tables()
            .iter()
            .map(|table| Ok(table_of(&mut state, table)?.rows.values().cloned().collect()))
            .collect::<Result<Vec<_>>>()?;
        plan.check_references(&exists, &referring)?;
        let writes = plan.decide(|_, slot| {
            let index = table_of(&mut state, slot.table)?.unique[slot.column].as_ref();
            Ok(index.and_then(|index| index.get(&IndexKey(slot.value.clone())).copied()))
        })?;
        // Every table a write names was found above, under this same lock, so nothing
        // below can fail: the writes go in whole.
        for write in writes {
            let Some(data) = state.get_mut(write.table().name()) else { continue };
            match write {
                Write::DeleteRow { id, .. } => {
                    if let Some(row) = data.rows.remove(&id) {
                        data.unindex(&row);
                    }
                }
                Write::DeleteUnique { column, value, .. } => {
                    if let Some(index) = &mut data.unique[column] {
                        index.remove(&IndexKey(value.clone()));
                    }
                }
                Write::PutRow { id, row, .. } => {
                    data.index(row);
                    data.rows.insert(id, row.clone());
                }
                Write::PutUnique { column, value, id, .. } => {
                    if let Some(index) = &mut data.unique[column] {
                        index.insert(IndexKey(value.clone()), id);
                    }
                }
            }
        }
        Ok(())
    }
}
