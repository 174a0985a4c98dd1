//! Where things live: the storage keys of the web-storage layout.
//!
//! Under `plinth/NAME/`:
//!
//! | key                            | value                                   |
//! |--------------------------------|-----------------------------------------|
//! | `journal`                      | a commit being applied (see `journal`)  |
//! | `generation`                   | the last writer's turn seen (`tabs`)    |
//! | `schemas`                      | the schema generation (`schemas`)       |
//! | `t/TABLE/schema`               | the table's columns, as JSON            |
//! | `t/TABLE/seq`                  | the last id handed out                  |
//! | `t/TABLE/r/ID`                 | one row, as a JSON object               |
//! | `t/TABLE/u/COLUMN/VALUE`       | the id of the row holding VALUE (JSON)  |
//!
//! `/` and `%` in names are percent-encoded, so no name can reach into another's keys.

use plinth::Table;

/// The keys of one database NAME.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    prefix: String,
}

impl Layout {
    pub(crate) fn new(name: &str) -> Self {
        Layout { prefix: format!("plinth/{}/", escape(name)) }
    }

    /// Every key of this database starts with this.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn journal(&self) -> String {
        format!("{}journal", self.prefix)
    }

    /// The schema generation (see [`schemas`](crate::schemas)).
    pub(crate) fn schemas(&self) -> String {
        format!("{}schemas", self.prefix)
    }

    /// The generation the last writer's turn closed at, as this copy has it (see
    /// [`tabs`](crate::tabs)); written last in every turn.
    pub(crate) fn generation(&self) -> String {
        format!("{}generation", self.prefix)
    }

    /// The prefix of every key of the table named `name`.
    pub(crate) fn table_named(&self, name: &str) -> String {
        format!("{}t/{}/", self.prefix, escape(name))
    }

    fn table(&self, table: &Table) -> String {
        self.table_named(table.name())
    }

    /// The prefix of every table's keys: what [`table_of_schema`](Self::table_of_schema)
    /// lists tables under.
    pub(crate) fn tables(&self) -> String {
        format!("{}t/", self.prefix)
    }

    /// The table's name, if `key` is the schema key of one.
    pub(crate) fn table_of_schema(&self, key: &str) -> Option<String> {
        let escaped = key.strip_prefix(&self.tables())?.strip_suffix("/schema")?;
        (!escaped.contains('/')).then(|| unescape(escaped))
    }

    pub(crate) fn schema(&self, table: &Table) -> String {
        self.schema_named(table.name())
    }

    /// The schema key of the table named `name`.
    pub(crate) fn schema_named(&self, name: &str) -> String {
        format!("{}schema", self.table_named(name))
    }

    pub(crate) fn sequence(&self, table: &Table) -> String {
        format!("{}seq", self.table(table))
    }

    /// The prefix of every row key of `table`; the id follows it.
    pub(crate) fn rows(&self, table: &Table) -> String {
        format!("{}r/", self.table(table))
    }

    pub(crate) fn row(&self, table: &Table, id: i64) -> String {
        format!("{}{id}", self.rows(table))
    }

    pub(crate) fn unique(&self, table: &Table, column: usize, encoded_value: &str) -> String {
        let column = table.columns().get(column).map_or("", |c| c.name());
        format!("{}u/{}/{encoded_value}", self.table(table), escape(column))
    }
}

fn escape(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

/// The name [`escape`] was given.
fn unescape(escaped: &str) -> String {
    escaped.replace("%2F", "/").replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_reach_into_other_keys() {
        assert_eq!(Layout::new("a/t").prefix(), "plinth/a%2Ft/");
        assert_eq!(Layout::new("100%").prefix(), "plinth/100%25/");
    }

    #[test]
    fn a_schema_key_names_its_table() {
        static ODD: Table = Table::new("a/b%c", &[]);
        let layout = Layout::new("db");
        assert_eq!(layout.table_of_schema(&layout.schema(&ODD)).as_deref(), Some("a/b%c"));
        assert_eq!(layout.table_of_schema(&layout.sequence(&ODD)), None);
        assert_eq!(layout.table_of_schema("plinth/db/t/x/r/1"), None);
    }
}
