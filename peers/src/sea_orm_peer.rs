//! SeaORM 1.1 (the newest line on sqlx 0.8; SeaORM 2 needs sqlx 0.9), as its guide
//! writes it: entities, `find_by_id`, active models, `insert_many`.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectOptions, Database, DatabaseConnection, EntityTrait, QueryOrder,
    TransactionTrait,
};

use crate::plinth_side::PeerWrite;
use crate::{Error, Workload};

/// The entities' generated items are `pub`, as SeaORM's derives make them.
#[allow(unreachable_pub)]
mod rows {
    use sea_orm::entity::prelude::*;

    /// A row of the read table.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "peers_rows")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub score: i64,
        pub note: Option<String>,
        pub active: bool,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The written table: the same columns as [`rows`].
#[allow(unreachable_pub)]
mod writes {
    use sea_orm::entity::prelude::*;

    /// A row of the written table.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "peers_writes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub score: i64,
        pub note: Option<String>,
        pub active: bool,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// SeaORM on a pool of four.
#[derive(Debug)]
pub(crate) struct SeaOrmPeer {
    db: DatabaseConnection,
}

fn active(row: PeerWrite) -> writes::ActiveModel {
    writes::ActiveModel {
        name: Set(row.name),
        score: Set(row.score),
        note: Set(row.note),
        active: Set(row.active),
        ..Default::default()
    }
}

impl SeaOrmPeer {
    /// A pool of four that, like Plinth's, does not ping a connection on checkout.
    pub(crate) async fn open(url: &str) -> Result<Self, Error> {
        let mut options = ConnectOptions::new(url);
        options.max_connections(4).min_connections(1).test_before_acquire(false).sqlx_logging(false);
        Ok(SeaOrmPeer { db: Database::connect(options).await? })
    }

    /// What each workload runs, as the table names it.
    pub(crate) fn describe(&self, workload: Workload) -> &'static str {
        match workload {
            Workload::Get => "SeaORM 1.1 `find_by_id(id).one`",
            Workload::All => "SeaORM 1.1 `find().order_by_asc(id).all`",
            Workload::Insert => "SeaORM 1.1 `begin`, `ActiveModel::insert`, `commit`",
            Workload::AddAll => "SeaORM 1.1 `insert_many(…).exec_with_returning_many` in `begin`/`commit`",
        }
    }

    /// Reads row `id`.
    pub(crate) async fn get(&self, id: i64) -> Result<(), Error> {
        rows::Entity::find_by_id(id).one(&self.db).await?.ok_or_else(|| format!("SeaORM: no row {id}"))?;
        Ok(())
    }

    /// Reads every row, in id order.
    pub(crate) async fn all(&self) -> Result<usize, Error> {
        Ok(rows::Entity::find().order_by_asc(rows::Column::Id).all(&self.db).await?.len())
    }

    /// Inserts one row in a transaction of its own; its id.
    pub(crate) async fn insert(&self, row: PeerWrite) -> Result<i64, Error> {
        let tx = self.db.begin().await?;
        let model = active(row).insert(&tx).await?;
        tx.commit().await?;
        Ok(model.id)
    }

    /// Inserts every row in one statement and one transaction; how many came back.
    pub(crate) async fn add_all(&self, rows: Vec<PeerWrite>) -> Result<usize, Error> {
        let tx = self.db.begin().await?;
        let models = writes::Entity::insert_many(rows.into_iter().map(active)).exec_with_returning_many(&tx).await?;
        tx.commit().await?;
        Ok(models.len())
    }
}
