//! Aggregates over a query's rows — `count`, `sum`, `min`, `max`, `avg`, grouped by
//! columns or over every matching row — with one answer on every backend.
//!
//! A backend computes only [`AggregateFunction`]s: counts, exact sums, extremes.
//! Averages are the sum divided by the count, computed here, so they are the same f64
//! everywhere. `typed.rs` is what users build; `compute.rs` is the computation in
//! Rust, which the record engine uses and which states what SQL must match.

mod compute;
mod typed;

use crate::error::{Error, Result};
use crate::table::{ColumnRef, Table};
use crate::value::{ColumnType, Value};

pub use compute::compute_aggregates;
pub use typed::{count, Aggregate, AggregateExpr, Aggregates, Computed, GroupKeys, SumValue, Summable};
pub(crate) use typed::{AggregateOp, ComputedValue, Expr};

/// One function a backend computes over the rows of each group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateFunction {
    /// `count(*)`: the group's rows.
    CountRows,
    /// `count(column)`: the rows whose `column` is not `NULL`.
    Count {
        /// The column.
        column: ColumnRef,
    },
    /// `sum(column)` of a numeric column, exact for integers (as `i128`); `NULL` when
    /// no row has a value.
    Sum {
        /// The column.
        column: ColumnRef,
        /// Its type: an integer type sums to [`Aggregated::IntegerSum`], a float type to
        /// [`Aggregated::FloatSum`].
        ty: ColumnType,
    },
    /// `min(column)`, in the order `order_by` uses (text by bytes); `NULL` when no row
    /// has a value.
    Min {
        /// The column.
        column: ColumnRef,
        /// Its type.
        ty: ColumnType,
    },
    /// `max(column)`, as [`Min`](AggregateFunction::Min).
    Max {
        /// The column.
        column: ColumnRef,
        /// Its type.
        ty: ColumnType,
    },
}

/// What a backend computes for one query: the rows of a [`Select`](crate::backend::Select)
/// grouped by `group_by` (rows equal on every key, `NULL` equal to `NULL`, form one
/// group), and `functions` over each group. With no key there is exactly one group,
/// also when no row matches; with keys, one per distinct key, ascending as `order_by`
/// sorts (`NULL`s last), first key most significant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregation {
    /// The grouping columns and their types.
    pub group_by: Vec<(ColumnRef, ColumnType)>,
    /// The functions, in the order their results are returned.
    pub functions: Vec<AggregateFunction>,
}

/// One result of an [`AggregateFunction`].
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregated {
    /// A count.
    Count(u64),
    /// A sum of integers, exact; `None` when no row had a value.
    IntegerSum(Option<i128>),
    /// A sum of floats; `None` when no row had a value.
    FloatSum(Option<f64>),
    /// A minimum or maximum, of the column's type; `Value::Null` when no row had a value.
    Extreme(Value),
}

/// One group's keys (in `group_by` order) and results (in `functions` order).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The values of the grouping columns.
    pub keys: Vec<Value>,
    /// The results of the functions.
    pub values: Vec<Aggregated>,
}

/// The error for an aggregate result or group key of `table` that does not read as
/// what was asked for (`found` says what it was).
pub fn undecodable_aggregate(table: &Table, found: String) -> Error {
    Error::Decode { table: table.name(), record: "an aggregate".to_owned(), column: None, found }
}

/// Aggregate expressions checked against a table: what the backend computes, and how
/// each expression's result is read from it.
#[derive(Debug)]
pub(crate) struct BoundAggregates {
    pub(crate) aggregation: Aggregation,
    outputs: Vec<Output>,
}

/// Where one expression's result comes from in a group's results.
#[derive(Clone, Copy, Debug)]
enum Output {
    /// The function at this index.
    Direct(usize),
    /// The sum at `sum` divided by the count at `count`.
    Average { sum: usize, count: usize },
}

impl BoundAggregates {
    /// Resolves `keys` and `exprs` against `table`: every column must exist, and sums
    /// and averages take numbers, extremes ordered types, keys comparable ones.
    pub(crate) fn bind(table: &Table, keys: &[&'static str], exprs: &[AggregateExpr]) -> Result<Self> {
        let group_by = keys
            .iter()
            .map(|name| {
                let (column, ty) = table.resolve(name)?;
                if ty == ColumnType::Json {
                    return Err(unsupported(table, column, "grouped by"));
                }
                Ok((column, ty))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut functions = Vec::new();
        let mut push = |function| {
            functions.push(function);
            functions.len() - 1
        };
        let mut outputs = Vec::with_capacity(exprs.len());
        for expr in exprs {
            let (op, name) = match expr.0 {
                Expr::CountRows => {
                    outputs.push(Output::Direct(push(AggregateFunction::CountRows)));
                    continue;
                }
                Expr::Of(op, name) => (op, name),
            };
            let (column, ty) = table.resolve(name)?;
            let numeric =
                || if ty.is_numeric() { Ok(()) } else { Err(unsupported(table, column, "summed or averaged")) };
            let ordered = || if ty.is_ordered() { Ok(()) } else { Err(unsupported(table, column, "compared")) };
            let output = match op {
                AggregateOp::Count => Output::Direct(push(AggregateFunction::Count { column })),
                AggregateOp::Sum => {
                    numeric()?;
                    Output::Direct(push(AggregateFunction::Sum { column, ty }))
                }
                AggregateOp::Avg => {
                    numeric()?;
                    let sum = push(AggregateFunction::Sum { column, ty });
                    Output::Average { sum, count: push(AggregateFunction::Count { column }) }
                }
                AggregateOp::Min => {
                    ordered()?;
                    Output::Direct(push(AggregateFunction::Min { column, ty }))
                }
                AggregateOp::Max => {
                    ordered()?;
                    Output::Direct(push(AggregateFunction::Max { column, ty }))
                }
            };
            outputs.push(output);
        }
        Ok(BoundAggregates { aggregation: Aggregation { group_by, functions }, outputs })
    }

    /// The expressions' results from one group's function results.
    pub(crate) fn outputs(&self, table: &Table, values: &[Aggregated]) -> Result<Vec<Computed>> {
        let missing =
            || Error::backend("plinth", format!("table `{}`: the backend returned too few aggregates", table.name()));
        self.outputs
            .iter()
            .map(|output| match *output {
                Output::Direct(i) => {
                    values.get(i).cloned().map(|v| Computed(ComputedValue::Function(v))).ok_or_else(missing)
                }
                Output::Average { sum, count } => match (values.get(sum), values.get(count)) {
                    (Some(sum), Some(Aggregated::Count(count))) => {
                        Ok(Computed(ComputedValue::Average(average(sum, *count))))
                    }
                    _ => Err(missing()),
                },
            })
            .collect()
    }
}

/// The sum divided by the count, each rounded once to f64: the same on every backend.
#[allow(clippy::cast_precision_loss)]
fn average(sum: &Aggregated, count: u64) -> Option<f64> {
    let sum = match sum {
        Aggregated::IntegerSum(Some(n)) => *n as f64,
        Aggregated::FloatSum(Some(x)) => *x,
        _ => return None,
    };
    (count > 0).then(|| sum / count as f64)
}

fn unsupported(table: &Table, column: ColumnRef, verb: &str) -> Error {
    Error::InvalidValue {
        table: table.name(),
        column: Some(table.column_name(column)),
        reason: format!("a column of this type cannot be {verb}"),
    }
}
