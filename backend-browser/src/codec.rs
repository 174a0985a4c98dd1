//! Rows and values as JSON text, readable in the browser's storage inspector and
//! exact on the way back: the column type, not the JSON, says what a value is.
//!
//! | column type            | stored as                                        |
//! |------------------------|--------------------------------------------------|
//! | `bool`, `i16`…`i64`    | JSON boolean, integer (64-bit integers exact)    |
//! | `f32` / `f64`          | JSON number (an `f32` widened to `f64`, exact)   |
//! | `String`               | JSON string                                      |
//! | `NaiveDate`            | `"YYYY-MM-DD"`                                   |
//! | `DateTime<Utc>`        | `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`                  |
//! | `serde_json::Value`    | a JSON string holding the document's text, so that `None` (`null`) and `Some(Value::Null)` (`"null"`) differ |
//! | `Vec<u8>`              | lower-case hex string                            |
//! | `uuid::Uuid`           | hyphenated lower-case string                     |
//!
//! A row is an object in column order: `id`, the fields, `created_at`, `updated_at`.

mod decode;

use chrono::format::{Item, Numeric, Pad, Parsed};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use plinth::backend::{check_engine_schema, engine_storage, reference_words, Row, RowMeta, StoredColumn, StoredRow};
use plinth::{Error, Result, Table, Value};
use serde::de::DeserializeSeed;
use serde_json::{json, Value as Json};

use decode::{RowSeed, Slots};

/// The largest id a browser store hands out: ids are JavaScript numbers there (in
/// IndexedDB keys, in the page's JSON), exact up to 2^53 - 1.
pub(crate) const MAX_ID: i64 = (1 << 53) - 1;

/// A row as JSON text, written field by field: no `Json` object (a key string per
/// column, per row) is built on the way.
pub(crate) fn encode_row(table: &Table, row: &StoredRow) -> String {
    let mut out = Vec::with_capacity(64 + 24 * table.columns().len());
    out.push(b'{');
    write_field(&mut out, "id", &Json::from(row.meta.id));
    for (column, value) in table.columns().iter().zip(row.row.values()) {
        out.push(b',');
        write_field(&mut out, column.name(), &encode_value(value));
    }
    out.push(b',');
    write_field(&mut out, "created_at", &Json::from(timestamp_text(row.meta.created_at)));
    out.push(b',');
    write_field(&mut out, "updated_at", &Json::from(timestamp_text(row.meta.updated_at)));
    out.push(b'}');
    // serde_json writes UTF-8 only; the fallback is never taken.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `"name":value`.
fn write_field(out: &mut Vec<u8>, name: &str, value: &Json) {
    // Writing to a Vec cannot fail, and neither can serialising a `Json` or a `str`.
    let _ = serde_json::to_writer(&mut *out, name);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Reads a row written by [`encode_row`]; `record` names where it was found, for the
/// [`Error::Decode`] that anything else gives (called only then). The text is read in
/// one pass, values decoded by their columns' types as they come (see [`decode`]). For
/// a row stored before a schema upgrade, a column with a value in `fills` (by position;
/// those the upgrade adds) that the row lacks reads as it; `&[]` otherwise.
pub(crate) fn decode_row(
    table: &'static Table,
    fills: &[Option<Value>],
    record: impl Fn() -> String,
    text: &str,
) -> Result<StoredRow> {
    let fail = |column: Option<&'static str>, found: String| Error::Decode {
        table: table.name(),
        record: record(),
        column,
        found,
    };
    let slots = Slots::new(table);
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = RowSeed { slots }.deserialize(&mut reader).and_then(|row| reader.end().map(|()| row));
    let fields = read.map_err(|e| fail(None, format!("invalid JSON ({e}): {}", excerpt(text))))?;
    let Some(mut fields) = fields else { return Err(fail(None, format!("not a JSON object: {}", excerpt(text)))) };
    for (slot, fill) in fills.iter().enumerate() {
        if let (Some(fill), Value::Null) = (fill, &fields.values[slot]) {
            fields.values[slot] = fill.clone();
        }
    }
    let fault = |slot: usize| fail(Some(slots.get(slot).0), render(&fields.found(slot)));
    let id_slot = slots.id();
    let Value::I64(id) = fields.values[id_slot] else { return Err(fault(id_slot)) };
    let timestamp = |slot: usize| match fields.values[slot] {
        Value::Timestamp(t) => Ok(t),
        _ => Err(fault(slot)),
    };
    let meta = RowMeta { id, created_at: timestamp(id_slot + 1)?, updated_at: timestamp(id_slot + 2)? };
    for (slot, column) in table.columns().iter().enumerate() {
        if fields.is_misfit(slot) || (!column.nullable() && matches!(fields.values[slot], Value::Null)) {
            return Err(fault(slot));
        }
    }
    fields.values.truncate(id_slot);
    Ok(StoredRow { meta, row: Row::new(fields.values) })
}

/// A value as JSON; see the module docs for the forms.
pub(crate) fn encode_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(v) => json!(v),
        Value::I16(v) => json!(v),
        Value::I32(v) => json!(v),
        Value::I64(v) => json!(v),
        Value::F32(v) => json!(f64::from(*v)),
        Value::F64(v) => json!(v),
        Value::Text(v) => json!(v),
        // `Display` is `%Y-%m-%d` (a test checks), without chrono's strftime machinery.
        Value::Date(v) => json!(v.to_string()),
        Value::Timestamp(v) => json!(timestamp_text(*v)),
        Value::Json(v) => json!(v.to_string()),
        Value::Bytes(v) => json!(v.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Value::Uuid(v) => json!(v.to_string()),
    }
}

