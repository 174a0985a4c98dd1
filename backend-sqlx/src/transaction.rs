//! The one SQL backend and transaction, generic over a [`Driver`]: schema checks, the
//! lazy transaction, get, delete, select, count, commit, rollback, `create_all`, and
//! (where the database needs it) remembering that a failed statement aborted the
//! transaction. What a driver does differently is in `postgres.rs` and `sqlite.rs`.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plinth::backend::Transaction;
use std::borrow::Cow;

use plinth::backend::{duplicated_values, intern_table, Aggregation, ColumnDef, Group, Select};
use plinth::backend::{Row, RowMeta, RowSink, RowStream, RowUpdate, StoredFields, StoredRow};
use plinth::migrate::{check_steps, Conversion, MigrationRecord, Shapes, Step};
use plinth::{ColumnType, Entity, Error, Result, Table, Value};
use sqlx::Pool;

use crate::connection::LazyTransaction;
use crate::driver::{Connection, Driver};
use crate::errors::{is_unnamed_reference_violation, map_err};
use crate::sql::{
    column_from_catalog, compile_aggregate, compile_count, compile_delete, compile_select, create_all_begin,
    create_all_preamble, create_table, migration_step, quote, referring_tables_sql, select_list, sql_column,
    subquery_tables, upgrade_table, SqlStep, Statement, StatementCache, Stored, TableSql,
};
use crate::trace::SessionSpan;

/// A database behind one pool: what `PostgresBackend` and `SqliteBackend` are.
#[derive(Debug)]
pub(crate) struct SqlBackend<D: Driver> {
    pool: Pool<D::Db>,
    statements: Arc<StatementCache>,
    /// The tables and references sessions apply delete rules with.
    pub(crate) relations: plinth::backend::Relations,
    /// Where sessions announce their commits to live queries.
    pub(crate) changes: plinth::backend::ChangeHub,
    /// This backend's name in announcements to other processes.
    instance: String,
    /// Set once the driver announces this backend's commits (at the first session).
    announcing: std::sync::Once,
    /// Set once the driver listens for other processes' commits (at the first live query).
    hearing: std::sync::Once,
    driver: PhantomData<D>,
}

/// A name for one backend, distinct from every other backend's in this process and,
/// with the process id and the clock, from those of other processes: what it signs its
/// announcements to other processes with.
fn instance_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}-{nanos}", std::process::id())
}

impl<D: Driver> SqlBackend<D> {
    pub(crate) fn new(pool: Pool<D::Db>) -> Self {
        SqlBackend {
            pool,
            statements: Arc::new(StatementCache::new(D::DIALECT)),
            relations: plinth::backend::Relations::new(),
            changes: plinth::backend::ChangeHub::new(),
            instance: instance_name(),
            announcing: std::sync::Once::new(),
            hearing: std::sync::Once::new(),
            driver: PhantomData,
        }
    }

    pub(crate) fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// Creates the tables that are missing and makes the additive changes existing ones
    /// need ([`upgrade_table`]), in one transaction that processes starting together
    /// take turns at ([`create_all_begin`], [`create_all_preamble`]): a difference it
    /// does not make, or a failing step, leaves every table as it was.
    pub(crate) async fn create_all(&self, tables: &[&'static Table]) -> Result<()> {
        let mut tx = self.begin_schema_change().await?;
        for &table in tables {
            let steps = match D::stored_schema(&mut tx, table).await? {
                Stored::Missing => create_table(D::DIALECT, table).into_iter().map(SqlStep::Script).collect(),
                Stored::Existing(stored) => upgrade_table(D::DIALECT, table, &stored.changes(table)?),
            };
            run_steps::<D>(&mut tx, table, steps).await?;
        }
        tx.commit().await.map_err(|e| map_err(D::NAME, None, e))?;
        for &table in tables {
            self.statements.get(table).mark_verified();
        }
        Ok(())
    }

    /// Applies a migration's `steps` and inserts its `record`, in one transaction that
    /// takes turns with `create_all` and other migrations; `false` if the record is
    /// there once this transaction holds the lock. See
    /// [`Backend::apply_migration`](plinth::backend::Backend::apply_migration).
    pub(crate) async fn apply_migration(&self, steps: &'static [Step], record: &Row) -> Result<bool> {
        let mut tx = self.begin_schema_change().await?;
        let records = MigrationRecord::table();
        let mut recorded = Statement::new(D::DIALECT);
        recorded.push(&format!("SELECT count(*) FROM {} WHERE \"version\" = ", quote(records.name())));
        recorded.push_bind(Cow::Borrowed(&record.values()[0]), ColumnType::I64);
        if D::fetch_count(&mut tx, records, &recorded).await? > 0 {
            return Ok(false);
        }
        let words = |c: &ColumnDef| sql_column(D::DIALECT, c);
        let mut shapes = stored_shapes::<D>(&mut tx, &Shapes::names(steps)).await?;
        check_steps(steps, &mut shapes.clone(), &words)?;
        for step in steps {
            let shape = shapes.columns(step.table()).unwrap_or_default().to_vec();
            run_steps::<D>(&mut tx, intern_table(step.table(), &[]), migration_step(D::DIALECT, step, &shape)).await?;
            check_steps(std::slice::from_ref(step), &mut shapes, &words)?;
        }
        let mut insert = Statement::new(D::DIALECT);
        let columns: Vec<String> = records.columns().iter().map(|c| quote(c.name())).collect();
        insert.push(&format!("INSERT INTO {} ({}) VALUES (", quote(records.name()), columns.join(", ")));
        for (i, (column, value)) in records.columns().iter().zip(record.values()).enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            insert.push_bind(Cow::Borrowed(value), column.ty());
        }
        insert.push(")");
        D::execute(&mut tx, records, &insert).await?;
        tx.commit().await.map_err(|e| map_err(D::NAME, None, e))?;
        for name in Shapes::names(steps) {
            self.statements.forget(name);
        }
        Ok(true)
    }

