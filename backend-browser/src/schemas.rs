//! [`KnownSchemas`]: which tables a store's handle has found stored with their
//! entity's schema, and noticing when another page (or handle) changed a schema since.
//!
//! Every schema change — `create_all` creating or upgrading tables, a migration — also
//! writes a new *schema generation* to the store, in the same atomic write. A handle
//! reads the generation with every operation (one more key or request in the same
//! read); when it moved, the tables the handle had checked are checked again, and one
//! that no longer matches its entity is [`Error::SchemaChanged`]: a newer version of the
//! app migrated the database under this page, which must reload.

use std::collections::HashMap;

use plinth::{Error, Table};

/// The tables found stored with their entity's schema, under the generation seen.
#[derive(Debug, Default)]
pub(crate) struct KnownSchemas {
    /// The generation the entries of `known` were checked under.
    seen: Option<String>,
    /// The tables found to be theirs, by name.
    known: HashMap<&'static str, &'static Table>,
    /// The tables found to be theirs under an earlier generation.
    earlier: HashMap<&'static str, &'static Table>,
}

impl KnownSchemas {
    /// Notes the store's generation as just read: if it moved, every table known is
    /// to be checked again.
    pub(crate) fn observe(&mut self, generation: Option<String>) {
        if generation != self.seen {
            self.earlier.extend(self.known.drain());
            self.seen = generation;
        }
    }

    /// Refuses to create `table` anew when this handle used it and another changed the
    /// store's schemas since ([`Error::SchemaChanged`]: it was renamed or dropped by a
    /// newer version of the app, which a new empty table would split the data from);
    /// a store wiped of everything (no generation at all) may be filled again.
    pub(crate) fn may_create(&self, table: &'static Table) -> Result<(), Error> {
        match self.changed_since_used(table) {
            true => Err(Error::SchemaChanged {
                table: table.name(),
                detail: format!("table `{}` is not stored any more", table.name()),
            }),
            false => Ok(()),
        }
    }

    /// Whether this handle used `table` under an earlier generation and the store has
    /// one now: a newer version of the app changed the schemas since. (A store wiped of
    /// everything, with no generation, is no newer version's doing.)
    fn changed_since_used(&self, table: &'static Table) -> bool {
        holds(&self.earlier, table) && self.seen.is_some()
    }

    /// Whether `table` (this very table, not another of the same name) was found to be
    /// stored with its schema under the generation seen.
    pub(crate) fn is_known(&self, table: &'static Table) -> bool {
        holds(&self.known, table)
    }

    /// Records that `table` is stored with its schema.
    pub(crate) fn remember(&mut self, table: &'static Table) {
        self.known.insert(table.name(), table);
    }

    /// Forgets the table named `name` (removed by a migration).
    pub(crate) fn forget(&mut self, name: &str) {
        self.known.remove(name);
        self.earlier.remove(name);
    }

    /// The error to report for `table` failing its check with `err`: if this handle
    /// had found it to be its entity's before, and the store has a schema generation,
    /// another page changed it since, and the error says so ([`Error::SchemaChanged`]),
    /// as it will for every later check of it.
    pub(crate) fn explain(&mut self, table: &'static Table, err: Error) -> Error {
        if let Some(seen) = self.known.remove(table.name()) {
            self.earlier.insert(table.name(), seen);
        }
        match err {
            Error::SchemaMismatch { .. } | Error::NoSuchTable { .. } if self.changed_since_used(table) => {
                Error::SchemaChanged { table: table.name(), detail: err.to_string() }
            }
            err => err,
        }
    }

    /// The generation after `current`, as a schema change writes it: a count, and the
    /// microsecond it was written, so a store wiped and set up again never repeats a
    /// generation a page saw before the wipe.
    pub(crate) fn next_generation(current: Option<&str>) -> String {
        let count = current.and_then(|c| c.split('@').next()).and_then(|c| c.trim().parse::<u64>().ok()).unwrap_or(0);
        format!("{}@{}", count.wrapping_add(1), plinth::backend::clock::now().timestamp_micros())
    }
}

/// What only IndexedDB's store needs: its reads of the generation come inside its own
/// transactions, and its connection can be reopened.
#[cfg(target_arch = "wasm32")]
impl KnownSchemas {
    /// Whether `generation`, as just read, is the one the known tables were checked
    /// under.
    pub(crate) fn is_current(&self, generation: &Option<String>) -> bool {
        *generation == self.seen
    }

    /// A new connection to the store: every table known is to be checked again, and
    /// is still this handle's if it changed meanwhile.
    pub(crate) fn reconnected(&mut self) {
        self.earlier.extend(self.known.drain());
        self.seen = None;
    }
}

/// Whether `tables` holds this very `table`, not another of the same name.
fn holds(tables: &HashMap<&'static str, &'static Table>, table: &'static Table) -> bool {
    tables.get(table.name()).is_some_and(|seen| std::ptr::eq(*seen, table))
}
