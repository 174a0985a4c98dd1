//! Raw sqlx 0.8: the statements a careful engineer writes by hand, as the main
//! benchmark's baseline does (`bench/src/sql.rs`).

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::plinth_side::PeerWrite;
use crate::{Error, Workload};

/// A row as sqlx decodes it.
type Tuple = (i64, String, i64, Option<String>, bool, DateTime<Utc>, DateTime<Utc>);

const COLUMNS: &str = "\"id\", \"name\", \"score\", \"note\", \"active\", \"created_at\", \"updated_at\"";

/// Hand-written sqlx on a pool of four.
#[derive(Clone, Debug)]
pub(crate) struct SqlxPeer {
    pool: PgPool,
}

impl SqlxPeer {
    /// A pool of four that, like Plinth's, does not ping a connection on checkout.
    pub(crate) async fn open(url: &str) -> Result<Self, Error> {
        let pool = PgPoolOptions::new().max_connections(4).test_before_acquire(false).connect(url).await?;
        Ok(SqlxPeer { pool })
    }

    /// Drops both tables, if they are there.
    pub(crate) async fn drop_tables(&self) -> Result<(), Error> {
        sqlx::query("DROP TABLE IF EXISTS \"peers_rows\", \"peers_writes\" CASCADE").execute(&self.pool).await?;
        Ok(())
    }

    /// Fresh statistics for the filled read table.
    pub(crate) async fn analyze(&self) -> Result<(), Error> {
        sqlx::query("VACUUM ANALYZE \"peers_rows\"").execute(&self.pool).await?;
        Ok(())
    }

    /// Empties the written table, so no batch pays for another's rows.
    pub(crate) async fn clear_writes(&self) -> Result<(), Error> {
        sqlx::query("TRUNCATE \"peers_writes\"").execute(&self.pool).await?;
        Ok(())
    }

    /// What each workload runs, as the table names it.
    pub(crate) fn describe(&self, workload: Workload) -> &'static str {
        match workload {
            Workload::Get => "sqlx 0.8 `query_as` … WHERE id = $1",
            Workload::All => "sqlx 0.8 `query_as` … ORDER BY id",
            Workload::Insert => "sqlx 0.8 BEGIN; INSERT … RETURNING *; COMMIT",
            Workload::AddAll => "sqlx 0.8 INSERT … UNNEST … RETURNING *, one transaction",
        }
    }

    /// Reads row `id`.
    pub(crate) async fn get(&self, id: i64) -> Result<(), Error> {
        let sql = format!("SELECT {COLUMNS} FROM \"peers_rows\" WHERE \"id\" = $1");
        sqlx::query_as::<_, Tuple>(&sql).bind(id).fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Reads every row, in id order.
    pub(crate) async fn all(&self) -> Result<usize, Error> {
        let sql = format!("SELECT {COLUMNS} FROM \"peers_rows\" ORDER BY \"id\"");
        Ok(sqlx::query_as::<_, Tuple>(&sql).fetch_all(&self.pool).await?.len())
    }

    /// Inserts one row in a transaction of its own; its id.
    pub(crate) async fn insert(&self, row: PeerWrite) -> Result<i64, Error> {
        let sql = format!(
            "INSERT INTO \"peers_writes\" (\"name\", \"score\", \"note\", \"active\") VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query_as::<_, Tuple>(&sql)
            .bind(row.name)
            .bind(row.score)
            .bind(row.note)
            .bind(row.active)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(inserted.0)
    }

    /// Inserts every row in one statement and one transaction; how many came back.
    pub(crate) async fn add_all(&self, rows: Vec<PeerWrite>) -> Result<usize, Error> {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let scores: Vec<i64> = rows.iter().map(|r| r.score).collect();
        let notes: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
        let actives: Vec<bool> = rows.iter().map(|r| r.active).collect();
        let sql = format!(
            "INSERT INTO \"peers_writes\" (\"name\", \"score\", \"note\", \"active\") \
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::bool[]) RETURNING {COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query_as::<_, Tuple>(&sql)
            .bind(names)
            .bind(scores)
            .bind(notes)
            .bind(actives)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(inserted.len())
    }
}
