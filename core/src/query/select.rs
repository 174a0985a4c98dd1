//! [`Select`]: a query checked against its table, ready for a backend.

use chrono::SubsecRound;

use crate::error::{Error, Result};
use crate::query::{CompareOp, Direction, Filter, LikePattern, Order};
use crate::table::{ColumnRef, Table};
use crate::value::{ColumnType, Value};

/// A condition checked against a table: columns resolved, values converted to the
/// column's type and known to be storable. Backends translate or evaluate this.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// `column op value`; `value` is never `NULL`.
    Compare {
        /// The column.
        column: ColumnRef,
        /// The operator.
        op: CompareOp,
        /// The value, of the column's type.
        value: Value,
    },
    /// `column LIKE pattern ESCAPE '\'`
    Like {
        /// The (text) column.
        column: ColumnRef,
        /// The pattern as written, for SQL backends.
        pattern: String,
        /// The parsed pattern, for backends that match in Rust.
        matcher: LikePattern,
    },
    /// `column IN (values…)`; values of the column's type, never `NULL`, sorted and
    /// distinct, so a row is looked up in them, not compared with each.
    In {
        /// The column.
        column: ColumnRef,
        /// The values; empty matches nothing.
        values: Vec<Value>,
    },
    /// `column IS NULL`
    IsNull {
        /// The column.
        column: ColumnRef,
    },
    /// `column IN (SELECT select_column FROM table WHERE filter AND select_column IS
    /// NOT NULL)`: both columns of one type.
    InSelect {
        /// The column.
        column: ColumnRef,
        /// The table the subquery reads.
        table: &'static Table,
        /// The column of `table` it selects.
        select_column: ColumnRef,
        /// The subquery's condition, checked against `table`.
        filter: Box<Predicate>,
    },
    /// All hold.
    And(Vec<Predicate>),
    /// Any holds.
    Or(Vec<Predicate>),
    /// Does not hold.
    Not(Box<Predicate>),
}

/// One resolved sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The column.
    pub column: ColumnRef,
    /// The direction.
    pub direction: Direction,
}

/// A query ready for a backend: everything in it has been checked against the table.
/// Rows equal on every sort key are ordered by `id` ascending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Select {
    /// The condition; `None` matches every row.
    pub filter: Option<Predicate>,
    /// Sort keys, most significant first; `id` ascending is always the last tie-breaker.
    pub order: Vec<SortKey>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows first.
    pub offset: u64,
}

impl Select {
    /// Checks filters (joined with AND) and sort keys against `table`.
    pub fn bind(
        table: &Table,
        filters: Vec<Filter>,
        order: Vec<Order>,
        limit: Option<u64>,
        offset: u64,
    ) -> Result<Self> {
        let mut size = FilterSize::default();
        // Several filters are joined with an AND of their own, which counts for no depth.
        let filter = match filters.len() {
            0 => None,
            1 => filters.into_iter().next().map(|f| bind_filter(table, f, &mut size, 0)).transpose()?,
            _ => Some(Predicate::And(bind_all(table, filters, &mut size, 0)?)),
        };
        let order = order
            .into_iter()
            .map(|o| {
                let (column, ty) = table.resolve(&o.column)?;
                if !ty.is_ordered() {
                    return Err(unsupported_on_json(table, table.column_name(column), "sorted"));
                }
                Ok(SortKey { column, direction: o.direction })
            })
            .collect::<Result<_>>()?;
        Ok(Select { filter, order, limit, offset })
    }
}

/// At most this many conditions (comparisons, LIKEs, lists, null tests) in one filter;
/// a list counts once however long it is. Every backend refuses a larger filter the same
/// way, before any I/O: SQL databases limit a statement's parameters (65,535 on
/// PostgreSQL, 32,766 on SQLite) and its expression depth.
pub const MAX_CONDITIONS: usize = 1_000;

/// At most this many levels of `and`, `or` and `not` inside one another.
pub const MAX_NESTING: usize = 32;

/// How much of the limits a filter has used so far.
#[derive(Default)]
struct FilterSize {
    conditions: usize,
}

fn too_large(table: &Table, what: String) -> Error {
    Error::InvalidValue {
        table: table.name(),
        column: None,
        reason: format!(
            "{what}; a filter may hold at most {MAX_CONDITIONS} conditions nested at most {MAX_NESTING} deep \
             (one is_in with a list of any length counts once: use it for long lists of values)"
        ),
    }
}

