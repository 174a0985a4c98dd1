//! Non-unique indexes for the record engine: which part of a column's index a filter
//! reads ([`IndexScan`], planned from a filter by [`index_scan`]), and the bytes a
//! store orders entries by ([`sort_key`]).

use std::cmp::Ordering;
use std::ops::Bound;

use chrono::Datelike;

use crate::query::{CompareOp, Predicate};
use crate::table::{ColumnRef, Table};
use crate::value::Value;

/// Which entries of one column's non-unique index a query needs
/// ([`Store::scan_index`](crate::engine::Store::scan_index)): every value is non-null
/// and of the column's type.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexScan {
    /// The rows holding one of these values (an `=` or an `IN`).
    Values(Vec<Value>),
    /// The rows whose value lies between the bounds (`<`, `<=`, `>`, `>=` and their
    /// conjunctions).
    Range {
        /// The lowest value admitted.
        lower: Bound<Value>,
        /// The highest value admitted.
        upper: Bound<Value>,
    },
}

/// The lower and upper bound of a range of [`sort_key`]s.
pub type SortKeyBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

impl IndexScan {
    /// The bounds of a range scan as [`sort_key`]s; `None` where the range admits no
    /// key (its lower bound above its upper one, or equal to it with one excluded) or a
    /// bound has no sort key (which [`index_scan`] never plans).
    pub fn key_range(lower: &Bound<Value>, upper: &Bound<Value>) -> Option<SortKeyBounds> {
        let (lower, upper) = (key_bound(lower)?, key_bound(upper)?);
        let empty = match (&lower, &upper) {
            (Bound::Included(low), Bound::Included(high)) => low > high,
            (Bound::Included(low) | Bound::Excluded(low), Bound::Included(high) | Bound::Excluded(high)) => low >= high,
            _ => false,
        };
        (!empty).then_some((lower, upper))
    }
}

