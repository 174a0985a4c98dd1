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
    /// Done, or refused before anything was written (the error says why).
    Settled(Result<()>),
    /// Failed while writing (another session changed a referring row meanwhile, or the
    /// connection failed): part of the delete may be in the transaction, which must
    /// not commit.
    HalfDone(Error),
}

/// Deletes row `id` of `table` in `tx` and applies the delete rules of every
/// reference to it; [`Error::NotFound`] if there is no such row,
/// [`Error::StillReferenced`] (nothing written) if a `restrict` rule refuses.
pub(crate) async fn delete_with_rules(
    tx: &mut dyn Transaction,
    relations: &Relations,
    table: &'static Table,
    id: i64,
) -> Deleted {
    if relations.referrers(table.name()).is_empty() {
        return Deleted::Settled(tx.delete(table, id).await);
    }
    let plan = match tx.get(table, id).await {
        Ok(Some(_)) => DeletePlan::collect(tx, relations, table, id).await,
        Ok(None) => Err(Error::NotFound { table: table.name(), id }),
        Err(err) => Err(err),
    };
    match plan {
        Ok(plan) => match plan.execute(tx).await {
            Ok(()) => Deleted::Settled(Ok(())),
            Err(err) => Deleted::HalfDone(err),
        },
        Err(err) => Deleted::Settled(Err(err)),
    }
}

/// The rows one delete removes and the rows it sets a column of to `NULL`.
#[derive(Debug, Default)]
struct DeletePlan {
    /// Every row to delete, in the order found (the first is the one asked for).
    deleted: Vec<(&'static Table, i64)>,
    deleted_set: HashSet<(&'static str, i64)>,
    /// Rows to update: the row as read, and the columns that become `NULL`.
    nulled: BTreeMap<(&'static str, i64), (&'static Table, StoredRow, Vec<usize>)>,
    /// Rows a `restrict` rule found: (child table, column, child row, parent table, parent id).
    restricted: Vec<(&'static Table, usize, i64, &'static Table, i64)>,
}

impl DeletePlan {
    async fn collect(
        tx: &mut dyn Transaction,
        relations: &Relations,
        table: &'static Table,
        id: i64,
    ) -> Result<DeletePlan> {
        let mut plan = DeletePlan::default();
        plan.delete(table, id);
        let mut level: Vec<(&'static Table, Vec<i64>)> = vec![(table, vec![id])];
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

    /// The updates, then the deletes, deepest first.
    async fn execute(self, tx: &mut dyn Transaction) -> Result<()> {
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
        // The row asked for is deleted last. A row may be gone already, the row asked
        // for included (it was read above): the database's own `ON DELETE CASCADE`
        // removed it with a row deleted before it (one reached twice, through a diamond
        // or around a cycle).
        for (table, id) in self.deleted.into_iter().rev() {
            match tx.delete(table, id).await {
                Err(Error::NotFound { .. }) => {}
                done => done?,
            }
        }
        Ok(())
    }
}
