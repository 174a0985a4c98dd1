//! Values to SQLite parameters and back. SQLite has no date, timestamp or JSON types:
//! dates are `YYYY-MM-DD` text, timestamps fixed-width RFC 3339 text with six fraction
//! digits (so text order is time order), JSON its text, booleans 0 and 1.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use plinth::backend::{RowMeta, StoredRow};
use plinth::{ColumnType, Error, Table, Value};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row as _, Sqlite};

use crate::decode::{found, stored_row, system_column, timestamp_positions, Fields};

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
    if let Some(time) = parse_written_timestamp(text) {
        return Ok(time);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|_| format!("text {text:?}, expected an RFC 3339 timestamp"))
}

/// A timestamp in exactly the form Plinth writes ([`timestamp_text`]), read digit by
/// digit: every row read holds two, and chrono's general RFC 3339 parser takes several
/// times as long. Anything else (another program's form, a leap second) is `None`, for
/// the general parser to read or refuse.
fn parse_written_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let shape = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')];
    if bytes.len() != 27 || shape.iter().any(|&(i, c)| bytes[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0_u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(number(0, 4)?).ok()?, number(5, 7)?, number(8, 10)?)?;
    let time = NaiveTime::from_hms_micro_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?, number(20, 26)?)?;
    Some(date.and_time(time).and_utc())
}

/// The id and timestamps a `RETURNING "id", "created_at", "updated_at"` gave back.
pub(crate) fn meta(table: &Table, row: &SqliteRow) -> Result<RowMeta, Error> {
    meta_at(table, row, [1, 2])
}

/// The id and timestamps of a row selected with the table's full select list.
pub(crate) fn stored_meta(table: &Table, row: &SqliteRow) -> Result<RowMeta, Error> {
    meta_at(table, row, timestamp_positions(table))
}

/// The id (first) and the timestamps at `created_at` and `updated_at` of `row`.
fn meta_at(table: &Table, row: &SqliteRow, [created_at, updated_at]: [usize; 2]) -> Result<RowMeta, Error> {
    let id: i64 = row.try_get(0).map_err(|e| system_column(table, None, "id", found(e)))?;
    let timestamp = |i: usize, name: &'static str| {
        let text: &str = row.try_get(i).map_err(|e| system_column(table, Some(id), name, found(e)))?;
        parse_timestamp(text).map_err(|found| system_column(table, Some(id), name, found))
    };
    Ok(RowMeta {
        id,
        created_at: timestamp(created_at, "created_at")?,
        updated_at: timestamp(updated_at, "updated_at")?,
    })
}

/// A row selected with the table's full select list.
pub(crate) fn decode(table: &Table, row: &SqliteRow) -> Result<StoredRow, Error> {
    stored_row(table, stored_meta(table, row)?, &mut Fields::new(row, value))
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

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;

    use super::*;

    #[test]
    fn written_timestamps_read_as_chrono_reads_them() {
        let general = |text: &str| DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc());
        for text in [
            "2024-02-29T12:34:56.789012Z",
            "0001-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00.000001Z",
        ] {
            assert_eq!(parse_written_timestamp(text), general(text), "{text}");
            assert!(general(text).is_some(), "{text}");
        }
        let now = Utc::now().trunc_subsecs(6);
        assert_eq!(parse_written_timestamp(&timestamp_text(&now)), Some(now));
    }

    #[test]
    fn other_forms_are_left_to_the_general_parser() {
        for text in [
            "2023-02-29T12:34:56.789012Z",
            "2024-02-29T24:00:00.000000Z",
            "2024-02-29T23:59:60.000000Z",
            "2024-02-29T12:34:56.789012+00:00",
            "2024-02-29 12:34:56.789012Z",
            "2024-02-29T12:34:56.78901Z",
            "2024-02-29T12:34:5a.789012Z",
            "+024-02-29T12:34:56.789012Z",
        ] {
            assert_eq!(parse_written_timestamp(text), None, "{text}");
        }
        assert_eq!(parse_timestamp("2024-02-29 12:34:56.5").map(|t| t.timestamp_subsec_micros()), Ok(500_000));
        assert!(parse_timestamp("2023-02-29T12:34:56.789012Z").is_err());
    }
}
