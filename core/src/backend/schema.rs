//! Comparing a table as a backend finds it stored with the table an entity declares,
//! and saying how they differ the way a person reads it. Every backend describes both
//! sides in its own words (SQL types, Rust types) and leaves the comparison and the
//! message to [`schema_differences`], so a difference reads the same everywhere.

use std::fmt;

use crate::error::Error;
use crate::table::{ColumnDef, OnDelete, Reference, Table};
use crate::value::ColumnType;

/// One column as a backend stores it, or would store it for an entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredColumn {
    /// The column's name.
    pub name: String,
    /// How the backend stores it, in its own words: `BIGINT` (PostgreSQL), `INTEGER`
    /// (SQLite), `i64` (the record engine).
    pub storage: String,
    /// Whether it accepts `NULL`.
    pub nullable: bool,
    /// Whether a unique constraint (or unique index) covers it alone.
    pub unique: bool,
    /// Whether a non-unique index covers it alone.
    pub indexed: bool,
    /// The table it refers to and the delete rule, if it is a reference, as
    /// [`reference_words`] writes them (`users ON DELETE CASCADE`).
    pub references: Option<String>,
}

/// A reference as every backend describes it in a [`StoredColumn`]: the parent table
/// and SQL's words for the delete rule, `users ON DELETE NO ACTION`.
pub fn reference_words(reference: Option<Reference>) -> Option<String> {
    reference.map(|r| format!("{} ON DELETE {}", r.table, r.on_delete.sql()))
}

/// The reference [`reference_words`] wrote, its table's name kept for the process
/// ([`intern_name`](crate::backend::intern_name)).
pub fn parse_reference_words(words: &str) -> Option<Reference> {
    let (table, rule) = words.rsplit_once(" ON DELETE ")?;
    let on_delete = [OnDelete::Restrict, OnDelete::Cascade, OnDelete::SetNull].into_iter().find(|r| r.sql() == rule)?;
    Some(Reference { table: crate::backend::intern_name(table), on_delete })
}

impl fmt::Display for StoredColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.storage, if self.nullable { "" } else { " NOT NULL" })?;
        if self.unique {
            f.write_str(", unique")?;
        }
        if self.indexed {
            f.write_str(", indexed")?;
        }
        if let Some(references) = &self.references {
            write!(f, ", references {references}")?;
        }
        Ok(())
    }
}

/// A difference between a stored table and its entity that
/// [`create_all`](crate::Database::create_all) makes by itself, as it loses nothing
/// and every stored row stays valid: each names an entity column by its position in
/// [`Table::columns`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaChange {
    /// The column is not stored: add it; the stored rows hold its
    /// [`fill_value`](crate::backend::ColumnDef::fill_value) (its default, or `NULL`).
    AddColumn {
        /// The column's position.
        column: usize,
    },
    /// The column is stored without the unique constraint it declares: add it, if the
    /// stored values are distinct (else [`duplicated_values`]).
    AddUnique {
        /// The column's position.
        column: usize,
    },
    /// The column is stored without the index it declares: add it.
    AddIndex {
        /// The column's position.
        column: usize,
    },
}

impl SchemaChange {
    /// The position of the column the change is about.
    pub fn column(&self) -> usize {
        match *self {
            SchemaChange::AddColumn { column }
            | SchemaChange::AddUnique { column }
            | SchemaChange::AddIndex { column } => column,
        }
    }
}

/// One way a stored table differs from its entity: a sentence a person reads, and the
/// change that resolves it if `create_all` makes it by itself.
struct Difference {
    message: String,
    change: Option<SchemaChange>,
}

