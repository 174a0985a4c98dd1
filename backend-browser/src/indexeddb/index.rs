//! The `index` object store: one entry per row and indexed column, key
//! `[table, column, sort key, id]` → id, where the sort key is the value's
//! [`sort_key`] as binary (IndexedDB compares binary keys byte by byte, so key order is
//! [`Value::compare`](plinth::Value::compare)'s order; a text key would compare by
//! UTF-16 code units instead).
//!
//! Which columns' entries are complete — written for every row — is recorded per table
//! in `meta` under `["indexed", table]` (an array of column names): a query reads an
//! index only for such a column, and scans otherwise (a table of layout version 1,
//! before `create_all` fills its entries). Every commit keeps the entries of the
//! recorded columns, whichever entity writes.

use std::ops::Bound;

use js_sys::{Array, Uint8Array};
use plinth::backend::StoredRow;
use plinth::engine::{sort_key, IndexScan};
use plinth::{Result, Table, Value};
use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbObjectStore};

use super::{id_value, js};

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

/// The marker for `columns`.
pub(super) fn marker(columns: &[&str]) -> JsValue {
    columns.iter().map(|name| JsValue::from_str(name)).collect::<Array>().into()
}

/// The positions in `table` of the columns named in `names`.
pub(super) fn positions(table: &Table, names: &[String]) -> Vec<usize> {
    let columns = table.columns().iter().enumerate();
    columns.filter(|(_, c)| names.iter().any(|n| n == c.name())).map(|(i, _)| i).collect()
}

/// The names of `table`'s indexed (non-unique) columns.
pub(super) fn indexed_names(table: &Table) -> Vec<&'static str> {
    table.columns().iter().filter(|c| c.is_indexed()).map(|c| c.name()).collect()
}

fn prefix(table: &Table, column: usize) -> (JsValue, JsValue) {
    let name = table.columns().get(column).map_or("", |c| c.name());
    (JsValue::from_str(table.name()), JsValue::from_str(name))
}

fn binary(key: &[u8]) -> JsValue {
    Uint8Array::from(key).into()
}

/// The key of row `id`'s entry for `value` in `column`; `None` for a value no index
/// holds (`NULL`).
fn entry_key(table: &Table, column: usize, value: &Value, id: i64) -> Option<JsValue> {
    let key = sort_key(value)?;
    let (table, column) = prefix(table, column);
    let parts = [table, column, binary(&key), id_value(id)];
    Some(parts.iter().collect::<Array>().into())
}

/// Issues the entries of `row` in the columns at `columns`.
pub(super) fn put_entries(index: &IdbObjectStore, table: &Table, columns: &[usize], row: &StoredRow) -> Result<()> {
    for &column in columns {
        let Some(value) = row.row.values().get(column) else { continue };
        if let Some(key) = entry_key(table, column, value, row.meta.id) {
            index.put_with_key(&id_value(row.meta.id), &key).map_err(js)?;
        }
    }
    Ok(())
}

/// Issues what moves row `id`'s entries in the columns at `columns` from `before` to
/// `after` (either `None`: an insert, a delete): only where the value changes.
pub(super) fn move_entries(
    index: &IdbObjectStore,
    table: &Table,
    columns: &[usize],
    before: Option<&StoredRow>,
    after: Option<&StoredRow>,
) -> Result<()> {
    for &column in columns {
        let old = before.and_then(|row| row.row.values().get(column));
        let new = after.and_then(|row| row.row.values().get(column));
        if old == new {
            continue;
        }
        if let Some(key) = old.zip(before).and_then(|(value, row)| entry_key(table, column, value, row.meta.id)) {
            index.delete(&key).map_err(js)?;
        }
        if let Some((value, row)) = new.zip(after) {
            if let Some(key) = entry_key(table, column, value, row.meta.id) {
                index.put_with_key(&id_value(row.meta.id), &key).map_err(js)?;
            }
        }
    }
    Ok(())
}

/// The key ranges of `column`'s entries that `scan` reads: one per listed value, or
/// one for a range; none where the range is empty.
pub(super) fn ranges(table: &Table, column: usize, scan: &IndexScan) -> Result<Vec<IdbKeyRange>> {
    let (table, column) = prefix(table, column);
    // `[t, c, k]` sorts before every entry of `k`, `[t, c, k, []]` after (an array
    // sorts after every number), `[t, c]` before every entry of the column and
    // `[t, c, []]` after (an array sorts after every binary key).
    let before = |key: &[u8]| -> JsValue { Array::of3(&table, &column, &binary(key)).into() };
    let after = |key: &[u8]| -> JsValue {
        [table.clone(), column.clone(), binary(key), Array::new().into()].iter().collect::<Array>().into()
    };
    let bound = |lower: &JsValue, upper: &JsValue| IdbKeyRange::bound(lower, upper).map_err(js);
    match scan {
        IndexScan::Values(values) => {
            values.iter().filter_map(sort_key).map(|key| bound(&before(&key), &after(&key))).collect()
        }
        IndexScan::Range { lower, upper } => {
            let Some((lower, upper)) = IndexScan::key_bounds(lower, upper) else { return Ok(Vec::new()) };
            let empty = match (&lower, &upper) {
                (Bound::Included(low), Bound::Included(high)) => low > high,
                (Bound::Included(low) | Bound::Excluded(low), Bound::Included(high) | Bound::Excluded(high)) => {
                    low >= high
                }
                _ => false,
            };
            if empty {
                return Ok(Vec::new());
            }
            let lower = match &lower {
                Bound::Included(key) => before(key),
                Bound::Excluded(key) => after(key),
                Bound::Unbounded => Array::of2(&table, &column).into(),
            };
            let upper = match &upper {
                Bound::Included(key) => after(key),
                Bound::Excluded(key) => before(key),
                Bound::Unbounded => Array::of3(&table, &column, &Array::new()).into(),
            };
            Ok(vec![bound(&lower, &upper)?])
        }
    }
}
