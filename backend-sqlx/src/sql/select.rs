//! Compiling a checked [`Select`] to parameterized SQL that returns exactly what the
//! memory engine returns: byte-order text, NULLs last ascending, ties broken by id.

use std::borrow::Cow;

use plinth::Direction;

use plinth::backend::LikePattern;
use plinth::backend::{CompareOp, Predicate, Select};
use plinth::{ColumnType, Table, Value};

use super::{column_sql, quote, Dialect, Statement};

/// How many parameters a SQLite statement carries before its further `is_in` lists go
/// through temporary tables: well under SQLite's limit of 32,766, with room for the
/// rest of the filter (at most `MAX_CONDITIONS` more).
const SQLITE_INLINE_PARAMETERS: usize = 16_000;

/// `SELECT <every column> FROM table WHERE … ORDER BY … LIMIT … OFFSET …`
pub(crate) fn compile_select<'v>(dialect: Dialect, table: &Table, columns: &str, select: &'v Select) -> Statement<'v> {
    let mut statement = Statement::new(dialect);
    statement.push(&format!("SELECT {columns} FROM {}", quote(table.name())));
    push_where(&mut statement, table, select);
    push_order_and_window(&mut statement, table, select);
    statement
}

/// `DELETE` of the rows `select` filters (no order or window), ending with the table's
/// statement `marker`.
pub(crate) fn compile_delete<'v>(dialect: Dialect, table: &Table, select: &'v Select, marker: &str) -> Statement<'v> {
    let mut statement = Statement::new(dialect);
    statement.push(&format!("DELETE FROM {}", quote(table.name())));
    push_where(&mut statement, table, select);
    statement.push(marker);
    statement
}

/// `SELECT count(*)` of what [`compile_select`] returns, ending with the table's
/// statement `marker` (see `TableSql`).
pub(crate) fn compile_count<'v>(dialect: Dialect, table: &Table, select: &'v Select, marker: &str) -> Statement<'v> {
    let mut statement = Statement::new(dialect);
    let windowed = select.limit.is_some() || select.offset > 0;
    if windowed {
        statement.push(&format!("SELECT count(*) FROM (SELECT 1 FROM {}", quote(table.name())));
    } else {
        statement.push(&format!("SELECT count(*) FROM {}", quote(table.name())));
    }
    push_where(&mut statement, table, select);
    if windowed {
        push_order_and_window(&mut statement, table, select);
        statement.push(") AS \"windowed\"");
    }
    statement.push(marker);
    statement
}

/// The tables the subqueries of `select` read (filters through a relation), each
/// once: the backend checks their stored schema, as for the table queried.
pub(crate) fn subquery_tables(select: &Select) -> Vec<&'static Table> {
    fn walk(predicate: &Predicate, tables: &mut Vec<&'static Table>) {
        match predicate {
            Predicate::InSelect { table, filter, .. } => {
                if !tables.iter().any(|t| std::ptr::eq(*t, *table)) {
                    tables.push(table);
                }
                walk(filter, tables);
            }
            Predicate::And(parts) | Predicate::Or(parts) => parts.iter().for_each(|p| walk(p, tables)),
            Predicate::Not(inner) => walk(inner, tables),
            _ => {}
        }
    }
    let mut tables = Vec::new();
    if let Some(filter) = &select.filter {
        walk(filter, &mut tables);
    }
    tables
}

pub(super) fn push_where<'v>(statement: &mut Statement<'v>, table: &Table, select: &'v Select) {
    if let Some(filter) = &select.filter {
        statement.push(" WHERE ");
        push_predicate(statement, table, filter);
    }
}

pub(super) fn push_order_and_window(statement: &mut Statement<'_>, table: &Table, select: &Select) {
    statement.push(" ORDER BY ");
    for key in &select.order {
        let column = ordered_column(statement.dialect, table, key.column);
        let direction = match key.direction {
            Direction::Asc => "ASC NULLS LAST",
            Direction::Desc => "DESC NULLS FIRST",
        };
        statement.push(&format!("{column} {direction}, "));
    }
    statement.push("\"id\" ASC");
    let limit = select.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let offset = i64::try_from(select.offset).unwrap_or(i64::MAX);
    match (limit, statement.dialect) {
        (Some(n), _) => {
            statement.push(" LIMIT ");
            statement.push_bind(Cow::Owned(Value::I64(n)), ColumnType::I64);
        }
        (None, Dialect::Sqlite) if offset > 0 => statement.push(" LIMIT -1"),
        (None, _) => {}
    }
    if offset > 0 {
        statement.push(" OFFSET ");
        statement.push_bind(Cow::Owned(Value::I64(offset)), ColumnType::I64);
    }
}

/// A column as compared with `<`/`>` or sorted: text in byte order on PostgreSQL too.
pub(super) fn ordered_column(dialect: Dialect, table: &Table, column: plinth::backend::ColumnRef) -> String {
    let name = column_sql(table, column);
    let is_text = table.resolve(table.column_name(column)).map(|(_, ty)| ty == ColumnType::Text).unwrap_or(false);
    if is_text && dialect == Dialect::Postgres {
        format!("{name} COLLATE \"C\"")
    } else {
        name
    }
}

