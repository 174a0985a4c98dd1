//! Reading a stored row in one pass over its JSON text: each value goes straight into
//! the slot its key names, decoded by that column's type, with no `Json` map (a key
//! string per column, per row) built on the way.
//!
//! What it accepts is what parsing the text into a `Json` object and looking the
//! columns up in it accepts: keys in any order, unknown keys ignored (their values
//! still checked as JSON), a repeated key's last value kept, a missing key read as
//! `null`; and a fault is reported the same way, text that is not JSON before any
//! value that does not fit.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use plinth::{ColumnType, Table, Value};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{decode_date, decode_hex};

/// Where a row's values go: one slot per entity column, in order, then `id`,
/// `created_at` and `updated_at`, so that cutting off the last three leaves the row.
/// Every slot has a key of its own: a table reaches storage only through
/// `create_all`, which refuses a repeated name ([`Table::check_columns`]).
#[derive(Clone, Copy)]
pub(super) struct Slots {
    table: &'static Table,
}

impl Slots {
    pub(super) fn new(table: &'static Table) -> Self {
        Slots { table }
    }

    fn len(&self) -> usize {
        self.columns() + 3
    }

    pub(super) fn id(&self) -> usize {
        self.columns()
    }

    fn columns(&self) -> usize {
        self.table.columns().len()
    }

    /// The key, type and nullability of slot `slot`.
    pub(super) fn get(&self, slot: usize) -> (&'static str, ColumnType, bool) {
        let id = self.id();
        match slot {
            s if s < id => {
                let column = &self.table.columns()[s];
                (column.name(), column.ty(), column.nullable())
            }
            s if s == id => ("id", ColumnType::I64, false),
            s if s == id + 1 => ("created_at", ColumnType::Timestamp, false),
            _ => ("updated_at", ColumnType::Timestamp, false),
        }
    }

    /// The slot of the key at `position` in a row as written: `id`, the columns,
    /// `created_at`, `updated_at`.
    fn written_at(&self, position: usize) -> usize {
        match position {
            0 => self.id(),
            p if p <= self.columns() => p - 1,
            p => p,
        }
    }

    /// Where slot `slot`'s key is in a row as written.
    fn position_of(&self, slot: usize) -> usize {
        match slot {
            s if s == self.id() => 0,
            s if s < self.id() => s + 1,
            s => s,
        }
    }

    fn name(&self, slot: usize) -> &'static str {
        self.get(slot).0
    }
}

/// A row's values as read: `values[slot]` is `Null` where the key was missing, null,
/// or held a value that does not fit (then listed in `misfits`).
pub(super) struct Fields<'de> {
    pub(super) values: Vec<Value>,
    misfits: Vec<(usize, Raw<'de>)>,
}

impl Fields<'_> {
    /// Whether slot `slot`'s key held a value that does not fit its type.
    pub(super) fn is_misfit(&self, slot: usize) -> bool {
        self.misfits.iter().any(|(s, _)| *s == slot)
    }

    /// What slot `slot`'s key held, for an error: `null` if it was missing or null.
    pub(super) fn found(&self, slot: usize) -> Json {
        self.misfits.iter().find(|(s, _)| *s == slot).map_or(Json::Null, |(_, raw)| raw.to_json())
    }
}

impl<'de> Fields<'de> {
    fn set(&mut self, slot: usize, ty: ColumnType, raw: Raw<'de>) {
        if !self.misfits.is_empty() {
            self.misfits.retain(|(s, _)| *s != slot);
        }
        self.values[slot] = match raw {
            Raw::Null => Value::Null,
            raw => match raw.decode(ty) {
                Ok(value) => value,
                Err(raw) => {
                    self.misfits.push((slot, raw));
                    Value::Null
                }
            },
        };
    }
}

/// Reads a row's text: `Some` fields for a JSON object, `None` for any other JSON.
pub(super) struct RowSeed {
    pub(super) slots: Slots,
}

