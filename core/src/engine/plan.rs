//! [`CommitPlan`]: what a commit checks and writes, decided once for every store.
//!
//! A session's staged writes become [`Change`]s; the plan turns them into the reads a
//! store must make (each changed row's committed state, the owner of each unique value
//! involved), the rules those reads must pass (no row changed underneath: `Conflict`;
//! no unique value held twice: `UniqueViolation`), and the [`Write`]s that follow. A
//! store reads, hands the answers back, and executes the writes atomically in its own
//! way (a lock, a journal, one IndexedDB transaction); it decides nothing.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::relations::Relations;
use crate::row::StoredRow;
use crate::table::Table;
use crate::value::{IndexKey, Value};

/// One row's change in a commit: what the session saw before, and what it wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The table.
    pub table: &'static Table,
    /// The row's id.
    pub id: i64,
    /// The committed row the session based its write on; `None` for an insert.
    pub before: Option<StoredRow>,
    /// The row to store; `None` for a delete.
    pub after: Option<StoredRow>,
}

impl Change {
    /// The rule for a row a commit writes: its committed state, `current`, must still be
    /// what the session saw, else [`Error::Conflict`] (another session wrote or deleted
    /// it, or, for an insert, a row with its id exists).
    pub fn check_current(&self, current: Option<&StoredRow>) -> Result<()> {
        match current == self.before.as_ref() {
            true => Ok(()),
            false => Err(Error::Conflict { table: self.table.name(), id: self.id }),
        }
    }
}

/// A value of a unique column that a commit removes or writes, whose committed owner
/// (the id of the row holding it) the plan needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct UniqueSlot {
    /// The table.
    pub table: &'static Table,
    /// The unique column, by position.
    pub column: usize,
    /// The value.
    pub value: Value,
}

/// One write of a commit, in the order a store executes them: every removal before any
/// put, as a unique value may move from one row to another.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Write<'p> {
    /// Remove row `id` of `table`.
    DeleteRow {
        /// The table.
        table: &'static Table,
        /// The row's id.
        id: i64,
    },
    /// Remove the entry of `value` from the unique index of `column`.
    DeleteUnique {
        /// The table.
        table: &'static Table,
        /// The unique column, by position.
        column: usize,
        /// The value.
        value: &'p Value,
    },
    /// Store `row` as row `id`. `new`: the session inserted it, so no row may
    /// hold its id; a store whose insert refuses an existing key (IndexedDB's `add`)
    /// may skip reading such rows for [`Change::check_current`] and report a refused
    /// insert as [`Error::Conflict`] instead.
    PutRow {
        /// The table.
        table: &'static Table,
        /// The row's id.
        id: i64,
        /// The row.
        row: &'p StoredRow,
        /// Whether the row is an insert.
        new: bool,
    },
    /// Point the unique index of `column` at row `id` for `value`.
    PutUnique {
        /// The table.
        table: &'static Table,
        /// The unique column, by position.
        column: usize,
        /// The value.
        value: &'p Value,
        /// The row holding it.
        id: i64,
    },
}

impl Write<'_> {
    /// The table the write is to.
    pub fn table(&self) -> &'static Table {
        match *self {
            Write::DeleteRow { table, .. }
            | Write::DeleteUnique { table, .. }
            | Write::PutRow { table, .. }
            | Write::PutUnique { table, .. } => table,
        }
    }
}

type SlotKey = (&'static str, usize, IndexKey);

/// A committed row a commit's references need: a row the commit writes refers to it
/// (through `column` of `by`), so it must still exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferencedRow {
    /// The parent table.
    pub table: &'static Table,
    /// The parent row's id.
    pub id: i64,
    /// The table of the row referring to it.
    pub by: &'static Table,
    /// The reference column, by position in `by`.
    pub column: usize,
}

