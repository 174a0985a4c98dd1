//! What deleting a row does, on every backend alike: the rows that refer to it are
//! found (one query per reference column per level, not one per row), the rules are
//! checked before anything is written — `cascade` deletes the referring rows and
//! theirs in turn, `set_null` updates them, `restrict` refuses while a row that the
//! delete does not remove still refers to one it does — and the writes run deepest
//! first, so every constraint holds after each statement.

use std::collections::{BTreeMap, HashSet};

use crate::backend::{Row, StoredRow, Transaction};
use crate::error::{Error, Result};
use crate::query::{Filter, Select};
use crate::relations::Relations;
use crate::table::{OnDelete, Table};
use crate::value::Value;

/// How a delete with rules ended.
pub(crate) enum Deleted {
    /// Done (how many of the rows asked for were deleted), or refused before anything
    /// was written (the error says why).
    Settled(Result<u64>),
    /// Failed while writing (another session changed a referring row meanwhile, or the
    /// connection failed): part of the delete may be in the transaction, which must
    /// not commit.
    HalfDone(Error),
}

/// Deletes rows `ids` of `table` in `tx`, which this transaction has read, and applies
/// the delete rules of every reference to them; [`Error::StillReferenced`] (nothing
/// written) if a `restrict` rule refuses. The answer is how many rows were asked for:
/// each is gone, deleted here or (on SQL, where a session reads what others commit)
/// by another session in the meantime.
pub(crate) async fn delete_with_rules(
    tx: &mut dyn Transaction,
    relations: &Relations,
    table: &'static Table,
    ids: &[i64],
) -> Deleted {
    let plan = match relations.referrers(table.name()).is_empty() {
        true => Ok(DeletePlan::of_roots(table, ids)),
        false => DeletePlan::collect(tx, relations, table, ids).await,
    };
    match plan {
        Ok(plan) => match plan.execute(tx).await {
            Ok(deleted) => Deleted::Settled(Ok(deleted)),
            Err(err) => Deleted::HalfDone(err),
        },
        Err(err) => Deleted::Settled(Err(err)),
    }
}

/// The rows one delete removes and the rows it sets a column of to `NULL`.
#[derive(Debug, Default)]
struct DeletePlan {
    /// Every row to delete, in the order found (first the `roots` asked for).
    deleted: Vec<(&'static Table, i64)>,
    /// How many of `deleted`, from the start, were asked for.
    roots: usize,
    deleted_set: HashSet<(&'static str, i64)>,
    /// Rows to update: the row as read, and the columns that become `NULL`.
    nulled: BTreeMap<(&'static str, i64), (&'static Table, StoredRow, Vec<usize>)>,
    /// Rows a `restrict` rule found: (child table, column, child row, parent table, parent id).
    restricted: Vec<(&'static Table, usize, i64, &'static Table, i64)>,
}

impl DeletePlan {
    /// The rows asked for, and nothing that refers to them.
    fn of_roots(table: &'static Table, ids: &[i64]) -> DeletePlan {
        let mut plan = DeletePlan::default();
        for &id in ids {
            plan.delete(table, id);
        }
        plan.roots = plan.deleted.len();
        plan
    }

    async fn collect(
        tx: &mut dyn Transaction,
        relations: &Relations,
        table: &'static Table,
        ids: &[i64],
    ) -> Result<DeletePlan> {
        let mut plan = DeletePlan::of_roots(table, ids);
        let mut level: Vec<(&'static Table, Vec<i64>)> =
            vec![(table, plan.deleted.iter().map(|(_, id)| *id).collect())];
        while !level.is_empty() {
            let mut next: Vec<(&'static Table, Vec<i64>)> = Vec::new();
            for (parent, ids) in level {
                for referrer in relations.referrers(parent.name()) {
                    let column = &referrer.table.columns()[referrer.column];
                    let values = ids.iter().map(|id| Value::I64(*id)).collect();
                    let filter = Filter::In { column: column.name().into(), values };
                    let select = Select::bind(referrer.table, vec![filter], Vec::new(), None, 0)?;
                    let rows = tx.select(referrer.table, &select).await?;
                    let mut cascaded = Vec::new();
                    for row in rows {
                        let child = row.meta.id;
                        match referrer.on_delete {
                            OnDelete::Cascade => {
                                if plan.delete(referrer.table, child) {
                                    cascaded.push(child);
                                }
                            }
                            OnDelete::SetNull => {
                                let key = (referrer.table.name(), child);
                                let entry = plan.nulled.entry(key).or_insert_with(|| (referrer.table, row, Vec::new()));
                                entry.2.push(referrer.column);
                            }
                            OnDelete::Restrict => {
                                let parent_id = match row.row.values().get(referrer.column) {
                                    Some(Value::I64(parent_id)) => *parent_id,
                                    _ => continue,
                                };
                                plan.restricted.push((referrer.table, referrer.column, child, parent, parent_id));
                            }
                        }
                    }
                    if !cascaded.is_empty() {
                        next.push((referrer.table, cascaded));
                    }
                }
            }
            level = next;
        }
        plan.check()?;
        Ok(plan)
    }

    /// Adds row `id` of `table` to the rows deleted; `false` if it was already.
    fn delete(&mut self, table: &'static Table, id: i64) -> bool {
        let added = self.deleted_set.insert((table.name(), id));
        if added {
            self.deleted.push((table, id));
        }
        added
    }

    /// `restrict`, as SQL's `NO ACTION` at the end of the statement: a referring row
    /// the delete removes too does not count.
    fn check(&self) -> Result<()> {
        for &(child, column, child_id, parent, parent_id) in &self.restricted {
            if !self.deleted_set.contains(&(child.name(), child_id)) {
                return Err(Error::StillReferenced {
                    table: parent.name(),
                    id: parent_id,
                    by_table: child.name(),
                    by_column: child.columns()[column].name(),
                });
            }
        }
        Ok(())
    }

    /// The updates, then the deletes, deepest first; how many rows were asked for.
    async fn execute(self, tx: &mut dyn Transaction) -> Result<u64> {
        for ((name, id), (table, stored, columns)) in self.nulled {
            if self.deleted_set.contains(&(name, id)) {
                continue;
            }
            let mut values = stored.row.into_values();
            for column in columns {
                values[column] = Value::Null;
            }
            tx.update(table, id, stored.meta.updated_at, &Row::new(values)).await?;
        }
        // The rows asked for are deleted last. A row may be gone already, one asked for
        // included: the database's own `ON DELETE CASCADE` removed it with a row
        // deleted before it (one reached twice, through a diamond or around a cycle,
        // or a row asked for that refers to another), or another session deleted it.
        // Consecutive rows of one table go in one write, so rows that refer to each other
        // (a restricting self-reference among the roots, a cascade down a tree) are
        // deleted together and their references checked once, at its end.
        let roots = self.roots as u64;
        let mut deepest_first = self.deleted.into_iter().rev().peekable();
        while let Some((table, id)) = deepest_first.next() {
            let mut ids = vec![id];
            while let Some((_, next)) = deepest_first.next_if(|(next_table, _)| std::ptr::eq(*next_table, table)) {
                ids.push(next);
            }
            tx.delete_many(table, &ids).await?;
        }
        Ok(roots)
    }
}