/// The text a unique index key holds for `value`: equal values (as
/// [`plinth::backend::IndexKey`] sees them) give equal text.
pub(crate) fn index_text(value: &Value) -> String {
    encode_value(value).to_string()
}

/// A table's columns as JSON text, stored so that a reopened database knows its tables
/// and can tell when an entity no longer matches them.
pub(crate) fn encode_schema(table: &Table) -> String {
    let columns: Vec<Json> = table
        .columns()
        .iter()
        .map(|c| {
            let mut column = json!({
                "name": c.name(),
                "type": c.ty().rust_name(),
                "nullable": c.nullable(),
                "unique": c.is_unique(),
                "indexed": c.is_indexed(),
            });
            // Only where there is one, so every schema stored before limits existed
            // reads the same.
            if let Some(limit) = c.length_limit() {
                column["max_length"] = json!(limit);
            }
            if let Some(references) = reference_words(c.references()) {
                column["references"] = json!(references);
            }
            column
        })
        .collect();
    Json::Array(columns).to_string()
}

/// Compares a stored schema with `table`'s; a difference is [`Error::SchemaMismatch`]
/// listing the differing columns, and so is a stored schema that cannot be read.
pub(crate) fn check_schema(table: &Table, stored: &str) -> Result<()> {
    check_engine_schema(table, &stored_columns(table.name(), stored)?)
}

/// The columns a stored schema of table `table` describes, in the record engine's
/// words; [`Error::SchemaMismatch`] if it cannot be read.
pub(crate) fn stored_columns(table: &str, stored: &str) -> Result<Vec<StoredColumn>> {
    #[derive(serde::Deserialize)]
    struct Column {
        name: String,
        #[serde(rename = "type")]
        ty: String,
        nullable: bool,
        unique: bool,
        indexed: bool,
        #[serde(default)]
        max_length: Option<u32>,
        #[serde(default)]
        references: Option<String>,
    }
    let columns: Vec<Column> = serde_json::from_str(stored).map_err(|e| Error::SchemaMismatch {
        table: plinth::backend::intern_name(table),
        detail: format!("the stored schema cannot be read ({e}): {}", excerpt(stored)),
    })?;
    Ok(columns
        .into_iter()
        .map(|c| StoredColumn {
            name: c.name,
            storage: engine_storage(&c.ty, c.max_length),
            nullable: c.nullable,
            unique: c.unique,
            indexed: c.indexed,
            references: c.references,
        })
        .collect())
}

/// An id stored as text (a sequence, an index entry).
pub(crate) fn decode_id(table: &Table, record: &str, text: &str) -> Result<i64> {
    text.trim().parse().map_err(|_| Error::Decode {
        table: table.name(),
        record: record.to_owned(),
        column: Some("id"),
        found: excerpt(text),
    })
}

