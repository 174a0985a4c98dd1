//! [`Filter`]: the conditions of a query, before they are checked against a table.

use std::borrow::Cow;

use crate::value::Value;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A query condition. Build it typed through an entity's columns
/// (`User::columns().username.eq("ada")`) or, when the column is only known at run
/// time, through [`Filter::column`]; either way it is checked against the table before
/// any I/O.
///
/// ```
/// use plinth::Filter;
/// let f = Filter::column("age").ge(18).and(!Filter::column("name").like("adm%"));
/// assert!(matches!(f, Filter::And(ref parts) if parts.len() == 2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `column op value`
    Compare {
        /// The column's name.
        column: Cow<'static, str>,
        /// The operator.
        op: CompareOp,
        /// The value compared against.
        value: Value,
    },
    /// `column LIKE pattern` (see [`LikePattern`](crate::LikePattern)).
    Like {
        /// The column's name.
        column: Cow<'static, str>,
        /// The pattern.
        pattern: String,
    },
    /// `column IN (values…)`; an empty list matches nothing.
    In {
        /// The column's name.
        column: Cow<'static, str>,
        /// The values.
        values: Vec<Value>,
    },
    /// `column IS NULL`
    IsNull {
        /// The column's name.
        column: Cow<'static, str>,
    },
    /// `column IN (SELECT select_column FROM table WHERE filter)`, the subquery's
    /// `NULL`s left out: a filter through a relation (a semi-join), built by
    /// [`Column::matching`](crate::Column::matching) and
    /// [`Column::referred_by`](crate::Column::referred_by).
    InSelect {
        /// The column's name.
        column: Cow<'static, str>,
        /// The table the subquery reads.
        table: &'static crate::Table,
        /// The column of `table` it selects.
        select_column: Cow<'static, str>,
        /// Which rows of `table` it selects.
        filter: Box<Filter>,
    },
    /// All of these hold (an empty list always holds).
    And(Vec<Filter>),
    /// Any of these holds (an empty list never holds).
    Or(Vec<Filter>),
    /// This does not hold.
    Not(Box<Filter>),
}

impl Filter {
    /// A column named at run time, to build a filter on.
    pub fn column(name: impl Into<Cow<'static, str>>) -> DynColumn {
        DynColumn { name: name.into() }
    }

    /// Both this and `other` hold.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut parts) => {
                parts.push(other);
                Filter::And(parts)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// This or `other` holds.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut parts) => {
                parts.push(other);
                Filter::Or(parts)
            }
            first => Filter::Or(vec![first, other]),
        }
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    fn not(self) -> Filter {
        Filter::Not(Box::new(self))
    }
}

/// A column named at run time; its filters are type-checked when the query runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynColumn {
    name: Cow<'static, str>,
}

impl DynColumn {
    fn compare(self, op: CompareOp, value: impl Into<Value>) -> Filter {
        Filter::Compare { column: self.name, op, value: value.into() }
    }

    /// `column = value`
    pub fn eq(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Eq, value)
    }

    /// `column <> value`
    pub fn ne(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Ne, value)
    }

    /// `column < value`
    pub fn lt(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Lt, value)
    }

    /// `column <= value`
    pub fn le(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Le, value)
    }

    /// `column > value`
    pub fn gt(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Gt, value)
    }

    /// `column >= value`
    pub fn ge(self, value: impl Into<Value>) -> Filter {
        self.compare(CompareOp::Ge, value)
    }

    /// `column LIKE pattern`
    pub fn like(self, pattern: impl Into<String>) -> Filter {
        Filter::Like { column: self.name, pattern: pattern.into() }
    }

    /// `column IN (values…)`
    pub fn is_in<V: Into<Value>>(self, values: impl IntoIterator<Item = V>) -> Filter {
        Filter::In { column: self.name, values: values.into_iter().map(Into::into).collect() }
    }

    /// `column IS NULL`
    pub fn is_null(self) -> Filter {
        Filter::IsNull { column: self.name }
    }

    /// `column IS NOT NULL`
    pub fn is_not_null(self) -> Filter {
        !self.is_null()
    }
}