    /// How the tables named `names` are stored now (see
    /// [`Backend::stored_shapes`](plinth::backend::Backend::stored_shapes)).
    pub(crate) async fn stored_shapes(&self, names: &[&'static str]) -> Result<Shapes> {
        let mut conn = self.pool.acquire().await.map_err(|e| map_err(D::NAME, None, e))?;
        stored_shapes::<D>(&mut conn, names).await
    }

    /// The tables with a foreign key, as the catalog describes them (see
    /// [`Backend::stored_tables`](plinth::backend::Backend::stored_tables)): what a
    /// delete must look at even when the app did not give them. A table whose columns
    /// Plinth would not make as stored (made by hand) is left out: the database applies
    /// its rules.
    pub(crate) async fn stored_tables(&self) -> Result<Vec<&'static Table>> {
        let mut conn = self.pool.acquire().await.map_err(|e| map_err(D::NAME, None, e))?;
        let names: Vec<(String,)> = D::fetch_names(&mut conn, referring_tables_sql(D::DIALECT)).await?;
        let mut tables = Vec::new();
        for (name,) in names {
            let name = plinth::backend::intern_name(&name);
            let Stored::Existing(stored) = D::stored_schema(&mut conn, intern_table(name, &[])).await? else {
                continue;
            };
            let columns: Option<Vec<ColumnDef>> =
                stored.fields().iter().map(|c| column_from_catalog(D::DIALECT, c)).collect();
            let Some(columns) = columns else { continue };
            let table = intern_table(name, &columns);
            // The system columns too must be as Plinth makes them.
            if let Stored::Existing(stored) = D::stored_schema(&mut conn, table).await? {
                if stored.check(table).is_ok() {
                    tables.push(table);
                }
            }
        }
        Ok(tables)
    }

    /// The statements applying each of `migrations` after the other would run now.
    pub(crate) async fn describe_migrations(&self, migrations: &[&'static [Step]]) -> Result<Vec<Vec<String>>> {
        let mut conn = self.pool.acquire().await.map_err(|e| map_err(D::NAME, None, e))?;
        let all: Vec<Step> = migrations.iter().flat_map(|steps| steps.iter().copied()).collect();
        let mut shapes = stored_shapes::<D>(&mut conn, &Shapes::names(&all)).await?;
        let words = |c: &ColumnDef| sql_column(D::DIALECT, c);
        let mut described = Vec::with_capacity(migrations.len());
        for steps in migrations {
            let mut statements = Vec::new();
            for step in *steps {
                let shape = shapes.columns(step.table()).unwrap_or_default().to_vec();
                statements.extend(migration_step(D::DIALECT, step, &shape).iter().map(SqlStep::text));
                check_steps(std::slice::from_ref(step), &mut shapes, &words)?;
            }
            described.push(statements);
        }
        Ok(described)
    }

    /// The transaction `create_all` and every migration change schemas in, which
    /// processes starting together take turns at ([`create_all_begin`],
    /// [`create_all_preamble`]).
    async fn begin_schema_change(&self) -> Result<sqlx::Transaction<'static, D::Db>> {
        let mut tx = self.pool.begin_with(create_all_begin(D::DIALECT)).await.map_err(|e| map_err(D::NAME, None, e))?;
        for statement in create_all_preamble(D::DIALECT) {
            D::execute_script(&mut tx, None, statement).await?;
        }
        Ok(tx)
    }

