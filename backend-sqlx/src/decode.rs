//! Turning a database row into a [`StoredRow`], or handing its fields to an entity
//! ([`Fields`]), naming the column that does not fit.

use plinth::backend::{Row, RowMeta, StoredFields, StoredRow};
use plinth::{ColumnType, Error, Table, Value};

/// Where a full select list (`sql::select_list`) puts the first field: right after `id`.
const FIRST_FIELD: usize = 1;

/// Where a full select list of `table` puts `created_at` and `updated_at`: after the
/// fields.
pub(crate) fn timestamp_positions(table: &Table) -> [usize; 2] {
    let after_fields = FIRST_FIELD + table.columns().len();
    [after_fields, after_fields + 1]
}

/// The fields of a driver row selected with a table's full select list, read off the
/// row one by one by `value` (a codec's), which reads select position `i` as `ty` or
/// says what it found instead.
pub(crate) struct Fields<'r, R, F> {
    row: &'r R,
    value: F,
}

impl<'r, R: sqlx::Row, F: Fn(&'r R, usize, ColumnType) -> Result<Value, String>> Fields<'r, R, F> {
    pub(crate) fn new(row: &'r R, value: F) -> Self {
        Fields { row, value }
    }
}

impl<'r, R: sqlx::Row, F: Fn(&'r R, usize, ColumnType) -> Result<Value, String>> StoredFields for Fields<'r, R, F> {
    fn len(&self) -> usize {
        self.row.len().saturating_sub(Table::SYSTEM_COLUMNS.len())
    }

    fn take(&mut self, index: usize, ty: ColumnType) -> Result<Value, String> {
        (self.value)(self.row, index + FIRST_FIELD, ty)
    }
}

/// Builds a stored row of `table` from its system columns and its fields.
pub(crate) fn stored_row(table: &Table, meta: RowMeta, fields: &mut dyn StoredFields) -> Result<StoredRow, Error> {
    let values = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            fields.take(i, column.ty()).map_err(|found| Error::Decode {
                table: table.name(),
                record: format!("id {}", meta.id),
                column: Some(column.name()),
                found,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StoredRow { meta, row: Row::new(values) })
}

/// A decode failure of a system column of the row with this id (`None` when the id
/// itself could not be read).
pub(crate) fn system_column(table: &Table, id: Option<i64>, column: &'static str, found: String) -> Error {
    Error::Decode {
        table: table.name(),
        record: id.map_or_else(|| "a row whose id cannot be read".to_owned(), |id| format!("id {id}")),
        column: Some(column),
        found,
    }
}

/// What a failed `try_get` found, without sqlx's "error occurred while decoding column"
/// wrapper: the decoder's own words.
pub(crate) fn found(err: sqlx::Error) -> String {
    match err {
        sqlx::Error::ColumnDecode { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}
