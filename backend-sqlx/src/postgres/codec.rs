//! Values to PostgreSQL parameters and back. Every type is bound with its own
//! PostgreSQL type, `NULL`s included, so prepared statements stay typed.

use chrono::{DateTime, NaiveDate, Utc};
use plinth::{ColumnType, Error, Row, StoredRow, Table, Value};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Row as _};

use crate::decode::{stored_row, system_column};

pub(crate) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Binds one value as its column type.
pub(crate) fn bind<'q>(query: PgQuery<'q>, value: &'q Value, ty: ColumnType) -> PgQuery<'q> {
    match value {
        Value::Null => bind_null(query, ty),
        Value::Bool(v) => query.bind(*v),
        Value::I16(v) => query.bind(*v),
        Value::I32(v) => query.bind(*v),
        Value::I64(v) => query.bind(*v),
        Value::F32(v) => query.bind(*v),
        Value::F64(v) => query.bind(*v),
        Value::Text(v) => query.bind(v.as_str()),
        Value::Date(v) => query.bind(*v),
        Value::Timestamp(v) => query.bind(*v),
        Value::Json(v) => query.bind(Json(v)),
        Value::Bytes(v) => query.bind(v.as_slice()),
    }
}

fn bind_null(query: PgQuery<'_>, ty: ColumnType) -> PgQuery<'_> {
    match ty {
        ColumnType::Bool => query.bind(None::<bool>),
        ColumnType::I16 => query.bind(None::<i16>),
        ColumnType::I32 => query.bind(None::<i32>),
        ColumnType::I64 => query.bind(None::<i64>),
        ColumnType::F32 => query.bind(None::<f32>),
        ColumnType::F64 => query.bind(None::<f64>),
        ColumnType::Text => query.bind(None::<&str>),
        ColumnType::Date => query.bind(None::<NaiveDate>),
        ColumnType::Timestamp => query.bind(None::<DateTime<Utc>>),
        ColumnType::Json => query.bind(None::<Json<&serde_json::Value>>),
        ColumnType::Bytes => query.bind(None::<&[u8]>),
    }
}

/// Binds column `column` of every row as one array, for `UNNEST`.
pub(crate) fn bind_column_array<'q>(query: PgQuery<'q>, rows: &'q [Row], column: usize, ty: ColumnType) -> PgQuery<'q> {
    macro_rules! array {
        ($variant:ident, |$v:ident| $map:expr) => {
            query.bind(
                rows.iter()
                    .map(|row| match &row.values()[column] {
                        Value::$variant($v) => Some($map),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            )
        };
    }
    match ty {
        ColumnType::Bool => array!(Bool, |v| *v),
        ColumnType::I16 => array!(I16, |v| *v),
        ColumnType::I32 => array!(I32, |v| *v),
        ColumnType::I64 => array!(I64, |v| *v),
        ColumnType::F32 => array!(F32, |v| *v),
        ColumnType::F64 => array!(F64, |v| *v),
        ColumnType::Text => array!(Text, |v| v.as_str()),
        ColumnType::Date => array!(Date, |v| *v),
        ColumnType::Timestamp => array!(Timestamp, |v| *v),
        ColumnType::Json => array!(Json, |v| v.clone()),
        ColumnType::Bytes => array!(Bytes, |v| v.as_slice()),
    }
}

/// The id and timestamps a `RETURNING "id", "created_at", "updated_at"` gave back.
pub(crate) fn meta(table: &Table, row: &PgRow) -> Result<plinth::RowMeta, Error> {
    Ok(plinth::RowMeta {
        id: row.try_get(0).map_err(|e| system_column(table, "id", e))?,
        created_at: row.try_get(1).map_err(|e| system_column(table, "created_at", e))?,
        updated_at: row.try_get(2).map_err(|e| system_column(table, "updated_at", e))?,
    })
}

/// A row selected with the table's full select list.
pub(crate) fn decode(table: &Table, row: &PgRow) -> Result<StoredRow, Error> {
    let meta = meta(table, row)?;
    stored_row(table, meta.id, meta.created_at, meta.updated_at, |i, ty| {
        fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
            row: &'r PgRow,
            i: usize,
            wrap: impl FnOnce(T) -> Value,
        ) -> Result<Value, String> {
            row.try_get::<Option<T>, _>(i).map(|v| v.map_or(Value::Null, wrap)).map_err(|e| e.to_string())
        }
        match ty {
            ColumnType::Bool => get(row, i, Value::Bool),
            ColumnType::I16 => get(row, i, Value::I16),
            ColumnType::I32 => get(row, i, Value::I32),
            ColumnType::I64 => get(row, i, Value::I64),
            ColumnType::F32 => get(row, i, Value::F32),
            ColumnType::F64 => get(row, i, Value::F64),
            ColumnType::Text => get(row, i, Value::Text),
            ColumnType::Date => get(row, i, Value::Date),
            ColumnType::Timestamp => get(row, i, Value::Timestamp),
            ColumnType::Json => get(row, i, Value::Json),
            ColumnType::Bytes => get(row, i, Value::Bytes),
        }
    })
}
