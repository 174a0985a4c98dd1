//! Rows: what backends store and return, in column order. User code never sees them.

use chrono::{DateTime, Utc};

use crate::value::{ColumnType, Value};

/// An entity's field values in column order, without `id` and the timestamps.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(Vec<crate::Value>);

impl Row {
    /// A row from values in column order.
    pub fn new(values: Vec<crate::Value>) -> Self {
        Row(values)
    }

    /// The values in column order.
    pub fn values(&self) -> &[crate::Value] {
        &self.0
    }

    /// The values, to change in place (the record engine's migrations).
    pub(crate) fn values_mut(&mut self) -> &mut Vec<crate::Value> {
        &mut self.0
    }

    /// Takes the values out.
    pub fn into_values(self) -> Vec<crate::Value> {
        self.0
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the row has no values (an entity without fields).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A stored row's field values as a backend reads them, one at a time, for
/// [`Entity::from_fields`](crate::Entity::from_fields) to decode straight into the entity:
/// a SQL backend reads each value off the driver's row when it is asked for it, so no
/// [`Row`] is built in between. A [`Row`] is one too, for the backends that hold rows as
/// values.
pub trait StoredFields {
    /// How many field values the row holds (the system columns left out).
    fn len(&self) -> usize;

    /// Whether the row holds no field values.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field `index` (in column order), read as column type `ty` (`NULL` as
    /// [`Value::Null`]), or, in words, what the storage held there instead. Each field is
    /// taken once.
    fn take(&mut self, index: usize, ty: ColumnType) -> Result<Value, String>;
}

impl StoredFields for Row {
    fn len(&self) -> usize {
        self.0.len()
    }

    /// The value itself, whatever its type (the entity checks it), left as `NULL` in the row.
    fn take(&mut self, index: usize, _ty: ColumnType) -> Result<Value, String> {
        match self.0.get_mut(index) {
            Some(value) => Ok(std::mem::replace(value, Value::Null)),
            None => Err("no value (the row is too short)".to_owned()),
        }
    }
}

/// What a backend assigns when it writes a row: its id and timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowMeta {
    /// The primary key.
    pub id: i64,
    /// When the row was inserted (UTC, microseconds).
    pub created_at: DateTime<Utc>,
    /// When the row was last written (UTC, microseconds).
    pub updated_at: DateTime<Utc>,
}

/// A stored row: its id and timestamps plus the field values.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRow {
    /// Id and timestamps.
    pub meta: RowMeta,
    /// The field values in column order.
    pub row: Row,
}

/// One row of [`Transaction::update_many`](crate::backend::Transaction::update_many):
/// the row to write, which version of it the caller read, and its new values.
#[derive(Clone, Debug, PartialEq)]
pub struct RowUpdate {
    /// The row's id.
    pub id: i64,
    /// The `updated_at` the caller read: the update is refused if the row moved since.
    pub seen: DateTime<Utc>,
    /// The new field values, checked with [`Table::check_row`](crate::Table::check_row).
    pub row: Row,
}
