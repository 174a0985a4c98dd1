//! Table metadata: a table's name and its columns in declaration order.

use std::fmt;

use crate::error::{Error, Result};
use crate::row::{Row, RowMeta, StoredRow};
use crate::value::{ColumnType, Value};

/// The longest table or column name, in bytes: PostgreSQL cuts longer identifiers
/// (silently, so two long names alike in their first 63 bytes would be one table).
pub const MAX_NAME_BYTES: usize = 63;

/// The longest text column limit, `#[entity(max_length = n)]`: PostgreSQL's `VARCHAR`
/// holds at most this many characters.
pub const MAX_LENGTH_LIMIT: u32 = 10_485_760;

const NAME_TOO_LONG: &str =
    "is longer than PostgreSQL keeps (it cuts identifiers silently, so two such names could become one); shorten it";

/// A column's default, `#[entity(default = …)]`: the value the rows stored before
/// the column existed get when [`create_all`](crate::Database::create_all) adds it.
/// A function, so that a `ColumnDef` stays a constant whatever the value's type.
#[derive(Clone, Copy)]
pub(crate) struct ColumnDefault(fn() -> Value);

impl ColumnDefault {
    /// The default `value()` gives.
    pub(crate) const fn new(value: fn() -> Value) -> Self {
        ColumnDefault(value)
    }

    /// The default value.
    pub(crate) fn value(&self) -> Value {
        (self.0)()
    }
}

impl PartialEq for ColumnDefault {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

// `Table::check_columns` refuses a default no backend stores exactly (a NaN among them),
// so the values compared are equal to themselves.
impl Eq for ColumnDefault {}

impl fmt::Debug for ColumnDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value(), f)
    }
}

/// What deleting a row does to the rows that refer to it through a reference column
/// (a field of type [`Id<P>`](crate::Id)): `#[entity(on_delete = "…")]` on the field.
/// The same on every backend: SQL databases hold it in the constraint, and every
/// session applies it (deepest rows first) before it deletes the row itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// The delete is refused with [`Error::StillReferenced`] while a row refers to the
    /// row (the default; SQL's `NO ACTION`: rows the same delete removes do not count).
    #[default]
    Restrict,
    /// The rows that refer to it are deleted too, and theirs in turn.
    Cascade,
    /// The rows that refer to it get `NULL` in that column (an update: their
    /// `updated_at` moves). Only for an `Option<Id<P>>` field.
    SetNull,
}

impl OnDelete {
    /// The rule as SQL's `ON DELETE` clause words it.
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "NO ACTION",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }

    /// The rule as `#[entity(on_delete = "…")]` names it.
    pub fn name(self) -> &'static str {
        match self {
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set_null",
        }
    }
}

/// A reference column's target: the table whose ids it holds, and its delete rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The referenced (parent) table's name.
    pub table: &'static str,
    /// What deleting a parent row does to the rows referring to it.
    pub on_delete: OnDelete,
}

/// One entity field's column: name, type, nullability, constraints and default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    name: &'static str,
    ty: ColumnType,
    nullable: bool,
    unique: bool,
    indexed: bool,
    max_length: Option<u32>,
    default: Option<ColumnDefault>,
    references: Option<Reference>,
}

impl ColumnDef {
    /// A plain column; `#[derive(Entity)]` builds these.
    pub const fn new(name: &'static str, ty: ColumnType, nullable: bool) -> Self {
        ColumnDef {
            name,
            ty,
            nullable,
            unique: false,
            indexed: false,
            max_length: None,
            default: None,
            references: None,
        }
    }

    /// A plain column of field type `T`: `ColumnDef::of::<Option<String>>("nick")`, as
    /// a migration step declares one. A field type `Id<P>` or `Option<Id<P>>` makes a
    /// reference to `P`'s table, refusing deletes of referenced rows
    /// ([`OnDelete::Restrict`]; [`on_delete`](Self::on_delete) changes it).
    pub const fn of<T: crate::Field>(name: &'static str) -> Self {
        ColumnDef::new(name, T::TYPE, T::NULLABLE).referencing(T::REFERENCES, OnDelete::Restrict)
    }