fn bind_filter(table: &Table, filter: Filter, size: &mut FilterSize, depth: usize) -> Result<Predicate> {
    if !matches!(filter, Filter::And(_) | Filter::Or(_) | Filter::Not(_) | Filter::InSelect { .. }) {
        size.conditions += 1;
        if size.conditions > MAX_CONDITIONS {
            return Err(too_large(table, format!("the filter holds more than {MAX_CONDITIONS} conditions")));
        }
    } else if depth >= MAX_NESTING {
        return Err(too_large(table, format!("the filter nests and/or/not more than {MAX_NESTING} deep")));
    }
    Ok(match filter {
        Filter::Compare { column, op, value } => {
            let (column_ref, ty) = resolve_comparable(table, &column, "compared")?;
            let value = bind_value(table, table.column_name(column_ref), ty, value)?;
            Predicate::Compare { column: column_ref, op, value }
        }
        Filter::Like { column, pattern } => {
            let (column_ref, ty) = table.resolve(&column)?;
            let column = table.column_name(column_ref);
            if ty != ColumnType::Text {
                return Err(Error::TypeMismatch {
                    table: table.name(),
                    column,
                    expected: ty,
                    found: format!("the LIKE pattern {pattern:?} (LIKE applies to String columns)"),
                });
            }
            table.check_storable(column, &Value::Text(pattern.clone()))?;
            let matcher = LikePattern::parse(&pattern).map_err(|reason| Error::InvalidValue {
                table: table.name(),
                column: Some(column),
                reason: reason.to_owned(),
            })?;
            Predicate::Like { column: column_ref, pattern, matcher }
        }
        Filter::In { column, values } => {
            let (column_ref, ty) = resolve_comparable(table, &column, "compared")?;
            let name = table.column_name(column_ref);
            let values = values.into_iter().map(|v| bind_value(table, name, ty, v)).collect::<Result<_>>()?;
            Predicate::In { column: column_ref, values: sorted_values(values) }
        }
        Filter::IsNull { column } => Predicate::IsNull { column: table.resolve(&column)?.0 },
        Filter::InSelect { column, table: inner, select_column, filter } => {
            let (column_ref, ty) = resolve_comparable(table, &column, "compared")?;
            let (select_ref, select_ty) = resolve_comparable(inner, &select_column, "compared")?;
            if ty != select_ty {
                return Err(Error::TypeMismatch {
                    table: table.name(),
                    column: table.column_name(column_ref),
                    expected: ty,
                    found: format!("the {select_ty} values of `{}`.`{select_column}`", inner.name()),
                });
            }
            let filter = Box::new(bind_filter(inner, *filter, size, depth + 1)?);
            Predicate::InSelect { column: column_ref, table: inner, select_column: select_ref, filter }
        }
        Filter::And(parts) => Predicate::And(bind_all(table, parts, size, depth + 1)?),
        Filter::Or(parts) => Predicate::Or(bind_all(table, parts, size, depth + 1)?),
        Filter::Not(inner) => Predicate::Not(Box::new(bind_filter(table, *inner, size, depth + 1)?)),
    })
}

/// `values` (of one column type, none `NULL`) in their order, each once: what
/// [`Predicate::In`] holds.
pub(crate) fn sorted_values(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by(|a, b| a.compare(b).unwrap_or(std::cmp::Ordering::Equal));
    values.dedup_by(|a, b| a.compare(b) == Some(std::cmp::Ordering::Equal));
    values
}

fn bind_all(table: &Table, filters: Vec<Filter>, size: &mut FilterSize, depth: usize) -> Result<Vec<Predicate>> {
    filters.into_iter().map(|f| bind_filter(table, f, size, depth)).collect()
}

fn resolve_comparable(table: &Table, column: &str, verb: &str) -> Result<(ColumnRef, ColumnType)> {
    let (column_ref, ty) = table.resolve(column)?;
    if ty == ColumnType::Json {
        return Err(unsupported_on_json(table, table.column_name(column_ref), verb));
    }
    Ok((column_ref, ty))
}

fn unsupported_on_json(table: &Table, column: &'static str, verb: &str) -> Error {
    Error::InvalidValue {
        table: table.name(),
        column: Some(column),
        reason: format!("JSON columns cannot be {verb} (backends disagree on JSON equality and order); filter them only with is_null"),
    }
}

