//! PostgreSQL: [`PostgresBackend`], a session per transaction on a [`PgPool`]; the
//! driver's insert and update strategies.

mod codec;
mod notify;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use plinth::backend::{IndexKey, Row, RowMeta};
use plinth::{Error, Result, Table};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::Row as _;

use crate::driver::{own_query_functions, statement_functions, Driver};
use crate::errors::map_err;
use crate::sql::{quote, Bind, Dialect, Statement};
use crate::transaction::{sql_backend, SqlTransaction};
use codec::PgQuery;

/// From this many rows, an insert is a plain `INSERT` inside a savepoint rather than
/// one with `ON CONFLICT DO NOTHING`. Both leave the session usable after a unique
/// violation, but `ON CONFLICT` makes PostgreSQL insert every row speculatively (about a
/// third slower on 10,000 rows), while the savepoint costs two round trips however many
/// rows there are.
const SAVEPOINT_ROWS: usize = 256;

/// How often an update refused by a unique value that another session then freed is
/// tried again before it is reported as a [`Error::Conflict`].
const UPDATE_ATTEMPTS: usize = 3;

sql_backend! {
    /// Plinth on PostgreSQL: a real table per entity, a transaction per session.
    ///
    /// Build it with [`connect`](crate::connect) or, to keep an existing pool,
    /// [`from_pg_pool`](crate::from_pg_pool).
    PostgresBackend, Pg, PgPool
}

/// The PostgreSQL driver.
#[derive(Debug)]
pub(crate) struct Pg;

impl Driver for Pg {
    type Db = sqlx::Postgres;
    const NAME: &'static str = "postgres";
    const DIALECT: Dialect = Dialect::Postgres;

    fn announce_changes(pool: &PgPool, hub: &plinth::backend::ChangeHub, instance: &str) {
        notify::announce(pool, hub, instance);
    }

    fn hear_changes(pool: &PgPool, hub: &plinth::backend::ChangeHub, instance: &str) {
        notify::listen(pool, hub, instance);
    }
    const FAILED_STATEMENT_ABORTS: bool = true;

    statement_functions!(
        bind: bind_all,
        meta: codec::stored_meta,
        decode: codec::decode,
        value: codec::value,
        insert: insert,
        update: update
    );
}

type PgTransaction = SqlTransaction<Pg>;

fn bind_all<'q>(statement: &'q Statement<'_>) -> PgQuery<'q> {
    statement.binds.iter().fold(sqlx::query(&statement.sql), |q, bind| match bind {
        Bind::Value { value, ty } => codec::bind(q, value, *ty),
        Bind::List { values, ty } => codec::bind_list(q, values, *ty),
    })
}

own_query_functions!(driver: Pg, conn: PgConnection, query: PgQuery, row: PgRow);

/// An insert of fewer than [`SAVEPOINT_ROWS`] rows: one `INSERT … UNNEST … ON CONFLICT
/// DO NOTHING`; if it skipped rows, [`undo_partial_insert`].
async fn insert(tx: &mut PgTransaction, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
    if rows.len() >= SAVEPOINT_ROWS && !table.columns().is_empty() {
        return insert_in_savepoint(tx, table, rows).await;
    }
    let sql = tx.checked(table).await?;
    if let ([row], true, false) = (rows, tx.is_autocommit(), table.columns().is_empty()) {
        return insert_plain(tx, table, &sql.insert_plain, row).await;
    }
    let query = match rows {
        [row] if !table.columns().is_empty() => table
            .columns()
            .iter()
            .zip(row.values())
            .fold(sqlx::query(&sql.insert_one), |q, (column, value)| codec::bind(q, value, column.ty())),
        _ if table.columns().is_empty() => sqlx::query(&sql.insert).bind(i64::try_from(rows.len()).unwrap_or(i64::MAX)),
        _ => table
            .columns()
            .iter()
            .enumerate()
            .fold(sqlx::query(&sql.insert), |q, (i, column)| codec::bind_column_array(q, rows, i, column.ty())),
    };
    let returned = fetch_all(tx.writer(Some(table)).await?, table, &rows, query).await;
    let returned = tx.wrote(returned)?;
    let metas = metas_in_input_order(table, &returned)?;
    if metas.len() != rows.len() {
        return Err(undo_partial_insert(tx, table, rows, &metas).await);
    }
    Ok(metas)
}

