//! Table metadata: a table's name and its columns in declaration order.

use chrono::Datelike;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::{ColumnType, Value};

/// One entity field's column: name, type, nullability and constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    name: &'static str,
    ty: ColumnType,
    nullable: bool,
    unique: bool,
    indexed: bool,
}

impl ColumnDef {
    /// A plain column; `#[derive(Entity)]` builds these.
    pub const fn new(name: &'static str, ty: ColumnType, nullable: bool) -> Self {
        ColumnDef { name, ty, nullable, unique: false, indexed: false }
    }

    /// The same column with a UNIQUE constraint.
    pub const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// The same column with a (non-unique) index.
    pub const fn indexed(mut self) -> Self {
        self.indexed = true;
        self
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The column's type.
    pub fn ty(&self) -> ColumnType {
        self.ty
    }

    /// Whether `NULL` is allowed.
    pub fn nullable(&self) -> bool {
        self.nullable
    }

    /// Whether the column has a UNIQUE constraint.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// Whether the column has a non-unique index.
    pub fn is_indexed(&self) -> bool {
        self.indexed
    }
}

/// A column as a query names it: one of the three every table has, or an entity field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRef {
    /// `id`
    Id,
    /// `created_at`
    CreatedAt,
    /// `updated_at`
    UpdatedAt,
    /// The entity field at this position in [`Table::columns`].
    Field(usize),
}

/// A table: its name and its entity columns in declaration order.
///
/// Every table also has `id` (an `i64` primary key), `created_at` and `updated_at`
/// (UTC timestamps); those are not in [`columns`](Table::columns).
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    name: &'static str,
    columns: &'static [ColumnDef],
}

