//! Comparing a table as a backend finds it stored with the table an entity declares,
//! and saying how they differ the way a person reads it. Every backend describes both
//! sides in its own words (SQL types, Rust types) and leaves the comparison and the
//! message to [`schema_differences`], so a difference reads the same everywhere.

use std::fmt;

use crate::error::Error;
use crate::table::Table;

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
        Ok(())
    }
}

/// How the stored columns `found` differ from the columns an entity needs, `expected`
/// (both in the backend's own words), one sentence per difference in the entity's column
/// order; empty if they agree. Indexes are no difference: they change no result (a
/// database administrator may add one, and `create_all` adds those an entity declares);
/// a unique constraint more or less is.
pub fn schema_differences(expected: &[StoredColumn], found: &[StoredColumn]) -> Vec<String> {
    let mut differences = Vec::new();
    for want in expected {
        let Some(have) = found.iter().find(|c| c.name == want.name) else {
            differences.push(format!("the entity's column `{}` ({want}) is not stored", want.name));
            continue;
        };
        if (&have.storage, have.nullable) != (&want.storage, want.nullable) {
            differences.push(format!(
                "column `{}` is stored as {}{}, the entity wants {}{}",
                want.name,
                have.storage,
                if have.nullable { "" } else { " NOT NULL" },
                want.storage,
                if want.nullable { "" } else { " NOT NULL" },
            ));
        }
        match (have.unique, want.unique) {
            (false, true) => differences
                .push(format!("column `{}` is stored without the unique constraint the entity declares", want.name)),
            (true, false) => differences
                .push(format!("column `{}` is stored with a unique constraint the entity does not declare", want.name)),
            _ => {}
        }
    }
    for extra in found.iter().filter(|c| expected.iter().all(|e| e.name != c.name)) {
        differences.push(format!("column `{}` ({extra}) is stored, but the entity has no such field", extra.name));
    }
    differences
}

/// [`schema_differences`] as a result: [`Error::SchemaMismatch`] listing them, if any.
pub fn check_schema(table: &Table, expected: &[StoredColumn], found: &[StoredColumn]) -> Result<(), Error> {
    let differences = schema_differences(expected, found);
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::SchemaMismatch { table: table.name(), detail: differences.join("; ") })
}

/// Checks, for the record engine's stores (memory, web storage, IndexedDB), that the
/// columns stored for `table` are exactly the entity's, in the same order (indexes
/// aside, as everywhere): these stores keep a row's values in column order, so even
/// the order differs.
pub fn check_engine_schema(table: &Table, stored: &[StoredColumn]) -> Result<(), Error> {
    let unindexed = |columns: &[StoredColumn]| -> Vec<StoredColumn> {
        columns.iter().map(|c| StoredColumn { indexed: false, ..c.clone() }).collect()
    };
    let expected = engine_columns(table);
    if unindexed(&expected) == unindexed(stored) {
        return Ok(());
    }
    let mut differences = schema_differences(&expected, stored);
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
    table
        .columns()
        .iter()
        .map(|c| StoredColumn {
            name: c.name().to_owned(),
            storage: engine_storage(c.ty().rust_name(), c.length_limit()),
            nullable: c.nullable(),
            unique: c.is_unique(),
            indexed: c.is_indexed(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, storage: &str, nullable: bool) -> StoredColumn {
        StoredColumn { name: name.into(), storage: storage.into(), nullable, unique: false, indexed: false }
    }

    #[test]
    fn every_difference_is_one_sentence_a_person_reads() {
        let expected = vec![
            column("name", "TEXT", false),
            StoredColumn { unique: true, ..column("email", "TEXT", false) },
            StoredColumn { indexed: true, ..column("age", "BIGINT", true) },
            column("nick", "TEXT", true),
        ];
        let found = vec![
            column("name", "TEXT", false),
            column("email", "TEXT", false),
            column("age", "TEXT", true),
            column("legacy", "BOOLEAN", false),
        ];
        assert_eq!(
            schema_differences(&expected, &found),
            [
                "column `email` is stored without the unique constraint the entity declares",
                "column `age` is stored as TEXT, the entity wants BIGINT",
                "the entity's column `nick` (TEXT) is not stored",
                "column `legacy` (BOOLEAN NOT NULL) is stored, but the entity has no such field",
            ]
        );
        assert!(schema_differences(&expected, &expected).is_empty());
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
        assert!(schema_differences(&expected, &found).is_empty());
        assert!(schema_differences(&found, &expected).is_empty());
    }
}
