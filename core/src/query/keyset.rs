//! Keyset pagination: the rows that come after a given row in a query's order, as one
//! filter, so the next page starts where the last one ended however many rows were
//! inserted or deleted before it meanwhile (an offset would shift).

use crate::error::Result;
use crate::query::{CompareOp, Direction, Filter, Order};
use crate::row::{Row, RowMeta};
use crate::table::{ColumnRef, Table};
use crate::value::Value;

/// Where a page ended: the last row's values and id and timestamps.
#[derive(Clone, Debug)]
pub(crate) struct Cursor {
    pub(crate) row: Row,
    pub(crate) meta: RowMeta,
}

impl Cursor {
    /// The filter that holds for exactly the rows after this one in `order` (then `id`
    /// ascending, the tie-breaker every query ends with), with the query's `NULL`
    /// order: last when ascending, first when descending. For keys `k1, k2` it is
    /// `after(k1) OR (k1 = v1 AND after(k2)) OR (k1 = v1 AND k2 = v2 AND id > v)`.
    pub(crate) fn rows_after(&self, table: &Table, order: &[Order]) -> Result<Filter> {
        let mut keys = Vec::with_capacity(order.len() + 1);
        for key in order {
            let (column, _) = table.resolve(&key.column)?;
            let nullable = matches!(column, ColumnRef::Field(i) if table.columns()[i].nullable());
            keys.push((key.column.clone(), key.direction, nullable, self.value(column)));
        }
        keys.push(("id".into(), Direction::Asc, false, Value::I64(self.meta.id)));
        let mut alternatives = Vec::with_capacity(keys.len());
        let mut equal_so_far: Vec<Filter> = Vec::with_capacity(keys.len());
        for (column, direction, nullable, value) in keys {
            let compare = |op| Filter::Compare { column: column.clone(), op, value: value.clone() };
            let is_null = Filter::IsNull { column: column.clone() };
            let after = match (direction, value.is_null()) {
                (Direction::Asc, false) if nullable => compare(CompareOp::Gt).or(is_null.clone()),
                (Direction::Asc, false) => compare(CompareOp::Gt),
                // Nothing sorts after NULL ascending, and everything else after it descending.
                (Direction::Asc, true) => Filter::Or(Vec::new()),
                (Direction::Desc, false) => compare(CompareOp::Lt),
                (Direction::Desc, true) => !is_null.clone(),
            };
            alternatives.push(Filter::And(equal_so_far.iter().cloned().chain([after]).collect()));
            equal_so_far.push(match value.is_null() {
                true => is_null,
                false => compare(CompareOp::Eq),
            });
        }
        Ok(Filter::Or(alternatives))
    }

    fn value(&self, column: ColumnRef) -> Value {
        match column {
            ColumnRef::Id => Value::I64(self.meta.id),
            ColumnRef::CreatedAt => Value::Timestamp(self.meta.created_at),
            ColumnRef::UpdatedAt => Value::Timestamp(self.meta.updated_at),
            ColumnRef::Field(i) => self.row.values().get(i).cloned().unwrap_or(Value::Null),
        }
    }
}