/// A commit: the changes, the reads they need, and (given the reads' answers) the
/// checks and writes. Built by the record engine once per commit and handed to
/// [`StoreMut::apply`](crate::engine::StoreMut::apply).
#[derive(Debug)]
pub struct CommitPlan {
    changes: Vec<Change>,
    slots: Vec<UniqueSlot>,
    slot_of: HashMap<SlotKey, usize>,
    /// Committed rows the written references need, each once.
    referenced: Vec<ReferencedRow>,
    /// References to rows the commit writes or deletes itself: (parent table, id,
    /// referring table, column).
    referenced_in_commit: Vec<ReferencedRow>,
    /// Tables that refer to rows the commit deletes: their committed rows are read
    /// whole, as one of them may have come to refer to such a row since it was read.
    referring_tables: Vec<&'static Table>,
    /// The rows the commit deletes, of tables that are referred to.
    deleted: HashSet<(&'static str, i64)>,
}

impl CommitPlan {
    /// The plan of committing `changes` (each row at most once), with no references
    /// to check.
    pub fn new(changes: Vec<Change>) -> Self {
        Self::with_relations(changes, &Relations::new())
    }

    /// The plan of committing `changes` on a database whose tables are `relations`.
    pub(crate) fn with_relations(changes: Vec<Change>, relations: &Relations) -> Self {
        let mut plan = CommitPlan {
            changes,
            slots: Vec::new(),
            slot_of: HashMap::new(),
            referenced: Vec::new(),
            referenced_in_commit: Vec::new(),
            referring_tables: Vec::new(),
            deleted: HashSet::new(),
        };
        plan.plan_references(relations);
        for change in &plan.changes {
            for row in change.before.iter().chain(&change.after) {
                for (column, value) in change.table.unique_values(&row.row) {
                    let key = (change.table.name(), column, IndexKey(value.clone()));
                    if let std::collections::hash_map::Entry::Vacant(entry) = plan.slot_of.entry(key) {
                        entry.insert(plan.slots.len());
                        plan.slots.push(UniqueSlot { table: change.table, column, value: value.clone() });
                    }
                }
            }
        }
        plan
    }

    fn plan_references(&mut self, relations: &Relations) {
        let changed: HashSet<(&str, i64)> = self.changes.iter().map(|c| (c.table.name(), c.id)).collect();
        let mut seen = HashSet::new();
        for change in &self.changes {
            let Some(after) = &change.after else { continue };
            for (column, value) in after.row.values().iter().enumerate() {
                let (Some(reference), Value::I64(id)) = (change.table.columns()[column].references(), value) else {
                    continue;
                };
                let Some(parent) = relations.table(reference.table) else { continue };
                let needed = ReferencedRow { table: parent, id: *id, by: change.table, column };
                match changed.contains(&(parent.name(), *id)) {
                    true => self.referenced_in_commit.push(needed),
                    false if seen.insert((parent.name(), *id)) => self.referenced.push(needed),
                    false => {}
                }
            }
        }
        for change in self.changes.iter().filter(|c| c.before.is_some() && c.after.is_none()) {
            let referrers = relations.referrers(change.table.name());
            if referrers.is_empty() {
                continue;
            }
            self.deleted.insert((change.table.name(), change.id));
            for referrer in referrers {
                if !self.referring_tables.iter().any(|t| t.name() == referrer.table.name()) {
                    self.referring_tables.push(referrer.table);
                }
            }
        }
    }

    /// The committed rows the commit's references need, each once: a store reads
    /// whether each exists and hands the answers to
    /// [`check_references`](Self::check_references).
    pub fn referenced_rows(&self) -> &[ReferencedRow] {
        &self.referenced
    }

    /// The tables whose committed rows a store reads whole for
    /// [`check_references`](Self::check_references): those referring to a table the
    /// commit deletes rows of.
    pub fn referring_tables(&self) -> &[&'static Table] {
        &self.referring_tables
    }

