//! [`Id`]: a record's id, typed by the entity it belongs to.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use crate::entity::Entity;
use crate::field::{Comparable, Field, Ordered};
use crate::value::{ColumnType, Value};

/// The id of a row of `E`'s table: an `i64` underneath (serialised as a number), typed
/// so that a note's id cannot be passed where a user's is expected.
///
/// [`Record::id`](crate::Record::id) gives one; an `i64` from elsewhere (a URL, a form)
/// becomes one with [`Id::new`] or `.into()`. A field of type `Id<P>` (or
/// `Option<Id<P>>`) is a reference to a row of `P`: see [`Entity`]'s
/// `#[entity(on_delete = …)]`.
///
/// ```
/// use plinth::{Entity, Id};
///
/// #[derive(Entity, Clone, Debug)]
/// pub struct User { pub username: String }
///
/// let id: Id<User> = Id::new(7);
/// assert_eq!(id.get(), 7);
/// assert_eq!(id, 7);
/// assert_eq!(serde_json::to_string(&id)?, "7");
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Ids of different entities do not mix:
///
/// ```compile_fail
/// # use plinth::{Entity, Id};
/// # #[derive(Entity, Clone, Debug)] pub struct User { pub username: String }
/// # #[derive(Entity, Clone, Debug)] pub struct Note { pub text: String }
/// # async fn f(session: &mut plinth::Session, note: plinth::Record<Note>) -> plinth::Result<()> {
/// session.get::<User>(note.id()).await?;
/// # Ok(()) }
/// ```
pub struct Id<E> {
    value: i64,
    entity: PhantomData<fn() -> E>,
}

impl<E> Id<E> {
    /// The id `value` of a row of `E`'s table.
    pub const fn new(value: i64) -> Self {
        Id { value, entity: PhantomData }
    }

    /// The id as a number.
    pub const fn get(self) -> i64 {
        self.value
    }
}

impl<E> Clone for Id<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Id<E> {}

impl<E> PartialEq for Id<E> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<E> Eq for Id<E> {}

impl<E> PartialEq<i64> for Id<E> {
    fn eq(&self, other: &i64) -> bool {
        self.value == *other
    }
}

impl<E> PartialEq<Id<E>> for i64 {
    fn eq(&self, other: &Id<E>) -> bool {
        *self == other.value
    }
}

impl<E> PartialOrd for Id<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Id<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<E> Hash for Id<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<E> fmt::Debug for Id<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl<E> fmt::Display for Id<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl<E> From<i64> for Id<E> {
    fn from(value: i64) -> Self {
        Id::new(value)
    }
}

impl<E> From<Id<E>> for i64 {
    fn from(id: Id<E>) -> Self {
        id.value
    }
}

impl<E> serde::Serialize for Id<E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.value)
    }
}

impl<'de, E> serde::Deserialize<'de> for Id<E> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(Id::new)
    }
}

/// A reference column: stored as an `i64` holding the id of a row of `E`'s table.
impl<E: Entity> Field for Id<E> {
    const TYPE: ColumnType = ColumnType::I64;
    const NULLABLE: bool = false;
    const REFERENCES: Option<&'static str> = Some(E::TABLE_NAME);
    type Scalar = Id<E>;

    fn to_value(&self) -> Value {
        Value::I64(self.value)
    }

    fn from_value(value: Value) -> Result<Self, Value> {
        match value {
            Value::I64(v) => Ok(Id::new(v)),
            other => Err(other),
        }
    }

    fn expected() -> String {
        format!("{} (the id of a row of `{}`)", ColumnType::I64, E::TABLE_NAME)
    }
}

impl<E: Entity> Comparable for Id<E> {}
impl<E: Entity> Ordered for Id<E> {}
