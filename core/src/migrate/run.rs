//! [`Database::migrate`] and [`Database::migration_plan`]: which migrations a database
//! lacks, applying them one by one, and saying beforehand what that would run.

use std::fmt;

use crate::backend::{schema_changes, Backend, Changed, StoredColumn};
use crate::database::Database;
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::migrate::{check_steps, Migration, MigrationRecord, Shapes, Step};
use crate::record::Record;
use crate::table::Table;

/// How often `migrate` reads the records again after another process applied a
/// migration at the same moment.
const ATTEMPTS: usize = 5;

/// What [`Database::migrate`] would do to a database now, for review before it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationPlan {
    /// The backend's name.
    pub backend: &'static str,
    /// `true` for a database holding none of the tables yet: they are created as the
    /// entities declare them, and every migration is recorded as applied.
    pub fresh: bool,
    /// The migrations to apply, in order: version, name, and what each runs — SQL
    /// statements on the SQL backends, the steps on the others.
    pub pending: Vec<(i64, &'static str, Vec<String>)>,
}

impl fmt::Display for MigrationPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fresh {
            return writeln!(
                f,
                "{}: a new database: create_all makes the tables, and every migration is recorded as applied",
                self.backend
            );
        }
        if self.pending.is_empty() {
            return writeln!(f, "{}: every migration is applied", self.backend);
        }
        for (version, name, statements) in &self.pending {
            writeln!(f, "{}: migration {version} `{name}`:", self.backend)?;
            for statement in statements {
                writeln!(f, "    {statement};")?;
            }
        }
        Ok(())
    }
}

/// Refuses a list no database could follow: versions from 1 up, each once, in order.
fn check_list(migrations: &[Migration]) -> Result<()> {
    let mut last = 0;
    for migration in migrations {
        if migration.version() <= last || migration.name().is_empty() {
            return Err(Error::InvalidValue {
                table: MigrationRecord::table().name(),
                column: Some("version"),
                reason: format!(
                    "migration {} (`{}`): versions start at 1 and grow, each migration named, in order",
                    migration.version(),
                    migration.name()
                ),
            });
        }
        last = migration.version();
    }
    Ok(())
}

/// The recorded migrations (by version), checked against the app's: each unchanged,
/// none the app does not know. The last version recorded (0 for none).
fn check_records(migrations: &[Migration], records: &[Record<MigrationRecord>]) -> Result<i64> {
    let known = migrations.last().map_or(0, Migration::version);
    let last = records.last().map_or(0, |r| r.version);
    if last > known {
        return Err(Error::DatabaseIsNewer { database: last, app: known });
    }
    for record in records {
        let recorded = || format!("`{}` (checksum {})", record.name, record.checksum);
        let Some(migration) = migrations.iter().find(|m| m.version() == record.version) else {
            return Err(Error::MigrationChanged {
                version: record.version,
                name: "",
                recorded: recorded(),
                detail: "the app has no migration of that version any more".to_owned(),
            });
        };
        if migration.checksum() != record.checksum {
            return Err(Error::MigrationChanged {
                version: record.version,
                name: migration.name(),
                recorded: recorded(),
                detail: format!("its checksum is {} now: {}", migration.checksum(), migration.description()),
            });
        }
    }
    if let Some(skipped) =
        migrations.iter().find(|m| m.version() < last && records.iter().all(|r| r.version != m.version()))
    {
        return Err(Error::MigrationOutOfOrder { version: skipped.version(), name: skipped.name(), applied: last });
    }
    Ok(last)
}

