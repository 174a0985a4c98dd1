//! [`Order`]: one sort key of a query.

use std::borrow::Cow;

/// Ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first; `NULL`s last.
    Asc,
    /// Largest first; `NULL`s first.
    Desc,
}

/// A sort key: a column and a direction. Build it typed (`User::columns().username.asc()`)
/// or by name (`Order::desc("created_at")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The column's name.
    pub column: Cow<'static, str>,
    /// The direction.
    pub direction: Direction,
}

impl Order {
    /// Ascending on `column`.
    pub fn asc(column: impl Into<Cow<'static, str>>) -> Self {
        Order { column: column.into(), direction: Direction::Asc }
    }

    /// Descending on `column`.
    pub fn desc(column: impl Into<Cow<'static, str>>) -> Self {
        Order { column: column.into(), direction: Direction::Desc }
    }
}