fn push_predicate<'v>(statement: &mut Statement<'v>, table: &Table, predicate: &'v Predicate) {
    match predicate {
        Predicate::Compare { column, op, value } => {
            let column_text = match op {
                CompareOp::Eq | CompareOp::Ne => column_sql(table, *column),
                _ => ordered_column(statement.dialect, table, *column),
            };
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
            };
            statement.push(&format!("{column_text} {op} "));
            push_value(statement, value);
        }
        Predicate::Like { column, pattern, matcher } => {
            statement.push(&column_sql(table, *column));
            match statement.dialect {
                Dialect::Postgres => {
                    statement.push(" LIKE ");
                    statement.push_bind(Cow::Owned(Value::Text(pattern.clone())), ColumnType::Text);
                    statement.push(" ESCAPE '\\'");
                }
                Dialect::Sqlite => {
                    // SQLite's LIKE ignores ASCII case; GLOB is case-sensitive and
                    // UTF-8 aware, so the pattern is translated to it.
                    statement.push(" GLOB ");
                    statement.push_bind(Cow::Owned(Value::Text(glob(matcher))), ColumnType::Text);
                }
            }
        }
        Predicate::In { column, values } if values.is_empty() => {
            let _ = column;
            statement.push("(1 = 0)");
        }
        Predicate::In { column, values } => {
            // A statement may carry at most 65,535 parameters on PostgreSQL and 32,766 on
            // SQLite, and a list may be longer.
            let ty = values[0].column_type().unwrap_or(ColumnType::Text);
            let column = column_sql(table, *column);
            match statement.dialect {
                Dialect::Postgres => {
                    // The whole list as one array parameter.
                    statement.push(&format!("{column} = ANY("));
                    statement.push_list(values, ty);
                    statement.push(")");
                }
                Dialect::Sqlite if statement.binds.len() + values.len() <= SQLITE_INLINE_PARAMETERS => {
                    statement.push(&format!("{column} IN ("));
                    for (i, value) in values.iter().enumerate() {
                        if i > 0 {
                            statement.push(", ");
                        }
                        push_value(statement, value);
                    }
                    statement.push(")");
                }
                Dialect::Sqlite => {
                    // Past the budget, the list is loaded into a temporary table first,
                    // with bound parameters: SQLite's own parsing of numbers (a JSON array
                    // through `json_each`, say) is not exact for every double.
                    let list = statement.push_temporary_list(values, ty);
                    statement.push(&format!("{column} IN (SELECT \"value\" FROM temp.{})", quote(&list)));
                }
            }
        }
        Predicate::IsNull { column } => statement.push(&format!("{} IS NULL", column_sql(table, *column))),
        Predicate::InSelect { column, table: inner, select_column, filter } => {
            // The subquery's NULLs are left out, so `NOT` of it is what it says (SQL's
            // `NOT IN` of a list holding NULL matches nothing), as on the record engine.
            let selected = column_sql(inner, *select_column);
            statement.push(&format!(
                "{} IN (SELECT {selected} FROM {} WHERE {selected} IS NOT NULL AND ",
                column_sql(table, *column),
                quote(inner.name())
            ));
            push_predicate(statement, inner, filter);
            statement.push(")");
        }
        Predicate::And(parts) => push_joined(statement, table, parts, " AND ", "(1 = 1)"),
        Predicate::Or(parts) => push_joined(statement, table, parts, " OR ", "(1 = 0)"),
        Predicate::Not(inner) => {
            statement.push("(NOT ");
            push_predicate(statement, table, inner);
            statement.push(")");
        }
    }
}

/// `(a AND b AND …)`, nested as a balanced tree: `((a AND b) AND (c AND d))`. A long
/// flat chain parses as a chain of that depth, and SQLite refuses expressions more than
/// 1,000 deep.
fn push_joined<'v>(statement: &mut Statement<'v>, table: &Table, parts: &'v [Predicate], joiner: &str, empty: &str) {
    match parts {
        [] => statement.push(empty),
        [only] => push_predicate(statement, table, only),
        parts => {
            let (left, right) = parts.split_at(parts.len() / 2);
            statement.push("(");
            push_joined(statement, table, left, joiner, empty);
            statement.push(joiner);
            push_joined(statement, table, right, joiner, empty);
            statement.push(")");
        }
    }
}

fn push_value<'v>(statement: &mut Statement<'v>, value: &'v Value) {
    let ty = value.column_type().unwrap_or(ColumnType::Text);
    statement.push_bind(Cow::Borrowed(value), ty);
}

/// The GLOB pattern matching what `pattern` matches as LIKE.
fn glob(pattern: &LikePattern) -> String {
    use plinth::backend::LikePiece;
    let mut glob = String::new();
    for piece in pattern.pieces() {
        match piece {
            LikePiece::AnyRun => glob.push('*'),
            LikePiece::AnyOne => glob.push('?'),
            LikePiece::Literal(c @ ('*' | '?' | '[')) => {
                glob.push('[');
                glob.push(c);
                glob.push(']');
            }
            LikePiece::Literal(c) => glob.push(c),
        }
    }
    glob
}
