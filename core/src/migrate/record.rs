//! [`MigrationRecord`]: a migration applied to a database, as the database records it.

/// One applied migration, a row of the `plinth_migrations` table every database that
/// [`Database::migrate`](crate::Database::migrate) ran on has; its `created_at` is when
/// the migration was applied.
#[derive(crate::Entity, Clone, Debug, PartialEq, Eq)]
#[entity(table = "plinth_migrations")]
pub struct MigrationRecord {
    /// The migration's version.
    #[entity(unique)]
    pub version: i64,
    /// Its name when it was applied.
    pub name: String,
    /// Its [`checksum`](crate::migrate::Migration::checksum) when it was applied.
    pub checksum: String,
}

impl MigrationRecord {
    /// The record of `migration`.
    pub fn of(migration: &crate::migrate::Migration) -> Self {
        MigrationRecord {
            version: migration.version(),
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
        }
    }
}
