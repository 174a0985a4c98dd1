//! diesel-async 0.9 over tokio-postgres, with its deadpool pool: the `table!` schema,
//! an `Insertable` struct, rows as tuples, `find`, `insert_into(…).returning`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::plinth_side::PeerWrite;
use crate::{Error, Workload};

/// The tables, as `diesel print-schema` writes them.
mod schema {
    diesel::table! {
        peers_rows (id) {
            id -> Int8,
            name -> Text,
            score -> Int8,
            note -> Nullable<Text>,
            active -> Bool,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        peers_writes (id) {
            id -> Int8,
            name -> Text,
            score -> Int8,
            note -> Nullable<Text>,
            active -> Bool,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }
}

/// A row as diesel reads it from either table (all of its columns, in order).
type Row = (i64, String, i64, Option<String>, bool, DateTime<Utc>, DateTime<Utc>);

/// A row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = schema::peers_writes)]
struct NewRow {
    name: String,
    score: i64,
    note: Option<String>,
    active: bool,
}

impl From<PeerWrite> for NewRow {
    fn from(PeerWrite { name, score, note, active }: PeerWrite) -> Self {
        NewRow { name, score, note, active }
    }
}

/// diesel-async on a deadpool pool of four.
pub(crate) struct DieselPeer {
    pool: Pool<AsyncPgConnection>,
}

impl std::fmt::Debug for DieselPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselPeer").field("pool", &self.pool.status()).finish()
    }
}

impl DieselPeer {
    /// A pool of four that, like Plinth's, does not ping a connection on checkout
    /// (`RecyclingMethod::Fast`). `url` is tokio-postgres's, which reads `sslmode`.
    pub(crate) async fn open(url: &str) -> Result<Self, Error> {
        let mut config = ManagerConfig::default();
        config.recycling_method = RecyclingMethod::Fast;
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager).max_size(4).build()?;
        drop(pool.get().await?);
        Ok(DieselPeer { pool })
    }

    /// What each workload runs, as the table names it.
    pub(crate) fn describe(&self, workload: Workload) -> &'static str {
        match workload {
            Workload::Get => "diesel-async 0.9 `find(id).first`",
            Workload::All => "diesel-async 0.9 `order(id).load`",
            Workload::Insert => "diesel-async 0.9 `transaction`, `insert_into(…).returning(…).get_result`",
            Workload::AddAll => "diesel-async 0.9 `insert_into(…).values(&vec).get_results` in `transaction`",
        }
    }

    /// Reads row `id`.
    pub(crate) async fn get(&self, id: i64) -> Result<(), Error> {
        use schema::peers_rows::dsl::peers_rows;
        let mut conn = self.pool.get().await?;
        peers_rows.find(id).first::<Row>(&mut conn).await?;
        Ok(())
    }

    /// Reads every row, in id order.
    pub(crate) async fn all(&self) -> Result<usize, Error> {
        use schema::peers_rows::dsl::{id, peers_rows};
        let mut conn = self.pool.get().await?;
        Ok(peers_rows.order(id.asc()).load::<Row>(&mut conn).await?.len())
    }

    /// Inserts one row in a transaction of its own; its id.
    pub(crate) async fn insert(&self, row: PeerWrite) -> Result<i64, Error> {
        let mut conn = self.pool.get().await?;
        let row = NewRow::from(row);
        let written = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                diesel::insert_into(schema::peers_writes::table)
                    .values(&row)
                    .returning(schema::peers_writes::all_columns)
                    .get_result::<Row>(conn)
                    .await
            })
            .await?;
        Ok(written.0)
    }

    /// Inserts every row in one statement and one transaction; how many came back.
    pub(crate) async fn add_all(&self, rows: Vec<PeerWrite>) -> Result<usize, Error> {
        let mut conn = self.pool.get().await?;
        let rows: Vec<NewRow> = rows.into_iter().map(NewRow::from).collect();
        let written = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                diesel::insert_into(schema::peers_writes::table)
                    .values(&rows)
                    .returning(schema::peers_writes::all_columns)
                    .get_results::<Row>(conn)
                    .await
            })
            .await?;
        Ok(written.len())
    }
}
