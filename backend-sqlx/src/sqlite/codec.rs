//! Values to SQLite parameters and back. SQLite has no date, timestamp or JSON types:
//! dates are `YYYY-MM-DD` text, timestamps fixed-width RFC 3339 text with six fraction
//! digits (so text order is time order), JSON its text, booleans 0 and 1.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use plinth::backend::{RowMeta, StoredRow};
use plinth::{ColumnType, Error, Table, Value};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row as _, Sqlite};

use crate::decode::{found, stored_row, system_column, Fields};

pub(crate) type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// A timestamp as SQLite stores it: `2024-02-29T12:34:56.789012Z`.
pub(crate) fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Binds one value as its column type.
pub(crate) fn bind<'q>(query: SqliteQuery<'q>, value: &'q Value, ty: ColumnType) -> SqliteQuery<'q> {
    match value {
        Value::Null => match ty {
            ColumnType::F32 | ColumnType::F64 => query.bind(None::<f64>),
            ColumnType::Bytes => query.bind(None::<&[u8]>),
            ColumnType::Text | ColumnType::Date | ColumnType::Timestamp | ColumnType::Json | ColumnType::Uuid => {
                query.bind(None::<&str>)
            }
            ColumnType::Bool | ColumnType::I16 | ColumnType::I32 | ColumnType::I64 => query.bind(None::<i64>),
        },
        Value::Bool(v) => query.bind(*v),
        Value::I16(v) => query.bind(i64::from(*v)),
        Value::I32(v) => query.bind(i64::from(*v)),
        Value::I64(v) => query.bind(*v),
        Value::F32(v) => query.bind(f64::from(*v)),
        Value::F64(v) => query.bind(*v),
        Value::Text(v) => query.bind(v.as_str()),
        Value::Date(v) => query.bind(v.format("%Y-%m-%d").to_string()),
        Value::Timestamp(v) => query.bind(timestamp_text(v)),
        Value::Json(v) => query.bind(v.to_string()),
        Value::Bytes(v) => query.bind(v.as_slice()),
        Value::Uuid(v) => query.bind(v.to_string()),
    }
}

pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|_| format!("text {text:?}, expected an RFC 3339 timestamp"))
}

/// The id and timestamps a `RETURNING "id", "created_at", "updated_at"` gave back.
pub(crate) fn meta(table: &Table, row: &SqliteRow) -> Result<RowMeta, Error> {
    let id: i64 = row.try_get(0).map_err(|e| system_column(table, None, "id", found(e)))?;
    let timestamp = |i: usize, name: &'static str| {
        let text: &str = row.try_get(i).map_err(|e| system_column(table, Some(id), name, found(e)))?;
        parse_timestamp(text).map_err(|found| system_column(table, Some(id), name, found))
    };
    Ok(RowMeta { id, created_at: timestamp(1, "created_at")?, updated_at: timestamp(2, "updated_at")? })
}

/// A row selected with the table's full select list.
pub(crate) fn decode(table: &Table, row: &SqliteRow) -> Result<StoredRow, Error> {
    stored_row(table, meta(table, row)?, &mut Fields::new(row, value))
}

/// Column `i` of `row` read as `ty` (`NULL` as `Value::Null`), or what it held instead.
pub(crate) fn value(row: &SqliteRow, i: usize, ty: ColumnType) -> Result<Value, String> {
    fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(
        row: &'r SqliteRow,
        i: usize,
        wrap: impl FnOnce(T) -> Result<Value, String>,
    ) -> Result<Value, String> {
        match row.try_get::<Option<T>, _>(i).map_err(found)? {
            Some(v) => wrap(v),
            None => Ok(Value::Null),
        }
    }
    let narrow = |n: i64| format!("integer {n} out of range for {ty}");
    match ty {
        ColumnType::Bool => get(row, i, |v: i64| match v {
            0 => Ok(Value::Bool(false)),
            1 => Ok(Value::Bool(true)),
            _ => Err(format!("integer {v}, expected 0 or 1 for a boolean")),
        }),
        ColumnType::I16 => get(row, i, |v: i64| i16::try_from(v).map(Value::I16).map_err(|_| narrow(v))),
        ColumnType::I32 => get(row, i, |v: i64| i32::try_from(v).map(Value::I32).map_err(|_| narrow(v))),
        ColumnType::I64 => get(row, i, |v: i64| Ok(Value::I64(v))),
        // Stored from an f32, so converting back is exact.
        #[allow(clippy::cast_possible_truncation)]
        ColumnType::F32 => get(row, i, |v: f64| Ok(Value::F32(v as f32))),
        ColumnType::F64 => get(row, i, |v: f64| Ok(Value::F64(v))),
        ColumnType::Text => get(row, i, |v: String| Ok(Value::Text(v))),
        ColumnType::Date => get(row, i, |v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Value::Date)
                .map_err(|_| format!("text {v:?}, expected a YYYY-MM-DD date"))
        }),
        ColumnType::Timestamp => get(row, i, |v: &str| parse_timestamp(v).map(Value::Timestamp)),
        ColumnType::Json => get(row, i, |v: &str| {
            serde_json::from_str(v).map(Value::Json).map_err(|e| format!("text {v:?}, not JSON: {e}"))
        }),
        ColumnType::Bytes => get(row, i, |v: Vec<u8>| Ok(Value::Bytes(v))),
        // Only the form Plinth writes, so text comparisons in SQL agree with the value's.
        ColumnType::Uuid => get(row, i, |v: &str| match uuid::Uuid::parse_str(v) {
            Ok(id) if id.to_string() == v => Ok(Value::Uuid(id)),
            _ => Err(format!("text {v:?}, expected a UUID in lower-case hyphenated form")),
        }),
    }
}
