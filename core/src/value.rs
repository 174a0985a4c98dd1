//! One value type for every column, and the column types a table can hold.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// The type of a column, as declared by an entity field.
///
/// Every backend maps each variant to one storage type (see the backend crates' docs);
/// the name shown by [`Display`](fmt::Display) is the Rust type a field must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `bool`
    Bool,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `String`
    Text,
    /// `chrono::NaiveDate`
    Date,
    /// `chrono::DateTime<Utc>`, stored with microsecond precision.
    Timestamp,
    /// `serde_json::Value`
    Json,
    /// `Vec<u8>`
    Bytes,
    /// `uuid::Uuid`, compared and sorted by its 16 bytes.
    Uuid,
}

impl ColumnType {
    /// Whether values of this type have an order, so `lt`, `gt` and `order_by` apply.
    ///
    /// JSON has none that every backend agrees on, so it is compared only with `is_null`.
    pub fn is_ordered(self) -> bool {
        self != ColumnType::Json
    }

    /// Whether values of this type are integers (`i16`, `i32`, `i64`).
    pub fn is_integer(self) -> bool {
        matches!(self, ColumnType::I16 | ColumnType::I32 | ColumnType::I64)
    }

    /// Whether values of this type are numbers, which `sum` and `avg` take.
    pub fn is_numeric(self) -> bool {
        self.is_integer() || matches!(self, ColumnType::F32 | ColumnType::F64)
    }

    /// The Rust type a field of this column type has.
    pub fn rust_name(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::I16 => "i16",
            ColumnType::I32 => "i32",
            ColumnType::I64 => "i64",
            ColumnType::F32 => "f32",
            ColumnType::F64 => "f64",
            ColumnType::Text => "String",
            ColumnType::Date => "NaiveDate",
            ColumnType::Timestamp => "DateTime<Utc>",
            ColumnType::Json => "serde_json::Value",
            ColumnType::Bytes => "Vec<u8>",
            ColumnType::Uuid => "Uuid",
        }
    }
}

impl ColumnType {
    /// Every column type.
    pub const ALL: [ColumnType; 12] = [
        ColumnType::Bool,
        ColumnType::I16,
        ColumnType::I32,
        ColumnType::I64,
        ColumnType::F32,
        ColumnType::F64,
        ColumnType::Text,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Json,
        ColumnType::Bytes,
        ColumnType::Uuid,
    ];

    /// The column type whose [`rust_name`](ColumnType::rust_name) is `name`: how the
    /// record engine's stored schemas name types.
    pub fn from_rust_name(name: &str) -> Option<ColumnType> {
        ColumnType::ALL.into_iter().find(|ty| ty.rust_name() == name)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rust_name())
    }
}

/// One column value: what an entity field becomes on its way to a backend.
///
/// ```
/// use plinth::Value;
/// assert_eq!(Value::from("alice"), Value::Text("alice".into()));
/// assert_eq!(Value::from(7_i64).to_string(), "7");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL `NULL`: an `Option` field that is `None`.
    Null,
    /// A `bool`.
    Bool(bool),
    /// An `i16`.
    I16(i16),
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// A finite `f32`.
    F32(f32),
    /// A finite `f64`.
    F64(f64),
    /// A `String` without NUL characters.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A UTC timestamp with microsecond precision.
    Timestamp(DateTime<Utc>),
    /// A JSON document.
    Json(serde_json::Value),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A UUID.
    Uuid(uuid::Uuid),
}

impl Value {
    /// The column type this value belongs to, or `None` for [`Value::Null`].
    pub fn column_type(&self) -> Option<ColumnType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ColumnType::Bool,
            Value::I16(_) => ColumnType::I16,
            Value::I32(_) => ColumnType::I32,
            Value::I64(_) => ColumnType::I64,
            Value::F32(_) => ColumnType::F32,
            Value::F64(_) => ColumnType::F64,
            Value::Text(_) => ColumnType::Text,
            Value::Date(_) => ColumnType::Date,
            Value::Timestamp(_) => ColumnType::Timestamp,
            Value::Json(_) => ColumnType::Json,
            Value::Bytes(_) => ColumnType::Bytes,
            Value::Uuid(_) => ColumnType::Uuid,
        })
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Why no backend can store this value exactly, if it cannot: a NaN or infinite
    /// float, text (or a JSON document) with a NUL character, a date or timestamp
    /// outside the years 1 to 9999.
    #[inline]
    pub fn unstorable_reason(&self) -> Option<&'static str> {
        const NON_FINITE: &str = "NaN and infinite floats cannot be stored (SQLite turns NaN into NULL and JSON has no form for them); store a finite number or use an Option";
        const NUL: &str = "text with a NUL character (\\0) cannot be stored (PostgreSQL refuses it); remove it or store the data as Vec<u8>";
        const YEARS: &str = "dates and timestamps must lie in the years 1 to 9999";
        match self {
            Value::F32(x) if !x.is_finite() => Some(NON_FINITE),
            Value::F64(x) if !x.is_finite() => Some(NON_FINITE),
            Value::Text(s) if s.contains('\0') => Some(NUL),
            Value::Json(doc) if json_has_nul(doc) => Some(NUL),
            Value::Date(d) if !(1..=9999).contains(&d.year()) => Some(YEARS),
            Value::Timestamp(t) if !(1..=9999).contains(&t.year()) => Some(YEARS),
            _ => None,
        }
    }

    /// Compares two non-null values of the same column type, the way every backend does:
    /// numbers numerically, text and bytes byte by byte (`COLLATE "C"`), `false < true`.
    /// Returns `None` for `NULL`, for JSON, and for values of different types.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::I16(a), Value::I16(b)) => Some(a.cmp(b)),
            (Value::I32(a), Value::I32(b)) => Some(a.cmp(b)),
            (Value::I64(a), Value::I64(b)) => Some(a.cmp(b)),
            (Value::F32(a), Value::F32(b)) => a.partial_cmp(b),
            (Value::F64(a), Value::F64(b)) => a.partial_cmp(b),
            (Value::Text(a), Value::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
            (Value::Uuid(a), Value::Uuid(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        }
    }

    /// Converts this value to `column_type` where that loses nothing (an `i64` that fits
    /// an `i16` column, an `f32` for an `f64` column); otherwise gives the value back.
    pub fn coerce(self, column_type: ColumnType) -> Result<Value, Value> {
        let converted = match (&self, column_type) {
            (Value::Null, _) => return Ok(Value::Null),
            (v, t) if v.column_type() == Some(t) => return Ok(self),
            (Value::I16(n), ColumnType::I32) => Some(Value::I32(i32::from(*n))),
            (Value::I16(n), ColumnType::I64) => Some(Value::I64(i64::from(*n))),
            (Value::I32(n), ColumnType::I16) => i16::try_from(*n).ok().map(Value::I16),
            (Value::I32(n), ColumnType::I64) => Some(Value::I64(i64::from(*n))),
            (Value::I64(n), ColumnType::I16) => i16::try_from(*n).ok().map(Value::I16),
            (Value::I64(n), ColumnType::I32) => i32::try_from(*n).ok().map(Value::I32),
            (Value::F32(x), ColumnType::F64) => Some(Value::F64(f64::from(*x))),
            _ => None,
        };
        converted.ok_or(self)
    }
}