/// One row in a session for one write: a plain `INSERT`. A refusal aborts no
/// transaction here, so nothing needs guarding; the database's error says which
/// constraint (a reference it does not name is found out after).
async fn insert_plain(tx: &mut PgTransaction, table: &'static Table, sql: &str, row: &Row) -> Result<Vec<RowMeta>> {
    let query = table
        .columns()
        .iter()
        .zip(row.values())
        .fold(sqlx::query(sql), |q, (column, value)| codec::bind(q, value, column.ty()));
    match fetch_all(tx.writer(Some(table)).await?, table, row, query).await {
        Ok(returned) => metas_in_input_order(table, &returned),
        Err(err) => Err(tx.name_reference_violation(table, std::slice::from_ref(row), err).await),
    }
}

/// The ids and timestamps an insert returned. Identity values are drawn in input order,
/// so ascending ids are input order.
fn metas_in_input_order(table: &Table, returned: &[PgRow]) -> Result<Vec<RowMeta>> {
    let mut metas = returned.iter().map(|row| codec::meta(table, row)).collect::<Result<Vec<_>>>()?;
    metas.sort_by_key(|m| m.id);
    Ok(metas)
}

/// After an insert skipped rows (`ON CONFLICT DO NOTHING`): removes the rows it did
/// insert, so the batch writes nothing, and names the violated column.
async fn undo_partial_insert(
    tx: &mut PgTransaction,
    table: &'static Table,
    rows: &[Row],
    inserted: &[RowMeta],
) -> Error {
    let ids: Vec<i64> = inserted.iter().map(|m| m.id).collect();
    let marker = match tx.checked(table).await {
        Ok(sql) => sql.marker.clone(),
        Err(err) => return err,
    };
    let delete = format!("DELETE FROM {} WHERE \"id\" = ANY($1){marker}", quote(table.name()));
    let deleted = match tx.writer(Some(table)).await {
        // A `DELETE` without `RETURNING`: no rows come back.
        Ok(conn) => fetch_all(conn, table, &ids, sqlx::query(&delete).bind(&ids)).await,
        Err(err) => Err(err),
    };
    if let Err(err) = tx.wrote(deleted) {
        return err;
    }
    match tx.missing_reference(table, rows).await {
        Ok(Some(violation)) => return violation,
        Ok(None) => {}
        Err(err) => return err,
    }
    for (i, column) in table.columns().iter().enumerate().filter(|(_, c)| c.is_unique()) {
        let mut seen = HashSet::new();
        let repeated =
            rows.iter().map(|r| &r.values()[i]).filter(|v| !v.is_null()).any(|v| !seen.insert(IndexKey(v.clone())));
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ANY($1)){marker}",
            quote(table.name()),
            quote(column.name())
        );
        let taken = match repeated {
            true => Ok(true),
            false => exists(tx, table, codec::bind_column_array(sqlx::query(&sql), rows, i, column.ty())).await,
        };
        match taken {
            Ok(true) => return unique_violation(table, column.name()),
            Ok(false) => {}
            Err(err) => return err,
        }
    }
    // Only the primary key is left: a row inserted by hand with an explicit id.
    unique_violation(table, "id")
}

