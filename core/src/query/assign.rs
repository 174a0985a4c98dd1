//! What a bulk update sets: [`Assignment`]s from typed columns ([`Column::set`]), one
//! or a tuple of them ([`Assignments`]), checked against the table before any I/O.

use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::field::Field;
use crate::query::Column;
use crate::row::Row;
use crate::table::{ColumnRef, Table};
use crate::value::Value;

/// `column = value` in a bulk update of entity `E`'s rows, from [`Column::set`]; pass
/// one, or a tuple of up to six, to [`Query::update`](crate::Query::update).
pub struct Assignment<E> {
    column: &'static str,
    value: Value,
    _entity: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Assignment<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assignment").field("column", &self.column).field("value", &self.value).finish()
    }
}

impl<E, T: Field> Column<E, T> {
    /// Sets this column to `value` in every row a [`Query::update`](crate::Query::update)
    /// matches. The value has the field's own type (`Some(3)` or `3` for an
    /// `Option<i32>`, `None` to clear it) and is checked as a field of a written entity
    /// would be. `id`, `created_at` and `updated_at` are Plinth's and cannot be set.
    pub fn set(self, value: impl Into<T>) -> Assignment<E> {
        Assignment { column: self.name(), value: value.into().to_value(), _entity: PhantomData }
    }
}

mod sealed {
    pub trait Sealed<E> {}
}

/// What [`Query::update`](crate::Query::update) takes: one [`Assignment`], a tuple of up
/// to six, or a `Vec` of them. Sealed.
pub trait Assignments<E>: sealed::Sealed<E> {
    /// Appends the assignments, in order.
    #[doc(hidden)]
    fn push_into(self, out: &mut Vec<Assignment<E>>);
}

impl<E> sealed::Sealed<E> for Assignment<E> {}
impl<E> Assignments<E> for Assignment<E> {
    fn push_into(self, out: &mut Vec<Assignment<E>>) {
        out.push(self);
    }
}

impl<E> sealed::Sealed<E> for Vec<Assignment<E>> {}
impl<E> Assignments<E> for Vec<Assignment<E>> {
    fn push_into(self, out: &mut Vec<Assignment<E>>) {
        out.extend(self);
    }
}

/// `Assignment<E>`, once per name it is given: the element type of the tuples below.
macro_rules! assignment_of {
    ($name:ident) => { Assignment<E> };
}

macro_rules! tuples {
    ($($name:ident),+) => {
        impl<E> sealed::Sealed<E> for ($(assignment_of!($name),)+) {}
        impl<E> Assignments<E> for ($(assignment_of!($name),)+) {
            #[allow(non_snake_case)]
            fn push_into(self, out: &mut Vec<Assignment<E>>) {
                let ($($name,)+) = self;
                $(out.push($name);)+
            }
        }
    };
}

tuples!(A);
tuples!(A, B);
tuples!(A, B, C);
tuples!(A, B, C, D);
tuples!(A, B, C, D, F);
tuples!(A, B, C, D, F, G);

/// Assignments resolved against a table: which field each sets, and to what.
#[derive(Debug)]
pub(crate) struct BoundAssignments(Vec<(usize, Value)>);

impl BoundAssignments {
    /// Resolves `assignments` against `table`: each names a field of it (not `id` or a
    /// timestamp), at most once, with a value its column takes (as
    /// [`Table::check_row`] checks a field), and there is at least one.
    pub(crate) fn bind<E>(table: &'static Table, assignments: Vec<Assignment<E>>) -> Result<Self> {
        if assignments.is_empty() {
            let reason = "an update sets at least one column".to_owned();
            return Err(Error::InvalidValue { table: table.name(), column: None, reason });
        }
        let mut bound: Vec<(usize, Value)> = Vec::with_capacity(assignments.len());
        for Assignment { column, value, .. } in assignments {
            let invalid = |reason: &str| Error::InvalidValue {
                table: table.name(),
                column: Some(column),
                reason: reason.to_owned(),
            };
            let ColumnRef::Field(index) = table.resolve(column)?.0 else {
                return Err(invalid("id, created_at and updated_at are set by Plinth, never by an update"));
            };
            if bound.iter().any(|(i, _)| *i == index) {
                return Err(invalid("the update sets this column twice"));
            }
            table.check_value(&table.columns()[index], &value)?;
            bound.push((index, value));
        }
        Ok(BoundAssignments(bound))
    }

    /// `row` with the assignments applied.
    pub(crate) fn apply(&self, row: Row) -> Row {
        let mut values = row.into_values();
        for (index, value) in &self.0 {
            if let Some(slot) = values.get_mut(*index) {
                slot.clone_from(value);
            }
        }
        Row::new(values)
    }
}
