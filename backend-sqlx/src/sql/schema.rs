//! Reading a table's stored schema back from the database's catalog — its columns, and
//! which of them a unique constraint or an index covers alone — and comparing it with
//! the entity's through `plinth::backend::check_schema`, so differences read the same
//! as on every other backend.

use plinth::backend::{
    check_schema, parse_reference_words, reference_words, schema_changes, ColumnDef, SchemaChange, StoredColumn,
};
use plinth::{ColumnType, Error, OnDelete, Table};

use super::ddl::column_storage;
use super::Dialect;

/// A column as the catalog reports it: name, type, and `YES`/`NO` for nullable.
pub(crate) type CatalogColumn = (String, String, String);

/// A single-column index as the catalog reports it: the column, and whether it is
/// unique (a `UNIQUE` constraint's index included).
pub(crate) type CatalogIndex = (String, bool);

/// The query for a table's columns (`$1`/`?1` is the table's name), in order.
pub(crate) fn columns_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "SELECT column_name::text, \
               data_type::text || COALESCE('(' || character_maximum_length || ')', ''), is_nullable::text \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
        // SQLite's catalog has no length limits: a limited column's `CHECK (length("c")
        // <= n)`, as `create_table` writes it, is read from the table's SQL, and its
        // type reported as `TEXT(MAX n)` (upper case, as every SQLite type is compared).
        Dialect::Sqlite => {
            "SELECT p.name, p.type || COALESCE(( \
                 SELECT '(MAX ' || CAST(substr(m.sql, instr(m.sql, c.text) + length(c.text)) AS INTEGER) || ')' \
                 FROM sqlite_master AS m, (SELECT 'CHECK (length(\"' || replace(p.name, '\"', '\"\"') || '\") <= ' AS text) AS c \
                 WHERE m.type = 'table' AND m.name = ?1 AND instr(m.sql, c.text) > 0), ''), \
               CASE p.\"notnull\" WHEN 0 THEN 'YES' ELSE 'NO' END \
             FROM pragma_table_info(?1) AS p ORDER BY p.cid"
        }
    }
}

/// A single-column foreign key to a table's `id` as the catalog reports it: the
/// column, the table it refers to, and the delete rule in SQL's words (`CASCADE`, `NO
/// ACTION`…). A key to another column, or to a table of another schema, is no
/// reference Plinth knows.
pub(crate) type CatalogReference = (String, String, String);

/// The query for a table's single-column foreign keys to a table's `id`.
pub(crate) fn references_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "SELECT a.attname::text, p.relname::text, \
               CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' \
                 WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_class p ON p.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1] \
             JOIN pg_attribute pa ON pa.attrelid = p.oid AND pa.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 \
               AND array_length(c.conkey, 1) = 1 AND pa.attname = 'id' AND p.relnamespace = t.relnamespace"
        }
        Dialect::Sqlite => {
            "SELECT f.\"from\", f.\"table\", upper(f.on_delete) FROM pragma_foreign_key_list(?1) AS f \
             WHERE (SELECT count(*) FROM pragma_foreign_key_list(?1) AS g WHERE g.id = f.id) = 1 \
               AND (f.\"to\" IS NULL OR f.\"to\" = 'id')"
        }
    }
}

/// The query for the names of the tables that have a single-column foreign key: those
/// whose rows a delete elsewhere may have to look at.
pub(crate) fn referring_tables_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "SELECT DISTINCT t.relname::text FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE c.contype = 'f' AND n.nspname = current_schema() AND array_length(c.conkey, 1) = 1"
        }
        Dialect::Sqlite => {
            "SELECT m.name FROM sqlite_master AS m \
             WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name))"
        }
    }
}

/// The column `stored` describes, in the catalog's words, as Plinth would make it: the
/// first column type (in an order that prefers the widest where the database does not
/// tell them apart, as SQLite's `INTEGER`) whose column the catalog would describe the
/// same; `None` if none would.
pub(crate) fn column_from_catalog(dialect: Dialect, stored: &StoredColumn) -> Option<ColumnDef> {
    const PREFERRED: [ColumnType; 12] = [
        ColumnType::I64,
        ColumnType::Text,
        ColumnType::F64,
        ColumnType::Bytes,
        ColumnType::Bool,
        ColumnType::I32,
        ColumnType::I16,
        ColumnType::F32,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Json,
        ColumnType::Uuid,
    ];
    let name = plinth::backend::intern_name(&stored.name);
    let limit: Option<u32> = stored
        .storage
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|digits| !digits.is_empty())
        .and_then(|digits| digits.parse().ok());
    let reference = stored.references.as_deref().map(parse_reference_words);
    if reference.is_some_and(|r| r.is_none()) {
        return None;
    }
    let reference = reference.flatten();
    PREFERRED.into_iter().find_map(|ty| {
        let plain = ColumnDef::new(name, ty, stored.nullable)
            .referencing(reference.map(|r| r.table), reference.map_or(OnDelete::Restrict, |r| r.on_delete));
        let plain = if stored.unique { plain.unique() } else { plain };
        let column = if stored.indexed && !stored.unique { plain.indexed() } else { plain };
        let limited = limit.filter(|_| ty == ColumnType::Text).map(|limit| column.max_length(limit));
        [Some(column), limited].into_iter().flatten().find(|c| sql_column(dialect, c) == *stored)
    })
}