impl Table {
    /// The names every table has besides its entity's fields.
    pub const SYSTEM_COLUMNS: [&'static str; 3] = ["id", "created_at", "updated_at"];

    /// A table; `#[derive(Entity)]` builds these as statics.
    pub const fn new(name: &'static str, columns: &'static [ColumnDef]) -> Self {
        Table { name, columns }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The entity columns, in declaration order.
    pub fn columns(&self) -> &'static [ColumnDef] {
        self.columns
    }

    /// Checks that every column has a name of its own, none of them a system column's.
    /// `#[derive(Entity)]` makes sure of it; a `Table` built by hand might not, and a
    /// repeated name would be ambiguous in queries and stored rows alike, so
    /// [`Database::create_all`](crate::Database::create_all) refuses such a table with
    /// [`Error::SchemaMismatch`].
    pub fn check_names(&self) -> Result<()> {
        for (i, column) in self.columns.iter().enumerate() {
            let repeated = self.columns[..i].iter().any(|c| c.name == column.name);
            if repeated || Self::SYSTEM_COLUMNS.contains(&column.name) {
                return Err(Error::SchemaMismatch {
                    table: self.name.to_owned(),
                    detail: format!(
                        "column `{}` is named twice (every table also has `id`, `created_at` and `updated_at`)",
                        column.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// Finds a column by name, system columns included.
    pub fn resolve(&self, column: &str) -> Result<(ColumnRef, ColumnType)> {
        match column {
            "id" => Ok((ColumnRef::Id, ColumnType::I64)),
            "created_at" => Ok((ColumnRef::CreatedAt, ColumnType::Timestamp)),
            "updated_at" => Ok((ColumnRef::UpdatedAt, ColumnType::Timestamp)),
            name => self
                .columns
                .iter()
                .position(|c| c.name == name)
                .map(|i| (ColumnRef::Field(i), self.columns[i].ty))
                .ok_or_else(|| Error::UnknownColumn { table: self.name.to_owned(), column: name.to_owned() }),
        }
    }

    /// The name of a resolved column.
    pub fn column_name(&self, column: ColumnRef) -> &'static str {
        match column {
            ColumnRef::Id => "id",
            ColumnRef::CreatedAt => "created_at",
            ColumnRef::UpdatedAt => "updated_at",
            ColumnRef::Field(i) => self.columns[i].name,
        }
    }

    /// Checks, before any I/O, that `row` fits this table and holds only values every
    /// backend stores exactly.
    pub fn check_row(&self, row: &Row) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::InvalidValue {
                table: self.name.to_owned(),
                column: "*".to_owned(),
                reason: format!("expected {} values, got {}", self.columns.len(), row.len()),
            });
        }
        for (column, value) in self.columns.iter().zip(row.values()) {
            match value.column_type() {
                None if column.nullable => {}
                Some(ty) if ty == column.ty => self.check_storable(column.name, value)?,
                _ => {
                    return Err(Error::TypeMismatch {
                        table: self.name.to_owned(),
                        column: column.name.to_owned(),
                        expected: column.ty,
                        found: value.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Checks that a value can be stored and compared exactly on every backend: finite
    /// floats, text without NUL characters, dates and timestamps in years 1 to 9999.
    pub fn check_storable(&self, column: &str, value: &Value) -> Result<()> {
        let refuse = |reason: &str| {
            Err(Error::InvalidValue {
                table: self.name.to_owned(),
                column: column.to_owned(),
                reason: reason.to_owned(),
            })
        };
        const NON_FINITE: &str = "NaN and infinite floats cannot be stored (SQLite turns NaN into NULL and JSON has no form for them); store a finite number or use an Option";
        const NUL: &str = "text with a NUL character (\\0) cannot be stored (PostgreSQL refuses it); remove it or store the data as Vec<u8>";
        const YEARS: &str = "dates and timestamps must lie in the years 1 to 9999";
        match value {
            Value::F32(x) if !x.is_finite() => refuse(NON_FINITE),
            Value::F64(x) if !x.is_finite() => refuse(NON_FINITE),
            Value::Text(s) if s.contains('\0') => refuse(NUL),
            Value::Json(doc) if json_has_nul(doc) => refuse(NUL),
            Value::Date(d) if !(1..=9999).contains(&d.year()) => refuse(YEARS),
            Value::Timestamp(t) if !(1..=9999).contains(&t.year()) => refuse(YEARS),
            _ => Ok(()),
        }
    }
}

fn json_has_nul(doc: &serde_json::Value) -> bool {
    match doc {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static COLUMNS: [ColumnDef; 2] =
        [ColumnDef::new("name", ColumnType::Text, false).unique(), ColumnDef::new("score", ColumnType::F64, true)];
    static PEOPLE: Table = Table::new("people", &COLUMNS);

    #[test]
    fn a_column_named_twice_or_like_a_system_column_is_refused() {
        assert!(PEOPLE.check_names().is_ok());
        static TWICE: [ColumnDef; 2] =
            [ColumnDef::new("x", ColumnType::Text, false), ColumnDef::new("x", ColumnType::I64, false)];
        static SYSTEM: [ColumnDef; 1] = [ColumnDef::new("created_at", ColumnType::Text, false)];
        for columns in [&TWICE[..], &SYSTEM[..]] {
            let refused = Table::new("odd", columns).check_names();
            assert!(matches!(refused, Err(Error::SchemaMismatch { ref table, .. }) if table == "odd"), "{refused:?}");
        }
    }

    #[test]
    fn resolves_system_and_entity_columns() {
        assert_eq!(PEOPLE.resolve("id").ok(), Some((ColumnRef::Id, ColumnType::I64)));
        assert_eq!(PEOPLE.resolve("score").ok(), Some((ColumnRef::Field(1), ColumnType::F64)));
        let err = PEOPLE.resolve("scroe").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("table `people` has no column `scroe`"));
    }

    #[test]
    fn refuses_values_no_backend_stores_exactly() {
        let nan = Row::new(vec![Value::from("a"), Value::F64(f64::NAN)]);
        assert!(matches!(PEOPLE.check_row(&nan), Err(Error::InvalidValue { column, .. }) if column == "score"));
        let nul = Row::new(vec![Value::from("a\0b"), Value::Null]);
        assert!(matches!(PEOPLE.check_row(&nul), Err(Error::InvalidValue { column, .. }) if column == "name"));
        let null_in_required = Row::new(vec![Value::Null, Value::Null]);
        assert!(matches!(PEOPLE.check_row(&null_in_required), Err(Error::TypeMismatch { .. })));
        let fine = Row::new(vec![Value::from("a"), Value::Null]);
        assert!(PEOPLE.check_row(&fine).is_ok());
    }
}