/// What `StrftimeItems::new("%Y-%m-%d")` yields (a test checks), given as items so
/// the page's wasm carries no format-string parser.
const DATE_ITEMS: &[Item<'static>] = &[
    Item::Numeric(Numeric::Year, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Month, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Day, Pad::Zero),
];

/// A stored date, as `NaiveDate::parse_from_str(text, "%Y-%m-%d")` reads it.
fn decode_date(text: &str) -> Option<NaiveDate> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, DATE_ITEMS.iter()).ok()?;
    parsed.to_naive_date().ok()
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

fn render(json: &Json) -> String {
    match json {
        Json::Null => "nothing (missing or null)".to_owned(),
        json => excerpt(&json.to_string()),
    }
}

/// The start of `text`, enough to recognise it in a message.
fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth::backend::ColumnDef;
    use plinth::ColumnType;

    static COLUMNS: [ColumnDef; 4] = [
        ColumnDef::new("doc", ColumnType::Json, true),
        ColumnDef::new("big", ColumnType::I64, false),
        ColumnDef::new("blob", ColumnType::Bytes, false),
        ColumnDef::new("ratio", ColumnType::F32, false),
    ];
    static THINGS: Table = Table::new("things", &COLUMNS);

    fn row(values: Vec<Value>) -> StoredRow {
        let now = DateTime::parse_from_rfc3339("2024-02-29T23:59:59.123456Z").map(|t| t.with_timezone(&Utc));
        let now = now.unwrap_or_default();
        StoredRow { meta: RowMeta { id: 7, created_at: now, updated_at: now }, row: Row::new(values) }
    }

    #[test]
    fn rows_round_trip_exactly() {
        for doc in [Value::Null, Value::Json(Json::Null), Value::Json(json!({"b": [1, 2.5], "a": null}))] {
            let original = row(vec![doc, Value::I64(i64::MIN), Value::Bytes(vec![0, 255, 16]), Value::F32(0.1)]);
            let text = encode_row(&THINGS, &original);
            assert_eq!(decode_row(&THINGS, &[], || "k".to_owned(), &text).ok(), Some(original));
        }
    }

    #[test]
    fn a_row_is_one_compact_object_in_column_order() {
        let text =
            encode_row(&THINGS, &row(vec![Value::Null, Value::I64(-1), Value::Bytes(vec![0, 255]), Value::F32(0.1)]));
        let expected = r#"{"id":7,"doc":null,"big":-1,"blob":"00ff","ratio":0.10000000149011612,"created_at":"2024-02-29T23:59:59.123456Z","updated_at":"2024-02-29T23:59:59.123456Z"}"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn dates_are_written_and_read_as_y_m_d() {
        let items: Vec<Item<'_>> = chrono::format::StrftimeItems::new("%Y-%m-%d").collect();
        assert_eq!(items, DATE_ITEMS);
        let days = [NaiveDate::MIN, NaiveDate::MAX, NaiveDate::default()];
        let years = [-10_000, -1, 0, 1, 999, 1000, 2024, 9999, 10_000];
        let dates = days.into_iter().chain(years.into_iter().filter_map(|y| NaiveDate::from_ymd_opt(y, 2, 29)));
        for date in dates.chain(years.into_iter().filter_map(|y| NaiveDate::from_ymd_opt(y, 12, 31))) {
            assert_eq!(date.to_string(), date.format("%Y-%m-%d").to_string());
            assert_eq!(decode_date(&date.to_string()), Some(date));
        }
        for text in ["2024-1-5", " 2024-01-05", "2024-01-05 ", "2024-02-30", "+12345-01-01", "2024/01/05", ""] {
            assert_eq!(decode_date(text), NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(), "{text:?}");
        }
    }

    #[test]
    fn bad_data_names_the_record_and_column() {
        let text = r#"{"id":7,"doc":null,"big":"7","blob":"00","ratio":1,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}"#;
        let err = decode_row(&THINGS, &[], || "key `x`".to_owned(), text).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("table `things`, key `x`, column `big`: cannot decode stored data: \"7\""));
        let truncated = decode_row(&THINGS, &[], || "key `x`".to_owned(), &text[..20]);
        assert!(matches!(truncated, Err(Error::Decode { column: None, .. })));
    }
}