fn bind_value(table: &Table, column: &'static str, ty: ColumnType, value: Value) -> Result<Value> {
    if value.is_null() {
        return Err(Error::InvalidValue {
            table: table.name(),
            column: Some(column),
            reason: "a comparison with NULL is never true; use is_null or is_not_null".to_owned(),
        });
    }
    let value = value.coerce(ty).map_err(|found| Error::TypeMismatch {
        table: table.name(),
        column,
        expected: ty,
        found: found.to_string(),
    })?;
    table.check_storable(column, &value)?;
    // Values are compared in the form they are stored in (see `Field`): -0.0 as 0.0, and
    // timestamps truncated to microseconds, as the SQL drivers send them; otherwise a
    // filter value with nanoseconds would match on PostgreSQL and SQLite but not in memory.
    Ok(match value {
        Value::F32(0.0) => Value::F32(0.0),
        Value::F64(0.0) => Value::F64(0.0),
        Value::Timestamp(t) => Value::Timestamp(t.trunc_subsecs(6)),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entity;

    #[derive(Entity)]
    struct Person {
        name: String,
        age: Option<i16>,
        doc: Option<serde_json::Value>,
    }

    #[derive(Entity)]
    struct Event {
        moment: chrono::DateTime<chrono::Utc>,
    }

    fn bind(filter: Filter) -> Result<Select> {
        Select::bind(Person::table(), vec![filter], vec![], None, 0)
    }

    #[test]
    fn values_are_converted_to_the_column_type() {
        let select = bind(Filter::column("age").gt(30_i64)).ok();
        let expected = Predicate::Compare { column: ColumnRef::Field(1), op: CompareOp::Gt, value: Value::I16(30) };
        assert_eq!(select.and_then(|s| s.filter), Some(expected));
    }

    /// Found by the differential test: `moment = 20.000001500` matched a row stored as
    /// `20.000001` on PostgreSQL and SQLite (their drivers send microseconds) but not in memory.
    #[test]
    fn timestamps_compare_at_the_microseconds_they_are_stored_with() {
        let precise = chrono::DateTime::from_timestamp(1_700_000_000, 1_500);
        let stored = chrono::DateTime::from_timestamp(1_700_000_000, 1_000);
        let select =
            precise.map(|t| Select::bind(Event::table(), vec![Filter::column("moment").eq(t)], vec![], None, 0));
        let expected = stored.map(|t| Predicate::Compare {
            column: ColumnRef::Field(0),
            op: CompareOp::Eq,
            value: Value::Timestamp(t),
        });
        assert_eq!(select.and_then(|s| s.ok()).and_then(|s| s.filter), expected);
    }

    #[test]
    fn mistakes_are_reported_before_any_io() {
        assert!(matches!(bind(Filter::column("nmae").eq("x")), Err(Error::UnknownColumn { .. })));
        assert!(matches!(bind(Filter::column("age").eq("x")), Err(Error::TypeMismatch { .. })));
        assert!(matches!(bind(Filter::column("age").eq(100_000)), Err(Error::TypeMismatch { .. })));
        assert!(matches!(bind(Filter::column("age").like("1%")), Err(Error::TypeMismatch { .. })));
        assert!(matches!(bind(Filter::column("name").eq(Value::Null)), Err(Error::InvalidValue { .. })));
        assert!(matches!(bind(Filter::column("name").like("x\\")), Err(Error::InvalidValue { .. })));
        assert!(matches!(bind(Filter::column("doc").eq(serde_json::json!(1))), Err(Error::InvalidValue { .. })));
        let sorted_on_json = Select::bind(Person::table(), vec![], vec![Order::asc("doc")], None, 0);
        assert!(matches!(sorted_on_json, Err(Error::InvalidValue { .. })));
    }

    #[test]
    fn filters_past_the_limits_are_refused_and_long_lists_are_not() {
        let many = (0..=MAX_CONDITIONS).map(|i| Filter::column("name").eq(i.to_string()));
        let many = bind(many.fold(Filter::column("age").is_null(), Filter::or));
        assert!(
            matches!(many, Err(Error::InvalidValue { ref reason, .. }) if reason.contains("conditions")),
            "{many:?}"
        );
        let deep = (0..=MAX_NESTING).fold(Filter::column("age").is_null(), |f, _| !f);
        assert!(matches!(bind(deep), Err(Error::InvalidValue { ref reason, .. }) if reason.contains("deep")));
        let long_list = bind(Filter::column("age").is_in((0..30_000).map(|n| n % 1000)));
        assert!(long_list.is_ok(), "{long_list:?}");
    }

    #[test]
    fn several_filters_are_joined_with_and() {
        let select = Select::bind(
            Person::table(),
            vec![Filter::column("age").is_null(), Filter::column("name").eq("a")],
            vec![Order::desc("created_at")],
            Some(5),
            2,
        );
        let select = select.ok();
        assert!(
            matches!(select.as_ref().and_then(|s| s.filter.as_ref()), Some(Predicate::And(parts)) if parts.len() == 2)
        );
        assert_eq!(
            select.map(|s| s.order),
            Some(vec![SortKey { column: ColumnRef::CreatedAt, direction: Direction::Desc }])
        );
    }
}