/// How the stored columns `found` differ from the columns `table`'s entity needs,
/// `expected` (both in the backend's own words, the system columns included where the
/// backend stores them), in the entity's column order, then the stored columns the
/// entity lacks.
fn differences(table: &Table, expected: &[StoredColumn], found: &[StoredColumn]) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut note = |message: String, change: Option<SchemaChange>| differences.push(Difference { message, change });
    for want in expected {
        let position = table.columns().iter().position(|c| c.name() == want.name);
        let Some(have) = found.iter().find(|c| c.name == want.name) else {
            let addable = |i: &usize| {
                let column = &table.columns()[*i];
                column.fill_value().is_some() && (column.references().is_none() || column.nullable())
            };
            if position.is_some_and(|i| !addable(&i) && table.columns()[i].fill_value().is_some()) {
                note(
                    format!(
                        "the entity's column `{}` ({want}) is not stored: {}",
                        want.name,
                        crate::migrate::ADDED_REFERENCE
                    ),
                    None,
                );
                continue;
            }
            let fillable = position.filter(addable);
            match fillable {
                Some(column) => {
                    note(
                        format!("the entity's column `{}` ({want}) is not stored (`create_all` adds it)", want.name),
                        Some(SchemaChange::AddColumn { column }),
                    );
                    if want.unique {
                        note(String::new(), Some(SchemaChange::AddUnique { column }));
                    } else if want.indexed {
                        note(String::new(), Some(SchemaChange::AddIndex { column }));
                    }
                }
                None => note(
                    format!(
                        "the entity's column `{}` ({want}) is not stored, and the stored rows would have no value \
                         for it: give the field a default (`#[entity(default = …)]`) or make it an `Option` (a data \
                         migration can then set each row's value)",
                        want.name
                    ),
                    None,
                ),
            }
            continue;
        };
        if (&have.storage, have.nullable) != (&want.storage, want.nullable) {
            note(
                format!(
                    "column `{}` is stored as {}{}, the entity wants {}{} (`create_all` does not convert stored values; a migration's `Step::ChangeType` does)",
                    want.name,
                    have.storage,
                    if have.nullable { "" } else { " NOT NULL" },
                    want.storage,
                    if want.nullable { "" } else { " NOT NULL" },
                ),
                None,
            );
        }
        if have.references != want.references {
            let describe = |c: &StoredColumn| match &c.references {
                Some(words) => format!("as a reference to {words}"),
                None => "as no reference".to_owned(),
            };
            note(
                format!(
                    "column `{}` is stored {}, the entity declares it {} (`create_all` does not change references;                      a migration that drops the column and adds it again does)",
                    want.name,
                    describe(have),
                    describe(want)
                ),
                None,
            );
        }
        match (have.unique, want.unique, position) {
            (false, true, Some(column)) => note(
                format!(
                    "column `{}` is stored without the unique constraint the entity declares (`create_all` adds it)",
                    want.name
                ),
                Some(SchemaChange::AddUnique { column }),
            ),
            (true, false, _) => note(
                format!(
                    "column `{}` is stored with a unique constraint the entity does not declare \
                     (`create_all` does not drop constraints; a migration's `Step::DropUnique` does)",
                    want.name
                ),
                None,
            ),
            _ => {}
        }
        if let (true, false, false, Some(column)) = (want.indexed, have.indexed, have.unique, position) {
            note(String::new(), Some(SchemaChange::AddIndex { column }));
        }
    }
    for extra in found.iter().filter(|c| expected.iter().all(|e| e.name != c.name)) {
        note(
            format!(
                "column `{}` ({extra}) is stored, but the entity has no such field \
                 (`create_all` does not drop or rename columns; a migration's `Step::DropColumn` or \
                 `Step::RenameColumn` does)",
                extra.name
            ),
            None,
        );
    }
    differences
}

/// How the stored columns `found` differ from the columns `table`'s entity needs,
/// `expected` (both in the backend's own words), one sentence per difference in the
/// entity's column order; empty if they agree. Indexes are no difference: they change
/// no result (a database administrator may add one, and `create_all` adds those an
/// entity declares); a unique constraint more or less is.
pub fn schema_differences(table: &Table, expected: &[StoredColumn], found: &[StoredColumn]) -> Vec<String> {
    differences(table, expected, found).into_iter().filter(|d| !d.message.is_empty()).map(|d| d.message).collect()
}

/// [`schema_differences`] as a result: [`Error::SchemaMismatch`] listing them, if any.
/// What a backend checks before it uses a stored table.
pub fn check_schema(table: &Table, expected: &[StoredColumn], found: &[StoredColumn]) -> Result<(), Error> {
    let differences = schema_differences(table, expected, found);
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::SchemaMismatch { table: table.name(), detail: differences.join("; ") })
}

/// The changes that make a table stored as `found` into `table`, in the order they are
/// made (a column before its constraint), if `create_all` makes every one of them by
/// itself; else [`Error::SchemaMismatch`] listing the differences it does not make,
/// before anything is written.
pub fn schema_changes(
    table: &Table,
    expected: &[StoredColumn],
    found: &[StoredColumn],
) -> Result<Vec<SchemaChange>, Error> {
    let differences = differences(table, expected, found);
    let refused: Vec<String> = differences.iter().filter(|d| d.change.is_none()).map(|d| d.message.clone()).collect();
    if !refused.is_empty() {
        return Err(Error::SchemaMismatch { table: table.name(), detail: refused.join("; ") });
    }
    Ok(differences.into_iter().filter_map(|d| d.change).collect())
}

