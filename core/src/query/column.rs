//! [`Column`]: a typed column of an entity, so filters are checked by the compiler.

use std::fmt;
use std::marker::PhantomData;

use crate::entity::Entity;
use crate::field::{Comparable, Field, Nullable, Ordered};
use crate::id::Id;
use crate::query::{CompareOp, Filter, Order};
use crate::relations::RefersTo;

/// A column of entity `E` holding `T`. `#[derive(Entity)]` generates one per column in
/// `{Type}Columns`; a misspelled column is then an unknown field, and a value of the
/// wrong type does not convert, both at compile time.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug)]
/// # pub struct User { pub username: String, pub age: Option<i32> }
/// let c = User::columns();
/// let adults_named_a = c.age.ge(18).and(c.username.like("a%"));
/// let youngest_first = c.age.asc();
/// # let _ = (adults_named_a, youngest_first);
/// ```
///
/// ```compile_fail
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug)]
/// # pub struct User { pub username: String, pub age: Option<i32> }
/// let wrong_type = User::columns().age.eq("eighteen");
/// ```
pub struct Column<E, T> {
    name: &'static str,
    _marker: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Column<E, T> {
    /// The column named `name`; the derive makes these.
    pub const fn new(name: &'static str) -> Self {
        Column { name, _marker: PhantomData }
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<E, T> Clone for Column<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, T> Copy for Column<E, T> {}

impl<E, T> fmt::Debug for Column<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}

impl<E, T: Field> Column<E, T>
where
    T::Scalar: Comparable,
{
    fn compare(self, op: CompareOp, value: impl Into<T::Scalar>) -> Filter {
        Filter::Compare { column: self.name.into(), op, value: value.into().to_value() }
    }

    /// `column = value`
    pub fn eq(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Eq, value)
    }

    /// `column <> value` (rows where the column is `NULL` do not match)
    pub fn ne(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Ne, value)
    }

    /// `column IN (values…)`; an empty list matches nothing.
    pub fn is_in<V: Into<T::Scalar>>(self, values: impl IntoIterator<Item = V>) -> Filter {
        let values = values.into_iter().map(|v| v.into().to_value()).collect();
        Filter::In { column: self.name.into(), values }
    }
}

impl<E, T: RefersTo> Column<E, T> {
    /// Rows whose reference in this column points at a parent matching `filter` (a
    /// semi-join: `column IN (SELECT id FROM parents WHERE …)` on SQL, the same rows on
    /// every backend). A `NULL` reference never matches; negated (`!`), it follows SQL's
    /// `NOT IN`: unknown, so not matched, while some parent matches `filter`, and matched
    /// when none does. Add `is_not_null()` to leave such rows out either way.
    ///
    /// ```
    /// # use plinth::{Entity, Id};
    /// # #[derive(Entity, Clone, Debug)] pub struct User { pub username: String }
    /// # #[derive(Entity, Clone, Debug)] pub struct Note { pub author: Id<User>, pub text: String }
    /// // Notes whose author's username starts with "a".
    /// let by_a = Note::columns().author.matching(|user| user.username.like("a%"));
    /// # let _ = by_a;
    /// ```
    pub fn matching(self, filter: impl FnOnce(<T::Parent as Entity>::Columns) -> Filter) -> Filter {
        Filter::InSelect {
            column: self.name.into(),
            table: T::Parent::table(),
            select_column: "id".into(),
            filter: Box::new(filter(T::Parent::columns())),
        }
    }
}

impl<P: Entity> Column<P, Id<P>> {
    /// Rows that at least one row of `C` matching `filter` refers to through `column`
    /// (`id IN (SELECT column FROM children WHERE …)`): "users with a note about x".
    ///
    /// ```
    /// # use plinth::{Entity, Id};
    /// # #[derive(Entity, Clone, Debug)] pub struct User { pub username: String }
    /// # #[derive(Entity, Clone, Debug)] pub struct Note { pub author: Id<User>, pub text: String }
    /// let with_a_draft = User::columns().id.referred_by(Note::columns().author, |note| note.text.eq("draft"));
    /// # let _ = with_a_draft;
    /// ```
    pub fn referred_by<C: Entity, T: RefersTo<Parent = P>>(
        self,
        column: Column<C, T>,
        filter: impl FnOnce(C::Columns) -> Filter,
    ) -> Filter {
        Filter::InSelect {
            column: self.name.into(),
            table: C::table(),
            select_column: column.name.into(),
            filter: Box::new(filter(C::columns())),
        }
    }
}

impl<E, T: Field> Column<E, T>
where
    T::Scalar: Ordered,
{
    /// `column < value`
    pub fn lt(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Lt, value)
    }

    /// `column <= value`
    pub fn le(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Le, value)
    }

    /// `column > value`
    pub fn gt(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Gt, value)
    }

    /// `column >= value`
    pub fn ge(self, value: impl Into<T::Scalar>) -> Filter {
        self.compare(CompareOp::Ge, value)
    }

    /// Sort ascending on this column (`NULL`s last).
    pub fn asc(self) -> Order {
        Order::asc(self.name)
    }

    /// Sort descending on this column (`NULL`s first).
    pub fn desc(self) -> Order {
        Order::desc(self.name)
    }
}

impl<E, T: Field<Scalar = String>> Column<E, T> {
    /// `column LIKE pattern`: case-sensitive, `%` any run, `_` one character, `\` escapes.
    pub fn like(self, pattern: impl Into<String>) -> Filter {
        Filter::Like { column: self.name.into(), pattern: pattern.into() }
    }
}

impl<E, T: Nullable> Column<E, T> {
    /// `column IS NULL`
    pub fn is_null(self) -> Filter {
        Filter::IsNull { column: self.name.into() }
    }

    /// `column IS NOT NULL`
    pub fn is_not_null(self) -> Filter {
        !self.is_null()
    }
}
