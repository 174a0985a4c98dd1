//! Relations between tables: which tables a database has been given, which of their
//! columns refer to which table, the order tables are created in (parents first), and
//! what deleting a row does to the rows that refer to it ([`delete`]), decided once for
//! every backend.

pub(crate) mod delete;
mod load;

pub use load::{Children, Parents, RefersTo};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::error::{Error, Result};
use crate::table::{OnDelete, Table};

/// A column of some table that refers to another table: what a delete of a row of
/// that other table must look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Referrer {
    /// The referring (child) table.
    pub table: &'static Table,
    /// The reference column's position in the child's columns.
    pub column: usize,
    /// What deleting a parent row does to the child rows.
    pub on_delete: OnDelete,
}

/// The tables a database has been given (by `create_all`, which `migrate` ends with)
/// and, where it was given none of a name, the tables its storage describes
/// ([`Backend::stored_tables`](crate::backend::Backend::stored_tables)), by name: where
/// a reference finds its parent table and a parent its referrers. A backend owns one
/// ([`Backend::relations`](crate::backend::Backend::relations)), so every `Database`
/// over it, and its sessions, see the same. Clones share the same tables.
#[derive(Clone, Debug, Default)]
pub struct Relations {
    /// Each table by name, and whether it was given (else read from the storage).
    tables: Arc<RwLock<HashMap<&'static str, (&'static Table, bool)>>>,
    /// Whether the tables the storage describes were read ([`add_stored`](Self::add_stored)).
    stored_read: Arc<AtomicBool>,
}

impl Relations {
    /// No tables yet.
    pub fn new() -> Self {
        Relations::default()
    }

