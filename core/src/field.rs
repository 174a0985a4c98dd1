//! Field types: the Rust types an entity field may have, and how each becomes a [`Value`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};

use crate::value::{ColumnType, Value};

/// A Rust type that can be an entity field.
///
/// Implemented for `bool`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`,
/// `chrono::DateTime<Utc>`, `chrono::NaiveDate`, `serde_json::Value`, `Vec<u8>`,
/// `uuid::Uuid`; for
/// `u8`, `u16`, `u32` (stored in the next wider signed column) and
/// `chrono::NaiveDateTime` (stored as a UTC timestamp); for
/// the types `#[derive(Field)]` makes fields of — a newtype over one of them, a
/// fieldless enum stored by its variants' names — and `Option<T>` of each (a nullable
/// column). `#[derive(Entity)]` uses it to learn a field's column type and to convert
/// the field without going through JSON text.
///
/// ```
/// use plinth::{Entity, Field};
///
/// /// Stored as its variant's name (`"Red"`), compared and sorted as that text.
/// #[derive(Field, Clone, Copy, Debug, PartialEq)]
/// pub enum Colour { Red, Green, Blue }
///
/// /// Stored as the `String` it wraps.
/// #[derive(Field, Clone, Debug, PartialEq)]
/// pub struct Email(pub String);
///
/// #[derive(Entity, Clone, Debug, PartialEq)]
/// pub struct Member {
///     pub email: Email,
///     pub favourite: Option<Colour>,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let db = plinth::memory();
/// db.create_all(&[Member::table()]).await?;
/// let mut session = db.session().await?;
/// session.add(Member { email: Email("ada@example.com".into()), favourite: Some(Colour::Green) }).await?;
/// let green = session.query::<Member>().filter(|c| c.favourite.eq(Colour::Green)).all().await?;
/// assert_eq!(green[0].email, Email("ada@example.com".into()));
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a Plinth column",
    label = "unsupported field type",
    note = "supported field types: bool, i16, i32, i64, u8, u16, u32, f32, f64, String, chrono::DateTime<Utc>, chrono::NaiveDateTime, chrono::NaiveDate, serde_json::Value, Vec<u8>, uuid::Uuid, types with #[derive(plinth::Field)], and Option<T> of these (no u64, u128 or usize: no backend stores them exactly; use i64 or String)",
    note = "#[derive(plinth::Field)] makes a newtype over a supported type, or a fieldless enum, a field type; store other data as serde_json::Value"
)]
pub trait Field: Sized {
    /// The column type this field is stored as.
    const TYPE: ColumnType;
    /// Whether the column accepts `NULL` (the field is an `Option`).
    const NULLABLE: bool;
    /// The table whose ids the column holds, if the field is a reference
    /// ([`Id<P>`](crate::Id) or `Option<Id<P>>`).
    const REFERENCES: Option<&'static str> = None;
    /// The non-optional type filters compare against (`String` for `Option<String>`).
    type Scalar: Field;

    /// The field as a value, normalized the way it is stored (timestamps to microseconds).
    fn to_value(&self) -> Value;

    /// The field back from a stored value; gives the value back if it has the wrong type
    /// (or, for an enum, names no variant).
    fn from_value(value: Value) -> Result<Self, Value>;

    /// What a stored value must be to become this field, for the message of a value
    /// [`from_value`](Field::from_value) gave back: the column type, or for an enum the
    /// names it accepts.
    fn expected() -> String {
        Self::TYPE.to_string()
    }
}

/// A field type whose values can be tested for equality in a query (all but JSON).
pub trait Comparable: Field {}

/// A field type whose values have one order on every backend (all but JSON), so
/// `lt`, `gt` and `order_by` apply.
pub trait Ordered: Comparable {}

/// A field type that can be `NULL`: an `Option`.
pub trait Nullable: Field {}

macro_rules! scalar_field {
    ($ty:ty, $variant:ident, |$v:ident| $to:expr) => {
        impl Field for $ty {
            const TYPE: ColumnType = ColumnType::$variant;
            const NULLABLE: bool = false;
            type Scalar = $ty;

            fn to_value(&self) -> Value {
                let $v = self;
                Value::$variant($to)
            }

            // Inlined into the derived `from_fields` of the user's crate, so the value
            // is matched where it was read instead of moved through a call.
            #[inline]
            fn from_value(value: Value) -> Result<Self, Value> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
        }
    };
}