    /// The same column as a reference to the table named `table` (if `Some`) with
    /// delete rule `on_delete`; a reference column is indexed (unless unique), as
    /// deletes and relation loads look rows up by it.
    pub const fn referencing(mut self, table: Option<&'static str>, on_delete: OnDelete) -> Self {
        if let Some(table) = table {
            self.references = Some(Reference { table, on_delete });
            self.indexed = !self.unique;
        }
        self
    }

    /// The same reference column with delete rule `on_delete` (no change for a column
    /// that is not a reference).
    pub const fn on_delete(mut self, on_delete: OnDelete) -> Self {
        if let Some(reference) = &mut self.references {
            reference.on_delete = on_delete;
        }
        self
    }

    /// The same column with a default: the value `value()` gives is what rows stored
    /// before the column existed hold once `create_all` adds it. It must give the same
    /// value every time (a constant, not the time of day): a migration step that
    /// declares the column has the value in its checksum.
    pub const fn with_default(mut self, value: fn() -> Value) -> Self {
        self.default = Some(ColumnDefault::new(value));
        self
    }

    /// The same text column holding at most `chars` characters (Unicode scalar values,
    /// as SQLite's `length()` and, in a UTF8 database, PostgreSQL's `VARCHAR(n)` count
    /// them), from 1 to [`MAX_LENGTH_LIMIT`].
    pub const fn max_length(mut self, chars: u32) -> Self {
        self.max_length = Some(chars);
        self
    }