impl<'de> DeserializeSeed<'de> for RowSeed {
    type Value = Option<Fields<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed {
    type Value = Option<Fields<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let slots = &self.slots;
        let mut fields = Fields { values: vec![Value::Null; slots.len()], misfits: Vec::new() };
        let mut next = 0;
        while let Some(slot) = map.next_key_seed(KeySeed { slots, next: &mut next })? {
            let raw: Raw<'de> = map.next_value()?;
            if let Some(slot) = slot {
                fields.set(slot, slots.get(slot).1, raw);
            }
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        // Read to the end, so that text that is not JSON is reported as such.
        Json::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads a key as the slot it names, `None` for a key no slot has. Keys are usually in
/// the order they were written, so the key after the last one found is tried first.
struct KeySeed<'s> {
    slots: &'s Slots,
    /// The position (in a row as written) of the key expected next.
    next: &'s mut usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        let slots = self.slots;
        let expected = (*self.next < slots.len()).then(|| slots.written_at(*self.next));
        let slot = match expected {
            Some(slot) if slots.name(slot) == key => Some(slot),
            _ => (0..slots.len()).find(|&s| slots.name(s) == key),
        };
        if let Some(slot) = slot {
            *self.next = slots.position_of(slot) + 1;
        }
        Ok(slot)
    }
}

/// One JSON value as the parser hands it over: strings borrowed from the text where
/// they hold no escapes; arrays and objects (which no column stores) as `Json`, kept
/// only to be shown in an error.
#[derive(Debug)]
enum Raw<'de> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'de, str>),
    Nested(Json),
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::I64(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::U64(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
        Ok(Raw::F64(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Raw<'de>, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(Raw::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw<'de>, A::Error> {
        Json::deserialize(MapAccessDeserializer::new(map)).map(Raw::Nested)
    }
}

/// A UUID in the one form Plinth writes (hyphenated, lower case), as on SQLite, where
/// SQL compares that text; any other form was not written by Plinth.
fn canonical_uuid(text: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(text).ok().filter(|id| id.to_string() == text)
}

impl<'de> Raw<'de> {
    /// A non-null value of type `ty`, or `self` back if it is not one; see the
    /// module docs of `codec` for the forms.
    fn decode(self, ty: ColumnType) -> Result<Value, Raw<'de>> {
        match (ty, self) {
            // Moved, not copied, when the parser had to unescape it.
            (ColumnType::Text, Raw::Str(text)) => Ok(Value::Text(text.into_owned())),
            (ty, raw) => raw.decode_ref(ty).ok_or(raw),
        }
    }

    fn decode_ref(&self, ty: ColumnType) -> Option<Value> {
        Some(match ty {
            ColumnType::Bool => Value::Bool(self.as_bool()?),
            ColumnType::I16 => Value::I16(i16::try_from(self.as_i64()?).ok()?),
            ColumnType::I32 => Value::I32(i32::try_from(self.as_i64()?).ok()?),
            ColumnType::I64 => Value::I64(self.as_i64()?),
            ColumnType::F32 => {
                let wide = self.as_f64()?;
                // Only values an f32 holds exactly were written; anything else was edited.
                #[allow(clippy::cast_possible_truncation)]
                let narrow = wide as f32;
                (f64::from(narrow) == wide).then_some(Value::F32(narrow))?
            }
            ColumnType::F64 => Value::F64(self.as_f64()?),
            ColumnType::Text => Value::Text(self.as_str()?.to_owned()),
            ColumnType::Date => Value::Date(decode_date(self.as_str()?)?),
            ColumnType::Timestamp => {
                Value::Timestamp(DateTime::parse_from_rfc3339(self.as_str()?).ok()?.with_timezone(&Utc))
            }
            ColumnType::Json => Value::Json(serde_json::from_str(self.as_str()?).ok()?),
            ColumnType::Bytes => Value::Bytes(decode_hex(self.as_str()?)?),
            ColumnType::Uuid => Value::Uuid(canonical_uuid(self.as_str()?)?),
        })
    }

    /// The value as `Json` holds it, for an error message.
    fn to_json(&self) -> Json {
        match self {
            Raw::Null => Json::Null,
            Raw::Bool(v) => Json::from(*v),
            Raw::I64(v) => Json::from(*v),
            Raw::U64(v) => Json::from(*v),
            Raw::F64(v) => Json::from(*v),
            Raw::Str(v) => Json::from(v.as_ref()),
            Raw::Nested(v) => v.clone(),
        }
    }

    // The accessors below answer as `Json`'s of the same name do for the same JSON.

    fn as_bool(&self) -> Option<bool> {
        match self {
            Raw::Bool(v) => Some(*v),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Raw::I64(v) => Some(*v),
            Raw::U64(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    #[allow(clippy::cast_precision_loss)] // As `serde_json::Number::as_f64` converts.
    fn as_f64(&self) -> Option<f64> {
        match self {
            Raw::I64(v) => Some(*v as f64),
            Raw::U64(v) => Some(*v as f64),
            Raw::F64(v) => Some(*v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Raw::Str(v) => Some(v.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The one-pass reading against the reading it replaced (the text parsed into a
    //! `Json` tree, columns looked up in it), on rows edited every way we could think
    //! of: the same rows are accepted with the same values, and the rest refused with
    //! the same message.

    use chrono::{DateTime, NaiveDate, Utc};
    use plinth::backend::{ColumnDef, Row, RowMeta, StoredRow};
    use plinth::{ColumnType, Error, Result, Table, Value};
    use serde_json::Value as Json;

    use crate::codec::{decode_hex, decode_row, encode_row, excerpt, render};

    static EVERY_TYPE: [ColumnDef; 13] = [
        ColumnDef::new("flag", ColumnType::Bool, false),
        ColumnDef::new("small", ColumnType::I16, false),
        ColumnDef::new("mid", ColumnType::I32, false),
        ColumnDef::new("big", ColumnType::I64, false),
        ColumnDef::new("ratio", ColumnType::F32, false),
        ColumnDef::new("real", ColumnType::F64, false),
        ColumnDef::new("name", ColumnType::Text, false),
        ColumnDef::new("day", ColumnType::Date, false),
        ColumnDef::new("moment", ColumnType::Timestamp, false),
        ColumnDef::new("doc", ColumnType::Json, true),
        ColumnDef::new("blob", ColumnType::Bytes, false),
        ColumnDef::new("note", ColumnType::Text, true),
        ColumnDef::new("count", ColumnType::I64, true),
    ];
    static ROWS: Table = Table::new("rows", &EVERY_TYPE);

    /// The reading `decode_row` replaced, kept as the reference.
    fn decode_row_via_tree(table: &Table, record: impl Fn() -> String, text: &str) -> Result<StoredRow> {
        let fail = |column: Option<&'static str>, found: String| Error::Decode {
            table: table.name(),
            record: record(),
            column,
            found,
        };
        let json: Json =
            serde_json::from_str(text).map_err(|e| fail(None, format!("invalid JSON ({e}): {}", excerpt(text))))?;
        let Json::Object(object) = json else {
            return Err(fail(None, format!("not a JSON object: {}", excerpt(text))));
        };
        let field = |name: &str| object.get(name).unwrap_or(&Json::Null);
        let id = field("id").as_i64().ok_or_else(|| fail(Some("id"), render(field("id"))))?;
        let timestamp = |name: &'static str| match tree_value(ColumnType::Timestamp, field(name)) {
            Some(Value::Timestamp(t)) => Ok(t),
            _ => Err(fail(Some(name), render(field(name)))),
        };
        let meta = RowMeta { id, created_at: timestamp("created_at")?, updated_at: timestamp("updated_at")? };
        let mut values = Vec::with_capacity(table.columns().len());
        for column in table.columns() {
            let json = field(column.name());
            let value = match json {
                Json::Null if column.nullable() => Some(Value::Null),
                Json::Null => None,
                json => tree_value(column.ty(), json),
            };
            values.push(value.ok_or_else(|| fail(Some(column.name()), render(json)))?);
        }
        Ok(StoredRow { meta, row: Row::new(values) })
    }

    fn tree_value(ty: ColumnType, json: &Json) -> Option<Value> {
        Some(match ty {
            ColumnType::Bool => Value::Bool(json.as_bool()?),
            ColumnType::I16 => Value::I16(i16::try_from(json.as_i64()?).ok()?),
            ColumnType::I32 => Value::I32(i32::try_from(json.as_i64()?).ok()?),
            ColumnType::I64 => Value::I64(json.as_i64()?),
            ColumnType::F32 => {
                let wide = json.as_f64()?;
                #[allow(clippy::cast_possible_truncation)]
                let narrow = wide as f32;
                (f64::from(narrow) == wide).then_some(Value::F32(narrow))?
            }
            ColumnType::F64 => Value::F64(json.as_f64()?),
            ColumnType::Text => Value::Text(json.as_str()?.to_owned()),
            ColumnType::Date => Value::Date(super::decode_date(json.as_str()?)?),
            ColumnType::Timestamp => {
                Value::Timestamp(DateTime::parse_from_rfc3339(json.as_str()?).ok()?.with_timezone(&Utc))
            }
            ColumnType::Json => Value::Json(serde_json::from_str(json.as_str()?).ok()?),
            ColumnType::Bytes => Value::Bytes(decode_hex(json.as_str()?)?),
            ColumnType::Uuid => Value::Uuid(super::canonical_uuid(json.as_str()?)?),
        })
    }

    /// Both readings of `text` agree: the same row, or errors with the same text.
    /// Returns whether it was accepted.
    fn agree(table: &'static Table, text: &str) -> bool {
        let one_pass = decode_row(table, &[], || "key `k`".to_owned(), text).map_err(|e| e.to_string());
        let tree = decode_row_via_tree(table, || "key `k`".to_owned(), text).map_err(|e| e.to_string());
        assert_eq!(one_pass, tree, "the readings differ on {text}");
        one_pass.is_ok()
    }

    fn moment(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    /// A row of `ROWS` as its keys and values' JSON text, in the order written.
    fn written_pairs() -> Vec<(String, String)> {
        let row = StoredRow {
            meta: RowMeta {
                id: 41,
                created_at: moment("2024-02-29T23:59:59.123456Z"),
                updated_at: moment("2025-01-01T00:00:00Z"),
            },
            row: Row::new(vec![
                Value::Bool(true),
                Value::I16(-300),
                Value::I32(70_000),
                Value::I64(i64::MIN),
                Value::F32(0.1),
                Value::F64(-2.5e-300),
                Value::Text("tab\t \"quoted\" é".to_owned()),
                Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default()),
                Value::Timestamp(moment("1999-12-31T23:59:59.999999Z")),
                Value::Json(serde_json::json!({"b": [1, 2.5], "a": null})),
                Value::Bytes(vec![0, 255, 16]),
                Value::Null,
                Value::I64(3),
            ]),
        };
        let text = encode_row(&ROWS, &row);
        assert_eq!(decode_row(&ROWS, &[], String::new, &text).ok(), Some(row), "the row does not round-trip");
        let Ok(Json::Object(object)) = serde_json::from_str::<Json>(&text) else { panic!("not an object: {text}") };
        object
            .into_iter()
            .map(|(key, value)| (serde_json::to_string(&key).unwrap_or_default(), value.to_string()))
            .collect()
    }

    fn object(pairs: &[(String, String)]) -> String {
        let fields: Vec<String> = pairs.iter().map(|(key, value)| format!("{key}:{value}")).collect();
        format!("{{{}}}", fields.join(","))
    }

    /// JSON values of every kind, including ones that fit some column types only
    /// approximately or not at all.
    const ODD_VALUES: [&str; 30] = [
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "-1",
        "40000",
        "-32769",
        "2147483648",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "-9223372036854775808",
        "1.5",
        "0.1",
        "-0.0",
        "1e3",
        "3.4028234663852886e38",
        "1e-320",
        r#""""#,
        r#""x""#,
        r#""7""#,
        r#""2024-02-30""#,
        r#""2024-01-01""#,
        r#""2024-01-01T00:00:00+02:00""#,
        r#""0G""#,
        r#""\u0041\n""#,
        r#"[1,{"a":[]}]"#,
        r#"{"b":1,"a":[null]}"#,
    ];

    #[test]
    fn every_value_in_every_column_reads_as_the_tree_read_it() {
        let pairs = written_pairs();
        assert!(agree(&ROWS, &object(&pairs)));
        for at in 0..pairs.len() {
            for odd in ODD_VALUES.iter().chain([r#""null""#, r#""00ff""#, r#""{\"a\":1}""#].iter()) {
                let mut edited = pairs.clone();
                edited[at].1 = (*odd).to_owned();
                agree(&ROWS, &object(&edited));
            }
        }
    }

    #[test]
    fn keys_in_any_order_repeated_unknown_or_missing_read_as_the_tree_read_them() {
        let pairs = written_pairs();
        let mut reversed = pairs.clone();
        reversed.reverse();
        assert!(agree(&ROWS, &object(&reversed)));
        let mut rotated = pairs.clone();
        rotated.rotate_left(5);
        assert!(agree(&ROWS, &object(&rotated)));
        for at in 0..pairs.len() {
            let mut missing = pairs.clone();
            let (key, value) = missing.remove(at);
            agree(&ROWS, &object(&missing));
            for (first, last) in [(value.as_str(), r#""bad""#), (r#""bad""#, value.as_str()), (value.as_str(), "null")]
            {
                let mut repeated = missing.clone();
                repeated.insert(at, (key.clone(), first.to_owned()));
                repeated.push((key.clone(), last.to_owned()));
                agree(&ROWS, &object(&repeated));
            }
            for unknown in [r#""ID""#, r#""id ""#, r#""""#, r#""$serde_json::private::Number""#] {
                let mut extra = pairs.clone();
                extra.insert(at, (unknown.to_owned(), r#"{"deep":[[[1e300]]]}"#.to_owned()));
                assert!(agree(&ROWS, &object(&extra)));
            }
        }
        let mut escaped = pairs.clone();
        escaped[0].0 = r#""\u0069d""#.to_owned();
        assert!(agree(&ROWS, &object(&escaped)));
    }

    #[test]
    fn text_that_is_not_one_json_object_is_refused_as_the_tree_refused_it() {
        let text = object(&written_pairs());
        for cut in (0..text.len()).filter(|&cut| text.is_char_boundary(cut)) {
            assert!(!agree(&ROWS, &text[..cut]));
        }
        let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep_field = text.replacen("\"flag\":true", &format!("\"flag\":{nested}"), 1);
        for bad in [
            format!("{text} x"),
            format!("{text}{text}"),
            format!(" {text}\n"),
            text.replacen("true", "tru", 1),
            text.replacen("-300", "1e400", 1),
            text.replacen(":", " : ", 3),
            deep_field,
            nested,
            "[1,2".to_owned(),
            "[1,{\"id\":2}]".to_owned(),
            "null".to_owned(),
            "\"{}\"".to_owned(),
            "12".to_owned(),
            "{}".to_owned(),
            String::new(),
        ] {
            agree(&ROWS, &bad);
        }
    }
}
