//! Indexed columns in IndexedDB: a row of a table with indexed columns is stored as
//! `{row: TEXT, ix: [[table, column, sort key], …]}` instead of its text alone, and the
//! `records` store's `multiEntry` index `ix` holds one entry per element, kept by the
//! browser in the row's own `put`. The sort key is the value's [`sort_key`] as binary
//! (IndexedDB compares binary keys byte by byte, so key order is
//! [`Value::compare`](plinth::Value::compare)'s order; a text key would compare by
//! UTF-16 code units instead); a `NULL` has no entry.
//!
//! Which columns' entries are complete — in every row — is recorded per table in
//! `meta` under `["indexed", table]` (an array of column names): a query reads the
//! index only for such a column, and scans otherwise (a table of layout version 1,
//! before `create_all` rewrites its rows). Every commit writes the entries of the
//! recorded columns, whichever entity writes.

use std::ops::Bound;

use js_sys::{Array, Object, Reflect, Uint8Array};
use plinth::backend::StoredRow;
use plinth::engine::{sort_key, IndexScan};
use plinth::{Result, Table};
use wasm_bindgen::JsValue;
use web_sys::IdbKeyRange;

use super::js;

/// The name and key path of the `records` store's index.
pub(super) const INDEX: &str = "ix";
/// The property of a stored row holding its text.
const ROW: &str = "row";

/// The `meta` key recording which columns of `table` have complete entries.
pub(super) fn marker_key(table: &Table) -> JsValue {
    Array::of2(&JsValue::from_str("indexed"), &JsValue::from_str(table.name())).into()
}

/// The column names a marker read from `meta` records; none where there is no marker
/// (or something else is stored there: the columns are then scanned, never misread).
pub(super) fn marked_columns(marker: &JsValue) -> Vec<String> {
    if !Array::is_array(marker) {
        return Vec::new();
    }
    Array::from(marker).iter().filter_map(|name| name.as_string()).collect()
}

/// The names of `table`'s indexed (non-unique) columns.
pub(super) fn indexed_names(table: &Table) -> Vec<String> {
    table.columns().iter().filter(|c| c.is_indexed()).map(|c| c.name().to_owned()).collect()
}

/// The text of a stored row: the value itself, or its `row` property.
pub(super) fn row_text(value: &JsValue) -> Option<String> {
    value.as_string().or_else(|| Reflect::get(value, &JsValue::from_str(ROW)).ok()?.as_string())
}

fn binary(key: &[u8]) -> JsValue {
    Uint8Array::from(key).into()
}

/// How one table's rows are stored: with the entries of the columns named in its
/// marker.
pub(super) struct Entries {
    table: JsValue,
    /// Each column's position and name (made once per commit).
    columns: Vec<(usize, JsValue)>,
}

impl Entries {
    /// For the columns of `table` named in `names`.
    pub(super) fn new(table: &Table, names: &[String]) -> Self {
        let columns = table.columns().iter().enumerate();
        let named = columns.filter(|(_, c)| names.iter().any(|n| n == c.name()));
        Entries { table: JsValue::from_str(table.name()), columns: named.map(|(i, c)| (i, c.name().into())).collect() }
    }

    /// The record of `row`, whose text is `text`: the text alone where there are no
    /// columns, else the object with its entries.
    pub(super) fn record(&self, row: &StoredRow, text: &str) -> Result<JsValue> {
        if self.columns.is_empty() {
            return Ok(JsValue::from_str(text));
        }
        let entries = Array::new();
        for (position, column) in &self.columns {
            if let Some(key) = row.row.values().get(*position).and_then(sort_key) {
                entries.push(&Array::of3(&self.table, column, &binary(&key)));
            }
        }
        let record = Object::new();
        Reflect::set(&record, &JsValue::from_str(ROW), &JsValue::from_str(text)).map_err(js)?;
        Reflect::set(&record, &JsValue::from_str(INDEX), &entries).map_err(js)?;
        Ok(record.into())
    }
}

/// The key ranges of the `ix` index that `scan` of `column` reads: one per listed
/// value, or one for a range; none where the range is empty.
pub(super) fn ranges(table: &Table, column: usize, scan: &IndexScan) -> Result<Vec<IdbKeyRange>> {
    let table_name = JsValue::from_str(table.name());
    let column = JsValue::from_str(table.columns().get(column).map_or("", |c| c.name()));
    let key = |sort_key: &[u8]| -> JsValue { Array::of3(&table_name, &column, &binary(sort_key)).into() };
    match scan {
        IndexScan::Values(values) => {
            values.iter().filter_map(sort_key).map(|k| IdbKeyRange::only(&key(&k)).map_err(js)).collect()
        }
        IndexScan::Range { lower, upper } => {
            let Some((lower, upper)) = IndexScan::key_range(lower, upper) else { return Ok(Vec::new()) };
            // `[t, c]` sorts before every entry of the column, `[t, c, []]` after every
            // one (an array sorts after every binary key).
            let (lower, lower_open) = match &lower {
                Bound::Included(k) => (key(k), false),
                Bound::Excluded(k) => (key(k), true),
                Bound::Unbounded => (Array::of2(&table_name, &column).into(), false),
            };
            let (upper, upper_open) = match &upper {
                Bound::Included(k) => (key(k), false),
                Bound::Excluded(k) => (key(k), true),
                Bound::Unbounded => (Array::of3(&table_name, &column, &Array::new()).into(), false),
            };
            let range = IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, lower_open, upper_open);
            Ok(vec![range.map_err(js)?])
        }
    }
}
