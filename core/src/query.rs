//! Queries: filters, ordering, limit and offset, built typed and checked before any I/O.
//!
//! One semantics on every backend:
//!
//! - **Comparisons** follow SQL: a comparison with a `NULL` column is unknown, so
//!   `ne("x")` does not match rows where the column is `NULL`; `and`, `or` and `!` use
//!   three-valued logic. Test for `NULL` with `is_null` / `is_not_null`.
//! - **Text** compares and sorts by UTF-8 bytes (PostgreSQL `COLLATE "C"`, SQLite
//!   `BINARY`): `"Z" < "a" < "é"`. No locale, no case folding.
//! - **LIKE** is case-sensitive; `%` matches any run of characters, `_` exactly one
//!   character, and `\` makes the next character literal (`like_escape` builds safe
//!   patterns from user input).
//! - **Order**: `NULL`s sort last on ascending keys and first on descending ones (as if
//!   `NULL` were the largest value); rows equal on every key are ordered by `id`, so
//!   every backend returns the same sequence.
//! - **JSON** columns support only `is_null`; no two backends agree on JSON equality.
//! - `count` counts what `all` would return, limit and offset included.
//! - **Size**: an `is_in` list may be as long as memory allows; a filter holds at most
//!   [`MAX_CONDITIONS`] conditions nested at most [`MAX_NESTING`] deep, and a larger
//!   one is refused with `Error::InvalidValue` before any I/O, on every backend.

mod builder;
mod column;
mod filter;
mod like;
mod order;
mod select;

pub use builder::Query;
pub use column::Column;
pub use filter::{CompareOp, DynColumn, Filter};
pub use like::{like_escape, LikePattern, LikePiece};
pub use order::{Direction, Order};
pub use select::{Predicate, Select, SortKey, MAX_CONDITIONS, MAX_NESTING};