impl fmt::Display for Value {
    /// A short, human-readable rendering used in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Date(v) => write!(f, "{v}"),
            Value::Timestamp(v) => f.write_str(&v.to_rfc3339_opts(SecondsFormat::Micros, true)),
            Value::Json(v) => write!(f, "{v}"),
            Value::Bytes(v) => write!(f, "{} bytes", v.len()),
            Value::Uuid(v) => write!(f, "{v}"),
        }
    }
}

fn json_has_nul(doc: &serde_json::Value) -> bool {
    match doc {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// A value usable as a key of a unique index: equal values give equal keys.
///
/// Floats compare by bit pattern (they are always finite here, and `-0.0` is stored as
/// `0.0`), JSON by its text; `NULL` never reaches an index.
#[derive(Clone, Debug)]
pub struct IndexKey(pub Value);

impl PartialEq for IndexKey {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Value::F32(a), Value::F32(b)) => a.to_bits() == b.to_bits(),
            (Value::F64(a), Value::F64(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }
}

impl Eq for IndexKey {}

impl Hash for IndexKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(&self.0).hash(state);
        match &self.0 {
            Value::Null => {}
            Value::Bool(v) => v.hash(state),
            Value::I16(v) => v.hash(state),
            Value::I32(v) => v.hash(state),
            Value::I64(v) => v.hash(state),
            Value::F32(v) => v.to_bits().hash(state),
            Value::F64(v) => v.to_bits().hash(state),
            Value::Text(v) => v.hash(state),
            Value::Date(v) => v.hash(state),
            Value::Timestamp(v) => v.hash(state),
            Value::Json(v) => v.to_string().hash(state),
            Value::Bytes(v) => v.hash(state),
            Value::Uuid(v) => v.hash(state),
        }
    }
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::$variant(v)
            }
        }
    )*};
}

value_from! {
    bool => Bool, i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64,
    String => Text, NaiveDate => Date, DateTime<Utc> => Timestamp,
    serde_json::Value => Json, Vec<u8> => Bytes, uuid::Uuid => Uuid,
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_compares_by_bytes_not_by_locale() {
        let upper = Value::from("Z");
        let lower = Value::from("a");
        let accented = Value::from("é");
        assert_eq!(upper.compare(&lower), Some(Ordering::Less));
        assert_eq!(lower.compare(&accented), Some(Ordering::Less));
    }

    #[test]
    fn values_of_different_types_do_not_compare() {
        assert_eq!(Value::I64(1).compare(&Value::I32(1)), None);
        assert_eq!(Value::Null.compare(&Value::Null), None);
        let doc = Value::Json(serde_json::json!({"a": 1}));
        assert_eq!(doc.compare(&doc), None);
    }

    #[test]
    fn coercion_keeps_integers_that_fit_and_refuses_the_rest() {
        assert_eq!(Value::I64(7).coerce(ColumnType::I16), Ok(Value::I16(7)));
        assert_eq!(Value::I64(70_000).coerce(ColumnType::I16), Err(Value::I64(70_000)));
        assert_eq!(Value::from("7").coerce(ColumnType::I64), Err(Value::from("7")));
        assert_eq!(Value::F32(0.5).coerce(ColumnType::F64), Ok(Value::F64(0.5)));
    }

    #[test]
    fn equal_floats_give_equal_index_keys() {
        use std::collections::HashSet;
        let keys: HashSet<IndexKey> = [IndexKey(Value::F64(1.5)), IndexKey(Value::F64(1.5))].into();
        assert_eq!(keys.len(), 1);
    }
}
