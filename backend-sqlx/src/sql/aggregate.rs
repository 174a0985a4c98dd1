//! Compiling an [`Aggregation`] over a checked [`Select`] to one statement whose groups
//! and results are those of `plinth::backend::compute_aggregates`: exact integer sums,
//! extremes in byte order, groups ascending by key with `NULL`s last.

use plinth::backend::{undecodable_aggregate, AggregateFunction, Aggregated, Aggregation, ColumnRef, Group, Select};
use plinth::{ColumnType, Error, Table, Value};

use super::select::{ordered_column, push_order_and_window, push_where};
use super::{column_sql, quote, Dialect, Statement};

/// An aggregate statement, the types its columns are read as, and how a row of them
/// becomes a [`Group`].
#[derive(Debug)]
pub(crate) struct AggregateSql<'v> {
    pub(crate) statement: Statement<'v>,
    /// The type each selected column is read as.
    pub(crate) types: Vec<ColumnType>,
    keys: usize,
    results: Vec<Read>,
}

/// How one function's result is read from the selected columns.
#[derive(Clone, Copy, Debug)]
enum Read {
    /// A count, as `i64`.
    Count,
    /// An integer sum read as one `i64`.
    IntegerSum,
    /// An integer sum PostgreSQL computed as `numeric`, read as its decimal text.
    IntegerSumText,
    /// An `i64` sum SQLite computed in two halves that cannot overflow: the sum of the
    /// upper 32 bits (shifted arithmetically) and that of the lower 32.
    IntegerSumHalves,
    /// A float sum, as `f64`.
    FloatSum,
    /// A minimum or maximum, as the column's type.
    Extreme,
}

/// `SELECT keys…, functions… FROM table WHERE … GROUP BY keys ORDER BY keys`, over the
/// window `select` leaves when it has a limit or offset; `marker` ends the text (see
/// `TableSql`).
pub(crate) fn compile_aggregate<'v>(
    dialect: Dialect,
    table: &Table,
    select: &'v Select,
    aggregation: &Aggregation,
    marker: &str,
) -> AggregateSql<'v> {
    let mut columns = Vec::new();
    let mut types = Vec::new();
    for (column, ty) in &aggregation.group_by {
        columns.push(column_sql(table, *column));
        types.push(*ty);
    }
    let mut results = Vec::new();
    for function in &aggregation.functions {
        let read = function_sql(dialect, table, *function, &mut columns, &mut types);
        results.push(read);
    }
    let mut statement = Statement::new(dialect);
    statement.push(&format!("SELECT {} FROM ", columns.join(", ")));
    if select.limit.is_some() || select.offset > 0 {
        statement.push(&format!("(SELECT * FROM {}", quote(table.name())));
        push_where(&mut statement, table, select);
        push_order_and_window(&mut statement, table, select);
        statement.push(") AS \"windowed\"");
    } else {
        statement.push(&quote(table.name()));
        push_where(&mut statement, table, select);
    }
    if !aggregation.group_by.is_empty() {
        let keys: Vec<String> = aggregation.group_by.iter().map(|(column, _)| column_sql(table, *column)).collect();
        statement.push(&format!(" GROUP BY {}", keys.join(", ")));
        let order: Vec<String> = aggregation
            .group_by
            .iter()
            .map(|(column, _)| format!("{} ASC NULLS LAST", ordered_column(dialect, table, *column)))
            .collect();
        statement.push(&format!(" ORDER BY {}", order.join(", ")));
    }
    statement.push(marker);
    AggregateSql { statement, types, keys: aggregation.group_by.len(), results }
}