/// The query for a table's single-column indexes, whatever their names: not the
/// primary key's, not partial ones, not on expressions.
pub(crate) fn indexes_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "SELECT a.attname::text, i.indisunique \
             FROM pg_index i \
             JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
             WHERE n.nspname = current_schema() AND t.relname = $1 AND i.indnatts = 1 \
               AND NOT i.indisprimary AND i.indpred IS NULL AND i.indexprs IS NULL"
        }
        Dialect::Sqlite => {
            "SELECT info.name, list.\"unique\" <> 0 \
             FROM pragma_index_list(?1) AS list, pragma_index_info(list.name) AS info \
             WHERE list.partial = 0 AND list.origin <> 'pk' \
               AND (SELECT count(*) FROM pragma_index_info(list.name)) = 1 AND info.name IS NOT NULL"
        }
    }
}

/// What the catalog says of a table Plinth is about to use.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// The table does not exist.
    Missing,
    /// It exists with these columns.
    Existing(StoredTable),
}

/// A stored table's columns as the catalog reports them, beside those its entity needs,
/// both in the catalog's words.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StoredTable {
    expected: Vec<StoredColumn>,
    found: Vec<StoredColumn>,
}

impl StoredTable {
    /// Whether `table` may use the stored table as it is: else
    /// [`Error::SchemaMismatch`] listing the differences (an index more or less is none).
    pub(crate) fn check(&self, table: &Table) -> Result<(), Error> {
        check_schema(table, &self.expected, &self.found)
    }

    /// The stored columns but `id`, `created_at` and `updated_at`.
    pub(crate) fn fields(&self) -> Vec<StoredColumn> {
        self.found.iter().filter(|c| !Table::SYSTEM_COLUMNS.contains(&c.name.as_str())).cloned().collect()
    }

    /// The changes `create_all` makes to bring the stored table to `table`'s schema;
    /// [`Error::SchemaMismatch`] if some difference is not one it makes.
    pub(crate) fn changes(&self, table: &Table) -> Result<Vec<SchemaChange>, Error> {
        schema_changes(table, &self.expected, &self.found)
    }
}

/// What the catalog reports of `table`: [`Stored::Missing`] if it reports no columns.
pub(crate) fn compare(
    dialect: Dialect,
    table: &Table,
    columns: &[CatalogColumn],
    indexes: &[CatalogIndex],
    references: &[CatalogReference],
) -> Stored {
    if columns.is_empty() {
        return Stored::Missing;
    }
    let found: Vec<StoredColumn> = columns
        .iter()
        .map(|(name, storage, nullable)| StoredColumn {
            name: name.clone(),
            // SQLite's STRICT types are case-blind, and INT is INTEGER.
            storage: match dialect {
                Dialect::Sqlite if storage.eq_ignore_ascii_case("int") => "INTEGER".to_owned(),
                Dialect::Sqlite => storage.to_ascii_uppercase(),
                Dialect::Postgres => storage.clone(),
            },
            nullable: nullable == "YES",
            unique: indexes.iter().any(|(column, unique)| column == name && *unique),
            indexed: indexes.iter().any(|(column, unique)| column == name && !*unique),
            references: references
                .iter()
                .find(|(column, _, _)| column == name)
                .map(|(_, parent, rule)| format!("{parent} ON DELETE {rule}")),
        })
        .collect();
    Stored::Existing(StoredTable { expected: expected(dialect, table), found })
}

/// The columns `create_table` makes for `table`, in the catalog's words.
fn expected(dialect: Dialect, table: &Table) -> Vec<StoredColumn> {
    // SQLite reports its INTEGER PRIMARY KEY as nullable, though it never holds NULL.
    let (id, id_nullable, stamp) = match dialect {
        Dialect::Postgres => ("bigint", false, "timestamp with time zone"),
        Dialect::Sqlite => ("INTEGER", true, "TEXT"),
    };
    let system = |name: &str, storage: &str, nullable: bool| StoredColumn {
        name: name.to_owned(),
        storage: storage.to_owned(),
        nullable,
        unique: false,
        indexed: false,
        references: None,
    };
    let fields = table.columns().iter().map(|c| sql_column(dialect, c));
    std::iter::once(system("id", id, id_nullable))
        .chain(fields)
        .chain([system("created_at", stamp, false), system("updated_at", stamp, false)])
        .collect()
}

/// A column as the catalog reports one made for `column`.
pub(crate) fn sql_column(dialect: Dialect, column: &ColumnDef) -> StoredColumn {
    StoredColumn {
        name: column.name().to_owned(),
        storage: column_storage(dialect, column).1,
        nullable: column.nullable(),
        unique: column.is_unique(),
        indexed: column.is_indexed(),
        references: reference_words(column.references()),
    }
}