/// The error for a unique constraint that cannot be added to column `column` of
/// `table`: `duplicated` of its values are stored more than once.
pub fn duplicated_values(table: &'static str, column: &str, duplicated: u64) -> Error {
    let values = if duplicated == 1 { "one value is".to_owned() } else { format!("{duplicated} values are") };
    Error::SchemaMismatch {
        table,
        detail: format!(
            "column `{column}` is declared unique, but {values} stored more than once, so the unique constraint \
             cannot be added (make the stored values distinct first, for example in a data migration)"
        ),
    }
}

/// Checks, for the record engine's stores (memory, web storage, IndexedDB), that the
/// columns stored for `table` are exactly the entity's, in the same order (indexes
/// aside, as everywhere): these stores keep a row's values in column order, so even
/// the order differs.
pub fn check_engine_schema(table: &Table, stored: &[StoredColumn]) -> Result<(), Error> {
    let expected = engine_columns(table);
    if same_but_for_indexes(&expected, stored) {
        return Ok(());
    }
    let mut differences = schema_differences(table, &expected, stored);
    if differences.is_empty() {
        let list =
            |columns: &[StoredColumn]| columns.iter().map(|c| format!("{} {c}", c.name)).collect::<Vec<_>>().join(", ");
        differences.push(format!(
            "the columns are stored as ({}), the entity declares ({})",
            list(stored),
            list(&expected)
        ));
    }
    Err(Error::SchemaMismatch { table: table.name(), detail: differences.join("; ") })
}

/// Whether two descriptions of a table's columns agree, order included, but for which
/// columns are indexed (what the record engine's stores compare).
pub(crate) fn same_but_for_indexes(a: &[StoredColumn], b: &[StoredColumn]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| StoredColumn { indexed: false, ..a.clone() } == StoredColumn { indexed: false, ..b.clone() })
}

/// How the record engine names a column's storage: the Rust type's name (`i64`,
/// `String`, as [`ColumnType::rust_name`](crate::ColumnType::rust_name) gives it), with a
/// text column's length limit (`String(32)`).
pub fn engine_storage(rust_name: &str, max_length: Option<u32>) -> String {
    match max_length {
        Some(limit) => format!("{rust_name}({limit})"),
        None => rust_name.to_owned(),
    }
}

/// The columns of `table` as the record engine stores them, in Rust's words (`i64`,
/// `String`): what the memory and browser stores compare with what they hold.
pub fn engine_columns(table: &Table) -> Vec<StoredColumn> {
    table.columns().iter().map(engine_column).collect()
}

/// One column as the record engine stores it; see [`engine_columns`].
pub fn engine_column(column: &ColumnDef) -> StoredColumn {
    StoredColumn {
        name: column.name().to_owned(),
        storage: engine_storage(column.ty().rust_name(), column.length_limit()),
        nullable: column.nullable(),
        unique: column.is_unique(),
        indexed: column.is_indexed(),
        references: reference_words(column.references()),
    }
}

