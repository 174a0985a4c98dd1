//! Plinth's side: the pool `plinth_sqlx::connect` makes, a session per operation.

use plinth::{Database, Entity};

use crate::sqlx_peer::SqlxPeer;
use crate::{Error, Workload, TABLE_ROWS};

/// The table reads run against.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "peers_rows")]
pub(crate) struct PeerRow {
    pub(crate) name: String,
    pub(crate) score: i64,
    pub(crate) note: Option<String>,
    pub(crate) active: bool,
}

/// The table inserts fill, emptied before every batch.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "peers_writes")]
pub(crate) struct PeerWrite {
    pub(crate) name: String,
    pub(crate) score: i64,
    pub(crate) note: Option<String>,
    pub(crate) active: bool,
}

/// Plinth on PostgreSQL.
#[derive(Clone, Debug)]
pub(crate) struct PlinthSide {
    db: Database,
}

impl PlinthSide {
    /// Connects with a pool of four, as every peer's pool is.
    pub(crate) async fn open(url: &str) -> Result<Self, Error> {
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok(PlinthSide { db: plinth_sqlx::connect(&format!("{url}{separator}max_connections=4")).await? })
    }

    /// Makes both tables anew (the last run's dropped by `raw`) and fills the read table.
    pub(crate) async fn fill(&self, raw: &SqlxPeer) -> Result<(), Error> {
        raw.drop_tables().await?;
        self.db.create_all(&[PeerRow::table(), PeerWrite::table()]).await?;
        let mut session = self.db.session().await?;
        session
            .add_all((0..TABLE_ROWS).map(crate::row).map(|PeerWrite { name, score, note, active }| PeerRow {
                name,
                score,
                note,
                active,
            }))
            .await?;
        session.commit().await?;
        raw.analyze().await
    }

    /// What each workload runs, as the table names it.
    pub(crate) fn describe(&self, _workload: Workload) -> &'static str {
        "Plinth"
    }

    /// Reads row `id` in a session of its own.
    pub(crate) async fn get(&self, id: i64) -> Result<(), Error> {
        self.db.session().await?.get::<PeerRow>(id).await?.ok_or_else(|| format!("Plinth: no row {id}"))?;
        Ok(())
    }

    /// Reads every row, in id order.
    pub(crate) async fn all(&self) -> Result<usize, Error> {
        Ok(self.db.session().await?.query::<PeerRow>().order_by(|c| c.id.asc()).all().await?.len())
    }

    /// Adds one row in a session and commits; its id.
    pub(crate) async fn insert(&self, row: PeerWrite) -> Result<i64, Error> {
        let mut session = self.db.session().await?;
        let record = session.add(row).await?;
        session.commit().await?;
        Ok(record.id().get())
    }

    /// Adds every row in one session and commits; how many came back.
    pub(crate) async fn add_all(&self, rows: Vec<PeerWrite>) -> Result<usize, Error> {
        let mut session = self.db.session().await?;
        let records = session.add_all(rows).await?;
        session.commit().await?;
        Ok(records.len())
    }
}
