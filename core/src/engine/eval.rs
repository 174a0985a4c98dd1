//! Evaluating predicates and ordering on rows, exactly as the SQL backends do.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::query::{CompareOp, Direction, Predicate, Select, SortKey};
use crate::row::StoredRow;
use crate::table::ColumnRef;
use crate::value::Value;

/// The value of `column` in `row`.
pub(crate) fn column_value(row: &StoredRow, column: ColumnRef) -> Cow<'_, Value> {
    match column {
        ColumnRef::Id => Cow::Owned(Value::I64(row.meta.id)),
        ColumnRef::CreatedAt => Cow::Owned(Value::Timestamp(row.meta.created_at)),
        ColumnRef::UpdatedAt => Cow::Owned(Value::Timestamp(row.meta.updated_at)),
        ColumnRef::Field(i) => row.row.values().get(i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
    }
}

/// Whether `row` satisfies `predicate` (unknown, as with `NULL`, counts as no).
pub(super) fn matches(predicate: &Predicate, row: &StoredRow) -> bool {
    eval(predicate, row) == Some(true)
}

/// SQL's three-valued logic: `None` is unknown.
fn eval(predicate: &Predicate, row: &StoredRow) -> Option<bool> {
    match predicate {
        Predicate::Compare { column, op, value } => {
            let ordering = column_value(row, *column).compare(value)?;
            Some(match op {
                CompareOp::Eq => ordering == Ordering::Equal,
                CompareOp::Ne => ordering != Ordering::Equal,
                CompareOp::Lt => ordering == Ordering::Less,
                CompareOp::Le => ordering != Ordering::Greater,
                CompareOp::Gt => ordering == Ordering::Greater,
                CompareOp::Ge => ordering != Ordering::Less,
            })
        }
        Predicate::Like { column, matcher, .. } => match column_value(row, *column).as_ref() {
            Value::Text(text) => Some(matcher.matches(text)),
            _ => None,
        },
        // An empty list is false even for NULL, as in SQLite and in the `(1 = 0)` the
        // SQL backends send.
        Predicate::In { values, .. } if values.is_empty() => Some(false),
        Predicate::In { column, values } => {
            let actual = column_value(row, *column);
            if actual.is_null() {
                return None;
            }
            // Sorted and distinct (`sorted_values`): a lookup, not a comparison with each.
            Some(values.binary_search_by(|v| v.compare(&actual).unwrap_or(Ordering::Less)).is_ok())
        }
        Predicate::IsNull { column } => Some(column_value(row, *column).is_null()),
        Predicate::And(parts) => {
            let mut unknown = false;
            for part in parts {
                match eval(part, row) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        Predicate::Or(parts) => {
            let mut unknown = false;
            for part in parts {
                match eval(part, row) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        Predicate::Not(inner) => eval(inner, row).map(|b| !b),
        // A session resolves every subquery into the list it selects before it
        // evaluates (`EngineTransaction::resolve_subqueries`); one left would match no row.
        Predicate::InSelect { .. } => None,
    }
}

/// Orders two rows by `keys`, `NULL` sorting as the largest value, then by id.
fn compare_rows(a: &StoredRow, b: &StoredRow, keys: &[SortKey]) -> Ordering {
    for key in keys {
        let (x, y) = (column_value(a, key.column), column_value(b, key.column));
        let ascending = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.compare(&y).unwrap_or(Ordering::Equal),
        };
        let ordering = match key.direction {
            Direction::Asc => ascending,
            Direction::Desc => ascending.reverse(),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.meta.id.cmp(&b.meta.id)
}

/// Filters, sorts and windows `rows` as `select` says.
pub(crate) fn run_select(mut rows: Vec<StoredRow>, select: &Select) -> Vec<StoredRow> {
    if let Some(filter) = &select.filter {
        rows.retain(|row| matches(filter, row));
    }
    rows.sort_by(|a, b| compare_rows(a, b, &select.order));
    let offset = usize::try_from(select.offset).unwrap_or(usize::MAX);
    let limit = select.limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    rows.into_iter().skip(offset).take(limit).collect()
}
