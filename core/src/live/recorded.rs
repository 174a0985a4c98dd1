//! [`Recorded`]: a session's transaction, noting which tables it reads and writes.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::backend::{RowSink, RowStream, Transaction};
use crate::error::Result;
use crate::live::{ChangeHub, Changed};
use crate::query::{Aggregation, Group, Predicate, Select};
use crate::row::{Row, RowMeta, RowUpdate, StoredRow};
use crate::table::Table;

/// The backend's transaction, every call passed through (each method of
/// [`Transaction`], those with a default too, so a backend's own versions run: a new
/// method is forwarded here), with the names of the tables read and written; its commit publishes the written ones to the backend's
/// [`ChangeHub`]. Reaching the transaction underneath ([`Transaction::as_any_mut`]:
/// raw SQL) makes both unknown.
pub(crate) struct Recorded {
    inner: Box<dyn Transaction>,
    hub: ChangeHub,
    read: BTreeSet<&'static str>,
    written: BTreeSet<&'static str>,
    opaque: bool,
}

impl Recorded {
    pub(crate) fn new(inner: Box<dyn Transaction>, hub: ChangeHub) -> Self {
        Recorded { inner, hub, read: BTreeSet::new(), written: BTreeSet::new(), opaque: false }
    }

    /// The tables read so far (subqueries' included); `None` if raw access may have
    /// read others.
    pub(crate) fn tables_read(&self) -> Option<BTreeSet<&'static str>> {
        (!self.opaque).then(|| self.read.clone())
    }

    fn reads(&mut self, table: &'static Table, select: Option<&Select>) {
        self.read.insert(table.name());
        if let Some(filter) = select.and_then(|s| s.filter.as_ref()) {
            subquery_tables(filter, &mut self.read);
        }
    }

    fn writes(&mut self, table: &'static Table) {
        self.written.insert(table.name());
    }

    /// What this transaction's commit changed.
    fn changed(&self) -> Option<Changed> {
        match self.opaque {
            true => Some(Changed::Anything),
            false if self.written.is_empty() => None,
            false => Some(Changed::Tables(self.written.iter().map(|t| (*t).to_owned()).collect())),
        }
    }
}

/// Adds the tables the subqueries of `predicate` read.
fn subquery_tables(predicate: &Predicate, tables: &mut BTreeSet<&'static str>) {
    match predicate {
        Predicate::InSelect { table, filter, .. } => {
            tables.insert(table.name());
            subquery_tables(filter, tables);
        }
        Predicate::And(parts) | Predicate::Or(parts) => parts.iter().for_each(|p| subquery_tables(p, tables)),
        Predicate::Not(inner) => subquery_tables(inner, tables),
        _ => {}
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl Transaction for Recorded {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        self.writes(table);
        self.inner.insert(table, rows).await
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.reads(table, None);
        self.inner.get(table, id).await
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        self.writes(table);
        self.inner.update(table, id, seen, row).await
    }

    async fn update_many(&mut self, table: &'static Table, updates: &[RowUpdate]) -> Result<Vec<RowMeta>> {
        self.writes(table);
        self.inner.update_many(table, updates).await
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        self.writes(table);
        self.inner.delete(table, id).await
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        self.reads(table, Some(select));
        self.inner.select(table, select).await
    }

    async fn select_into(&mut self, table: &'static Table, select: &Select, sink: &mut dyn RowSink) -> Result<()> {
        self.reads(table, Some(select));
        self.inner.select_into(table, select, sink).await
    }

    async fn delete_many(&mut self, table: &'static Table, ids: &[i64]) -> Result<u64> {
        self.writes(table);
        self.inner.delete_many(table, ids).await
    }

    fn stream<'a>(&'a mut self, table: &'static Table, select: Select) -> RowStream<'a> {
        self.reads(table, Some(&select));
        self.inner.stream(table, select)
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        self.reads(table, Some(select));
        self.inner.count(table, select).await
    }

    async fn aggregate(
        &mut self,
        table: &'static Table,
        select: &Select,
        aggregation: &Aggregation,
    ) -> Result<Vec<Group>> {
        self.reads(table, Some(select));
        self.inner.aggregate(table, select, aggregation).await
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        self.opaque = true;
        self.inner.as_any_mut()
    }

    /// Publishes what was written whatever the outcome: a commit lost on the way may
    /// have been applied, and a live query that runs again for nothing emits nothing.
    async fn commit(self: Box<Self>) -> Result<()> {
        let changed = self.changed();
        let Recorded { inner, hub, .. } = *self;
        let committed = inner.commit().await;
        if let Some(changed) = changed {
            hub.publish(&changed);
        }
        committed
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.inner.rollback().await
    }
}
