//! SQL text for both databases: identifiers always quoted, every value a bound
//! parameter. The drivers turn [`Statement`]s into sqlx queries.

mod aggregate;
mod alter;
mod ddl;
mod schema;
mod select;
mod table;

use std::borrow::Cow;

use plinth::{ColumnType, Table, Value};

use plinth::backend::ColumnRef;

pub(crate) use aggregate::compile_aggregate;
pub(crate) use alter::{migration_step, upgrade_table, SqlStep};
pub(crate) use ddl::{create_all_begin, create_all_preamble, create_table, object_name, Object};
pub(crate) use schema::{
    column_from_catalog, columns_sql, compare as compare_schema, indexes_sql, references_sql, referring_tables_sql,
    sql_column, CatalogColumn, CatalogIndex, CatalogReference, Stored,
};
pub(crate) use select::{compile_count, compile_delete, compile_select, subquery_tables};
pub(crate) use table::{sqlite_insert, StatementCache, TableSql};

/// The SQL dialect a statement is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// Quotes an identifier, doubling embedded quotes: `order` → `"order"`.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The quoted name of a column.
pub(crate) fn column_sql(table: &Table, column: ColumnRef) -> String {
    quote(table.column_name(column))
}

/// `"id", "field1", …, "created_at", "updated_at"`: what every row read selects, in
/// the order the drivers decode (`decode::FIRST_FIELD`, `decode::timestamp_positions`).
/// It is the order `ddl::create_table` gives the columns, so PostgreSQL returns a table's
/// stored tuples as they are instead of projecting each row into another order (about
/// a tenth of the server's time to read 10,000 rows).
pub(crate) fn select_list(table: &Table, qualifier: Option<&str>) -> String {
    let prefix = qualifier.map(|q| format!("{}.", quote(q))).unwrap_or_default();
    std::iter::once("id")
        .chain(table.columns().iter().map(|c| c.name()))
        .chain(["created_at", "updated_at"])
        .map(|name| format!("{prefix}{}", quote(name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A bound parameter.
#[derive(Clone, Debug)]
pub(crate) enum Bind<'v> {
    /// A value and the column type it is encoded as (needed for `NULL`).
    Value { value: Cow<'v, Value>, ty: ColumnType },
    /// A list of non-null values of one column type, as one array (PostgreSQL).
    List { values: &'v [Value], ty: ColumnType },
}

/// A list a statement reads from a temporary table (SQLite): the driver fills
/// `temp.{name}` (one column, `value`) with the values, bound one by one, first.
#[derive(Clone, Debug)]
pub(crate) struct TemporaryList<'v> {
    pub(crate) name: String,
    pub(crate) values: &'v [Value],
    pub(crate) ty: ColumnType,
}

/// SQL text with its parameters.
#[derive(Debug)]
pub(crate) struct Statement<'v> {
    pub(crate) dialect: Dialect,
    /// The text: one of a table's fixed statements, or compiled for one query.
    pub(crate) sql: Cow<'v, str>,
    pub(crate) binds: Vec<Bind<'v>>,
    /// Lists to load into temporary tables before the statement runs.
    pub(crate) temporary_lists: Vec<TemporaryList<'v>>,
}

impl<'v> Statement<'v> {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Statement {
            dialect,
            sql: Cow::Owned(String::with_capacity(128)),
            binds: Vec::new(),
            temporary_lists: Vec::new(),
        }
    }

    /// One of a table's fixed statements ([`TableSql`]) whose only parameter is a row's id.
    pub(crate) fn by_id(dialect: Dialect, sql: &'v str, id: i64) -> Self {
        let binds = vec![Bind::Value { value: Cow::Owned(Value::I64(id)), ty: ColumnType::I64 }];
        Statement { dialect, sql: Cow::Borrowed(sql), binds, temporary_lists: Vec::new() }
    }

    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.to_mut().push_str(sql);
    }

    /// Appends a placeholder for `value` and records the parameter.
    pub(crate) fn push_bind(&mut self, value: Cow<'v, Value>, ty: ColumnType) {
        self.binds.push(Bind::Value { value, ty });
        self.push_placeholder(self.binds.len());
    }

    /// Appends one placeholder for the whole list `values` of column type `ty`.
    pub(crate) fn push_list(&mut self, values: &'v [Value], ty: ColumnType) {
        self.binds.push(Bind::List { values, ty });
        self.push_placeholder(self.binds.len());
    }

    /// Records a list to be loaded into a temporary table, returning the table's name.
    pub(crate) fn push_temporary_list(&mut self, values: &'v [Value], ty: ColumnType) -> String {
        // Longer than any table name may be (`plinth::MAX_NAME_BYTES`), so no table of an
        // entity is hidden by it (SQLite looks in `temp` first).
        let name = format!(
            "plinth_is_in_list_{}_with_a_name_longer_than_any_entity_table_may_have",
            self.temporary_lists.len()
        );
        self.temporary_lists.push(TemporaryList { name: name.clone(), values, ty });
        name
    }

    fn push_placeholder(&mut self, n: usize) {
        match self.dialect {
            Dialect::Postgres => self.sql.to_mut().push_str(&format!("${n}")),
            Dialect::Sqlite => self.sql.to_mut().push_str(&format!("?{n}")),
        }
    }
}
