//! Tables described at run time — a stored schema read back, a table between two steps
//! of a migration — as the `&'static Table` every backend operation takes. Each
//! distinct description is kept once for the life of the process and shared, so a
//! process keeps at most one copy per schema it has met (a few hundred bytes each).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::table::{ColumnDef, Table};

/// A name kept for the life of the process; equal names share one copy.
pub fn intern_name(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = names.get(name) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

/// The table `name` with `columns`, kept for the life of the process; equal
/// descriptions share one table.
///
/// ```
/// use plinth::backend::{intern_name, intern_table, ColumnDef};
/// use plinth::ColumnType;
/// let columns = [ColumnDef::new(intern_name("title"), ColumnType::Text, false)];
/// let table = intern_table("notes", &columns);
/// assert!(std::ptr::eq(table, intern_table("notes", &columns)));
/// assert_eq!(table.columns()[0].name(), "title");
/// ```
pub fn intern_table(name: &str, columns: &[ColumnDef]) -> &'static Table {
    // Few distinct tables are ever described in one process: a list does.
    static TABLES: OnceLock<Mutex<Vec<&'static Table>>> = OnceLock::new();
    let mut tables = TABLES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(table) = tables.iter().find(|t| t.name() == name && t.columns() == columns) {
        return table;
    }
    let columns: &'static [ColumnDef] = Box::leak(columns.to_vec().into_boxed_slice());
    let table: &'static Table = Box::leak(Box::new(Table::new(intern_name(name), columns)));
    tables.push(table);
    table
}