    /// The same column under another name.
    pub const fn renamed(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The same column, nullable (`true`) or not.
    pub const fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    /// The same column with (`true`) or without a UNIQUE constraint.
    pub(crate) const fn set_unique(mut self, unique: bool) -> Self {
        self.unique = unique;
        self
    }

    /// The same column with (`true`) or without a non-unique index.
    pub(crate) const fn set_indexed(mut self, indexed: bool) -> Self {
        self.indexed = indexed;
        self
    }

    /// The same column with a UNIQUE constraint (and no separate index).
    pub const fn unique(mut self) -> Self {
        self.unique = true;
        self.indexed = false;
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

    /// How many characters a text column holds at most, if it is limited.
    pub fn length_limit(&self) -> Option<u32> {
        self.max_length
    }

    /// The table this column refers to and the delete rule, if it is a reference.
    pub fn references(&self) -> Option<Reference> {
        self.references
    }

    /// The column's default, if it declares one.
    pub fn default_value(&self) -> Option<Value> {
        self.default.map(|d| d.value())
    }

    /// What the rows stored before this column existed hold once it is added: its
    /// default, else `NULL` if it is nullable; `None` if it is neither (such a column
    /// cannot be added to a table holding rows without saying what they hold).
    pub fn fill_value(&self) -> Option<Value> {
        self.default_value().or_else(|| self.nullable.then_some(Value::Null))
    }

    /// Why `value` does not fit this column's length limit, if it does not.
    /// Why a stored `value` of this column is not read, in the words of a decode error:
    /// one no backend could have been given through Plinth (see
    /// [`Table::check_stored`]), or text past the column's length limit.
    #[inline]
    pub(crate) fn unreadable(&self, value: &Value) -> Option<String> {
        #[cold]
        fn unread(value: &Value, reason: &str) -> String {
            format!("{value}, which Plinth does not read: {reason}")
        }
        match value.unstorable_reason() {
            Some(reason) => Some(unread(value, reason)),
            None => self.too_long(value).map(|reason| unread(value, &reason)),
        }
    }

    #[inline]
    fn too_long(&self, value: &Value) -> Option<String> {
        let (Some(limit), Value::Text(text)) = (self.max_length, value) else { return None };
        let chars = text.chars().count();
        (chars > limit as usize)
            .then(|| format!("the text is {chars} characters long; the column holds at most {limit}"))
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

    /// Checks what `#[derive(Entity)]` makes sure of but a `Table` built by hand might
    /// not: every column has a name of its own, none of them a system column's, also
    /// ignoring ASCII case, as SQLite compares names (a repeated name would be ambiguous
    /// in queries and stored rows alike, [`Error::SchemaMismatch`]); no JSON column is
    /// unique or indexed (JSON values are equal in different ways on different
    /// backends); a length limit is on a text column and from 1 to
    /// [`MAX_LENGTH_LIMIT`]; a default is a value its column stores; and no name is
    /// longer than [`MAX_NAME_BYTES`] or holds a
    /// NUL character (all [`Error::InvalidValue`]).
    /// [`Database::create_all`](crate::Database::create_all) refuses such a table.
    pub fn check_columns(&self) -> Result<()> {
        let too_long = |column: Option<&'static str>, what: &str| Error::InvalidValue {
            table: self.name,
            column,
            reason: format!("the {what} {NAME_TOO_LONG} ({MAX_NAME_BYTES} bytes)"),
        };
        let with_nul = |column: Option<&'static str>| Error::InvalidValue {
            table: self.name,
            column,
            reason: "a name may not hold a NUL character (no database keeps one)".to_owned(),
        };
        if self.name.len() > MAX_NAME_BYTES {
            return Err(too_long(None, "table's name"));
        }
        if self.name.contains('\0') {
            return Err(with_nul(None));
        }
        for (i, column) in self.columns.iter().enumerate() {
            if column.name.len() > MAX_NAME_BYTES {
                return Err(too_long(Some(column.name), "column's name"));
            }
            if column.name.contains('\0') {
                return Err(with_nul(Some(column.name)));
            }
            let same = |name: &str| name.eq_ignore_ascii_case(column.name);
            let repeated = self.columns[..i].iter().any(|c| same(c.name));
            if repeated || Self::SYSTEM_COLUMNS.iter().any(|name| same(name)) {
                return Err(Error::SchemaMismatch {
                    table: self.name,
                    detail: format!(
                        "column `{}` is named twice (every table also has `id`, `created_at` and `updated_at`)",
                        column.name
                    ),
                });
            }
            let limit_fits = |limit| column.ty == ColumnType::Text && (1..=MAX_LENGTH_LIMIT).contains(&limit);
            if column.max_length.is_some_and(|limit| !limit_fits(limit)) {
                return Err(Error::InvalidValue {
                    table: self.name,
                    column: Some(column.name),
                    reason: format!(
                        "a length limit applies to a text column, and is from 1 to {MAX_LENGTH_LIMIT} characters"
                    ),
                });
            }
            if let Some(value) = column.default_value() {
                self.check_value(column, &value).map_err(|e| Error::InvalidValue {
                    table: self.name,
                    column: Some(column.name),
                    reason: format!("the default cannot be stored: {e}"),
                })?;
            }
            if column.ty == ColumnType::Json && (column.unique || column.indexed) {
                return Err(Error::InvalidValue {
                    table: self.name,
                    column: Some(column.name),
                    reason: "a JSON column cannot be unique or indexed: PostgreSQL compares JSONB documents ignoring key order, the other backends compare their text".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The non-null values of `row` in unique columns, with their column positions:
    /// what a unique index holds for the row.
    pub fn unique_values<'r>(&self, row: &'r Row) -> impl Iterator<Item = (usize, &'r Value)> + 'r {
        self.non_null_values(row, ColumnDef::is_unique)
    }

    /// The non-null values of `row` in indexed (non-unique) columns, with their column
    /// positions: the entries a store's index of each column holds for it.
    pub fn indexed_values<'r>(&self, row: &'r Row) -> impl Iterator<Item = (usize, &'r Value)> + 'r {
        self.non_null_values(row, ColumnDef::is_indexed)
    }

    /// The non-null values of `row` in the columns `kind` picks, with their positions.
    fn non_null_values<'r>(
        &self,
        row: &'r Row,
        kind: fn(&ColumnDef) -> bool,
    ) -> impl Iterator<Item = (usize, &'r Value)> + 'r {
        let columns = self.columns;
        row.values().iter().enumerate().filter(move |(i, v)| columns.get(*i).is_some_and(kind) && !v.is_null())
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
                .ok_or_else(|| Error::UnknownColumn { table: self.name, column: name.to_owned() }),
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
                table: self.name,
                column: None,
                reason: format!("the row holds {} values, the table has {} columns", row.len(), self.columns.len()),
            });
        }
        for (column, value) in self.columns.iter().zip(row.values()) {
            self.check_value(column, value)?;
        }
        Ok(())
    }

    /// Checks that `value` fits `column`: its type (or `NULL` where allowed), a value
    /// every backend stores exactly, and the column's length limit.
    pub(crate) fn check_value(&self, column: &ColumnDef, value: &Value) -> Result<()> {
        match value.column_type() {
            None if column.nullable => Ok(()),
            Some(ty) if ty == column.ty => {
                self.check_storable(column.name, value)?;
                match column.too_long(value) {
                    Some(reason) => Err(Error::InvalidValue { table: self.name, column: Some(column.name), reason }),
                    None => Ok(()),
                }
            }
            _ => Err(Error::TypeMismatch {
                table: self.name,
                column: column.name,
                expected: column.ty,
                found: value.to_string(),
            }),
        }
    }

    /// Checks that a value can be stored and compared exactly on every backend: finite
    /// floats, text without NUL characters, dates and timestamps in years 1 to 9999.
    pub fn check_storable(&self, column: &'static str, value: &Value) -> Result<()> {
        match value.unstorable_reason() {
            Some(reason) => {
                Err(Error::InvalidValue { table: self.name, column: Some(column), reason: reason.to_owned() })
            }
            None => Ok(()),
        }
    }

    /// Checks a row read from a backend the way [`check_storable`](Table::check_storable)
    /// checks one to be written: stored data that no backend could have been given
    /// through Plinth — `'infinity'` or a year past 9999 in a timestamp, NaN in a float,
    /// NUL in text, written by another program — is [`Error::Decode`] naming the
    /// record and column, so every backend reads it the same way.
    pub fn check_stored(&self, stored: &StoredRow) -> Result<()> {
        self.check_stored_meta(&stored.meta)?;
        for (column, value) in self.columns.iter().zip(stored.row.values()) {
            if let Some(found) = column.unreadable(value) {
                return Err(Error::Decode {
                    table: self.name,
                    record: format!("id {}", stored.meta.id),
                    column: Some(column.name),
                    found,
                });
            }
        }
        Ok(())
    }

    /// The part of [`check_stored`](Table::check_stored) that reads a row's timestamps;
    /// [`Entity::from_fields`](crate::Entity::from_fields) checks each field value as it
    /// decodes it ([`ColumnDef::unreadable`]).
    pub(crate) fn check_stored_meta(&self, meta: &RowMeta) -> Result<()> {
        for (name, time) in [("created_at", meta.created_at), ("updated_at", meta.updated_at)] {
            let value = Value::Timestamp(time);
            if let Some(reason) = value.unstorable_reason() {
                return Err(Error::Decode {
                    table: self.name,
                    record: format!("id {}", meta.id),
                    column: Some(name),
                    found: format!("{value}, which Plinth does not read: {reason}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entity;

    #[derive(Entity)]
    #[entity(table = "people")]
    struct Person {
        #[entity(unique)]
        name: String,
        score: Option<f64>,
    }

    fn people() -> &'static Table {
        Person::table()
    }

    #[test]
    fn a_column_named_twice_or_like_a_system_column_is_refused() {
        assert!(people().check_columns().is_ok());
        static TWICE: [ColumnDef; 2] =
            [ColumnDef::new("x", ColumnType::Text, false), ColumnDef::new("x", ColumnType::I64, false)];
        static SYSTEM: [ColumnDef; 1] = [ColumnDef::new("created_at", ColumnType::Text, false)];
        for columns in [&TWICE[..], &SYSTEM[..]] {
            let refused = Table::new("odd", columns).check_columns();
            assert!(matches!(refused, Err(Error::SchemaMismatch { table, .. }) if table == "odd"), "{refused:?}");
        }
    }

    #[test]
    fn names_equal_but_for_ascii_case_or_holding_nul_are_refused() {
        static CASED: [ColumnDef; 2] =
            [ColumnDef::new("name", ColumnType::Text, false), ColumnDef::new("Name", ColumnType::Text, false)];
        static SYSTEM: [ColumnDef; 1] = [ColumnDef::new("ID", ColumnType::I64, false)];
        for columns in [&CASED[..], &SYSTEM[..]] {
            let refused = Table::new("cased", columns).check_columns();
            assert!(matches!(refused, Err(Error::SchemaMismatch { .. })), "{refused:?}");
        }
        static NUL: [ColumnDef; 1] = [ColumnDef::new("a\0b", ColumnType::Text, false)];
        let refused = Table::new("nul", &NUL).check_columns();
        assert!(matches!(refused, Err(Error::InvalidValue { column: Some("a\0b"), .. })), "{refused:?}");
        let refused = Table::new("t\0", &[]).check_columns();
        assert!(matches!(refused, Err(Error::InvalidValue { column: None, .. })), "{refused:?}");
    }

    #[test]
    fn a_length_limit_is_on_text_and_within_what_postgres_holds() {
        static LIMITS: [[ColumnDef; 1]; 4] = [
            [ColumnDef::new("a", ColumnType::Text, false).max_length(MAX_LENGTH_LIMIT)],
            [ColumnDef::new("a", ColumnType::Text, false).max_length(MAX_LENGTH_LIMIT + 1)],
            [ColumnDef::new("a", ColumnType::Text, false).max_length(0)],
            [ColumnDef::new("a", ColumnType::I64, false).max_length(4)],
        ];
        let refused: Vec<bool> = LIMITS.iter().map(|c| Table::new("t", c).check_columns().is_err()).collect();
        assert_eq!(refused, [false, true, true, true]);
    }

    #[test]
    fn a_unique_or_indexed_json_column_is_refused() {
        static UNIQUE: [ColumnDef; 1] = [ColumnDef::new("doc", ColumnType::Json, false).unique()];
        static INDEXED: [ColumnDef; 1] = [ColumnDef::new("doc", ColumnType::Json, true).indexed()];
        for columns in [&UNIQUE[..], &INDEXED[..]] {
            let refused = Table::new("docs", columns).check_columns();
            assert!(matches!(refused, Err(Error::InvalidValue { column: Some("doc"), .. })), "{refused:?}");
        }
    }

    #[test]
    fn names_longer_than_63_bytes_are_refused() {
        static LONG_COLUMN: [ColumnDef; 1] = [ColumnDef::new(
            "a_column_name_of_sixty_four_bytes_which_postgres_would_cut_short",
            ColumnType::I64,
            false,
        )];
        static COLUMN: Table = Table::new("fine", &LONG_COLUMN);
        static TABLE: Table = Table::new("a_table_name_of_sixty_four_bytes_which_postgres_would_cut_short_", &[]);
        assert!(
            matches!(COLUMN.check_columns(), Err(Error::InvalidValue { column: Some(column), .. }) if column.len() == 64)
        );
        assert!(matches!(TABLE.check_columns(), Err(Error::InvalidValue { column: None, .. })));
        static FITS: Table = Table::new("a_table_name_of_sixty_three_bytes_which_postgres_keeps_whole_ok", &[]);
        assert!(FITS.check_columns().is_ok());
    }

    #[test]
    fn resolves_system_and_entity_columns() {
        assert_eq!(people().resolve("id").ok(), Some((ColumnRef::Id, ColumnType::I64)));
        assert_eq!(people().resolve("score").ok(), Some((ColumnRef::Field(1), ColumnType::F64)));
        let err = people().resolve("scroe").err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("table `people` has no column `scroe`"));
    }

    #[test]
    fn refuses_values_no_backend_stores_exactly() {
        let nan = Row::new(vec![Value::from("a"), Value::F64(f64::NAN)]);
        assert!(matches!(people().check_row(&nan), Err(Error::InvalidValue { column: Some("score"), .. })));
        let nul = Row::new(vec![Value::from("a\0b"), Value::Null]);
        assert!(matches!(people().check_row(&nul), Err(Error::InvalidValue { column: Some("name"), .. })));
        let null_in_required = Row::new(vec![Value::Null, Value::Null]);
        assert!(matches!(people().check_row(&null_in_required), Err(Error::TypeMismatch { .. })));
        let fine = Row::new(vec![Value::from("a"), Value::Null]);
        assert!(people().check_row(&fine).is_ok());
    }
}