    /// Starts announcing this backend's commits to other processes, once.
    fn announce(&self) {
        self.announcing.call_once(|| D::announce_changes(&self.pool, &self.changes, &self.instance));
    }

    /// Starts hearing other processes' commits, once (see `Backend::watching`).
    pub(crate) fn watching(&self) {
        self.hearing.call_once(|| D::hear_changes(&self.pool, &self.changes, &self.instance));
    }

    pub(crate) fn begin(&self) -> Box<dyn Transaction> {
        self.announce();
        let tx = LazyTransaction::new(self.pool.clone());
        let span = SessionSpan::begin(D::NAME);
        Box::new(SqlTransaction::<D> { tx, statements: Arc::clone(&self.statements), aborted: None, span })
    }

    /// A transaction for one write, which commits by itself (autocommit).
    pub(crate) fn begin_single_write(&self) -> Box<dyn Transaction> {
        self.announce();
        let tx = LazyTransaction::autocommit(self.pool.clone());
        let span = SessionSpan::begin(D::NAME);
        Box::new(SqlTransaction::<D> { tx, statements: Arc::clone(&self.statements), aborted: None, span })
    }
}

/// The columns (but the system ones) of each table named in `names`, as the catalog
/// reports them; `None` for a table that does not exist.
async fn stored_shapes<D: Driver>(conn: &mut Connection<D>, names: &[&'static str]) -> Result<Shapes> {
    let mut shapes = Shapes::default();
    for &name in names {
        let stored = match D::stored_schema(conn, intern_table(name, &[])).await? {
            Stored::Missing => None,
            Stored::Existing(stored) => Some(stored.fields()),
        };
        shapes.insert(name, stored);
    }
    Ok(shapes)
}

/// Runs `steps` in `tx`; `table` is what errors name.
async fn run_steps<D: Driver>(tx: &mut Connection<D>, table: &'static Table, steps: Vec<SqlStep>) -> Result<()> {
    for step in steps {
        match step {
            SqlStep::Script(sql) => D::execute_script(tx, Some(table), sql).await?,
            SqlStep::Statement(statement) => {
                D::execute(tx, table, &statement).await?;
            }
            SqlStep::Distinct { table, column, count } => {
                let duplicated = D::fetch_count(tx, intern_table(table, &[]), &count).await?;
                if duplicated > 0 {
                    return Err(duplicated_values(table, column, duplicated));
                }
            }
            SqlStep::Convert { table, from, to, into, convert } => {
                convert_column::<D>(tx, table, (from, to, into), convert).await?;
            }
        }
    }
    Ok(())
}

/// Every value of column `from` of `table` through `convert`, each checked to fit `to`
/// and written to column `into` of its row.
async fn convert_column<D: Driver>(
    tx: &mut Connection<D>,
    table: &'static str,
    (from, to, into): (ColumnDef, ColumnDef, &'static str),
    convert: Conversion,
) -> Result<()> {
    let read = intern_table(table, &[from]);
    let fits = intern_table(table, &[to]);
    let mut select = Statement::new(D::DIALECT);
    select.push(&format!("SELECT {} FROM {} ORDER BY \"id\"", select_list(read, None), quote(table)));
    for stored in D::fetch_rows(tx, read, &select).await? {
        let id = stored.meta.id;
        let value = stored.row.into_values().pop().unwrap_or(Value::Null);
        let refused = |reason: String| Error::InvalidValue {
            table,
            column: Some(to.name()),
            reason: format!("id {id}: {reason}"),
        };
        let converted = convert(value).map_err(refused)?;
        fits.check_row(&Row::new(vec![converted.clone()]))
            .map_err(|e| refused(format!("the converted value does not fit: {e}")))?;
        let mut update = Statement::new(D::DIALECT);
        update.push(&format!("UPDATE {} SET {} = ", quote(table), quote(into)));
        update.push_bind(Cow::Owned(converted), to.ty());
        update.push(" WHERE \"id\" = ");
        update.push_bind(Cow::Owned(Value::I64(id)), ColumnType::I64);
        D::execute(tx, read, &update).await?;
    }
    Ok(())
}

/// Defines a public backend type over a [`SqlBackend`] of `driver` on pools of type
/// `pool`: the struct (with the given doc comment), `new`, `pool`, and its [`Backend`]
/// impl, which hands every call to the generic backend.
///
/// [`Backend`]: plinth::backend::Backend
macro_rules! sql_backend {
    ($(#[$doc:meta])* $backend:ident, $driver:ty, $pool:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $backend {
            inner: $crate::transaction::SqlBackend<$driver>,
        }

        impl $backend {
            /// A backend over `pool`.
            pub fn new(pool: $pool) -> Self {
                $backend { inner: $crate::transaction::SqlBackend::new(pool) }
            }

            /// The pool, for queries Plinth does not make.
            pub fn pool(&self) -> &$pool {
                self.inner.pool()
            }
        }

        #[async_trait::async_trait]
        impl plinth::backend::Backend for $backend {
            fn name(&self) -> &'static str {
                <$driver as $crate::driver::Driver>::NAME
            }

            async fn create_all(&self, tables: &[&'static plinth::Table]) -> plinth::Result<()> {
                self.inner.create_all(tables).await
            }

            async fn begin(&self) -> plinth::Result<Box<dyn plinth::backend::Transaction>> {
                Ok(self.inner.begin())
            }

            async fn begin_single_write(&self) -> plinth::Result<Box<dyn plinth::backend::Transaction>> {
                Ok(self.inner.begin_single_write())
            }

            fn as_any(&self) -> Option<&dyn std::any::Any> {
                Some(self)
            }

            /// Sleeps on tokio, sqlx's runtime: sessions here wait on each other's
            /// locks, so a retried one gives the others time to finish.
            async fn pause(&self, duration: std::time::Duration) {
                tokio::time::sleep(duration).await;
            }

            async fn apply_migration(
                &self,
                steps: &'static [plinth::migrate::Step],
                record: &plinth::backend::Row,
            ) -> plinth::Result<bool> {
                self.inner.apply_migration(steps, record).await
            }

            async fn stored_shapes(&self, names: &[&'static str]) -> plinth::Result<plinth::migrate::Shapes> {
                self.inner.stored_shapes(names).await
            }

            async fn stored_tables(&self) -> plinth::Result<Vec<&'static plinth::Table>> {
                self.inner.stored_tables().await
            }

            fn relations(&self) -> plinth::backend::Relations {
                self.inner.relations.clone()
            }

            fn changes(&self) -> plinth::backend::ChangeHub {
                self.inner.changes.clone()
            }

            fn watching(&self) {
                self.inner.watching();
            }

            fn column_words(&self, column: &plinth::backend::ColumnDef) -> plinth::backend::StoredColumn {
                $crate::sql::sql_column(<$driver as $crate::driver::Driver>::DIALECT, column)
            }

            async fn describe_migrations(
                &self,
                migrations: &[&'static [plinth::migrate::Step]],
            ) -> plinth::Result<Vec<Vec<String>>> {
                self.inner.describe_migrations(migrations).await
            }
        }
    };
}

pub(crate) use sql_backend;

/// One session: one database transaction, begun at the first write, rolled back if
/// dropped uncommitted.
#[derive(Debug)]
pub(crate) struct SqlTransaction<D: Driver> {
    tx: LazyTransaction<D::Db>,
    statements: Arc<StatementCache>,
    /// Set when a statement inside the transaction failed and the database aborted it
    /// ([`Driver::FAILED_STATEMENT_ABORTS`]).
    aborted: Option<Aborted>,
    /// The session's `plinth.session` span (feature `tracing`).
    span: SessionSpan,
}

/// Why the database aborted a session's transaction. After a statement fails inside a
/// PostgreSQL transaction (a unique violation raced with another session, a deadlock, a
/// statement timeout, a lost connection), the server refuses every later statement and
/// turns `COMMIT` into a rollback that the driver reports as success; the session must
/// then fail its commit instead, or writes it made before the failure would be reported
/// committed and silently lost.
#[derive(Debug)]
enum Aborted {
    Unique {
        table: &'static str,
        column: Option<&'static str>,
    },
    Connection(String),
    /// A deadlock or serialization failure: the session can be run again.
    Deadlock(String),
    LockTimeout(String),
    StatementTimeout(String),
    Other(String),
}

impl Aborted {
    /// What aborted the transaction, remembered from the first error of a statement
    /// that ran inside it; `None` for errors the client found (a row that fails to
    /// decode, a stored schema that differs), which abort nothing on the server.
    fn from_error(err: &Error) -> Option<Aborted> {
        match err {
            Error::Decode { .. } | Error::SchemaMismatch { .. } => None,
            Error::UniqueViolation { table, column } => Some(Aborted::Unique { table, column: *column }),
            Error::Connection { source, .. } => Some(Aborted::Connection(source.to_string())),
            Error::Deadlock { source, .. } => Some(Aborted::Deadlock(source.to_string())),
            Error::LockTimeout { source, .. } => Some(Aborted::LockTimeout(source.to_string())),
            Error::StatementTimeout { source, .. } => Some(Aborted::StatementTimeout(source.to_string())),
            other => Some(Aborted::Other(other.to_string())),
        }
    }

    /// The error `commit` and every later statement of the session return: the unique
    /// violation again (as the memory backend reports one found at commit), or what
    /// aborted the transaction, as the same variant.
    fn to_error(&self, backend: &'static str) -> Error {
        let nothing_committed = |cause: &str| format!("{cause}; nothing was committed, retry the session").into();
        match self {
            Aborted::Deadlock(cause) => Error::Deadlock { backend, source: nothing_committed(cause) },
            Aborted::LockTimeout(cause) => Error::LockTimeout { backend, source: nothing_committed(cause) },
            Aborted::StatementTimeout(cause) => {
                Error::StatementTimeout { backend, source: format!("{cause}; nothing was committed").into() }
            }
            Aborted::Unique { table, column } => {
                Error::UniqueViolation { table, column: *column }
            }
            Aborted::Connection(cause) => Error::Connection {
                backend,
                source: format!("the connection was lost during the transaction, so nothing was committed ({cause}); retry the session").into(),
            },
            Aborted::Other(cause) => Error::backend(
                backend,
                format!("the transaction was aborted by an earlier error and nothing was committed ({cause}); retry the session"),
            ),
        }
    }
}

impl<D: Driver> SqlTransaction<D> {
    /// Checks the stored schema of every table `select`'s subqueries read, as
    /// [`checked`](Self::checked) does the queried table's; their statement markers,
    /// for the statement's text.
    async fn check_subquery_tables(&mut self, select: &Select) -> Result<String> {
        let mut markers = String::new();
        for inner in subquery_tables(select) {
            markers.push_str(&self.checked(inner).await?.marker);
        }
        Ok(markers)
    }

    /// What a foreign key violation on a write of `rows` to `table` that the database
    /// did not name (or a refused guarded write) was about: the first reference column
    /// holding an id that no row of its parent has, as this transaction sees them, as
    /// [`Error::ForeignKeyViolation`]; `None` if every reference holds. One count per
    /// reference column, whatever the number of rows.
    pub(crate) async fn missing_reference(&mut self, table: &'static Table, rows: &[Row]) -> Result<Option<Error>> {
        for (i, column) in table.columns().iter().enumerate() {
            let Some(reference) = column.references() else { continue };
            let mut ids: Vec<i64> = rows
                .iter()
                .filter_map(|row| match row.values().get(i) {
                    Some(Value::I64(id)) => Some(*id),
                    _ => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let parent = intern_table(reference.table, &[]);
            let expected = ids.len() as u64;
            let filter = plinth::Filter::In { column: "id".into(), values: ids.into_iter().map(Value::I64).collect() };
            let select = Select::bind(parent, vec![filter], Vec::new(), None, 0)?;
            let statement = compile_count(D::DIALECT, parent, &select, "");
            let found = D::fetch_count(self.reader(table).await?, table, &statement).await;
            if self.read_done(found)? < expected {
                return Ok(Some(Error::ForeignKeyViolation {
                    table: table.name(),
                    column: column.name(),
                    parent: reference.table,
                }));
            }
        }
        Ok(None)
    }

    /// `err`, from a write of `rows` to `table`, made precise: a foreign key violation
    /// the database did not name becomes the [`Error::ForeignKeyViolation`] of the
    /// column at fault. Only where the transaction is still usable: after a failed
    /// statement on SQLite, after rolling back to a savepoint on PostgreSQL.
    pub(crate) async fn name_reference_violation(&mut self, table: &'static Table, rows: &[Row], err: Error) -> Error {
        if !is_unnamed_reference_violation(&err) {
            return err;
        }
        match self.missing_reference(table, rows).await {
            Ok(Some(named)) => named,
            Ok(None) => err,
            Err(other) => other,
        }
    }
    /// The statements of `table`, once the catalog has shown it stored with the entity's
    /// schema ([`Error::NoSuchTable`] or [`Error::SchemaMismatch`] otherwise), which it
    /// is asked at the table's first use through this backend. After the database
    /// aborted the transaction, the error that aborted it, without a round trip.
    pub(crate) async fn checked(&mut self, table: &'static Table) -> Result<Arc<TableSql>> {
        if let Some(aborted) = &self.aborted {
            return Err(aborted.to_error(D::NAME));
        }
        let sql = self.statements.get(table);
        if !sql.is_verified() {
            let stored = D::stored_schema(self.reader(table).await?, table).await;
            match self.read_done(stored)? {
                Stored::Missing => return Err(Error::NoSuchTable { table: table.name() }),
                Stored::Existing(stored) => stored.check(table)?,
            }
            sql.mark_verified();
        }
        Ok(sql)
    }

    /// [`Transaction::select_into`] on the connection at hand.
    async fn select_into_once(&mut self, table: &'static Table, select: &Select, sink: &mut dyn RowSink) -> Result<()> {
        let sql = self.checked(table).await?;
        let markers = self.check_subquery_tables(select).await?;
        let mut statement = compile_select(D::DIALECT, table, &sql.columns, select);
        statement.push(&markers);
        let read = D::fetch_into(self.reader(table).await?, table, &statement, sink).await;
        self.read_done(read.map(drop))
    }

    /// Where to read (see [`LazyTransaction::reader`]); pass the read's result to
    /// [`read_done`](Self::read_done).
    pub(crate) async fn reader(&mut self, table: &'static Table) -> Result<&mut Connection<D>> {
        self.tx.reader().await.map_err(|e| map_err(D::NAME, Some(table), e))
    }

    /// Where to write: the transaction, begun now if this is the first write; pass the
    /// write's result to [`wrote`](Self::wrote).
    pub(crate) async fn writer(&mut self, table: Option<&'static Table>) -> Result<&mut Connection<D>> {
        self.tx.writer().await.map_err(|e| map_err(D::NAME, table, e))
    }

    /// Passes a read's result on: the reading connection handed back if it failed
    /// (see [`LazyTransaction::after_read`]), the failure remembered if it happened
    /// inside the transaction. Reading never begins the transaction, so whether it had
    /// begun is the same before and after the read.
    pub(crate) fn read_done<T>(&mut self, result: Result<T>) -> Result<T> {
        let result = self.tx.after_read(result);
        match self.tx.in_transaction() {
            true => self.wrote(result),
            false => result,
        }
    }

    /// Passes on the result of a statement that ran inside the transaction, remembering
    /// its failure if the database aborts transactions on one.
    pub(crate) fn wrote<T>(&mut self, result: Result<T>) -> Result<T> {
        if let (true, None, Err(err)) = (D::FAILED_STATEMENT_ABORTS, &self.aborted, &result) {
            self.aborted = Aborted::from_error(err);
        }
        result
    }

    /// Whether this is a session for one write, which commits by itself.
    pub(crate) fn is_autocommit(&self) -> bool {
        self.tx.is_autocommit()
    }

    /// `Ok` unless the database aborted the transaction, else the error that aborted it.
    pub(crate) fn usable(&self) -> Result<()> {
        match &self.aborted {
            Some(aborted) => Err(aborted.to_error(D::NAME)),
            None => Ok(()),
        }
    }

    /// The statements of `table`, without checking its schema (for a caller that has).
    pub(crate) fn statements(&self, table: &'static Table) -> Arc<TableSql> {
        self.statements.get(table)
    }
}

/// Runs the read `$body` (an async block's statements), and once more if it found its
/// connection dead before the session's first write: the failed read handed that
/// connection back, and [`LazyTransaction::fresh_reader`] finds a live one, so a server
/// restart between two sessions' reads stays invisible although the pool does not ping
/// on checkout. Inside the transaction a lost connection is reported: it rolled back.
macro_rules! read_retried {
    ($self:ident, $table:expr, $body:block) => {{
        let outside = !$self.tx.in_transaction();
        let first: Result<_> = async $body.await;
        match first {
            Err(Error::Connection { .. }) if outside => {
                $self.tx.fresh_reader().await.map_err(|e| map_err(D::NAME, Some($table), e))?;
                async $body.await
            }
            done => done,
        }
    }};
}

/// A sink that counts the rows it passes on, for [`Transaction::select_into`] to know
/// whether a failed read may run again.
struct Counted<'s> {
    sink: &'s mut dyn RowSink,
    rows: u64,
}

impl RowSink for Counted<'_> {
    fn row(&mut self, meta: RowMeta, fields: &mut dyn StoredFields) -> Result<()> {
        self.rows += 1;
        self.sink.row(meta, fields)
    }
}

/// [`Transaction::update_many`]'s savepoint, the same words on both databases.
const SAVEPOINT_UPDATE_MANY: &str = "SAVEPOINT plinth_update_many";
const RELEASE_UPDATE_MANY: &str = "RELEASE SAVEPOINT plinth_update_many";
const UNDO_UPDATE_MANY: &str = "ROLLBACK TO SAVEPOINT plinth_update_many; RELEASE SAVEPOINT plinth_update_many";

#[async_trait]
impl<D: Driver> Transaction for SqlTransaction<D> {
    async fn insert(&mut self, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
        let span = self.span.clone();
        span.run(async {
            match D::insert(self, table, rows).await {
                Err(err) if !D::FAILED_STATEMENT_ABORTS => Err(self.name_reference_violation(table, rows, err).await),
                inserted => inserted,
            }
        })
        .await
    }

    async fn get(&mut self, table: &'static Table, id: i64) -> Result<Option<StoredRow>> {
        let span = self.span.clone();
        span.run(async {
            read_retried!(self, table, {
                let sql = self.checked(table).await?;
                let statement = Statement::by_id(D::DIALECT, &sql.get, id);
                let row = D::fetch_row(self.reader(table).await?, table, &statement).await;
                self.read_done(row)
            })
        })
        .await
    }

    async fn update(&mut self, table: &'static Table, id: i64, seen: DateTime<Utc>, row: &Row) -> Result<RowMeta> {
        let span = self.span.clone();
        span.run(async {
            match D::update(self, table, id, seen, row).await {
                Err(err) if !D::FAILED_STATEMENT_ABORTS => {
                    Err(self.name_reference_violation(table, std::slice::from_ref(row), err).await)
                }
                updated => updated,
            }
        })
        .await
    }

    async fn update_many(&mut self, table: &'static Table, updates: &[RowUpdate]) -> Result<Vec<RowMeta>> {
        let span = self.span.clone();
        span.run(async {
            // One row needs no savepoint where a refused statement leaves the transaction
            // usable; on PostgreSQL a unique value raced with another session aborts it.
            if let ([update], false) = (updates, D::FAILED_STATEMENT_ABORTS) {
                return Ok(vec![self.update(table, update.id, update.seen, &update.row).await?]);
            }
            if updates.is_empty() {
                return Ok(Vec::new());
            }
            self.checked(table).await?;
            let begun =
                D::execute_script(self.writer(Some(table)).await?, Some(table), SAVEPOINT_UPDATE_MANY.into()).await;
            self.wrote(begun)?;
            let mut metas = Vec::with_capacity(updates.len());
            for update in updates {
                match self.update(table, update.id, update.seen, &update.row).await {
                    Ok(meta) => metas.push(meta),
                    Err(err) => {
                        // Back to before the first update, and the transaction goes on: a
                        // statement that aborted it on PostgreSQL is undone with the rest. If
                        // that fails too, the failure stays remembered and the commit cannot
                        // pass; the update's own error says more, so that is the answer.
                        let undo =
                            D::execute_script(self.writer(Some(table)).await?, Some(table), UNDO_UPDATE_MANY.into());
                        if undo.await.is_ok() {
                            self.aborted = None;
                        }
                        return Err(err);
                    }
                }
            }
            let released =
                D::execute_script(self.writer(Some(table)).await?, Some(table), RELEASE_UPDATE_MANY.into()).await;
            self.wrote(released)?;
            Ok(metas)
        })
        .await
    }

    async fn delete(&mut self, table: &'static Table, id: i64) -> Result<()> {
        let span = self.span.clone();
        span.run(async {
            let sql = self.checked(table).await?;
            let statement = Statement::by_id(D::DIALECT, &sql.delete, id);
            let done = D::execute(self.writer(Some(table)).await?, table, &statement).await;
            match self.wrote(done) {
                Ok(0) => Err(Error::NotFound { table: table.name(), id }),
                Ok(_) => Ok(()),
                // The session applied the delete rules to the rows it found referring to
                // this one; a row the database still finds came since: a conflict.
                Err(err) if is_unnamed_reference_violation(&err) => Err(Error::Conflict { table: table.name(), id }),
                Err(err) => Err(err),
            }
        })
        .await
    }

    async fn delete_many(&mut self, table: &'static Table, ids: &[i64]) -> Result<u64> {
        let span = self.span.clone();
        span.run(async {
            let Some(&first) = ids.first() else { return Ok(0) };
            let sql = self.checked(table).await?;
            let values = ids.iter().map(|id| Value::I64(*id)).collect();
            let select =
                Select::bind(table, vec![plinth::Filter::In { column: "id".into(), values }], Vec::new(), None, 0)?;
            let statement = compile_delete(D::DIALECT, table, &select, &sql.marker);
            let done = D::execute(self.writer(Some(table)).await?, table, &statement).await;
            match self.wrote(done) {
                // As for one row: a referring row the session's rules did not find came
                // since, from another session.
                Err(err)
                    if is_unnamed_reference_violation(&err) || matches!(err, Error::ForeignKeyViolation { .. }) =>
                {
                    Err(Error::Conflict { table: table.name(), id: first })
                }
                done => done,
            }
        })
        .await
    }

    async fn select(&mut self, table: &'static Table, select: &Select) -> Result<Vec<StoredRow>> {
        let span = self.span.clone();
        span.run(async {
            read_retried!(self, table, {
                let sql = self.checked(table).await?;
                let markers = self.check_subquery_tables(select).await?;
                let mut statement = compile_select(D::DIALECT, table, &sql.columns, select);
                statement.push(&markers);
                let rows = D::fetch_rows(self.reader(table).await?, table, &statement).await;
                self.read_done(rows)
            })
        })
        .await
    }

    async fn select_into(&mut self, table: &'static Table, select: &Select, sink: &mut dyn RowSink) -> Result<()> {
        let span = self.span.clone();
        span.run(async {
            // As `read_retried!`, but run again only if no row reached the sink, which
            // must not see a row twice: a connection that dies after the first row was
            // alive when the read began, and its error is the read's.
            let outside = !self.tx.in_transaction();
            let mut counted = Counted { sink, rows: 0 };
            match self.select_into_once(table, select, &mut counted).await {
                Err(Error::Connection { .. }) if outside && counted.rows == 0 => {
                    self.tx.fresh_reader().await.map_err(|e| map_err(D::NAME, Some(table), e))?;
                    self.select_into_once(table, select, &mut counted).await
                }
                done => done,
            }
        })
        .await
    }

    fn stream<'a>(&'a mut self, table: &'static Table, select: Select) -> RowStream<'a> {
        Box::pin(async_stream::try_stream! {
            use futures_util::StreamExt as _;
            let sql = self.checked(table).await?;
            let markers = self.check_subquery_tables(&select).await?;
            let mut statement = compile_select(D::DIALECT, table, &sql.columns, &select);
            statement.push(&markers);
            // Outside the transaction the stream owns the reading connection, so a stream
            // dropped part-way gives it back to the pool with it, not to this session.
            let mut owned = self.tx.take_reader().await.map_err(|e| map_err(D::NAME, Some(table), e))?;
            let mut failed = None;
            {
                let conn = match &mut owned {
                    Some(conn) => &mut **conn,
                    None => self.reader(table).await?,
                };
                let mut rows = D::stream_rows(conn, table, &statement);
                while let Some(row) = rows.next().await {
                    match row {
                        Ok(row) => yield row,
                        Err(err) => {
                            failed = Some(err);
                            break;
                        }
                    }
                }
            }
            match (failed, owned) {
                (None, Some(conn)) => self.tx.return_reader(conn),
                (None, None) => {}
                // A failed reading connection is dropped; a failure inside a PostgreSQL
                // transaction is remembered for the commit, as after any read.
                (Some(err), _) => self.read_done(Err::<(), _>(err))?,
            }
        })
    }

    async fn count(&mut self, table: &'static Table, select: &Select) -> Result<u64> {
        let span = self.span.clone();
        span.run(async {
            read_retried!(self, table, {
                let sql = self.checked(table).await?;
                let markers = self.check_subquery_tables(select).await?;
                let mut statement = compile_count(D::DIALECT, table, select, &sql.marker);
                statement.push(&markers);
                let count = D::fetch_count(self.reader(table).await?, table, &statement).await;
                self.read_done(count)
            })
        })
        .await
    }

    async fn aggregate(
        &mut self,
        table: &'static Table,
        select: &Select,
        aggregation: &Aggregation,
    ) -> Result<Vec<Group>> {
        let span = self.span.clone();
        span.run(async {
            read_retried!(self, table, {
                let sql = self.checked(table).await?;
                let markers = self.check_subquery_tables(select).await?;
                let mut compiled = compile_aggregate(D::DIALECT, table, select, aggregation, &sql.marker);
                compiled.statement.push(&markers);
                let rows =
                    D::fetch_values(self.reader(table).await?, table, &compiled.statement, &compiled.types).await;
                let rows = self.read_done(rows)?;
                rows.into_iter().map(|row| compiled.group(table, row)).collect()
            })
        })
        .await
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let span = self.span.clone();
        let done = span
            .run(async move {
                match self.aborted {
                    Some(aborted) => {
                        // The server has already undone everything; this ends the transaction
                        // block so the connection goes back to the pool clean. If the connection
                        // is gone, the pool drops it.
                        let _ = self.tx.rollback().await;
                        Err(aborted.to_error(D::NAME))
                    }
                    None => self.tx.commit().await.map_err(|e| map_err(D::NAME, None, e)),
                }
            })
            .await;
        span.ended(if done.is_ok() { "committed" } else { "failed" });
        done
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        let span = self.span.clone();
        let done = span.run(async move { self.tx.rollback().await.map_err(|e| map_err(D::NAME, None, e)) }).await;
        span.ended("rolled back");
        done
    }
}