    /// Keeps `tables`, checked by [`check`](Self::check); a table of a name given
    /// before replaces it.
    pub fn add(&self, tables: &[&'static Table]) {
        let mut known = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        for table in tables {
            known.insert(table.name(), (table, true));
        }
    }

    /// Whether [`add_stored`](Self::add_stored) has run.
    pub fn stored_read(&self) -> bool {
        self.stored_read.load(Ordering::Acquire)
    }

    /// Keeps the tables `stored`, as the storage describes them now, where no table of
    /// their name was given (replacing what the storage described before): so a handle
    /// that was not given the app's tables still knows every stored reference.
    pub fn add_stored(&self, stored: &[&'static Table]) {
        let mut known = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        for table in stored {
            match known.get(table.name()) {
                Some((_, true)) => {}
                _ => {
                    known.insert(table.name(), (table, false));
                }
            }
        }
        self.stored_read.store(true, Ordering::Release);
    }

    /// Whether a table named `name` was given (not only read from the storage).
    pub fn is_given(&self, name: &str) -> bool {
        matches!(self.tables.read().unwrap_or_else(PoisonError::into_inner).get(name), Some((_, true)))
    }

    /// Checks that every reference of `tables` names a table among them or given
    /// before (a table only read from the storage does not count, on any backend):
    /// else [`Error::InvalidValue`] on the referring column.
    pub fn check(&self, tables: &[&'static Table]) -> Result<()> {
        let known = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        for table in tables {
            for column in table.columns() {
                let Some(reference) = column.references() else { continue };
                let given = tables.iter().any(|t| t.name() == reference.table);
                if !given && !matches!(known.get(reference.table), Some((_, true))) {
                    return Err(Error::InvalidValue {
                        table: table.name(),
                        column: Some(column.name()),
                        reason: format!(
                            "refers to table `{}`, which this database was not given: pass its table to \
                             create_all too (in any order; parents are created first)",
                            reference.table
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The table named `name`, if it was given or read from the storage.
    pub fn table(&self, name: &str) -> Option<&'static Table> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner).get(name).map(|(table, _)| *table)
    }

    /// The columns of the known tables that refer to the table named `parent`, in the
    /// order of the tables' names and then of the columns.
    pub fn referrers(&self, parent: &str) -> Vec<Referrer> {
        let known = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        let mut referrers: Vec<Referrer> = known
            .values()
            .flat_map(|(table, _)| {
                table.columns().iter().enumerate().filter_map(move |(column, c)| {
                    let reference = c.references().filter(|r| r.table == parent)?;
                    Some(Referrer { table, column, on_delete: reference.on_delete })
                })
            })
            .collect();
        referrers.sort_by_key(|r| (r.table.name(), r.column));
        referrers
    }
}

/// `tables` ordered so that each comes after the tables it refers to (which must exist
/// before a `REFERENCES` clause can name them); otherwise in the order given. A table
/// referring to itself, or tables referring to each other in a cycle, keep the order
/// given among themselves.
pub(crate) fn creation_order(tables: &[&'static Table]) -> Vec<&'static Table> {
    let mut ordered: Vec<&'static Table> = Vec::with_capacity(tables.len());
    let mut left: Vec<&'static Table> = tables.to_vec();
    while !left.is_empty() {
        let ready = left.iter().position(|table| {
            table.columns().iter().filter_map(|c| c.references()).all(|r| {
                r.table == table.name()
                    || ordered.iter().any(|t| t.name() == r.table)
                    || !left.iter().any(|t| t.name() == r.table)
            })
        });
        // A cycle: take the first left, as given.
        ordered.push(left.remove(ready.unwrap_or(0)));
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, Id};

    #[derive(Entity)]
    struct Author {
        name: String,
    }

    #[derive(Entity)]
    struct Post {
        author: Id<Author>,
    }

    #[derive(Entity)]
    struct Reply {
        #[entity(on_delete = "cascade")]
        post: Id<Post>,
        #[entity(on_delete = "set_null")]
        parent: Option<Id<Reply>>,
    }

    #[test]
    fn parents_are_created_before_their_children() {
        let order = creation_order(&[Reply::table(), Post::table(), Author::table()]);
        let names: Vec<_> = order.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["authors", "posts", "replys"]);
    }

    #[test]
    fn a_reference_to_a_table_never_given_is_refused() {
        let relations = Relations::new();
        let refused = relations.check(&[Post::table()]);
        assert!(
            matches!(refused, Err(Error::InvalidValue { table: "posts", column: Some("author"), .. })),
            "{refused:?}"
        );
        relations.add(&[Author::table()]);
        relations.check(&[Post::table()]).expect("posts, once authors are known");
    }

    #[test]
    fn referrers_name_each_column_with_its_rule() {
        let relations = Relations::new();
        relations.add(&[Author::table(), Post::table(), Reply::table()]);
        let of_posts = relations.referrers("posts");
        assert_eq!(of_posts, [Referrer { table: Reply::table(), column: 0, on_delete: OnDelete::Cascade }]);
        let of_replies = relations.referrers("replys");
        assert_eq!(of_replies, [Referrer { table: Reply::table(), column: 1, on_delete: OnDelete::SetNull }]);
        assert_eq!(relations.referrers("authors")[0].on_delete, OnDelete::Restrict);
    }
}

#[cfg(test)]
mod commit_tests {
    //! What the record engine checks at commit, when another session changed the rows
    //! a session's references were checked against.

    use crate::{Entity, Error, Id};

    #[derive(Entity, Clone, Debug)]
    struct Owner {
        name: String,
    }

    #[derive(Entity, Clone, Debug)]
    struct Pet {
        #[entity(on_delete = "cascade")]
        owner: Id<Owner>,
    }

    async fn database() -> (crate::Database, Id<Owner>) {
        let db = crate::memory();
        db.create_all(&[Owner::table(), Pet::table()]).await.expect("create_all");
        let mut session = db.session().await.expect("session");
        let owner = session.add(Owner { name: "ann".into() }).await.expect("owner");
        session.commit().await.expect("commit");
        (db, owner.id())
    }

    #[tokio::test]
    async fn a_parent_deleted_meanwhile_fails_the_commit_of_a_reference_to_it() {
        let (db, owner) = database().await;
        let mut adding = db.session().await.expect("session");
        adding.add(Pet { owner }).await.expect("the owner exists when the pet is staged");
        let mut deleting = db.session().await.expect("session");
        deleting.delete_by_id::<Owner>(owner).await.expect("no pets yet");
        deleting.commit().await.expect("the delete commits first");
        let late = adding.commit().await;
        assert!(matches!(late, Err(Error::ForeignKeyViolation { table: "pets", column: "owner", .. })), "{late:?}");
        assert_eq!(db.session().await.expect("session").query::<Pet>().count().await.expect("count"), 0);
    }

    /// Another version of the app, on another handle, creates a child table: a handle
    /// that read the stored tables before it does not delete by the new rule unawares —
    /// its commit is a `Conflict`, and the retry follows the rule.
    #[tokio::test]
    async fn a_child_table_created_meanwhile_by_another_handle_is_not_left_dangling() {
        let store = std::sync::Arc::new(crate::engine::MemoryStore::new());
        let old_app = crate::Database::new(crate::engine::EngineBackend::with_store(std::sync::Arc::clone(&store)));
        old_app.create_all(&[Owner::table()]).await.expect("the old app's tables");
        let mut session = old_app.session().await.expect("session");
        let owner = session.add(Owner { name: "ann".into() }).await.expect("owner").id();
        session.commit().await.expect("commit");

        let new_app = crate::Database::new(crate::engine::EngineBackend::with_store(store));
        new_app.create_all(&[Owner::table(), Pet::table()]).await.expect("the new app's tables");
        let mut session = new_app.session().await.expect("session");
        session.add(Pet { owner }).await.expect("a pet");
        session.commit().await.expect("commit");

        let mut session = old_app.session().await.expect("session");
        session.delete_by_id::<Owner>(owner).await.expect("the old app sees no pets");
        let late = session.commit().await;
        assert!(matches!(late, Err(Error::Conflict { table: "pets", .. })), "{late:?}");
        let mut retry = old_app.session().await.expect("session");
        retry.delete_by_id::<Owner>(owner).await.expect("now by the pets' rule");
        retry.commit().await.expect("commit");
        let mut reader = new_app.session().await.expect("session");
        assert_eq!(reader.query::<Pet>().count().await.expect("count"), 0, "cascaded, not left dangling");
    }

    #[tokio::test]
    async fn a_child_added_meanwhile_fails_the_commit_of_its_parents_delete() {
        let (db, owner) = database().await;
        let mut deleting = db.session().await.expect("session");
        deleting.delete_by_id::<Owner>(owner).await.expect("no pets yet");
        let mut adding = db.session().await.expect("session");
        adding.add(Pet { owner }).await.expect("the owner is still committed");
        adding.commit().await.expect("the pet commits first");
        let late = deleting.commit().await;
        assert!(matches!(late, Err(Error::Conflict { table: "pets", .. })), "{late:?}");
        let mut reader = db.session().await.expect("session");
        assert!(reader.get::<Owner>(owner).await.expect("get").is_some(), "nothing of the delete was committed");
    }
}