/// The column a record engine's store describes as `stored` (see [`engine_columns`]),
/// its name kept for the process ([`intern_name`](crate::backend::intern_name));
/// [`Error::SchemaMismatch`] on `table` if its storage names no column type.
pub fn engine_column_def(table: &'static str, stored: &StoredColumn) -> Result<ColumnDef, Error> {
    let (rust_name, limit) = match stored.storage.strip_suffix(')').and_then(|s| s.split_once('(')) {
        Some((name, limit)) => (name, limit.parse::<u32>().ok()),
        None => (stored.storage.as_str(), None),
    };
    let ty = ColumnType::from_rust_name(rust_name).ok_or_else(|| Error::SchemaMismatch {
        table,
        detail: format!("column `{}` is stored as {}, which is no column type", stored.name, stored.storage),
    })?;
    let reference = match &stored.references {
        Some(words) => Some(parse_reference_words(words).ok_or_else(|| Error::SchemaMismatch {
            table,
            detail: format!("column `{}` is stored as a reference to {words}, which names no delete rule", stored.name),
        })?),
        None => None,
    };
    let column = ColumnDef::new(crate::backend::intern_name(&stored.name), ty, stored.nullable)
        .referencing(reference.map(|r| r.table), reference.map_or(OnDelete::Restrict, |r| r.on_delete))
        .set_unique(stored.unique)
        .set_indexed(stored.indexed);
    Ok(match limit {
        Some(limit) => column.max_length(limit),
        None => column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn column(name: &str, storage: &str, nullable: bool) -> StoredColumn {
        StoredColumn {
            name: name.into(),
            storage: storage.into(),
            nullable,
            unique: false,
            indexed: false,
            references: None,
        }
    }

    #[derive(crate::Entity)]
    #[entity(table = "people")]
    struct Person {
        name: String,
        #[entity(unique)]
        email: String,
        #[entity(index)]
        age: Option<i64>,
        nick: Option<String>,
        #[entity(default = 3)]
        level: i64,
        rank: i64,
    }

    fn people() -> &'static Table {
        <Person as crate::Entity>::table()
    }

    /// The columns `Person` needs, in SQL words.
    fn expected() -> Vec<StoredColumn> {
        vec![
            column("name", "TEXT", false),
            StoredColumn { unique: true, ..column("email", "TEXT", false) },
            StoredColumn { indexed: true, ..column("age", "BIGINT", true) },
            column("nick", "TEXT", true),
            column("level", "BIGINT", false),
            column("rank", "BIGINT", false),
        ]
    }

    #[test]
    fn every_difference_is_one_sentence_a_person_reads() {
        let found = vec![
            column("name", "TEXT", false),
            column("email", "TEXT", false),
            column("age", "TEXT", true),
            column("level", "BIGINT", false),
            column("rank", "BIGINT", false),
            column("legacy", "BOOLEAN", false),
        ];
        assert_eq!(
            schema_differences(people(), &expected(), &found),
            [
                "column `email` is stored without the unique constraint the entity declares (`create_all` adds it)",
                "column `age` is stored as TEXT, the entity wants BIGINT (`create_all` does not convert stored values; a migration's `Step::ChangeType` does)",
                "the entity's column `nick` (TEXT) is not stored (`create_all` adds it)",
                "column `legacy` (BOOLEAN NOT NULL) is stored, but the entity has no such field \
                 (`create_all` does not drop or rename columns; a migration's `Step::DropColumn` or \
                 `Step::RenameColumn` does)",
            ]
        );
        assert!(schema_differences(people(), &expected(), &expected()).is_empty());
    }

    #[test]
    fn additive_changes_are_planned_and_the_rest_refused_before_any_write() {
        let found =
            vec![column("name", "TEXT", false), column("email", "TEXT", false), column("rank", "BIGINT", false)];
        let changes = schema_changes(people(), &expected(), &found).map_err(|e| e.to_string());
        assert_eq!(
            changes,
            Ok(vec![
                SchemaChange::AddUnique { column: 1 },
                SchemaChange::AddColumn { column: 2 },
                SchemaChange::AddIndex { column: 2 },
                SchemaChange::AddColumn { column: 3 },
                SchemaChange::AddColumn { column: 4 },
            ])
        );
        assert_eq!(people().columns()[3].fill_value(), Some(Value::Null), "`nick` is filled with NULL");
        assert_eq!(people().columns()[4].fill_value(), Some(Value::I64(3)), "`level` with its default");

        let without_rank = &found[..2];
        let refused = schema_changes(people(), &expected(), without_rank).err().map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some(
                "table `people` exists with a different schema: the entity's column `rank` (BIGINT NOT NULL) is \
                 not stored, and the stored rows would have no value for it: give the field a default \
                 (`#[entity(default = …)]`) or make it an `Option` (a data migration can then set each row's \
                 value)"
            )
        );
        let unique_dropped = vec![
            column("name", "TEXT", false),
            StoredColumn { unique: true, ..column("email", "TEXT", false) },
            StoredColumn { unique: true, ..column("rank", "BIGINT", false) },
        ];
        let refused = schema_changes(people(), &expected(), &unique_dropped).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("column `rank` is stored with a unique constraint")));
    }

    #[test]
    fn the_engine_stores_need_the_same_columns_in_the_same_order() {
        #[derive(crate::Entity)]
        #[entity(table = "t")]
        struct T {
            a: i64,
            b: Option<String>,
        }
        let table = <T as crate::Entity>::table();
        let stored = engine_columns(table);
        assert!(check_engine_schema(table, &stored).is_ok());
        let swapped: Vec<StoredColumn> = stored.iter().rev().cloned().collect();
        let refused = check_engine_schema(table, &swapped).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            refused,
            "table `t` exists with a different schema: the columns are stored as (b String, a i64 NOT NULL), \
             the entity declares (a i64 NOT NULL, b String)"
        );
    }

    #[test]
    fn indexes_are_no_difference() {
        let expected = vec![column("name", "TEXT", false)];
        let found = vec![StoredColumn { indexed: true, ..column("name", "TEXT", false) }];
        assert!(schema_differences(people(), &expected, &found).is_empty());
        assert!(schema_differences(people(), &found, &expected).is_empty());
    }
}
