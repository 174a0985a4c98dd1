//! Turning a database row into a [`StoredRow`], naming the column that does not fit.

use chrono::{DateTime, Utc};
use plinth::backend::{Row, RowMeta, StoredRow};
use plinth::{ColumnType, Error, Table, Value};

/// Builds a stored row from the system columns and `field`, which reads field `i`
/// (at select position `i + 3`) as `ty`, or says what it found instead.
pub(crate) fn stored_row(
    table: &Table,
    id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    mut field: impl FnMut(usize, ColumnType) -> Result<Value, String>,
) -> Result<StoredRow, Error> {
    let values = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            field(i + 3, column.ty()).map_err(|found| Error::Decode {
                table: table.name(),
                record: format!("id {id}"),
                column: Some(column.name()),
                found,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StoredRow { meta: RowMeta { id, created_at, updated_at }, row: Row::new(values) })
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
