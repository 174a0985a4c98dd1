//! Ids this page reserved in an IndexedDB database's sequence and has not handed out
//! yet, per database and table: what lets a session's insert skip a readwrite
//! transaction of its own, so that adding a row and committing it is one transaction.
//!
//! A reservation moves the stored sequence past the whole block in one readwrite
//! transaction, so no other page or handle is ever given those ids; the page then hands
//! them out one insert after another, in order, with no I/O. Blocks double with use,
//! from the ids one insert asks for up to [`MAX_BLOCK`], so a page that adds one row and
//! closes skips no id, and one that keeps adding reserves once every 64 rows. A block
//! too small for an insert is continued by the next reservation when no one reserved
//! ids since, so a page alone leaves no gap. What a page reserved and did not use when
//! it closes, or when another page reserved after it, is a gap in the ids, never an id
//! given twice: ids still start at 1, grow within the page, and are never reused; two
//! pages adding at once interleave blocks, so across pages id order is not the order
//! rows were added in (`created_at` is).
//!
//! The blocks belong to the page (a thread-local registry), not to a handle, so a
//! second handle on the same database, or the same one opened again, continues them.
//! They are forgotten when this page migrates the database (a table may continue
//! another's sequence afterwards) and when a connection had to be opened again (the
//! database was deleted or upgraded by another page).

use std::cell::RefCell;
use std::collections::HashMap;

/// The most ids reserved at once beyond what an insert asks for.
pub(crate) const MAX_BLOCK: u64 = 64;

/// The ids reserved and not handed out, `next..=last`, and how many the last
/// reservation took.
#[derive(Debug, Clone, Copy)]
struct Block {
    next: i64,
    last: i64,
    size: u64,
}

thread_local! {
    /// Keyed by IndexedDB database name and table name.
    static BLOCKS: RefCell<HashMap<(String, &'static str), Block>> = RefCell::new(HashMap::new());
}

/// Hands out `count` consecutive ids of `table` in `database` from the page's block:
/// the first, or `None` if the block holds fewer (see [`remainder`]).
pub(crate) fn take(database: &str, table: &'static str, count: u64) -> Option<i64> {
    BLOCKS.with_borrow_mut(|blocks| {
        let block = blocks.get_mut(&(database.to_owned(), table))?;
        let count = i64::try_from(count).ok()?;
        let end = block.next.checked_add(count - 1)?;
        if count == 0 || end > block.last {
            return None;
        }
        let first = block.next;
        block.next = end + 1;
        Some(first)
    })
}

/// The ids left in the page's block for `table` in `database`, `(next, last)`, if any.
pub(crate) fn remainder(database: &str, table: &'static str) -> Option<(i64, i64)> {
    let block = BLOCKS.with_borrow(|blocks| blocks.get(&(database.to_owned(), table)).copied())?;
    (block.next <= block.last).then_some((block.next, block.last))
}

/// How many ids to reserve for an insert of `count` rows: `count` the first time,
/// then twice the last reservation, at most [`MAX_BLOCK`], and never fewer than `count`.
pub(crate) fn reservation(database: &str, table: &'static str, count: u64) -> u64 {
    let last = BLOCKS.with_borrow(|blocks| blocks.get(&(database.to_owned(), table)).map(|b| b.size));
    let doubled = last.map_or(0, |size| size.saturating_mul(2).min(MAX_BLOCK));
    doubled.max(count)
}

/// Keeps the ids `first..=last` of a reservation of `size` ids as the page's block for
/// `table` (the insert that asked took those before `first`).
pub(crate) fn keep(database: &str, table: &'static str, first: i64, last: i64, size: u64) {
    BLOCKS.with_borrow_mut(|blocks| {
        blocks.insert((database.to_owned(), table), Block { next: first, last, size });
    });
}

/// Forgets every block of `database`.
pub(crate) fn forget(database: &str) {
    BLOCKS.with_borrow_mut(|blocks| blocks.retain(|(name, _), _| name != database));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_double_from_the_first_request_up_to_the_limit() {
        let db = "doubling";
        assert_eq!(reservation(db, "t", 1), 1);
        keep(db, "t", 2, 1, 1);
        assert_eq!(take(db, "t", 1), None, "an empty block");
        assert_eq!(remainder(db, "t"), None);
        assert_eq!(reservation(db, "t", 1), 2);
        keep(db, "t", 3, 3, 2);
        assert_eq!(take(db, "t", 1), Some(3));
        assert_eq!(take(db, "t", 1), None);
        keep(db, "t", 5, 7, 4);
        assert_eq!(take(db, "t", 2), Some(5));
        assert_eq!(take(db, "t", 2), None, "fewer left than asked: none handed out");
        assert_eq!(remainder(db, "t"), Some((7, 7)), "and the rest kept for the next reservation");
        keep(db, "t", 9, 40, 40);
        assert_eq!(reservation(db, "t", 1), MAX_BLOCK);
        assert_eq!(reservation(db, "t", 500), 500);
        forget(db);
        assert_eq!(take(db, "t", 1), None);
        assert_eq!(reservation(db, "t", 3), 3);
    }

    #[test]
    fn each_database_and_table_has_its_own_block() {
        keep("a", "t", 1, 10, 10);
        keep("a", "u", 100, 110, 11);
        keep("b", "t", 50, 60, 11);
        assert_eq!((take("a", "t", 1), take("a", "u", 1), take("b", "t", 1)), (Some(1), Some(100), Some(50)));
        forget("a");
        assert_eq!((take("a", "t", 1), take("b", "t", 1)), (None, Some(51)));
    }
}
