//! [`EngineBackend`]: a [`Backend`] made of the record engine and a store.

use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::{
    engine_column, engine_column_def, intern_name, intern_table, Backend, ColumnDef, Row, StoredColumn, Transaction,
};
use crate::engine::{apply_migration, EngineTransaction, StoreMut};
use crate::error::Result;
use crate::live::ChangeHub;
use crate::migrate::{Shapes, Step};
use crate::relations::Relations;
use crate::table::Table;

/// Every table `store` holds, as its stored schema describes it; one whose schema does
/// not read (edited by hand, corrupted) is left out, as every operation on it reports
/// that itself.
pub(crate) async fn stored_tables<S: StoreMut>(store: &S) -> Result<Vec<&'static Table>> {
    let mut tables = Vec::new();
    for name in store.table_names().await? {
        let Ok(Some(columns)) = store.stored_columns(&name).await else { continue };
        let name = intern_name(&name);
        let Ok(columns) = columns.iter().map(|c| engine_column_def(name, c)).collect::<Result<Vec<_>>>() else {
            continue;
        };
        tables.push(intern_table(name, &columns));
    }
    Ok(tables)
}

/// The record engine over store `S`, as a [`Backend`].
#[derive(Debug)]
pub struct EngineBackend<S> {
    store: Arc<S>,
    /// The tables the `Database`s over it were given, and those stored: the references
    /// every session checks.
    relations: Relations,
    changes: ChangeHub,
}

impl<S: StoreMut> EngineBackend<S> {
    /// A backend over `store`.
    pub fn new(store: S) -> Self {
        EngineBackend { store: Arc::new(store), relations: Relations::new(), changes: ChangeHub::new() }
    }

    /// A backend over a store shared with other backends: a second handle on the same
    /// storage, as a second connection pool on one database.
    pub fn with_store(store: Arc<S>) -> Self {
        EngineBackend { store, relations: Relations::new(), changes: ChangeHub::new() }
    }

    /// The store underneath, for backend-specific operations.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<S: StoreMut> Backend for EngineBackend<S> {
    fn name(&self) -> &'static str {
        self.store.name()
    }

    async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        self.store.create_tables(tables).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(EngineTransaction::new(Arc::clone(&self.store), self.relations.clone())))
    }

    fn relations(&self) -> Relations {
        self.relations.clone()
    }

    fn changes(&self) -> ChangeHub {
        self.changes.clone()
    }

    async fn stored_tables(&self) -> Result<Vec<&'static Table>> {
        stored_tables(self.store.as_ref()).await
    }

    async fn apply_migration(&self, steps: &'static [Step], record: &Row) -> Result<bool> {
        apply_migration(self.store.as_ref(), steps, record).await
    }

    async fn stored_shapes(&self, names: &[&'static str]) -> Result<Shapes> {
        let mut shapes = Shapes::default();
        for &name in names {
            shapes.insert(name, self.store.stored_columns(name).await?);
        }
        Ok(shapes)
    }

    fn column_words(&self, column: &ColumnDef) -> StoredColumn {
        engine_column(column)
    }
}
