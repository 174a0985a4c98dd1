//! [`BrowserStore`]: the stores [`connect`](crate::connect) opens, as one type.

use async_trait::async_trait;
use plinth::backend::{StoredColumn, StoredRow};
use plinth::engine::{CommitPlan, IndexScan, Replaced, Replacement, Store, StoreMut};
use plinth::{Result, Table, Value};

use crate::{Coordinator, IndexedDbStore, KeyValue, WebStorageStore};

/// Web storage (`localStorage` or `sessionStorage`, boxed behind their traits) or
/// IndexedDB. The record engine is generic over its store, so one store type for
/// every URL puts one copy of the engine in the page's wasm instead of one per store;
/// the calls it forwards cost a match.
#[derive(Debug)]
pub(crate) enum BrowserStore {
    WebStorage(WebStorageStore<Box<dyn KeyValue>, Box<dyn Coordinator>>),
    IndexedDb(IndexedDbStore),
}

/// Runs `$call` on the store inside, whichever it is.
macro_rules! forward {
    ($store:expr, $inner:ident => $call:expr) => {
        match $store {
            BrowserStore::WebStorage($inner) => $call,
            BrowserStore::IndexedDb($inner) => $call,
        }
    };
}

#[async_trait(?Send)]
impl Store for BrowserStore {
    fn name(&self) -> &'static str {
        forward!(self, s => s.name())
    }

    async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        forward!(self, s => s.get(table, id).await)
    }

    async fn get_many(&self, table: &'static Table, ids: &[i64]) -> Result<Vec<StoredRow>> {
        forward!(self, s => s.get_many(table, ids).await)
    }

    async fn scan_ids(&self, table: &'static Table, first: i64, last: i64) -> Result<Vec<StoredRow>> {
        forward!(self, s => s.scan_ids(table, first, last).await)
    }

    async fn scan_page(&self, table: &'static Table, after: i64, limit: usize) -> Result<Option<Vec<StoredRow>>> {
        forward!(self, s => s.scan_page(table, after, limit).await)
    }

    async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
        forward!(self, s => s.scan(table).await)
    }

    async fn scan_index(
        &self,
        table: &'static Table,
        column: usize,
        scan: &IndexScan,
    ) -> Result<Option<Vec<StoredRow>>> {
        forward!(self, s => s.scan_index(table, column, scan).await)
    }

    async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
        forward!(self, s => s.find_unique(table, column, value).await)
    }
}

#[async_trait(?Send)]
impl StoreMut for BrowserStore {
    async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
        forward!(self, s => s.create_tables(tables).await)
    }

    async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
        forward!(self, s => s.allocate_ids(table, count).await)
    }

    async fn apply(&self, plan: CommitPlan) -> Result<()> {
        forward!(self, s => s.apply(plan).await)
    }

    async fn stored_columns(&self, name: &str) -> Result<Option<Vec<StoredColumn>>> {
        forward!(self, s => s.stored_columns(name).await)
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        forward!(self, s => s.table_names().await)
    }

    async fn replace(&self, replacement: Replacement) -> Result<Replaced> {
        forward!(self, s => s.replace(replacement).await)
    }
}
