//! Versioned migrations: an ordered list of [`Migration`]s written once in Rust and run
//! on every backend by [`Database::migrate`](crate::Database::migrate).
//!
//! A migration is either a list of schema [`Step`]s (add, drop or rename a column,
//! rename a table, change a column's type with a conversion, add or drop a unique
//! constraint or an index) or a data step written with the ordinary session API. Each
//! is applied atomically together with its record in the database's
//! `plinth_migrations` table (version, name, checksum; `created_at` is when it was
//! applied): one transaction on PostgreSQL and SQLite, one journaled write on web
//! storage, one readwrite transaction on IndexedDB — so a crash or an error inside a
//! migration leaves the previous version whole.
//!
//! ```
//! use plinth::backend::ColumnDef;
//! use plinth::migrate::{Migration, Step};
//! use plinth::Entity;
//!
//! /// Version 2 of the app's notes: `body` became `text`, and notes have a colour.
//! #[derive(Entity, Clone, Debug, PartialEq)]
//! struct Note {
//!     title: String,
//!     text: String,
//!     #[entity(default = "yellow")]
//!     colour: String,
//! }
//!
//! static MIGRATIONS: [Migration; 1] = [Migration::schema(
//!     1,
//!     "notes: body becomes text, and a colour",
//!     &[
//!         Step::RenameColumn { table: "notes", from: "body", to: "text" },
//!         Step::AddColumn {
//!             table: "notes",
//!             column: ColumnDef::of::<String>("colour").with_default(|| plinth::Value::from("yellow")),
//!         },
//!     ],
//! )];
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let db = plinth::memory();
//! // A new database gets today's tables, with every migration recorded as applied; an
//! // old one gets the migrations it lacks, then `create_all`'s additive changes.
//! db.migrate(&MIGRATIONS, &[Note::table()]).await?;
//! let mut session = db.session().await?;
//! session.add(Note { title: "a".into(), text: "b".into(), colour: "yellow".into() }).await?;
//! session.commit().await?;
//! # Ok::<(), plinth::Error>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod record;
mod run;
mod step;

use std::future::Future;
use std::pin::Pin;

pub use record::MigrationRecord;
pub use run::MigrationPlan;
pub(crate) use step::ADDED_REFERENCE;
pub use step::{check_steps, Conversion, Shapes, Step};

use crate::error::Result;
use crate::session::Session;

/// What a data migration's function returns: a boxed future (`Send` on native targets).
#[cfg(not(target_arch = "wasm32"))]
pub type DataFuture<'s> = Pin<Box<dyn Future<Output = Result<()>> + Send + 's>>;

/// What a data migration's function returns: a boxed future.
#[cfg(target_arch = "wasm32")]
pub type DataFuture<'s> = Pin<Box<dyn Future<Output = Result<()>> + 's>>;

/// A data migration: reads and writes through `session`, which commits it together
/// with the migration's record.
pub type DataStep = for<'s> fn(&'s mut Session) -> DataFuture<'s>;

/// One version of the database: schema steps, or a data step.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    version: i64,
    name: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Schema(&'static [Step]),
    Data(DataStep),
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Schema(steps) => f.debug_tuple("Schema").field(steps).finish(),
            Kind::Data(_) => f.write_str("Data"),
        }
    }
}

impl Migration {
    /// A migration of schema `steps`, applied in order, all or none.
    pub const fn schema(version: i64, name: &'static str, steps: &'static [Step]) -> Self {
        Migration { version, name, kind: Kind::Schema(steps) }
    }

    /// A migration that changes data through the session `run` is given (which must
    /// not commit it: the migration commits it with its record).
    ///
    /// ```
    /// use plinth::migrate::{DataFuture, Migration};
    /// use plinth::Session;
    ///
    /// fn nothing_yet(session: &mut Session) -> DataFuture<'_> {
    ///     Box::pin(async move {
    ///         let _ = session;
    ///         Ok(())
    ///     })
    /// }
    /// static BACKFILL: Migration = Migration::data(2, "backfill colours", nothing_yet);
    /// assert_eq!(BACKFILL.version(), 2);
    /// ```
    pub const fn data(version: i64, name: &'static str, run: DataStep) -> Self {
        Migration { version, name, kind: Kind::Data(run) }
    }

    /// The version the database is at once this migration is applied.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The migration's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The schema steps; empty for a data migration.
    pub fn steps(&self) -> &'static [Step] {
        match self.kind {
            Kind::Schema(steps) => steps,
            Kind::Data(_) => &[],
        }
    }

    /// The data step, for a data migration.
    pub fn data_step(&self) -> Option<DataStep> {
        match self.kind {
            Kind::Schema(_) => None,
            Kind::Data(run) => Some(run),
        }
    }

    /// What the migration says it does, as its checksum covers it: its name and steps
    /// (a data step's code cannot be read, so only its name counts).
    pub fn description(&self) -> String {
        match self.kind {
            Kind::Schema(steps) => {
                let steps: Vec<String> = steps.iter().map(ToString::to_string).collect();
                format!("{}: {}", self.name, steps.join("; "))
            }
            Kind::Data(_) => format!("{}: data", self.name),
        }
    }

    /// The checksum recorded with the migration: 64-bit FNV-1a of its version and
    /// [`description`](Migration::description), in hex.
    pub fn checksum(&self) -> String {
        let text = format!("{}\0{}", self.version, self.description());
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}
