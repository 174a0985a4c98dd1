//! Aggregates computed in Rust over rows already read: what the record engine answers,
//! and what the SQL compiler's statements must match.

use std::cmp::Ordering;

use crate::engine::column_value;
use crate::row::StoredRow;
use crate::value::Value;

use super::{AggregateFunction, Aggregated, Aggregation, Group};

/// Groups `rows` and computes `aggregation`'s functions over each group, as described
/// on [`Aggregation`]: one group when there are no keys (even with no rows), else one
/// per distinct key in ascending key order, `NULL` last. Integer sums are exact; float
/// sums add in id order.
pub fn compute_aggregates(rows: &[StoredRow], aggregation: &Aggregation) -> Vec<Group> {
    let keys_of = |row: &StoredRow| -> Vec<Value> {
        aggregation.group_by.iter().map(|(column, _)| column_value(row, *column).into_owned()).collect()
    };
    let mut keyed: Vec<(Vec<Value>, &StoredRow)> = rows.iter().map(|row| (keys_of(row), row)).collect();
    // Stable, so rows of one group stay in the order given (by id, for float sums).
    keyed.sort_by(|(a, _), (b, _)| compare_keys(a, b));
    let mut groups: Vec<(Vec<Value>, Vec<&StoredRow>)> = Vec::new();
    for (keys, row) in keyed {
        match groups.last_mut() {
            Some((last, members)) if compare_keys(last, &keys) == Ordering::Equal => members.push(row),
            _ => groups.push((keys, vec![row])),
        }
    }
    if aggregation.group_by.is_empty() && groups.is_empty() {
        groups.push((Vec::new(), Vec::new()));
    }
    groups
        .into_iter()
        .map(|(keys, members)| Group {
            keys,
            values: aggregation.functions.iter().map(|function| compute(*function, &members)).collect(),
        })
        .collect()
}

/// Key tuples in ascending order, `NULL` after every value and equal to `NULL`.
fn compare_keys(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.compare(y).unwrap_or(Ordering::Equal),
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn compute(function: AggregateFunction, rows: &[&StoredRow]) -> Aggregated {
    let values = |column| rows.iter().map(move |row| column_value(row, column)).filter(|v| !v.is_null());
    match function {
        AggregateFunction::CountRows => Aggregated::Count(rows.len() as u64),
        AggregateFunction::Count { column } => Aggregated::Count(values(column).count() as u64),
        AggregateFunction::Sum { column, ty } if ty.is_integer() => {
            let mut sum: Option<i128> = None;
            for value in values(column) {
                let n = match value.as_ref() {
                    Value::I16(n) => i128::from(*n),
                    Value::I32(n) => i128::from(*n),
                    Value::I64(n) => i128::from(*n),
                    _ => continue,
                };
                sum = Some(sum.unwrap_or(0) + n);
            }
            Aggregated::IntegerSum(sum)
        }
        AggregateFunction::Sum { column, .. } => {
            let mut sum: Option<f64> = None;
            for value in values(column) {
                let x = match value.as_ref() {
                    Value::F32(x) => f64::from(*x),
                    Value::F64(x) => *x,
                    _ => continue,
                };
                sum = Some(sum.unwrap_or(0.0) + x);
            }
            Aggregated::FloatSum(sum)
        }
        AggregateFunction::Min { column, .. } => Aggregated::Extreme(extreme(values(column), Ordering::Less)),
        AggregateFunction::Max { column, .. } => Aggregated::Extreme(extreme(values(column), Ordering::Greater)),
    }
}

/// The value that is `wanted` of all others (the first of equals), or `NULL`.
fn extreme<'r>(values: impl Iterator<Item = std::borrow::Cow<'r, Value>>, wanted: Ordering) -> Value {
    let mut best: Option<std::borrow::Cow<'r, Value>> = None;
    for value in values {
        if best.as_ref().is_none_or(|b| value.compare(b) == Some(wanted)) {
            best = Some(value);
        }
    }
    best.map_or(Value::Null, std::borrow::Cow::into_owned)
}
