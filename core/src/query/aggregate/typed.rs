//! What users build: [`Aggregate`]s from typed columns, tuples of them
//! ([`Aggregates`]), and grouping columns ([`GroupKeys`]); their results come back as
//! Rust types.

use std::fmt;

use crate::field::{Comparable, Field, Ordered};
use crate::query::Column;
use crate::value::Value;

use super::Aggregated;

/// What an aggregate of one column computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggregateOp {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

/// One aggregate expression, by column name, before it is checked against a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateExpr(pub(crate) Expr);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `count(*)`.
    CountRows,
    /// `op(column)`.
    Of(AggregateOp, &'static str),
}

/// One expression's result, from which its [`Aggregate`] reads its Rust value.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed(pub(crate) ComputedValue);

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ComputedValue {
    /// A backend's result for a function.
    Function(Aggregated),
    /// An average: the sum over the count.
    Average(Option<f64>),
}

/// An aggregate over a query's rows whose result is a `T`: [`count()`], or a column's
/// [`count`](Column::count), [`sum`](Column::sum), [`avg`](Column::avg),
/// [`min`](Column::min) or [`max`](Column::max). Pass it, or a tuple of up to six, to
/// [`Query::aggregate`](crate::Query::aggregate) or
/// [`Grouped::aggregate`](crate::Grouped::aggregate).
///
/// Results follow SQL: `count` is `0` over no rows, `sum`, `avg`, `min` and `max` are
/// `None` when no row has a value, and `NULL`s are left out. Integer sums are exact
/// (`i128`, so they never overflow), float sums are `f64`; `avg` is that sum divided
/// by the count of values, rounded once, so every backend gives the same `f64`.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug)]
/// # pub struct Note { pub stars: Option<i32>, pub title: String }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let db = plinth::memory();
/// # db.create_all(&[Note::table()]).await?;
/// # let mut session = db.session().await?;
/// # session.add_all([(Some(3), "b"), (None, "a"), (Some(4), "c")].map(|(stars, t)| Note { stars, title: t.into() })).await?;
/// use plinth::count;
///
/// let (notes, rated, total, mean, first) = session
///     .query::<Note>()
///     .aggregate(|c| (count(), c.stars.count(), c.stars.sum(), c.stars.avg(), c.title.min()))
///     .await?;
/// assert_eq!((notes, rated, total, mean, first.as_deref()), (3, 2, Some(7), Some(3.5), Some("a")));
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Aggregate<T> {
    expr: AggregateExpr,
    decode: fn(Computed) -> Result<T, String>,
}

impl<T> Clone for Aggregate<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Aggregate<T> {}

impl<T> fmt::Debug for Aggregate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Aggregate").field(&self.expr.0).finish()
    }
}

/// `count(*)`: how many rows the query (or the group) has.
pub fn count() -> Aggregate<u64> {
    Aggregate { expr: AggregateExpr(Expr::CountRows), decode: decode_count }
}

fn decode_count(computed: Computed) -> Result<u64, String> {
    match computed.0 {
        ComputedValue::Function(Aggregated::Count(n)) => Ok(n),
        other => Err(format!("{other:?}, expected a count")),
    }
}

fn decode_average(computed: Computed) -> Result<Option<f64>, String> {
    match computed.0 {
        ComputedValue::Average(average) => Ok(average),
        other => Err(format!("{other:?}, expected an average")),
    }
}

fn decode_extreme<S: Field>(computed: Computed) -> Result<Option<S>, String> {
    match computed.0 {
        ComputedValue::Function(Aggregated::Extreme(Value::Null)) => Ok(None),
        ComputedValue::Function(Aggregated::Extreme(value)) => {
            S::from_value(value).map(Some).map_err(|found| format!("{found:?}, expected {}", S::expected()))
        }
        other => Err(format!("{other:?}, expected {}", S::expected())),
    }
}

fn decode_sum<S: SumValue>(computed: Computed) -> Result<Option<S>, String> {
    match computed.0 {
        ComputedValue::Function(aggregated) => S::from_aggregated(aggregated),
        other => Err(format!("{other:?}, expected a sum")),
    }
}

impl<E, T: Field> Column<E, T> {
    fn aggregate<R>(self, op: AggregateOp, decode: fn(Computed) -> Result<R, String>) -> Aggregate<R> {
        Aggregate { expr: AggregateExpr(Expr::Of(op, self.name())), decode }
    }

    /// `count(column)`: how many rows have a value (not `NULL`) in this column.
    pub fn count(self) -> Aggregate<u64> {
        self.aggregate(AggregateOp::Count, decode_count)
    }
}

impl<E, T: Summable> Column<E, T> {
    /// `sum(column)`: exact for integer columns (an `i128`), an `f64` for float
    /// columns; `None` when no row has a value.
    pub fn sum(self) -> Aggregate<Option<T::Sum>> {
        self.aggregate(AggregateOp::Sum, decode_sum::<T::Sum>)
    }

    /// `avg(column)`: the sum of the values divided by their count, as an `f64`;
    /// `None` when no row has a value.
    pub fn avg(self) -> Aggregate<Option<f64>> {
        self.aggregate(AggregateOp::Avg, decode_average)
    }
}

impl<E, T: Field> Column<E, T>
where
    T::Scalar: Ordered,
{
    /// `min(column)`: the smallest value, in the order `order_by` uses (text by UTF-8
    /// bytes); `None` when no row has a value.
    pub fn min(self) -> Aggregate<Option<T::Scalar>> {
        self.aggregate(AggregateOp::Min, decode_extreme::<T::Scalar>)
    }

    /// `max(column)`: the largest value, as [`min`](Column::min).
    pub fn max(self) -> Aggregate<Option<T::Scalar>> {
        self.aggregate(AggregateOp::Max, decode_extreme::<T::Scalar>)
    }
}

