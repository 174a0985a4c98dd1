//! [`CountingBackend`]: a backend that counts the calls a session makes to the one it
//! wraps, so a check can say how many round trips an operation costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plinth::backend::{
    Aggregation, Backend, ColumnDef, Group, Relations, Row, RowMeta, RowSink, RowStream, RowUpdate, Select,
    StoredColumn, StoredRow, Transaction,
};
use plinth::migrate::{Shapes, Step};
use plinth::{Database, Result, Table};

/// Wraps a database's backend, counting every read and write its transactions make.
#[derive(Debug)]
pub struct CountingBackend {
    inner: Arc<dyn Backend>,
    calls: Arc<AtomicU64>,
}

impl CountingBackend {
    /// `db` with every transaction call counted, and the counter.
    pub fn wrap(db: &Database) -> (Database, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let backend = CountingBackend { inner: db.shared_backend(), calls: Arc::clone(&calls) };
        (Database::new(backend), calls)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Backend for CountingBackend {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        self.inner.create_all(tables).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(CountingTransaction { inner: self.inner.begin().await?, calls: Arc::clone(&self.calls) }))
    }

    async fn begin_single_write(&self) -> Result<Box<dyn Transaction>> {
        let inner = self.inner.begin_single_write().await?;
        Ok(Box::new(CountingTransaction { inner, calls: Arc::clone(&self.calls) }))
    }

    async fn apply_migration(&self, steps: &'static [Step], record: &Row) -> Result<bool> {
        self.inner.apply_migration(steps, record).await
    }

    async fn stored_shapes(&self, names: &[&'static str]) -> Result<Shapes> {
        self.inner.stored_shapes(names).await
    }

    async fn stored_tables(&self) -> Result<Vec<&'static Table>> {
        self.inner.stored_tables().await
    }

    fn relations(&self) -> Relations {
        self.inner.relations()
    }

    fn changes(&self) -> plinth::backend::ChangeHub {
        self.inner.changes()
    }

    fn watching(&self) {
        self.inner.watching();
    }

    async fn pause(&self, duration: std::time::Duration) {
        self.inner.pause(duration).await;
    }

    fn column_words(&self, column: &ColumnDef) -> StoredColumn {
        self.inner.column_words(column)
    }
}

struct CountingTransaction {
    inner: Box<dyn Transaction>,
    calls: Arc<AtomicU64>,
}

impl CountingTransaction {
    fn tally(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Transaction for CountingTransaction {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        self.tally();
        self.inner.insert(table, rows).await
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.tally();
        self.inner.get(table, id).await
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        self.tally();
        self.inner.update(table, id, seen, row).await
    }

    async fn update_many(&mut self, table: &'static Table, updates: &[RowUpdate]) -> Result<Vec<RowMeta>> {
        self.tally();
        self.inner.update_many(table, updates).await
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        self.tally();
        self.inner.delete(table, id).await
    }

    async fn delete_many(&mut self, table: &'static Table, ids: &[i64]) -> Result<u64> {
        self.tally();
        self.inner.delete_many(table, ids).await
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        self.tally();
        self.inner.select(table, select).await
    }

    async fn select_into(&mut self, table: &'static Table, select: &Select, sink: &mut dyn RowSink) -> Result<()> {
        self.tally();
        self.inner.select_into(table, select, sink).await
    }

    fn stream<'a>(&'a mut self, table: &'static Table, select: Select) -> RowStream<'a> {
        self.tally();
        self.inner.stream(table, select)
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        self.tally();
        self.inner.count(table, select).await
    }

    async fn aggregate(
        &mut self,
        table: &'static Table,
        select: &Select,
        aggregation: &Aggregation,
    ) -> Result<Vec<Group>> {
        self.tally();
        self.inner.aggregate(table, select, aggregation).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.inner.commit().await
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.inner.rollback().await
    }
}