    /// Checks that the commit leaves no reference pointing at a missing row, given
    /// whether each of [`referenced_rows`](Self::referenced_rows) exists (`exists`, in
    /// order) and the committed rows of each of
    /// [`referring_tables`](Self::referring_tables) (`rows`, in order). A row written
    /// that refers to a row that is gone (or that the commit deletes) is
    /// [`Error::ForeignKeyViolation`]; a committed row the commit does not rewrite that
    /// refers to a row it deletes came after the session read the rows referring to
    /// it: [`Error::Conflict`] on that row.
    pub fn check_references(&self, exists: &[bool], rows: &[Vec<StoredRow>]) -> Result<()> {
        let violation = |r: &ReferencedRow| Error::ForeignKeyViolation {
            table: r.by.name(),
            column: r.by.columns()[r.column].name(),
            parent: r.table.name(),
        };
        for (needed, exists) in self.referenced.iter().zip(exists) {
            if !exists {
                return Err(violation(needed));
            }
        }
        let written: HashSet<(&str, i64)> =
            self.changes.iter().filter(|c| c.after.is_some()).map(|c| (c.table.name(), c.id)).collect();
        for needed in &self.referenced_in_commit {
            if !written.contains(&(needed.table.name(), needed.id)) {
                return Err(violation(needed));
            }
        }
        let rewritten: HashSet<(&str, i64)> = self.changes.iter().map(|c| (c.table.name(), c.id)).collect();
        for (table, rows) in self.referring_tables.iter().zip(rows) {
            let references: Vec<(usize, &'static str)> =
                table.columns().iter().enumerate().filter_map(|(i, c)| Some((i, c.references()?.table))).collect();
            for row in rows.iter().filter(|r| !rewritten.contains(&(table.name(), r.meta.id))) {
                for &(column, parent) in &references {
                    if let Some(Value::I64(id)) = row.row.values().get(column) {
                        if self.deleted.contains(&(parent, *id)) {
                            return Err(Error::Conflict { table: table.name(), id: row.meta.id });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The changes: each row's committed state must pass [`Change::check_current`]
    /// before anything is written.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The unique values whose committed owners [`decide`](Self::decide) asks for, each
    /// once.
    pub fn unique_slots(&self) -> &[UniqueSlot] {
        &self.slots
    }

    /// Checks that the commit leaves every unique column unique and returns its writes.
    /// `owner(i, slot)` answers which committed row holds the value of
    /// [`unique_slots`](Self::unique_slots)`[i]` (called once per slot, in order); call
    /// this after every change passed [`Change::check_current`]. A value another row
    /// holds, one the commit writes twice, is [`Error::UniqueViolation`]; rows the
    /// commit itself rewrites do not count as holders.
    pub fn decide(&self, mut owner: impl FnMut(usize, &UniqueSlot) -> Result<Option<i64>>) -> Result<Vec<Write<'_>>> {
        let owners = self.slots.iter().enumerate().map(|(i, slot)| owner(i, slot)).collect::<Result<Vec<_>>>()?;
        let owner_of = |table: &Table, column: usize, value: &Value| {
            self.slot_of.get(&(table.name(), column, IndexKey(value.clone()))).and_then(|&i| owners[i])
        };
        self.check_unique(&owner_of)?;

        let mut writes = Vec::new();
        for change in &self.changes {
            let Some(before) = &change.before else { continue };
            writes.push(Write::DeleteRow { table: change.table, id: change.id });
            for (column, value) in change.table.unique_values(&before.row) {
                if owner_of(change.table, column, value) == Some(change.id) {
                    writes.push(Write::DeleteUnique { table: change.table, column, value });
                }
            }
        }
        for change in &self.changes {
            let Some(after) = &change.after else { continue };
            writes.push(Write::PutRow { table: change.table, id: change.id, row: after, new: change.before.is_none() });
            for (column, value) in change.table.unique_values(&after.row) {
                writes.push(Write::PutUnique { table: change.table, column, value, id: change.id });
            }
        }
        Ok(writes)
    }

    fn check_unique(&self, owner_of: &impl Fn(&Table, usize, &Value) -> Option<i64>) -> Result<()> {
        let rewritten: HashSet<(&str, i64)> = self.changes.iter().map(|c| (c.table.name(), c.id)).collect();
        let mut claimed: HashSet<(&str, usize, IndexKey)> = HashSet::new();
        for change in &self.changes {
            let Some(after) = &change.after else { continue };
            for (column, value) in change.table.unique_values(&after.row) {
                let taken = match owner_of(change.table, column, value) {
                    Some(id) => id != change.id && !rewritten.contains(&(change.table.name(), id)),
                    None => false,
                };
                if taken || !claimed.insert((change.table.name(), column, IndexKey(value.clone()))) {
                    return Err(Error::UniqueViolation {
                        table: change.table.name(),
                        column: Some(change.table.columns()[column].name()),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{Row, RowMeta};
    use crate::Entity;

    #[derive(Entity)]
    struct Login {
        #[entity(unique)]
        name: String,
    }

    fn stored(id: i64, name: &str) -> StoredRow {
        let at = crate::backend::clock::now();
        StoredRow { meta: RowMeta { id, created_at: at, updated_at: at }, row: Row::new(vec![Value::from(name)]) }
    }

    fn change(id: i64, before: Option<&str>, after: Option<&str>) -> Change {
        Change {
            table: Login::table(),
            id,
            before: before.map(|name| stored(id, name)),
            after: after.map(|name| stored(id, name)),
        }
    }

    /// Reads owners from `committed`: (value, id) pairs as a store holds them.
    fn decide<'p>(plan: &'p CommitPlan, committed: &[(&str, i64)]) -> Result<Vec<Write<'p>>> {
        plan.decide(|_, slot| {
            Ok(committed.iter().find(|(name, _)| Value::from(*name) == slot.value).map(|&(_, id)| id))
        })
    }

    #[test]
    fn a_value_moving_between_rows_is_removed_before_it_is_written() -> Result<()> {
        // Row 1 gives up "ann" and row 2 takes it, in one commit.
        let plan = CommitPlan::new(vec![change(1, Some("ann"), Some("amy")), change(2, Some("bob"), Some("ann"))]);
        let writes = decide(&plan, &[("ann", 1), ("bob", 2)])?;
        let last_delete =
            writes.iter().rposition(|w| matches!(w, Write::DeleteRow { .. } | Write::DeleteUnique { .. }));
        let first_put = writes.iter().position(|w| matches!(w, Write::PutRow { .. } | Write::PutUnique { .. }));
        assert!(last_delete < first_put, "{writes:?}");
        let ann = Value::from("ann");
        assert!(writes.contains(&Write::DeleteUnique { table: Login::table(), column: 0, value: &ann }));
        assert!(writes.contains(&Write::PutUnique { table: Login::table(), column: 0, value: &ann, id: 2 }));
        Ok(())
    }

    #[test]
    fn a_value_another_row_holds_or_the_commit_writes_twice_is_refused() {
        let taken = CommitPlan::new(vec![change(3, None, Some("ann"))]);
        assert!(matches!(decide(&taken, &[("ann", 1)]), Err(Error::UniqueViolation { column: Some("name"), .. })));
        let twice = CommitPlan::new(vec![change(3, None, Some("cy")), change(4, None, Some("cy"))]);
        assert!(matches!(decide(&twice, &[]), Err(Error::UniqueViolation { .. })));
        // Freed in the same commit: row 1 is deleted, so its value may be taken.
        let freed = CommitPlan::new(vec![change(1, Some("ann"), None), change(3, None, Some("ann"))]);
        assert!(decide(&freed, &[("ann", 1)]).is_ok());
    }

    #[test]
    fn only_an_entry_the_row_itself_owns_is_removed() -> Result<()> {
        // The index says another row holds "ann": deleting row 1 must not remove it.
        let plan = CommitPlan::new(vec![change(1, Some("ann"), None)]);
        let writes = decide(&plan, &[("ann", 9)])?;
        assert_eq!(writes, [Write::DeleteRow { table: Login::table(), id: 1 }]);
        Ok(())
    }

    #[test]
    fn the_row_a_commit_writes_must_still_be_the_one_it_read() {
        let update = change(1, Some("ann"), Some("amy"));
        assert!(update.check_current(update.before.as_ref()).is_ok());
        assert!(matches!(update.check_current(None), Err(Error::Conflict { id: 1, .. })));
        let insert = change(2, None, Some("bob"));
        assert!(matches!(insert.check_current(Some(&stored(2, "x"))), Err(Error::Conflict { id: 2, .. })));
    }
}