impl Database {
    /// Brings the database to the app's schema: applies the `migrations` it has not
    /// recorded, in order, each atomically with its record, then runs
    /// [`create_all`](Database::create_all) on `tables` (the app's entities), which
    /// creates what is missing, makes the additive changes, and checks that every
    /// table is what its entity declares.
    ///
    /// Before anything is written, the pending steps are checked over the tables as
    /// stored, and `tables` against where they lead (`SchemaMismatch` if only more than
    /// `create_all`'s additive changes would make them match).
    ///
    /// A database holding none of `tables` and no records is new: its tables are
    /// created as the entities declare them, and every migration is recorded as applied.
    /// A database whose tables predate its records (made by `create_all` alone) is at
    /// version 0: every migration applies. A recorded migration that changed since is
    /// [`Error::MigrationChanged`]; one the app does not know (a newer app migrated the
    /// database) is [`Error::DatabaseIsNewer`]; both before anything is written.
    /// Processes migrating one database at once each succeed, every migration applied
    /// once. See [`crate::migrate`] for an example.
    pub async fn migrate(&self, migrations: &[Migration], tables: &[&'static Table]) -> Result<()> {
        check_list(migrations)?;
        for table in tables {
            table.check_columns()?;
        }
        self.create_all(&[MigrationRecord::table()]).await?;
        for _ in 0..ATTEMPTS {
            if self.migrate_once(migrations, tables).await? {
                return self.create_all(tables).await;
            }
        }
        Err(Error::backend(
            self.backend_name(),
            format!("other processes kept migrating the database at the same time ({ATTEMPTS} attempts)"),
        ))
    }

    /// One pass: `false` if another process applied a migration meanwhile, so the
    /// records must be read again.
    async fn migrate_once(&self, migrations: &[Migration], tables: &[&'static Table]) -> Result<bool> {
        let pending = self.pending(migrations, tables).await?;
        if pending.fresh {
            let mut session = self.session().await?;
            let recorded = match session.add_all(migrations.iter().map(MigrationRecord::of)).await {
                Ok(_) => session.commit().await,
                Err(err) => Err(err),
            };
            return match recorded {
                Ok(()) => Ok(true),
                Err(err) => self.applied_meanwhile(err, migrations.first()).await,
            };
        }
        let last = pending.last;
        if let Err(err) = pending.check_leads_to(self.backend(), tables) {
            // Another process may have migrated between the records and the tables read.
            let now = check_records(migrations, &self.migration_records().await?)?;
            return if now == last { Err(err) } else { Ok(false) };
        }
        for migration in migrations.iter().filter(|m| m.version() > last) {
            let applied = match migration.data_step() {
                None => {
                    let record = MigrationRecord::of(migration).to_row();
                    self.backend().apply_migration(migration.steps(), &record).await
                }
                Some(run) => self.apply_data_migration(migration, run).await.map(|()| true),
            };
            match applied {
                // The steps may rewrite any table: every live query runs again.
                Ok(true) => self.backend().changes().publish(&Changed::Anything),
                Ok(false) => return Ok(false),
                Err(err) => return self.applied_meanwhile(err, Some(migration)).await,
            }
        }
        Ok(true)
    }

    /// What the database lacks: the records read and checked, and the tables the
    /// pending steps and `tables` name, as stored.
    async fn pending(&self, migrations: &[Migration], tables: &[&'static Table]) -> Result<Pending> {
        let records = self.migration_records().await?;
        let last = check_records(migrations, &records)?;
        let steps: Vec<Step> =
            migrations.iter().filter(|m| m.version() > last).flat_map(|m| m.steps().iter().copied()).collect();
        let mut names = Shapes::names(&steps);
        for table in tables {
            if !names.contains(&table.name()) {
                names.push(table.name());
            }
        }
        let shapes = self.backend().stored_shapes(&names).await?;
        // With no records every step is pending, so `names` is every table in question.
        let fresh = records.is_empty() && names.iter().all(|name| shapes.columns(name).is_none());
        Ok(Pending { last, steps, shapes, fresh })
    }

    async fn apply_data_migration(&self, migration: &Migration, run: crate::migrate::DataStep) -> Result<()> {
        let mut session = self.session().await?;
        run(&mut session).await?;
        session.add(MigrationRecord::of(migration)).await?;
        session.commit().await
    }

    /// After `err` while applying `migration`: `Ok(false)` if another process recorded
    /// it meanwhile (the error came from racing it), else the error.
    async fn applied_meanwhile(&self, err: Error, migration: Option<&Migration>) -> Result<bool> {
        let Some(migration) = migration else { return Err(err) };
        let records = self.migration_records().await?;
        match records.iter().any(|r| r.version == migration.version()) {
            true => Ok(false),
            false => Err(err),
        }
    }

    /// The recorded migrations, by version.
    async fn migration_records(&self) -> Result<Vec<Record<MigrationRecord>>> {
        let mut session = self.session().await?;
        session.query::<MigrationRecord>().order_by(|c| c.version.asc()).all().await
    }

    /// What [`migrate`](Database::migrate) would do now: whether the database is new,
    /// and each migration it would apply with the statements (SQL backends) or steps
    /// (the others) it would run. Checks the records as `migrate` does; writes nothing
    /// but the empty `plinth_migrations` table, if it is missing.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
    /// # struct Note { title: String }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let db = plinth::memory();
    /// let plan = db.migration_plan(&[], &[Note::table()]).await?;
    /// assert!(plan.fresh);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn migration_plan(&self, migrations: &[Migration], tables: &[&'static Table]) -> Result<MigrationPlan> {
        check_list(migrations)?;
        self.create_all(&[MigrationRecord::table()]).await?;
        let state = self.pending(migrations, tables).await?;
        let backend = self.backend_name();
        if state.fresh {
            return Ok(MigrationPlan { backend, fresh: true, pending: Vec::new() });
        }
        let todo: Vec<&Migration> = migrations.iter().filter(|m| m.version() > state.last).collect();
        let steps: Vec<&'static [Step]> = todo.iter().map(|m| m.steps()).collect();
        let described = self.backend().describe_migrations(&steps).await?;
        let pending = todo
            .into_iter()
            .zip(described)
            .map(|(migration, statements)| {
                let statements = match migration.data_step() {
                    None => statements,
                    Some(_) => vec!["run the migration's data step in a session".to_owned()],
                };
                (migration.version(), migration.name(), statements)
            })
            .collect();
        Ok(MigrationPlan { backend, fresh: false, pending })
    }
}

/// What a database lacks of an app's migrations (see `Database::pending`).
struct Pending {
    /// The last version recorded.
    last: i64,
    /// The steps of the migrations after it, in order.
    steps: Vec<Step>,
    /// The tables they and the app's entities name, as stored now.
    shapes: Shapes,
    /// No records and none of those tables: a new database.
    fresh: bool,
}

impl Pending {
    /// Refuses, before anything is written, migrations that would not lead the stored
    /// tables to `tables`: the steps checked one after the other over the tables as
    /// stored, and every entity's table, as they would leave it, compared with the
    /// entity (only `create_all`'s additive changes may remain).
    fn check_leads_to(self, backend: &dyn Backend, tables: &[&'static Table]) -> Result<()> {
        let mut shapes = self.shapes;
        check_steps(&self.steps, &mut shapes, &|c| backend.column_words(c))?;
        for table in tables {
            if let Some(stored) = shapes.columns(table.name()) {
                let expected: Vec<StoredColumn> = table.columns().iter().map(|c| backend.column_words(c)).collect();
                schema_changes(table, &expected, stored)?;
            }
        }
        Ok(())
    }
}