fn key_bound(bound: &Bound<Value>) -> Option<Bound<Vec<u8>>> {
    Some(match bound {
        Bound::Included(value) => Bound::Included(sort_key(value)?),
        Bound::Excluded(value) => Bound::Excluded(sort_key(value)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// The index scan that answers part of `predicate` on `table`: a conjunct comparing an
/// indexed (non-unique) column with a value, or listing its values; several bounds on
/// one column are intersected, and a list of values is preferred over a range. Every
/// row the predicate matches is among the scan's (the engine applies the whole
/// predicate to what the scan reads). `None` where no part can use an index.
pub(crate) fn index_scan(table: &Table, predicate: &Predicate) -> Option<(usize, IndexScan)> {
    let parts = match predicate {
        Predicate::And(parts) => parts.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut range: Option<(usize, Bound<Value>, Bound<Value>)> = None;
    for part in parts {
        let Some((column, scan)) = single_scan(table, part) else { continue };
        match scan {
            values @ IndexScan::Values(_) => return Some((column, values)),
            IndexScan::Range { lower, upper } => match &mut range {
                None => range = Some((column, lower, upper)),
                Some((first, low, high)) if *first == column => {
                    *low = tighter(std::mem::replace(low, Bound::Unbounded), lower, Ordering::Greater);
                    *high = tighter(std::mem::replace(high, Bound::Unbounded), upper, Ordering::Less);
                }
                Some(_) => {}
            },
        }
    }
    range.map(|(column, lower, upper)| (column, IndexScan::Range { lower, upper }))
}

/// The scan one comparison or list allows, if its column is indexed.
fn single_scan(table: &Table, predicate: &Predicate) -> Option<(usize, IndexScan)> {
    let (column, scan) = match predicate {
        Predicate::Compare { column: ColumnRef::Field(i), op, value } => {
            let (value, unbounded) = (value.clone(), Bound::Unbounded);
            let scan = match op {
                CompareOp::Eq => IndexScan::Values(vec![value]),
                CompareOp::Lt => IndexScan::Range { lower: unbounded, upper: Bound::Excluded(value) },
                CompareOp::Le => IndexScan::Range { lower: unbounded, upper: Bound::Included(value) },
                CompareOp::Gt => IndexScan::Range { lower: Bound::Excluded(value), upper: unbounded },
                CompareOp::Ge => IndexScan::Range { lower: Bound::Included(value), upper: unbounded },
                CompareOp::Ne => return None,
            };
            (*i, scan)
        }
        Predicate::In { column: ColumnRef::Field(i), values } => (*i, IndexScan::Values(values.clone())),
        _ => return None,
    };
    let def = table.columns().get(column)?;
    let values_typed = match &scan {
        IndexScan::Values(values) => values.iter().all(|v| v.column_type() == Some(def.ty())),
        IndexScan::Range { lower: Bound::Included(v) | Bound::Excluded(v), .. }
        | IndexScan::Range { upper: Bound::Included(v) | Bound::Excluded(v), .. } => v.column_type() == Some(def.ty()),
        IndexScan::Range { .. } => true,
    };
    (def.is_indexed() && values_typed && sort_key_exists(&scan)).then_some((column, scan))
}

fn sort_key_exists(scan: &IndexScan) -> bool {
    match scan {
        IndexScan::Values(values) => values.iter().all(|v| sort_key(v).is_some()),
        IndexScan::Range { lower: Bound::Included(v) | Bound::Excluded(v), .. }
        | IndexScan::Range { upper: Bound::Included(v) | Bound::Excluded(v), .. } => sort_key(v).is_some(),
        IndexScan::Range { .. } => true,
    }
}

/// Of two bounds on the same side, the one that admits less: `toward` is the side's
/// direction (`Greater` for lower bounds, `Less` for upper ones).
fn tighter(a: Bound<Value>, b: Bound<Value>, toward: Ordering) -> Bound<Value> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => match x.compare(y) {
            Some(Ordering::Equal) => match a {
                Bound::Excluded(_) => a,
                _ => b,
            },
            Some(ordering) if ordering == toward => a,
            _ => b,
        },
    }
}

/// Bytes whose order, compared byte by byte, is [`Value::compare`]'s order among the
/// non-null values of one column type: what a store keys its index entries by. `None`
/// for `NULL` (never in an index: no comparison matches it) and JSON (never indexed).
///
/// Integers are big-endian with the sign bit flipped; floats likewise after the usual
/// total-order transform, with `-0.0` written as `0.0` (they compare equal); text is
/// its UTF-8 (byte order is code point order, as `COLLATE "C"`), bytes themselves, a
/// UUID its 16 bytes, a date its day number and a timestamp its microseconds, as
/// integers.
///
/// ```
/// use plinth::engine::sort_key;
/// use plinth::Value;
///
/// assert!(sort_key(&Value::I64(-1)) < sort_key(&Value::I64(0)));
/// assert!(sort_key(&Value::F64(-0.5)) < sort_key(&Value::F64(0.25)));
/// assert_eq!(sort_key(&Value::F64(-0.0)), sort_key(&Value::F64(0.0)));
/// assert_eq!(sort_key(&Value::Null), None);
/// ```
pub fn sort_key(value: &Value) -> Option<Vec<u8>> {
    Some(match value {
        Value::Null | Value::Json(_) => return None,
        Value::Bool(b) => vec![u8::from(*b)],
        Value::I16(n) => sign_flipped(n.to_be_bytes()),
        Value::I32(n) => sign_flipped(n.to_be_bytes()),
        Value::I64(n) => sign_flipped(n.to_be_bytes()),
        Value::F32(x) => {
            let bits = (if *x == 0.0 { 0.0_f32 } else { *x }).to_bits();
            let ordered = if bits >> 31 == 1 { !bits } else { bits | 1 << 31 };
            ordered.to_be_bytes().to_vec()
        }
        Value::F64(x) => {
            let bits = (if *x == 0.0 { 0.0_f64 } else { *x }).to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
            ordered.to_be_bytes().to_vec()
        }
        Value::Text(text) => text.as_bytes().to_vec(),
        Value::Bytes(bytes) => bytes.clone(),
        Value::Uuid(uuid) => uuid.as_bytes().to_vec(),
        Value::Date(date) => sign_flipped(date.num_days_from_ce().to_be_bytes()),
        Value::Timestamp(at) => sign_flipped(at.timestamp_micros().to_be_bytes()),
    })
}

/// A big-endian two's-complement integer with its sign bit flipped, so that byte
/// order is numeric order.
fn sign_flipped<const N: usize>(mut big_endian: [u8; N]) -> Vec<u8> {
    if let Some(first) = big_endian.first_mut() {
        *first ^= 0x80;
    }
    big_endian.to_vec()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate};
    use proptest::prelude::*;

    use super::*;
    use crate::query::{Filter, Select};
    use crate::Entity;

    #[derive(Entity)]
    struct Reading {
        #[entity(index)]
        level: i32,
        label: String,
    }

    fn value() -> impl Strategy<Value = (Value, Value)> {
        prop_oneof![
            (any::<bool>(), any::<bool>()).prop_map(|(a, b)| (Value::Bool(a), Value::Bool(b))),
            (any::<i16>(), any::<i16>()).prop_map(|(a, b)| (Value::I16(a), Value::I16(b))),
            (any::<i32>(), any::<i32>()).prop_map(|(a, b)| (Value::I32(a), Value::I32(b))),
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| (Value::I64(a), Value::I64(b))),
            (finite_f32(), finite_f32()).prop_map(|(a, b)| (Value::F32(a), Value::F32(b))),
            (finite_f64(), finite_f64()).prop_map(|(a, b)| (Value::F64(a), Value::F64(b))),
            (any::<String>(), any::<String>()).prop_map(|(a, b)| (Value::Text(a), Value::Text(b))),
            (any::<Vec<u8>>(), any::<Vec<u8>>()).prop_map(|(a, b)| (Value::Bytes(a), Value::Bytes(b))),
            (any::<u128>(), any::<u128>())
                .prop_map(|(a, b)| (Value::Uuid(uuid::Uuid::from_u128(a)), Value::Uuid(uuid::Uuid::from_u128(b)))),
            (day(), day()).prop_map(|(a, b)| (Value::Date(a), Value::Date(b))),
            (micros(), micros()).prop_map(|(a, b)| (Value::Timestamp(a), Value::Timestamp(b))),
        ]
    }

    fn finite_f32() -> impl Strategy<Value = f32> {
        prop_oneof![Just(0.0), Just(-0.0), Just(f32::MIN_POSITIVE), Just(-f32::MAX), any::<f32>()]
            .prop_filter("finite", |x| x.is_finite())
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(-0.0), Just(-f64::MIN_POSITIVE), Just(f64::MAX), any::<f64>()]
            .prop_filter("finite", |x| x.is_finite())
    }

    fn day() -> impl Strategy<Value = NaiveDate> {
        (1..=3_652_059_i32).prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default())
    }

    fn micros() -> impl Strategy<Value = DateTime<chrono::Utc>> {
        (-62_135_596_800_000_000_i64..253_402_300_799_999_999)
            .prop_map(|us| DateTime::from_timestamp_micros(us).unwrap_or_default())
    }

    proptest! {
        #[test]
        fn sort_keys_order_as_values_compare((a, b) in value()) {
            prop_assert_eq!(sort_key(&a).cmp(&sort_key(&b)), a.compare(&b).unwrap_or(Ordering::Equal));
        }
    }

    #[test]
    fn text_orders_by_code_point_not_utf16() {
        // U+FFFD sorts before U+1F600 by code point; UTF-16 would put the surrogate first.
        assert!(sort_key(&Value::Text("\u{FFFD}".into())) < sort_key(&Value::Text("\u{1F600}".into())));
    }

    fn plan(filters: Vec<Filter>) -> Option<(usize, IndexScan)> {
        let select = Select::bind(Reading::table(), filters, vec![], None, 0).ok()?;
        index_scan(Reading::table(), select.filter.as_ref()?)
    }

    #[test]
    fn comparisons_on_an_indexed_column_become_scans_and_bounds_intersect() {
        let between = plan(vec![Filter::column("level").ge(3_i64), Filter::column("level").lt(9_i64)]);
        let expected =
            IndexScan::Range { lower: Bound::Included(Value::I32(3)), upper: Bound::Excluded(Value::I32(9)) };
        assert_eq!(between, Some((0, expected)));
        let tighter = plan(vec![Filter::column("level").gt(3_i64), Filter::column("level").ge(3_i64)]);
        let expected = IndexScan::Range { lower: Bound::Excluded(Value::I32(3)), upper: Bound::Unbounded };
        assert_eq!(tighter, Some((0, expected)));
        let listed = plan(vec![Filter::column("level").gt(3_i64), Filter::column("level").is_in([5_i64, 4])]);
        assert_eq!(listed, Some((0, IndexScan::Values(vec![Value::I32(4), Value::I32(5)]))));
    }

    #[test]
    fn a_range_that_admits_no_key_has_no_key_range() {
        let (one, two) = (Value::I32(1), Value::I32(2));
        let range = |lower, upper| IndexScan::key_range(&lower, &upper);
        assert!(range(Bound::Included(two.clone()), Bound::Included(one.clone())).is_none());
        assert!(range(Bound::Excluded(one.clone()), Bound::Included(one.clone())).is_none());
        assert!(range(Bound::Included(one.clone()), Bound::Excluded(one.clone())).is_none());
        assert!(range(Bound::Included(one.clone()), Bound::Included(one.clone())).is_some());
        assert!(range(Bound::Excluded(one), Bound::Unbounded).is_some());
        assert!(range(Bound::Included(Value::Null), Bound::Unbounded).is_none());
    }

    #[test]
    fn unindexed_columns_inequality_and_alternatives_scan_the_table() {
        assert_eq!(plan(vec![Filter::column("label").eq("a")]), None);
        assert_eq!(plan(vec![Filter::column("level").ne(3_i64)]), None);
        assert_eq!(plan(vec![Filter::column("level").eq(3_i64).or(Filter::column("level").eq(4_i64))]), None);
    }
}