/// A large batch: one plain `INSERT … UNNEST`, undone by rolling back to a savepoint if
/// it fails (a unique violation names its constraint, hence its column).
async fn insert_in_savepoint(tx: &mut PgTransaction, table: &'static Table, rows: &[Row]) -> Result<Vec<RowMeta>> {
    let sql = tx.checked(table).await?;
    let mut query = sqlx::query(&sql.bulk_insert);
    for (i, column) in table.columns().iter().enumerate() {
        query = codec::bind_column_array(query, rows, i, column.ty());
    }
    let begun =
        Pg::execute_script(tx.writer(Some(table)).await?, Some(table), "SAVEPOINT plinth_insert".to_owned()).await;
    tx.wrote(begun)?;
    let conn = tx.writer(Some(table)).await?;
    match fetch_all(conn, table, &rows, query).await {
        Ok(returned) => {
            let released = Pg::execute_script(conn, Some(table), "RELEASE SAVEPOINT plinth_insert".to_owned()).await;
            tx.wrote(released)?;
            metas_in_input_order(table, &returned)
        }
        Err(err) => {
            // Rolling back to the savepoint leaves the transaction usable. If that fails
            // too, the failure is remembered so the commit cannot pass; the insert's own
            // error says more about why, so that is the one returned.
            let undone = Pg::execute_script(conn, Some(table), "ROLLBACK TO SAVEPOINT plinth_insert".to_owned()).await;
            if tx.wrote(undone).is_err() {
                return Err(err);
            }
            // A foreign key constraint not named as Plinth names it (renamed with its
            // column or table by a migration) is found out now the transaction is clean.
            Err(tx.name_reference_violation(table, rows, err).await)
        }
    }
}

/// Runs a `SELECT EXISTS (…)`.
async fn exists(tx: &mut PgTransaction, table: &'static Table, query: PgQuery<'_>) -> Result<bool> {
    let row = match tx.reader(table).await {
        Ok(conn) => fetch_optional(conn, table, &"(the values checked)", query).await,
        Err(err) => Err(err),
    };
    let row = tx.read_done(row)?;
    Ok(row.map(|row| row.try_get::<bool, _>(0)).transpose().map_err(|e| map_err(Pg::NAME, Some(table), e))?
        == Some(true))
}

/// Row `id`'s `updated_at` (its version) as stored, `None` if the row is gone.
async fn stored_version(tx: &mut PgTransaction, table: &'static Table, id: i64) -> Result<Option<DateTime<Utc>>> {
    let sql = tx.checked(table).await?;
    let row = fetch_optional(tx.reader(table).await?, table, &id, sqlx::query(&sql.version).bind(id)).await;
    let row = tx.read_done(row)?;
    row.map(|row| codec::version(table, id, &row)).transpose()
}

fn unique_violation(table: &Table, column: &'static str) -> Error {
    Error::UniqueViolation { table: table.name(), column: Some(column) }
}

/// The table's update, which refuses (returns no row) when another row holds one of the
/// new unique values, so a violation does not abort the transaction; then why it was
/// refused, if it was.
async fn update(
    tx: &mut PgTransaction,
    table: &'static Table,
    id: i64,
    seen: DateTime<Utc>,
    row: &Row,
) -> Result<RowMeta> {
    let sql = tx.checked(table).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let query = table
            .columns()
            .iter()
            .zip(row.values())
            .fold(sqlx::query(&sql.update), |q, (column, value)| codec::bind(q, value, column.ty()));
        let returned =
            fetch_optional(tx.writer(Some(table)).await?, table, &(row, id, seen), query.bind(id).bind(seen)).await;
        if let Some(returned) = tx.wrote(returned)? {
            return codec::meta(table, &returned);
        }
        match stored_version(tx, table, id).await? {
            None => return Err(Error::NotFound { table: table.name(), id }),
            Some(version) if version != seen => return Err(Error::Conflict { table: table.name(), id }),
            Some(_) => {}
        }
        if let Some(violation) = tx.missing_reference(table, std::slice::from_ref(row)).await? {
            return Err(violation);
        }
        for (i, column) in table.columns().iter().enumerate().filter(|(_, c)| c.is_unique()) {
            let value = &row.values()[i];
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1 AND \"id\" <> $2){}",
                quote(table.name()),
                quote(column.name()),
                sql.marker
            );
            let query = codec::bind(sqlx::query(&sql), value, column.ty()).bind(id);
            if !value.is_null() && exists(tx, table, query).await? {
                return Err(unique_violation(table, column.name()));
            }
        }
        // Nothing explains the refusal: another session held one of the new unique
        // values when the update began and has let go of it since. Try again.
    }
    Err(Error::Conflict { table: table.name(), id })
}