/// Appends the selected columns of `function` and their types; says how to read them.
fn function_sql(
    dialect: Dialect,
    table: &Table,
    function: AggregateFunction,
    columns: &mut Vec<String>,
    types: &mut Vec<ColumnType>,
) -> Read {
    let mut select = |sql: String, ty: ColumnType| {
        columns.push(sql);
        types.push(ty);
    };
    let name = |column: ColumnRef| column_sql(table, column);
    match (function, dialect) {
        (AggregateFunction::CountRows, _) => {
            select("count(*)".to_owned(), ColumnType::I64);
            Read::Count
        }
        (AggregateFunction::Count { column }, _) => {
            select(format!("count({})", name(column)), ColumnType::I64);
            Read::Count
        }
        // PostgreSQL sums integers as `bigint` or `numeric`, exactly: read as text.
        (AggregateFunction::Sum { column, ty }, Dialect::Postgres) if ty.is_integer() => {
            select(format!("sum({})::text", name(column)), ColumnType::Text);
            Read::IntegerSumText
        }
        (AggregateFunction::Sum { column, .. }, Dialect::Postgres) => {
            select(format!("sum({}::float8)", name(column)), ColumnType::F64);
            Read::FloatSum
        }
        // SQLite's `sum` of `i64`s fails past `i64`: two halves that cannot overflow
        // (for fewer than 2^31 rows) are added in Rust instead.
        (AggregateFunction::Sum { column, ty: ColumnType::I64 }, Dialect::Sqlite) => {
            select(format!("sum({} >> 32)", name(column)), ColumnType::I64);
            select(format!("sum({} & 4294967295)", name(column)), ColumnType::I64);
            Read::IntegerSumHalves
        }
        (AggregateFunction::Sum { column, ty }, Dialect::Sqlite) if ty.is_integer() => {
            select(format!("sum({})", name(column)), ColumnType::I64);
            Read::IntegerSum
        }
        (AggregateFunction::Sum { column, .. }, Dialect::Sqlite) => {
            select(format!("CAST(sum({}) AS REAL)", name(column)), ColumnType::F64);
            Read::FloatSum
        }
        (AggregateFunction::Min { column, ty } | AggregateFunction::Max { column, ty }, _) => {
            let smallest = matches!(function, AggregateFunction::Min { .. });
            select(extreme_sql(dialect, table, column, ty, smallest), ty);
            Read::Extreme
        }
    }
}

/// `min(column)` or `max(column)` in the order the record engine compares. PostgreSQL
/// has neither for `boolean`, `uuid` or `bytea`: booleans use `bool_and` / `bool_or`,
/// UUIDs their text, bytes their hex text (both ordered as the bytes are).
fn extreme_sql(dialect: Dialect, table: &Table, column: ColumnRef, ty: ColumnType, smallest: bool) -> String {
    let name = column_sql(table, column);
    let function = if smallest { "min" } else { "max" };
    match (dialect, ty) {
        (Dialect::Postgres, ColumnType::Bool) => format!("{}({name})", if smallest { "bool_and" } else { "bool_or" }),
        (Dialect::Postgres, ColumnType::Uuid) => format!("({function}({name}::text COLLATE \"C\"))::uuid"),
        (Dialect::Postgres, ColumnType::Bytes) => {
            format!("decode({function}(encode({name}, 'hex') COLLATE \"C\"), 'hex')")
        }
        _ => format!("{function}({})", ordered_column(dialect, table, column)),
    }
}

impl AggregateSql<'_> {
    /// One selected row as a group.
    pub(crate) fn group(&self, table: &Table, row: Vec<Value>) -> Result<Group, Error> {
        let undecodable = |found: String| undecodable_aggregate(table, found);
        let mut values = row.into_iter();
        let keys: Vec<Value> = values.by_ref().take(self.keys).collect();
        let mut next = || values.next().ok_or_else(|| undecodable("a row with too few columns".to_owned()));
        let results = self
            .results
            .iter()
            .map(|read| {
                Ok(match (read, next()?) {
                    (Read::Count, Value::I64(n)) => Aggregated::Count(u64::try_from(n).unwrap_or(0)),
                    (Read::IntegerSum, Value::I64(n)) => Aggregated::IntegerSum(Some(i128::from(n))),
                    (Read::IntegerSum | Read::IntegerSumText, Value::Null) => Aggregated::IntegerSum(None),
                    (Read::IntegerSumText, Value::Text(text)) => Aggregated::IntegerSum(Some(
                        text.parse().map_err(|_| undecodable(format!("sum {text:?}, expected an integer")))?,
                    )),
                    (Read::IntegerSumHalves, Value::Null) => {
                        next()?;
                        Aggregated::IntegerSum(None)
                    }
                    (Read::IntegerSumHalves, Value::I64(upper)) => match next()? {
                        Value::I64(lower) => {
                            Aggregated::IntegerSum(Some((i128::from(upper) << 32) + i128::from(lower)))
                        }
                        other => return Err(undecodable(format!("{other:?}, expected the lower half of a sum"))),
                    },
                    (Read::FloatSum, Value::F64(x)) => Aggregated::FloatSum(Some(x)),
                    (Read::FloatSum, Value::Null) => Aggregated::FloatSum(None),
                    (Read::Extreme, value) => Aggregated::Extreme(value),
                    (read, other) => return Err(undecodable(format!("{other:?}, expected {read:?}"))),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Group { keys, values: results })
    }
}