scalar_field!(bool, Bool, |v| *v);
scalar_field!(i16, I16, |v| *v);
scalar_field!(i32, I32, |v| *v);
scalar_field!(i64, I64, |v| *v);
scalar_field!(f32, F32, |v| if *v == 0.0 { 0.0 } else { *v });
scalar_field!(f64, F64, |v| if *v == 0.0 { 0.0 } else { *v });
scalar_field!(String, Text, |v| v.clone());
scalar_field!(NaiveDate, Date, |v| *v);
scalar_field!(DateTime<Utc>, Timestamp, |v| v.trunc_subsecs(6));
scalar_field!(serde_json::Value, Json, |v| v.clone());
scalar_field!(Vec<u8>, Bytes, |v| v.clone());
scalar_field!(uuid::Uuid, Uuid, |v| *v);

macro_rules! ordered {
    ($($ty:ty),*) => {$(
        impl Comparable for $ty {}
        impl Ordered for $ty {}
    )*};
}

ordered!(bool, i16, i32, i64, f32, f64, String, NaiveDate, DateTime<Utc>, Vec<u8>, uuid::Uuid);

/// A field type stored exactly as a wider column type: unsigned integers in the next
/// signed one (`u8` as `i16`, `u16` as `i32`, `u32` as `i64`; there is no `u64`, which
/// no backend stores exactly), and `NaiveDateTime` as a UTC timestamp. Equality and
/// order are those of the stored value, the same as the Rust type's; a stored value
/// the type cannot hold (a negative number, one too large) is given back, so it reads
/// as `Error::Decode`.
macro_rules! stored_as {
    ($ty:ty, $variant:ident, |$v:ident| $to:expr, |$s:ident| $from:expr) => {
        impl Field for $ty {
            const TYPE: ColumnType = ColumnType::$variant;
            const NULLABLE: bool = false;
            type Scalar = $ty;

            fn to_value(&self) -> Value {
                let $v = *self;
                Value::$variant($to)
            }

            #[inline]
            fn from_value(value: Value) -> Result<Self, Value> {
                match value {
                    Value::$variant($s) => $from.ok_or(value),
                    other => Err(other),
                }
            }

            fn expected() -> String {
                format!("{} (stored as {})", stringify!($ty), ColumnType::$variant)
            }
        }

        impl Comparable for $ty {}
        impl Ordered for $ty {}
    };
}

stored_as!(u8, I16, |v| i16::from(v), |s| u8::try_from(s).ok());
stored_as!(u16, I32, |v| i32::from(v), |s| u16::try_from(s).ok());
stored_as!(u32, I64, |v| i64::from(v), |s| u32::try_from(s).ok());
stored_as!(NaiveDateTime, Timestamp, |v| v.and_utc().trunc_subsecs(6), |s| Some(s.naive_utc()));

/// A nullable column of any non-optional field type `T` (`T::Scalar` is `T` itself, so
/// there is no `Option<Option<T>>`).
impl<T: Field<Scalar = T>> Field for Option<T> {
    const TYPE: ColumnType = T::TYPE;
    const NULLABLE: bool = true;
    const REFERENCES: Option<&'static str> = T::REFERENCES;
    type Scalar = T;

    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Field::to_value)
    }

    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn expected() -> String {
        T::expected()
    }
}

impl<T: Field<Scalar = T>> Nullable for Option<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_stored_with_microseconds() {
        let precise = Utc.timestamp_opt(1_700_000_000, 123_456_789).single();
        let stored = precise.map(|t| t.to_value());
        let expected = Utc.timestamp_opt(1_700_000_000, 123_456_000).single();
        assert_eq!(stored, expected.map(Value::Timestamp));
    }

    #[derive(crate::Field, Clone, Copy, Debug, PartialEq)]
    #[allow(non_camel_case_types)]
    enum Kind {
        r#type,
        Plain,
    }

    #[test]
    fn enum_variants_are_stored_by_name_raw_identifiers_without_their_prefix() {
        assert_eq!(Kind::r#type.to_value(), Value::from("type"));
        assert_eq!(Kind::from_value(Value::from("type")), Ok(Kind::r#type));
        assert_eq!(Kind::from_value(Value::from("r#type")), Err(Value::from("r#type")));
        assert_eq!(Kind::Plain.to_value(), Value::from("Plain"));
        assert_eq!(Kind::expected(), "one of `type`, `Plain` (String)");
    }

    #[test]
    fn options_map_none_to_null_and_back() {
        assert_eq!(None::<i32>.to_value(), Value::Null);
        assert_eq!(Option::<i32>::from_value(Value::Null), Ok(None));
        assert_eq!(Option::<i32>::from_value(Value::I32(4)), Ok(Some(4)));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_given_back() {
        assert_eq!(i32::from_value(Value::from("4")), Err(Value::from("4")));
        assert_eq!(String::from_value(Value::Null), Err(Value::Null));
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        assert_eq!((-0.0_f64).to_value(), Value::F64(0.0));
        assert!(matches!((-0.0_f64).to_value(), Value::F64(z) if z.is_sign_positive()));
    }
}
