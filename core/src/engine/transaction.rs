//! [`EngineTransaction`]: a session's staged writes over a [`StoreMut`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::backend::clock;
use crate::backend::{RowStream, Transaction};
use crate::engine::{column_value, index_scan, run_select, stored_tables, Change, CommitPlan, IndexScan, StoreMut};
use crate::error::{Error, Result};
use crate::query::{sorted_values, CompareOp, Predicate, Select};
use crate::relations::Relations;
use crate::row::{Row, RowMeta, RowUpdate, StoredRow};
use crate::table::{ColumnRef, Table};
use crate::value::{IndexKey, Value};

type RowKey = (&'static str, i64);

/// The future of [`EngineTransaction::resolve_subqueries`]: `Send` where sessions are.
#[cfg(not(target_arch = "wasm32"))]
type Resolving<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Predicate>> + Send + 'a>>;
#[cfg(target_arch = "wasm32")]
type Resolving<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Predicate>> + 'a>>;
type ClaimKey = (&'static str, usize, IndexKey);

#[derive(Clone, Debug)]
struct Staged {
    table: &'static Table,
    before: Option<StoredRow>,
    after: Option<StoredRow>,
}

/// A session of the record engine: writes are staged here, reads see them over the
/// store's committed rows, and [`commit`](Transaction::commit) hands them to
/// [`StoreMut::apply`] as one [`CommitPlan`].
#[derive(Debug)]
pub(crate) struct EngineTransaction<S> {
    store: Arc<S>,
    /// The tables the backend was given, where references find their parents.
    relations: Relations,
    staged: BTreeMap<RowKey, Staged>,
    /// Unique values held by staged rows, and which row holds each.
    claims: HashMap<ClaimKey, i64>,
}

/// A query that names its rows by id, by a unique column or through an indexed
/// column, so no scan of the table is needed.
enum PointLookup {
    Id(i64),
    /// `id IN (…)`: the rows are read by id (as a relation loads them).
    Ids(Vec<i64>),
    /// `id` between two bounds, both included.
    IdRange(i64, i64),
    Unique(usize, Value),
    /// Through the index of an indexed column, where the store keeps one.
    Indexed(usize, IndexScan),
}

impl<S: StoreMut> EngineTransaction<S> {
    /// A new, empty session over `store`, whose tables are `relations`.
    pub(crate) fn new(store: Arc<S>, relations: Relations) -> Self {
        EngineTransaction { store, relations, staged: BTreeMap::new(), claims: HashMap::new() }
    }

    /// Refuses `rows` of `table` if one refers to a row that does not exist, as this
    /// session sees them ([`Error::ForeignKeyViolation`]); each parent row is read once.
    async fn check_references(&self, table: &'static Table, rows: &[Row]) -> Result<()> {
        let mut checked = HashSet::new();
        for row in rows {
            for (column, value) in row.values().iter().enumerate() {
                let (Some(reference), Value::I64(id)) = (table.columns()[column].references(), value) else {
                    continue;
                };
                if !checked.insert((column, *id)) {
                    continue;
                }
                let violation = || Error::ForeignKeyViolation {
                    table: table.name(),
                    column: table.columns()[column].name(),
                    parent: reference.table,
                };
                let parent = self.relations.table(reference.table).ok_or_else(violation)?;
                if self.current(parent, *id).await?.is_none() {
                    return Err(violation());
                }
            }
        }
        Ok(())
    }

    async fn current(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        match self.staged.get(&(table.name(), id)) {
            // Staged through the same table: the store has accepted it already.
            Some(staged) if std::ptr::eq(staged.table, table) || staged.table == table => Ok(staged.after.clone()),
            // Another entity's table of that name: the store says whether it may be used.
            staged => {
                let committed = self.store.get(table, id).await?;
                Ok(staged.map_or(committed, |staged| staged.after.clone()))
            }
        }
    }

    /// Refuses `row` (to be stored as row `id`, `None` if new) if another row, staged or
    /// committed, holds one of its unique values.
    async fn check_unique(&self, table: &'static Table, id: Option<i64>, row: &Row) -> Result<()> {
        for (column, value) in table.unique_values(row) {
            let violation =
                || Error::UniqueViolation { table: table.name(), column: Some(table.columns()[column].name()) };
            let key = (table.name(), column, IndexKey(value.clone()));
            if let Some(&holder) = self.claims.get(&key) {
                if Some(holder) != id {
                    return Err(violation());
                }
                continue;
            }
            if let Some(holder) = self.store.find_unique(table, column, value).await? {
                if Some(holder) != id && !self.staged.contains_key(&(table.name(), holder)) {
                    return Err(violation());
                }
            }
        }
        Ok(())
    }

    fn release_claims(&mut self, table: &'static Table, id: i64, row: &Row) {
        for (column, value) in table.unique_values(row) {
            let key = (table.name(), column, IndexKey(value.clone()));
            if self.claims.get(&key) == Some(&id) {
                self.claims.remove(&key);
            }
        }
    }

    fn stage(&mut self, table: &'static Table, id: i64, committed: Option<StoredRow>, after: Option<StoredRow>) {
        if let Some(row) = &after {
            for (column, value) in table.unique_values(&row.row) {
                self.claims.insert((table.name(), column, IndexKey(value.clone())), id);
            }
        }
        self.staged.entry((table.name(), id)).and_modify(|staged| staged.after = after.clone()).or_insert(Staged {
            table,
            before: committed,
            after,
        });
    }

    fn staged_rows(&self, table: &'static Table) -> impl Iterator<Item = &StoredRow> {
        self.staged
            .range((table.name(), i64::MIN)..=(table.name(), i64::MAX))
            .filter_map(|(_, staged)| staged.after.as_ref())
    }

    fn point_lookup(table: &'static Table, predicate: &Predicate) -> Option<PointLookup> {
        match predicate {
            Predicate::Compare { column: ColumnRef::Id, op: CompareOp::Eq, value: Value::I64(id) } => {
                Some(PointLookup::Id(*id))
            }
            Predicate::In { column: ColumnRef::Id, values } => {
                let mut ids: Vec<i64> =
                    values.iter().filter_map(|v| if let Value::I64(id) = v { Some(*id) } else { None }).collect();
                ids.sort_unstable();
                ids.dedup();
                Some(PointLookup::Ids(ids))
            }
            Predicate::Compare { column: ColumnRef::Field(i), op: CompareOp::Eq, value }
                if table.columns()[*i].is_unique() =>
            {
                Some(PointLookup::Unique(*i, value.clone()))
            }
            Predicate::Compare { column: ColumnRef::Id, op, value: Value::I64(v) } => id_bounds(*op, *v),
            Predicate::And(parts) => {
                let lookups: Vec<PointLookup> = parts.iter().filter_map(|p| Self::point_lookup(table, p)).collect();
                // The narrowest: a point, else the intersection of the id ranges.
                let ranges = lookups.iter().filter_map(|l| match l {
                    PointLookup::IdRange(first, last) => Some((*first, *last)),
                    _ => None,
                });
                let range = ranges.reduce(|(a, b), (c, d)| (a.max(c), b.min(d)));
                match lookups.into_iter().find(|l| !matches!(l, PointLookup::IdRange(..))) {
                    Some(point) => Some(point),
                    None => range.map(|(first, last)| PointLookup::IdRange(first, last)),
                }
            }
            _ => None,
        }
    }

    /// The narrowest way to read what `predicate` may match: by id or unique value,
    /// else by values of an indexed column, else by an id range, else by a range of
    /// an indexed column.
    fn lookup(table: &'static Table, predicate: &Predicate) -> Option<PointLookup> {
        let point = Self::point_lookup(table, predicate);
        if matches!(point, Some(PointLookup::Id(_) | PointLookup::Ids(_) | PointLookup::Unique(..))) {
            return point;
        }
        match (index_scan(table, predicate), point) {
            (Some((column, scan @ IndexScan::Values(_))), _) | (Some((column, scan)), None) => {
                Some(PointLookup::Indexed(column, scan))
            }
            (_, point) => point,
        }
    }

    /// `predicate` with every subquery (a filter through a relation) run over this
    /// session's view of its table and replaced by the list of values it selects, so
    /// evaluation reads one table, as SQL's `IN (SELECT …)` does.
    fn resolve_subqueries<'a>(&'a self, predicate: &'a Predicate) -> Resolving<'a> {
        Box::pin(async move {
            Ok(match predicate {
                Predicate::InSelect { column, table, select_column, filter } => {
                    let inner = Select { filter: Some(self.resolve_subqueries(filter).await?), ..Select::default() };
                    let rows = run_select(self.candidates(table, &inner).await?, &inner);
                    let values = rows
                        .iter()
                        .map(|row| column_value(row, *select_column).into_owned())
                        .filter(|value| !value.is_null())
                        .collect();
                    Predicate::In { column: *column, values: sorted_values(values) }
                }
                Predicate::And(parts) => Predicate::And(self.resolve_all(parts).await?),
                Predicate::Or(parts) => Predicate::Or(self.resolve_all(parts).await?),
                Predicate::Not(inner) => Predicate::Not(Box::new(self.resolve_subqueries(inner).await?)),
                other => other.clone(),
            })
        })
    }

    async fn resolve_all(&self, parts: &[Predicate]) -> Result<Vec<Predicate>> {
        let mut resolved = Vec::with_capacity(parts.len());
        for part in parts {
            resolved.push(self.resolve_subqueries(part).await?);
        }
        Ok(resolved)
    }

    /// The rows `select` could match: those the filter names by id, unique column or
    /// indexed column ([`Self::lookup`]), every committed row otherwise; with the
    /// session's own writes.
    async fn candidates(&self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        let lookup = select.filter.as_ref().and_then(|f| Self::lookup(table, f));
        let mut rows: Vec<StoredRow> = match lookup {
            Some(PointLookup::Id(id)) => self.store.get(table, id).await?.into_iter().collect(),
            Some(PointLookup::Ids(ids)) => self.store.get_many(table, &ids).await?,
            Some(PointLookup::IdRange(first, last)) if first > last => Vec::new(),
            Some(PointLookup::IdRange(first, last)) => self.store.scan_ids(table, first, last).await?,
            Some(PointLookup::Unique(column, value)) => match self.store.find_unique(table, column, &value).await? {
                Some(id) => self.store.get(table, id).await?.into_iter().collect(),
                None => Vec::new(),
            },
            Some(PointLookup::Indexed(column, scan)) => match self.store.scan_index(table, column, &scan).await? {
                Some(rows) => rows,
                None => self.store.scan(table).await?,
            },
            None => self.store.scan(table).await?,
        };
        rows.retain(|row| !self.staged.contains_key(&(table.name(), row.meta.id)));
        rows.extend(self.staged_rows(table).cloned());
        Ok(rows)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
impl<S: StoreMut> Transaction for EngineTransaction<S> {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        let mut in_batch: HashSet<(usize, IndexKey)> = HashSet::new();
        for row in rows {
            for (column, value) in table.unique_values(row) {
                if !in_batch.insert((column, IndexKey(value.clone()))) {
                    return Err(Error::UniqueViolation {
                        table: table.name(),
                        column: Some(table.columns()[column].name()),
                    });
                }
            }
            self.check_unique(table, None, row).await?;
        }
        self.check_references(table, rows).await?;
        let count = u64::try_from(rows.len()).map_err(|e| Error::backend(self.store.name(), e))?;
        let first = self.store.allocate_ids(table, count).await?;
        let now = clock::now();
        let mut metas = Vec::with_capacity(rows.len());
        for (id, row) in (first..).zip(rows) {
            let meta = RowMeta { id, created_at: now, updated_at: now };
            self.stage(table, id, None, Some(StoredRow { meta, row: row.clone() }));
            metas.push(meta);
        }
        Ok(metas)
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        self.current(table, id).await
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        let current = self.current(table, id).await?.ok_or_else(|| Error::NotFound { table: table.name(), id })?;
        if current.meta.updated_at != seen {
            return Err(Error::Conflict { table: table.name(), id });
        }
        self.check_unique(table, Some(id), row).await?;
        self.check_references(table, std::slice::from_ref(row)).await?;
        let meta =
            RowMeta { id, created_at: current.meta.created_at, updated_at: clock::now_after(current.meta.updated_at) };
        self.release_claims(table, id, &current.row);
        let committed = Some(current);
        self.stage(table, id, committed, Some(StoredRow { meta, row: row.clone() }));
        Ok(meta)
    }

    async fn update_many(&mut self, table: &'static Table, updates: &[RowUpdate]) -> Result<Vec<RowMeta>> {
        // Staging is in memory: on a refusal the staged writes and claims from before
        // the first update are put back, so nothing of the batch is left.
        let (staged, claims) = (self.staged.clone(), self.claims.clone());
        let mut metas = Vec::with_capacity(updates.len());
        for update in updates {
            match self.update(table, update.id, update.seen, &update.row).await {
                Ok(meta) => metas.push(meta),
                Err(err) => {
                    (self.staged, self.claims) = (staged, claims);
                    return Err(err);
                }
            }
        }
        Ok(metas)
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        let current = self.current(table, id).await?.ok_or_else(|| Error::NotFound { table: table.name(), id })?;
        self.release_claims(table, id, &current.row);
        self.stage(table, id, Some(current), None);
        Ok(())
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        if !select.filter.as_ref().is_some_and(has_subquery) {
            let rows = self.candidates(table, select).await?;
            return Ok(run_select(rows, select));
        }
        let filter = match &select.filter {
            Some(filter) => Some(self.resolve_subqueries(filter).await?),
            None => None,
        };
        let resolved = Select { filter, ..select.clone() };
        let rows = self.candidates(table, &resolved).await?;
        Ok(run_select(rows, &resolved))
    }

    fn stream<'a>(&'a mut self, table: &'static Table, select: Select) -> RowStream<'a> {
        Box::pin(async_stream::try_stream! {
            // In id order, and where the store pages by id, a page at a time; otherwise
            // (sorted by a column, a filter through a relation) the query reads at once.
            let pages = select.order.is_empty() && !select.filter.as_ref().is_some_and(has_subquery);
            let first = match pages {
                true => self.store.scan_page(table, 0, STREAM_PAGE).await?,
                false => None,
            };
            let Some(mut page) = first else {
                for row in self.select(table, &select).await? {
                    yield row;
                }
                return;
            };
            let filter = Select { filter: select.filter.clone(), ..Select::default() };
            let (mut skip, mut left) = (select.offset, select.limit.unwrap_or(u64::MAX));
            let mut after = 0;
            loop {
                let full = page.len() >= STREAM_PAGE;
                let until = match (full, page.last()) {
                    (true, Some(last)) => last.meta.id,
                    _ => i64::MAX,
                };
                // The page as this session sees it: its own writes over the committed rows.
                page.retain(|row| !self.staged.contains_key(&(table.name(), row.meta.id)));
                page.extend(self.staged_rows(table).filter(|row| (after + 1..=until).contains(&row.meta.id)).cloned());
                for row in run_select(page, &filter) {
                    if left == 0 {
                        return;
                    }
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    left -= 1;
                    yield row;
                }
                if !full {
                    return;
                }
                after = until;
                page = self.store.scan_page(table, after, STREAM_PAGE).await?.unwrap_or_default();
            }
        })
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        let rows = self.select(table, select).await?;
        u64::try_from(rows.len()).map_err(|e| Error::backend(self.store.name(), e))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let changes: Vec<Change> = self
            .staged
            .into_iter()
            .filter(|(_, s)| s.before.is_some() || s.after.is_some())
            .map(|((_, id), s)| Change { table: s.table, id, before: s.before, after: s.after })
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        // A commit that deletes checks the rows referring to what it deletes in every
        // table stored now, also those another handle (another version of the app in
        // another page) created since this one read the stored tables: such a row makes
        // the commit a `Conflict`, and the next session knows the table's rules.
        if changes.iter().any(|c| c.before.is_some() && c.after.is_none()) {
            self.relations.add_stored(&stored_tables(self.store.as_ref()).await?);
        }
        self.store.apply(CommitPlan::with_relations(changes, &self.relations)).await
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

/// How many committed rows a stream reads at a time, where the store pages.
const STREAM_PAGE: usize = 500;

/// The ids `id op value` admits, as an inclusive range; `None` for `<>`.
fn id_bounds(op: CompareOp, value: i64) -> Option<PointLookup> {
    let (first, last) = match op {
        CompareOp::Ge => (value, i64::MAX),
        CompareOp::Gt => (value.checked_add(1)?, i64::MAX),
        CompareOp::Le => (i64::MIN, value),
        CompareOp::Lt => (i64::MIN, value.checked_sub(1)?),
        CompareOp::Eq | CompareOp::Ne => return None,
    };
    Some(PointLookup::IdRange(first, last))
}

/// Whether `predicate` holds a subquery anywhere.
fn has_subquery(predicate: &Predicate) -> bool {
    match predicate {
        Predicate::InSelect { .. } => true,
        Predicate::And(parts) | Predicate::Or(parts) => parts.iter().any(has_subquery),
        Predicate::Not(inner) => has_subquery(inner),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MemoryStore;
    use crate::query::Filter;
    use crate::Entity;

    #[derive(Entity)]
    struct Score {
        #[entity(unique)]
        score: f64,
    }

    /// The memory store, paging by id as IndexedDB does, counting its page reads.
    #[derive(Debug, Default)]
    struct PagedStore {
        inner: MemoryStore,
        pages: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl crate::engine::Store for PagedStore {
        fn name(&self) -> &'static str {
            "paged memory"
        }
        async fn get(&self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
            self.inner.get(table, id).await
        }
        async fn scan(&self, table: &'static Table) -> Result<Vec<StoredRow>> {
            self.inner.scan(table).await
        }
        async fn find_unique(&self, table: &'static Table, column: usize, value: &Value) -> Result<Option<i64>> {
            self.inner.find_unique(table, column, value).await
        }
        async fn scan_page(&self, table: &'static Table, after: i64, limit: usize) -> Result<Option<Vec<StoredRow>>> {
            self.pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut rows = self.inner.scan(table).await?;
            rows.retain(|row| row.meta.id > after);
            rows.sort_by_key(|row| row.meta.id);
            rows.truncate(limit);
            Ok(Some(rows))
        }
    }

    #[async_trait]
    impl StoreMut for PagedStore {
        async fn create_tables(&self, tables: &[&'static Table]) -> Result<()> {
            self.inner.create_tables(tables).await
        }
        async fn allocate_ids(&self, table: &'static Table, count: u64) -> Result<i64> {
            self.inner.allocate_ids(table, count).await
        }
        async fn apply(&self, plan: CommitPlan) -> Result<()> {
            self.inner.apply(plan).await
        }
        async fn stored_columns(&self, name: &str) -> Result<Option<Vec<crate::backend::StoredColumn>>> {
            self.inner.stored_columns(name).await
        }
        async fn table_names(&self) -> Result<Vec<String>> {
            self.inner.table_names().await
        }
        async fn replace(&self, replacement: crate::engine::Replacement) -> Result<crate::engine::Replaced> {
            self.inner.replace(replacement).await
        }
    }

    /// A stream in id order reads the store a page at a time, its own writes laid over
    /// each page, and gives what `select` gives.
    #[tokio::test]
    async fn a_stream_in_id_order_reads_page_by_page() -> Result<()> {
        use futures_util::TryStreamExt as _;
        let store = Arc::new(PagedStore::default());
        store.create_tables(&[Score::table()]).await?;
        let mut writer = Box::new(EngineTransaction::new(Arc::clone(&store), Relations::new()));
        let rows: Vec<Row> = (0..1_200).map(|i| Row::new(vec![Value::F64(f64::from(i))])).collect();
        writer.insert(Score::table(), &rows).await?;
        writer.commit().await?;
        let mut session = EngineTransaction::new(Arc::clone(&store), Relations::new());
        session.delete(Score::table(), 700).await?;
        session.insert(Score::table(), &[Row::new(vec![Value::F64(-1.0)])]).await?;
        let select = Select::bind(Score::table(), vec![Filter::column("score").ge(100.0_f64)], vec![], Some(1_000), 5)?;
        let whole = session.select(Score::table(), &select).await?;
        store.pages.store(0, std::sync::atomic::Ordering::Relaxed);
        let streamed: Vec<StoredRow> = session.stream(Score::table(), select).try_collect().await?;
        assert_eq!(streamed, whole);
        assert_eq!(store.pages.load(std::sync::atomic::Ordering::Relaxed), 3, "1,200 rows in pages of 500");
        Ok(())
    }

    #[tokio::test]
    async fn a_negative_zero_filter_finds_the_row_through_the_unique_index() -> Result<()> {
        let store = Arc::new(MemoryStore::new());
        store.create_tables(&[Score::table()]).await?;
        let mut writer = Box::new(EngineTransaction::new(Arc::clone(&store), Relations::new()));
        writer.insert(Score::table(), &[Row::new(vec![Value::F64(0.0)])]).await?;
        writer.commit().await?;
        let mut reader = EngineTransaction::new(store, Relations::new());
        let select = Select::bind(Score::table(), vec![Filter::column("score").eq(-0.0_f64)], vec![], None, 0)?;
        assert_eq!(reader.select(Score::table(), &select).await?.len(), 1);
        Ok(())
    }
}