/// A numeric field type, which [`Column::sum`] and [`Column::avg`] take: the integers
/// sum to `i128`, the floats to `f64`, and `Option`s as their inner type.
pub trait Summable: Field {
    /// What its sum is.
    type Sum: SumValue;
}

/// The type of a sum: `i128` or `f64`.
pub trait SumValue: Sized + sealed::Sealed {
    /// The sum from what the backend computed.
    #[doc(hidden)]
    fn from_aggregated(aggregated: Aggregated) -> Result<Option<Self>, String>;
}

impl SumValue for i128 {
    fn from_aggregated(aggregated: Aggregated) -> Result<Option<Self>, String> {
        match aggregated {
            Aggregated::IntegerSum(sum) => Ok(sum),
            other => Err(format!("{other:?}, expected an integer sum")),
        }
    }
}

impl SumValue for f64 {
    fn from_aggregated(aggregated: Aggregated) -> Result<Option<Self>, String> {
        match aggregated {
            Aggregated::FloatSum(sum) => Ok(sum),
            other => Err(format!("{other:?}, expected a float sum")),
        }
    }
}

macro_rules! summable {
    ($sum:ty: $($ty:ty),*) => {$(
        impl Summable for $ty {
            type Sum = $sum;
        }
    )*};
}

summable!(i128: i16, i32, i64, u8, u16, u32);
summable!(f64: f32, f64);

impl<T: Summable + Field<Scalar = T>> Summable for Option<T> {
    type Sum = T::Sum;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for i128 {}
    impl Sealed for f64 {}
    impl<T> Sealed for super::Aggregate<T> {}
    impl<E, T> Sealed for crate::query::Column<E, T> {}
    macro_rules! tuples {
        ($(($($name:ident),+)),*) => {$(
            impl<$($name: Sealed),+> Sealed for ($($name,)+) {}
        )*};
    }
    tuples!((A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, F), (A, B, C, D, F, G));
}

/// One [`Aggregate`] or a tuple of up to six: what
/// [`Query::aggregate`](crate::Query::aggregate) computes, each result as its Rust type.
pub trait Aggregates: sealed::Sealed {
    /// The results: `T` for an `Aggregate<T>`, a tuple of them for a tuple.
    type Output;

    /// Appends the expressions, in order.
    #[doc(hidden)]
    fn exprs(&self, into: &mut Vec<AggregateExpr>);

    /// Reads the results of [`exprs`](Aggregates::exprs), in order.
    #[doc(hidden)]
    fn decode(&self, results: &mut std::vec::IntoIter<Computed>) -> Result<Self::Output, String>;
}

impl<T> Aggregates for Aggregate<T> {
    type Output = T;

    fn exprs(&self, into: &mut Vec<AggregateExpr>) {
        into.push(self.expr);
    }

    fn decode(&self, results: &mut std::vec::IntoIter<Computed>) -> Result<T, String> {
        let computed = results.next().ok_or_else(|| "no result".to_owned())?;
        (self.decode)(computed)
    }
}

/// The grouping columns of [`Query::group_by`](crate::Query::group_by): one column
/// (any type but JSON) or a tuple of up to four; each group's keys come back as the
/// columns' field types.
pub trait GroupKeys: sealed::Sealed {
    /// The keys of one group: `T` for a `Column<E, T>`, a tuple of them for a tuple.
    type Output;

    /// Appends the columns' names, in order.
    #[doc(hidden)]
    fn names(&self, into: &mut Vec<&'static str>);

    /// Reads one group's key values, in order.
    #[doc(hidden)]
    fn decode(values: &mut std::vec::IntoIter<Value>) -> Result<Self::Output, String>;
}

impl<E, T: Field> GroupKeys for Column<E, T>
where
    T::Scalar: Comparable,
{
    type Output = T;

    fn names(&self, into: &mut Vec<&'static str>) {
        into.push(self.name());
    }

    fn decode(values: &mut std::vec::IntoIter<Value>) -> Result<T, String> {
        let value = values.next().ok_or_else(|| "no key".to_owned())?;
        T::from_value(value).map_err(|found| format!("{found:?}, expected {}", T::expected()))
    }
}

/// No key: the one group of every matching row.
impl GroupKeys for () {
    type Output = ();

    fn names(&self, _: &mut Vec<&'static str>) {}

    fn decode(_: &mut std::vec::IntoIter<Value>) -> Result<(), String> {
        Ok(())
    }
}

macro_rules! tuples {
    ($(($($name:ident $index:tt),+)),*) => {$(
        impl<$($name: Aggregates),+> Aggregates for ($($name,)+) {
            type Output = ($($name::Output,)+);

            fn exprs(&self, into: &mut Vec<AggregateExpr>) {
                $(self.$index.exprs(into);)+
            }

            fn decode(&self, results: &mut std::vec::IntoIter<Computed>) -> Result<Self::Output, String> {
                Ok(($(self.$index.decode(results)?,)+))
            }
        }
    )*};
}

tuples!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, F 4),
    (A 0, B 1, C 2, D 3, F 4, G 5)
);

macro_rules! key_tuples {
    ($(($($name:ident $index:tt),+)),*) => {$(
        impl<$($name: GroupKeys),+> GroupKeys for ($($name,)+) {
            type Output = ($($name::Output,)+);

            fn names(&self, into: &mut Vec<&'static str>) {
                $(self.$index.names(into);)+
            }

            fn decode(values: &mut std::vec::IntoIter<Value>) -> Result<Self::Output, String> {
                Ok(($($name::decode(values)?,)+))
            }
        }
    )*};
}

key_tuples!((A 0), (A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3));
