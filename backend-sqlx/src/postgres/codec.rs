//! Values to PostgreSQL parameters and back. Every type is bound with its own
//! PostgreSQL type, `NULL`s included, so prepared statements stay typed.

use chrono::{DateTime, NaiveDate, Utc};
use plinth::backend::{Row, RowMeta, StoredRow};
use plinth::{ColumnType, Error, Table, Value};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Row as _};

use crate::decode::{found, stored_row, system_column, timestamp_positions, Fields};

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
        Value::Uuid(v) => query.bind(*v),
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
        ColumnType::Uuid => query.bind(None::<uuid::Uuid>),
    }
}

/// Binds column `column` of every row as one array, for `UNNEST`.
pub(crate) fn bind_column_array<'q>(query: PgQuery<'q>, rows: &'q [Row], column: usize, ty: ColumnType) -> PgQuery<'q> {
    bind_array(query, rows.iter().map(|row| &row.values()[column]), ty)
}

/// Binds a list of values of column type `ty` as one array, for `= ANY($n)`.
pub(crate) fn bind_list<'q>(query: PgQuery<'q>, values: &'q [Value], ty: ColumnType) -> PgQuery<'q> {
    bind_array(query, values.iter(), ty)
}

/// Binds `values`, all of column type `ty` or `NULL`, as one typed array.
fn bind_array<'q>(query: PgQuery<'q>, values: impl Iterator<Item = &'q Value>, ty: ColumnType) -> PgQuery<'q> {
    macro_rules! array {
        ($variant:ident, |$v:ident| $map:expr) => {
            query.bind(
                values
                    .map(|value| match value {
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
        ColumnType::Uuid => array!(Uuid, |v| *v),
    }
}

/// The id and timestamps a `RETURNING "id", "created_at", "updated_at"` gave back.
pub(crate) fn meta(table: &Table, row: &PgRow) -> Result<RowMeta, Error> {
    meta_at(table, row, [1, 2])
}

/// The id and timestamps of a row selected with the table's full select list.
pub(crate) fn stored_meta(table: &Table, row: &PgRow) -> Result<RowMeta, Error> {
    meta_at(table, row, timestamp_positions(table))
}

/// The id (first) and the timestamps at `created_at` and `updated_at` of `row`.
fn meta_at(table: &Table, row: &PgRow, [created_at, updated_at]: [usize; 2]) -> Result<RowMeta, Error> {
    let id: i64 = row.try_get(0).map_err(|e| system_column(table, None, "id", found(e)))?;
    let timestamp = |i: usize, name: &'static str| {
        row.try_get::<Timestamp, _>(i).map(|t| t.0).map_err(|e| system_column(table, Some(id), name, found(e)))
    };
    Ok(RowMeta {
        id,
        created_at: timestamp(created_at, "created_at")?,
        updated_at: timestamp(updated_at, "updated_at")?,
    })
}

/// The stored version (`updated_at`) a `SELECT "updated_at"` of row `id` gave back.
pub(crate) fn version(table: &Table, id: i64, row: &PgRow) -> Result<DateTime<Utc>, Error> {
    row.try_get::<Timestamp, _>(0).map(|t| t.0).map_err(|e| system_column(table, Some(id), "updated_at", found(e)))
}

/// A row selected with the table's full select list.
pub(crate) fn decode(table: &Table, row: &PgRow) -> Result<StoredRow, Error> {
    stored_row(table, stored_meta(table, row)?, &mut Fields::new(row, value))
}

/// Column `i` of `row` read as `ty` (`NULL` as `Value::Null`), or what it held instead.
pub(crate) fn value(row: &PgRow, i: usize, ty: ColumnType) -> Result<Value, String> {
    fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
        row: &'r PgRow,
        i: usize,
        wrap: impl FnOnce(T) -> Value,
    ) -> Result<Value, String> {
        row.try_get::<Option<T>, _>(i).map(|v| v.map_or(Value::Null, wrap)).map_err(found)
    }
    match ty {
        ColumnType::Bool => get(row, i, Value::Bool),
        ColumnType::I16 => get(row, i, Value::I16),
        ColumnType::I32 => get(row, i, Value::I32),
        ColumnType::I64 => get(row, i, Value::I64),
        ColumnType::F32 => get(row, i, Value::F32),
        ColumnType::F64 => get(row, i, Value::F64),
        ColumnType::Text => get(row, i, Value::Text),
        ColumnType::Date => get(row, i, |d: Date| Value::Date(d.0)),
        ColumnType::Timestamp => get(row, i, |t: Timestamp| Value::Timestamp(t.0)),
        ColumnType::Json => get(row, i, Value::Json),
        ColumnType::Bytes => get(row, i, Value::Bytes),
        ColumnType::Uuid => get(row, i, Value::Uuid),
    }
}

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from 0001-01-01 (day 1 of the common era) to PostgreSQL's epoch, 2000-01-01.
const POSTGRES_EPOCH_DAYS_FROM_CE: i32 = 730_120;

/// A `TIMESTAMPTZ` read with checked arithmetic. sqlx's own decoder adds the stored
/// microseconds to its epoch unchecked and panics on `'infinity'`, `'-infinity'` and
/// years chrono cannot hold; here they are decode errors. (Years chrono holds but
/// outside 1 to 9999 decode, and `Table::check_stored` refuses them for every backend.)
struct Timestamp(DateTime<Utc>);

/// A `DATE` read with checked arithmetic, for the same reason as [`Timestamp`].
struct Date(NaiveDate);

impl sqlx::Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl sqlx::Type<Postgres> for Date {
    fn type_info() -> PgTypeInfo {
        <NaiveDate as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <NaiveDate as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let place = |micros: i64| micros.checked_add(POSTGRES_EPOCH_MICROS).and_then(DateTime::from_timestamp_micros);
        decode_checked(value, [i64::MIN, i64::MAX], place).map(Timestamp)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for Date {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let place =
            |days: i32| days.checked_add(POSTGRES_EPOCH_DAYS_FROM_CE).and_then(NaiveDate::from_num_days_from_ce_opt);
        decode_checked(value, [i32::MIN, i32::MAX], place).map(Date)
    }
}

/// Decodes a stored date or timestamp `T`, sent in binary as an offset `N` from
/// PostgreSQL's epoch: `'-infinity'` and `'infinity'` (the extremes `infinities` of `N`)
/// and offsets that `place` cannot turn into a `T` are errors, never a panic.
fn decode_checked<'r, N, T>(
    value: PgValueRef<'r>,
    [minus_infinity, infinity]: [N; 2],
    place: impl FnOnce(N) -> Option<T>,
) -> Result<T, BoxDynError>
where
    N: sqlx::Decode<'r, Postgres> + PartialEq,
    T: sqlx::Decode<'r, Postgres>,
{
    match value.format() {
        PgValueFormat::Binary => match N::decode(value)? {
            n if n == infinity => Err(INFINITY.into()),
            n if n == minus_infinity => Err(MINUS_INFINITY.into()),
            n => place(n).ok_or_else(|| OUT_OF_RANGE.into()),
        },
        PgValueFormat::Text => match value.as_str()? {
            "infinity" => Err(INFINITY.into()),
            "-infinity" => Err(MINUS_INFINITY.into()),
            _ => T::decode(value),
        },
    }
}

const INFINITY: &str = "'infinity', which Plinth does not read: dates and timestamps must lie in the years 1 to 9999";
const MINUS_INFINITY: &str =
    "'-infinity', which Plinth does not read: dates and timestamps must lie in the years 1 to 9999";
const OUT_OF_RANGE: &str =
    "a date or timestamp far outside the years 1 to 9999 (PostgreSQL holds years up to 294276 and 5874897 BC-AD)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epochs_are_postgres_epoch() {
        let date = NaiveDate::from_num_days_from_ce_opt(POSTGRES_EPOCH_DAYS_FROM_CE);
        assert_eq!(date.map(|d| d.to_string()), Some("2000-01-01".to_owned()));
        let time = DateTime::from_timestamp_micros(POSTGRES_EPOCH_MICROS);
        assert_eq!(time.map(|t| t.to_rfc3339()), Some("2000-01-01T00:00:00+00:00".to_owned()));
    }
}
