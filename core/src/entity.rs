//! The [`Entity`] trait: a Rust struct that is stored as a table.

use crate::row::{Row, StoredFields};
use crate::table::Table;

/// A struct stored as a table, one row per value. Derive it; do not implement it by hand.
///
/// The table name is the type name lower-cased (the Unicode way) plus `s` — `User` →
/// `users`, `OrderItem` → `orderitems` — unless `#[entity(table = "…")]` names it.
/// `#[entity(unique)]` and `#[entity(index)]` on a field add a UNIQUE constraint or an
/// index; `#[entity(max_length = n)]` limits a text field to `n` characters (a longer
/// value is [`Error::InvalidValue`](crate::Error::InvalidValue) before any I/O);
/// `#[entity(column = "…")]` stores the field under another column name, which
/// filters, `to_dict` and errors then use. Every table also gets `id`, `created_at` and `updated_at`, which live on
/// [`Record`](crate::Record), so a field may not use those names.
///
/// The derive also generates `{Type}Columns`, a struct with one typed
/// [`Column`](crate::Column) per column, which queries use so that a misspelled column
/// or a value of the wrong type is a compile error.
///
/// ```
/// use plinth::{Entity, ColumnType};
///
/// #[derive(Entity, Clone, Debug, PartialEq)]
/// pub struct OrderItem {
///     #[entity(unique)]
///     pub sku: String,
///     pub quantity: i32,
///     pub note: Option<String>,
/// }
///
/// let table = OrderItem::table();
/// assert_eq!(table.name(), "orderitems");
/// let names: Vec<_> = table.columns().iter().map(|c| c.name()).collect();
/// assert_eq!(names, ["sku", "quantity", "note"]);
/// assert_eq!(table.columns()[1].ty(), ColumnType::I32);
/// assert!(table.columns()[0].is_unique() && table.columns()[2].nullable());
/// ```
///
/// What cannot be stored does not compile:
///
/// ```compile_fail
/// #[derive(plinth::Entity)]
/// struct Bad {
///     id: i64, // `id` is given to every row; rename the field
/// }
/// ```
pub trait Entity: Sized + crate::backend::SendOutsideWasm + 'static {
    /// The typed columns, for queries: `User::columns().username.eq("alice")`.
    type Columns: Copy;

    /// The table's name, as [`table`](Entity::table)`().name()` gives it.
    const TABLE_NAME: &'static str;

    /// The table this entity is stored in.
    fn table() -> &'static Table;

    /// The typed columns of this entity's table, `id` and the timestamps included.
    fn columns() -> Self::Columns;

    /// The entity's fields as a row, in column order.
    fn to_row(&self) -> Row;

    /// The entity back from a stored row's fields, each taken in column order and
    /// checked as it is decoded — a value no backend could have been given through
    /// Plinth or past its column's length limit (see
    /// [`Table::check_stored`](crate::Table::check_stored)), `NULL` in a non-null
    /// column, a value of another type — or which column did not fit. A SQL backend
    /// hands over the driver's row itself, so its values go straight into the entity.
    fn from_fields(fields: &mut dyn StoredFields) -> Result<Self, DecodeError>;

    /// The entity back from a row, checked as [`from_fields`](Entity::from_fields)
    /// checks it, or which column did not fit.
    fn from_row(mut row: Row) -> Result<Self, DecodeError> {
        Self::from_fields(&mut row)
    }
}

/// A stored row that does not fit its entity: which column, and what was found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The column that did not fit; `None` when the row has the wrong number of values.
    pub column: Option<&'static str>,
    /// What was found, rendered for a person.
    pub found: String,
}
