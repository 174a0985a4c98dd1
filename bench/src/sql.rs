//! PostgreSQL and SQLite workloads: Plinth against the statement a careful engineer
//! would write with sqlx, on the same tables.

use chrono::{DateTime, SecondsFormat, Utc};
use plinth::{Database, Entity, Record};

use crate::harness::{Report, Workload};
use crate::Plan;

/// The table reads run against.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_rows")]
pub(crate) struct BenchRow {
    pub(crate) name: String,
    pub(crate) score: i64,
    pub(crate) note: Option<String>,
    pub(crate) active: bool,
}

/// The table bulk inserts fill and empty.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_bulk")]
pub(crate) struct BulkRow {
    pub(crate) name: String,
    pub(crate) score: i64,
    pub(crate) note: Option<String>,
    pub(crate) active: bool,
}

type Tuple = (i64, String, i64, Option<String>, bool, DateTime<Utc>, DateTime<Utc>);
type Error = Box<dyn std::error::Error>;

fn row(i: usize) -> BenchRow {
    let score = i64::try_from(i % 1000).unwrap_or_default();
    BenchRow { name: format!("row {i:06}"), score, note: (i % 3 == 0).then(|| format!("note {i}")), active: i % 2 == 0 }
}

fn bulk(i: usize) -> BulkRow {
    let BenchRow { name, score, note, active } = row(i);
    BulkRow { name, score, note, active }
}

/// A cheap deterministic id sequence over `1..=n`.
pub(crate) fn pick(seed: &mut u64, n: usize) -> i64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    let n = u64::try_from(n).unwrap_or(1).max(1);
    i64::try_from(*seed % n).unwrap_or_default() + 1
}

/// The baseline: hand-written sqlx on one of the two databases.
#[derive(Clone, Debug)]
pub(crate) enum Raw {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

macro_rules! on_pool {
    ($raw:expr, |$pool:ident, $p:ident| $body:expr) => {
        match $raw {
            Raw::Postgres($pool) => {
                let $p = |n: usize| format!("${n}");
                $body
            }
            Raw::Sqlite($pool) => {
                let $p = |n: usize| format!("?{n}");
                $body
            }
        }
    };
}

const COLUMNS: &str = "\"id\", \"name\", \"score\", \"note\", \"active\", \"created_at\", \"updated_at\"";

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Raw {
    fn is_postgres(&self) -> bool {
        matches!(self, Raw::Postgres(_))
    }

    async fn get(&self, id: i64) -> Result<Tuple, sqlx::Error> {
        on_pool!(self, |pool, p| {
            let sql = format!("SELECT {COLUMNS} FROM \"bench_rows\" WHERE \"id\" = {}", p(1));
            sqlx::query_as::<_, Tuple>(&sql).bind(id).fetch_one(pool).await
        })
    }

    async fn top(&self, min_score: i64) -> Result<Vec<Tuple>, sqlx::Error> {
        on_pool!(self, |pool, p| {
            let sql = format!(
                "SELECT {COLUMNS} FROM \"bench_rows\" WHERE \"score\" >= {} ORDER BY \"score\" DESC, \"id\" LIMIT 100",
                p(1)
            );
            sqlx::query_as::<_, Tuple>(&sql).bind(min_score).fetch_all(pool).await
        })
    }

    async fn all(&self) -> Result<Vec<Tuple>, sqlx::Error> {
        on_pool!(self, |pool, _p| {
            let sql = format!("SELECT {COLUMNS} FROM \"bench_rows\" ORDER BY \"id\"");
            sqlx::query_as::<_, Tuple>(&sql).fetch_all(pool).await
        })
    }

    /// One row inserted and returned, in autocommit or in a transaction of its own.
    async fn insert(&self, r: &BenchRow, in_transaction: bool) -> Result<(i64, DateTime<Utc>), sqlx::Error> {
        match self {
            Raw::Postgres(pool) => {
                let query = sqlx::query_as(
                    "INSERT INTO \"bench_rows\" (\"name\", \"score\", \"note\", \"active\") VALUES ($1, $2, $3, $4) \
                     RETURNING \"id\", \"created_at\"",
                )
                .bind(&r.name)
                .bind(r.score)
                .bind(&r.note)
                .bind(r.active);
                if !in_transaction {
                    return query.fetch_one(pool).await;
                }
                let mut tx = pool.begin().await?;
                let inserted = query.fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(inserted)
            }
            Raw::Sqlite(pool) => {
                let query = sqlx::query_as(
                    "INSERT INTO \"bench_rows\" (\"name\", \"score\", \"note\", \"active\", \"created_at\", \"updated_at\") \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING \"id\", \"created_at\"",
                )
                .bind(&r.name)
                .bind(r.score)
                .bind(&r.note)
                .bind(r.active)
                .bind(now_text());
                let (id, at): (i64, String) = if in_transaction {
                    let mut tx = pool.begin().await?;
                    let inserted = query.fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    inserted
                } else {
                    query.fetch_one(pool).await?
                };
                Ok((id, DateTime::parse_from_rfc3339(&at).map(|t| t.to_utc()).unwrap_or_default()))
            }
        }
    }

    async fn update(&self, id: i64, r: &BenchRow) -> Result<(), sqlx::Error> {
        let sql_pg = "UPDATE \"bench_rows\" SET \"name\" = $1, \"score\" = $2, \"note\" = $3, \"active\" = $4, \
                      \"updated_at\" = now() WHERE \"id\" = $5";
        let sql_lite = "UPDATE \"bench_rows\" SET \"name\" = ?1, \"score\" = ?2, \"note\" = ?3, \"active\" = ?4, \
                        \"updated_at\" = ?6 WHERE \"id\" = ?5";
        match self {
            Raw::Postgres(pool) => {
                let q = sqlx::query(sql_pg).bind(&r.name).bind(r.score).bind(&r.note).bind(r.active).bind(id);
                q.execute(pool).await.map(drop)
            }
            Raw::Sqlite(pool) => {
                let q = sqlx::query(sql_lite).bind(&r.name).bind(r.score).bind(&r.note).bind(r.active).bind(id);
                q.bind(now_text()).execute(pool).await.map(drop)
            }
        }
    }

    /// Bulk insert in one transaction: `UNNEST` on PostgreSQL; on SQLite one prepared
    /// single-row insert repeated (SQLite's fastest hand-written way).
    async fn bulk(&self, rows: &[BulkRow], one_per_row: bool) -> Result<(), sqlx::Error> {
        match self {
            Raw::Postgres(pool) if !one_per_row => {
                let mut tx = pool.begin().await?;
                let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
                let scores: Vec<i64> = rows.iter().map(|r| r.score).collect();
                let notes: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
                let actives: Vec<bool> = rows.iter().map(|r| r.active).collect();
                sqlx::query(
                    "INSERT INTO \"bench_bulk\" (\"name\", \"score\", \"note\", \"active\") \
                     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::bool[]) RETURNING \"id\"",
                )
                .bind(names)
                .bind(scores)
                .bind(notes)
                .bind(actives)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await
            }
            Raw::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for r in rows {
                    sqlx::query(
                        "INSERT INTO \"bench_bulk\" (\"name\", \"score\", \"note\", \"active\") VALUES ($1, $2, $3, $4) RETURNING \"id\"",
                    )
                    .bind(&r.name)
                    .bind(r.score)
                    .bind(&r.note)
                    .bind(r.active)
                    .fetch_one(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            Raw::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let now = now_text();
                for r in rows {
                    sqlx::query(
                        "INSERT INTO \"bench_bulk\" (\"name\", \"score\", \"note\", \"active\", \"created_at\", \"updated_at\") \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING \"id\"",
                    )
                    .bind(&r.name)
                    .bind(r.score)
                    .bind(&r.note)
                    .bind(r.active)
                    .bind(&now)
                    .fetch_one(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
        }
    }

    /// Empties the bulk table between runs, so no run pays for another's dead rows
    /// (SQLite's unqualified `DELETE` is its truncate).
    async fn clear_bulk(&self) -> Result<(), sqlx::Error> {
        match self {
            Raw::Postgres(pool) => sqlx::query("TRUNCATE \"bench_bulk\"").execute(pool).await.map(drop),
            Raw::Sqlite(pool) => sqlx::query("DELETE FROM \"bench_bulk\"").execute(pool).await.map(drop),
        }
    }

    /// Ten operations in one transaction: 4 gets, 3 updates, 2 inserts, 1 delete.
    async fn mixed(&self, ids: [i64; 4]) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool, p| {
            let mut tx = pool.begin().await?;
            let get = format!("SELECT {COLUMNS} FROM \"bench_rows\" WHERE \"id\" = {}", p(1));
            let mut fetched = Vec::new();
            for id in ids {
                fetched.push(sqlx::query_as::<_, Tuple>(&get).bind(id).fetch_one(&mut *tx).await?);
            }
            let now = now_text();
            let update = format!(
                "UPDATE \"bench_rows\" SET \"score\" = {}, \"updated_at\" = {} WHERE \"id\" = {}",
                p(1),
                if self.is_postgres() { "now()".to_owned() } else { p(3) },
                p(2)
            );
            for t in &fetched[..3] {
                let q = sqlx::query(&update).bind(t.2 + 1).bind(t.0);
                let q = if self.is_postgres() { q } else { q.bind(&now) };
                q.execute(&mut *tx).await?;
            }
            let insert = if self.is_postgres() {
                "INSERT INTO \"bench_rows\" (\"name\", \"score\", \"note\", \"active\") VALUES ($1, $2, $3, $4) RETURNING \"id\"".to_owned()
            } else {
                "INSERT INTO \"bench_rows\" (\"name\", \"score\", \"note\", \"active\", \"created_at\", \"updated_at\") \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING \"id\""
                    .to_owned()
            };
            let mut added = 0;
            for i in 0..2 {
                let r = row(i);
                let q = sqlx::query_as::<_, (i64,)>(&insert).bind(r.name).bind(-1_i64).bind(r.note).bind(r.active);
                let q = if self.is_postgres() { q } else { q.bind(&now) };
                added = q.fetch_one(&mut *tx).await?.0;
            }
            let delete = format!("DELETE FROM \"bench_rows\" WHERE \"id\" = {}", p(1));
            sqlx::query(&delete).bind(added).execute(&mut *tx).await?;
            tx.commit().await
        })
    }
}

/// Runs every workload on the database at `url`, in a fresh schema or file.
pub(crate) async fn run(report: &mut Report, plan: Plan, backend: &str, url: &str) -> Result<(), Error> {
    let (db, raw) = open(url).await?;
    db.create_all(&[BenchRow::table(), BulkRow::table()]).await?;
    let mut session = db.session().await?;
    session.add_all((0..plan.table_rows).map(row)).await?;
    session.commit().await?;
    if let Raw::Postgres(pool) = &raw {
        sqlx::query("VACUUM ANALYZE \"bench_rows\"").execute(pool).await?;
    }
    let n = plan.table_rows;
    let rounds = plan.rounds;

    let seed = std::cell::Cell::new(7_u64);
    let next = || {
        let mut s = seed.get();
        let id = pick(&mut s, n);
        seed.set(s);
        id
    };

    const GETS: u32 = 200;
    report
        .pair(
            backend,
            "get by id",
            Some(1.05),
            rounds,
            GETS,
            "sqlx `query_as` … WHERE id = $1",
            || {
                let (db, ids): (Database, Vec<i64>) = (db.clone(), (0..GETS).map(|_| next()).collect());
                async move {
                    for id in ids {
                        db.session().await?.get::<BenchRow>(id).await?;
                    }
                    Ok::<_, Error>(())
                }
            },
            || {
                let (raw, ids): (Raw, Vec<i64>) = (raw.clone(), (0..GETS).map(|_| next()).collect());
                async move {
                    for id in ids {
                        raw.get(id).await?;
                    }
                    Ok(())
                }
            },
        )
        .await?;

    const QUERIES: u32 = 20;
    report
        .pair(
            backend,
            "filter 100 of 10,000, order, limit",
            Some(1.10),
            rounds,
            QUERIES,
            "sqlx `query_as`",
            || {
                let db = db.clone();
                async move {
                    for _ in 0..QUERIES {
                        let mut session = db.session().await?;
                        let rows = session
                            .query::<BenchRow>()
                            .filter(|c| c.score.ge(990))
                            .order_by(|c| c.score.desc())
                            .limit(100)
                            .all()
                            .await?;
                        assert_eq!(rows.len(), 100);
                    }
                    Ok::<_, Error>(())
                }
            },
            || {
                let raw = raw.clone();
                async move {
                    for _ in 0..QUERIES {
                        assert_eq!(raw.top(990).await?.len(), 100);
                    }
                    Ok(())
                }
            },
        )
        .await?;

    report
        .pair(
            backend,
            "fetch all of 10,000 rows",
            Some(1.05),
            rounds,
            1,
            "sqlx `query_as`",
            || {
                let db = db.clone();
                async move {
                    let rows = db.session().await?.query::<BenchRow>().all().await?;
                    assert_eq!(rows.len(), n);
                    Ok::<_, Error>(())
                }
            },
            || {
                let raw = raw.clone();
                async move {
                    assert_eq!(raw.all().await?.len(), n);
                    Ok(())
                }
            },
        )
        .await?;

    // Plinth and the baseline update rows of their own: a record is its row's version,
    // so Plinth's records must stay the ones it last wrote (they are kept across rounds).
    const UPDATES: u32 = 100;
    let ours = std::cell::RefCell::new(
        db.session().await?.query::<BenchRow>().order_by(|c| c.id.asc()).limit(u64::from(UPDATES)).all().await?,
    );
    let theirs: Vec<Record<BenchRow>> = db
        .session()
        .await?
        .query::<BenchRow>()
        .order_by(|c| c.id.asc())
        .offset(u64::from(UPDATES))
        .limit(u64::from(UPDATES))
        .all()
        .await?;
    for (one_shot, name) in
        [(false, "update one row (session + commit)"), (true, "update one row, one-shot (`db.update`)")]
    {
        report
            .pair(
                backend,
                name,
                Some(1.05),
                rounds,
                UPDATES,
                "sqlx UPDATE, autocommit",
                || {
                    let (db, ours) = (db.clone(), &ours);
                    async move {
                        let mut records = ours.take();
                        for record in &mut records {
                            record.score += 1;
                            if one_shot {
                                db.update(record).await?;
                            } else {
                                let mut session = db.session().await?;
                                session.update(record).await?;
                                session.commit().await?;
                            }
                        }
                        ours.replace(records);
                        Ok::<_, Error>(())
                    }
                },
                || {
                    let (raw, theirs) = (raw.clone(), theirs.clone());
                    async move {
                        for record in &theirs {
                            raw.update(record.id().get(), record.entity()).await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
    }

    const MIXED: u32 = 20;
    report
        .pair(
            backend,
            "transaction of 10 mixed operations",
            Some(1.10),
            rounds,
            MIXED,
            "sqlx transaction",
            || {
                let (db, ids): (Database, Vec<i64>) = (db.clone(), (0..MIXED * 4).map(|_| next()).collect());
                async move {
                    for four in ids.chunks(4) {
                        let mut session = db.session().await?;
                        let mut fetched = Vec::new();
                        for id in four {
                            fetched.extend(session.get::<BenchRow>(*id).await?);
                        }
                        for record in fetched.iter_mut().take(3) {
                            record.score += 1;
                            session.update(record).await?;
                        }
                        session.add(BenchRow { score: -1, ..row(0) }).await?;
                        let added = session.add(BenchRow { score: -1, ..row(1) }).await?;
                        session.delete(added).await?;
                        session.commit().await?;
                    }
                    Ok::<_, Error>(())
                }
            },
            || {
                let (raw, ids): (Raw, Vec<i64>) = (raw.clone(), (0..MIXED * 4).map(|_| next()).collect());
                async move {
                    for four in ids.chunks(4) {
                        raw.mixed([four[0], four[1], four[2], four[3]]).await?;
                    }
                    Ok(())
                }
            },
        )
        .await?;

    const INSERTS: u32 = 100;
    /// How an insert runs: in a session, one-shot, or (the baseline too) in a transaction.
    #[derive(Clone, Copy, PartialEq)]
    enum Insert {
        Session,
        OneShot,
        InTransaction,
    }
    for (how, name, baseline_name) in [
        (Insert::Session, "insert one row and return it (session + commit)", "sqlx INSERT … RETURNING, autocommit"),
        (Insert::OneShot, "insert one row and return it, one-shot (`db.add`)", "sqlx INSERT … RETURNING, autocommit"),
        (
            Insert::InTransaction,
            "insert one row and return it, both in a transaction",
            "sqlx BEGIN; INSERT … RETURNING; COMMIT",
        ),
    ] {
        report
            .pair(
                backend,
                name,
                Some(1.05),
                rounds,
                INSERTS,
                baseline_name,
                || {
                    let db = db.clone();
                    async move {
                        for i in 0..INSERTS {
                            let row = row(usize::try_from(i).unwrap_or_default());
                            if how == Insert::OneShot {
                                db.add(row).await?;
                            } else {
                                let mut session = db.session().await?;
                                session.add(row).await?;
                                session.commit().await?;
                            }
                        }
                        Ok::<_, Error>(())
                    }
                },
                || {
                    let raw = raw.clone();
                    async move {
                        for i in 0..INSERTS {
                            let row = row(usize::try_from(i).unwrap_or_default());
                            raw.insert(&row, how == Insert::InTransaction).await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
    }

    let batch: Vec<BulkRow> = (0..10_000).map(bulk).collect();
    let bulk_rounds = rounds.min(9);
    let baseline_name =
        if raw.is_postgres() { "sqlx UNNEST, one statement" } else { "sqlx prepared INSERT per row, one transaction" };
    let workload = Workload {
        backend,
        name: "add_all of 10,000 rows",
        target: Some(1.2),
        rounds: bulk_rounds,
        ops: 1,
        baseline_name,
    };
    bulk_pair(report, workload, &db, &raw, &batch, false).await?;
    if raw.is_postgres() {
        let workload = Workload {
            name: "add_all of 10,000 rows vs one INSERT per row",
            target: Some(0.1),
            rounds: bulk_rounds.min(3),
            baseline_name: "sqlx INSERT per row, one transaction",
            ..workload
        };
        bulk_pair(report, workload, &db, &raw, &batch, true).await?;
    }
    crate::relations::run(report, backend, &db, &raw, rounds).await?;
    if report.wants(backend, "stream") {
        crate::streaming::run(report, &db, backend, plan.stream_rows).await?;
    }
    close(raw).await
}

async fn open(url: &str) -> Result<(Database, Raw), Error> {
    if url.starts_with("sqlite") {
        let db = plinth_sqlx::connect(url).await?;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(
                url.parse::<sqlx::sqlite::SqliteConnectOptions>()?.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
            )
            .await?;
        return Ok((db, Raw::Sqlite(pool)));
    }
    let admin = sqlx::PgPool::connect(url).await?;
    sqlx::query("DROP SCHEMA IF EXISTS \"plinth_bench\" CASCADE").execute(&admin).await?;
    sqlx::query("CREATE SCHEMA \"plinth_bench\"").execute(&admin).await?;
    admin.close().await;
    let options = url.parse::<sqlx::postgres::PgConnectOptions>()?.options([("search_path", "plinth_bench")]);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(options).await?;
    // Plinth with the pool `connect` makes (no ping on checkout); the baseline with
    // sqlx's default pool, which pings.
    let separator = if url.contains('?') { '&' } else { '?' };
    let db =
        plinth_sqlx::connect(&format!("{url}{separator}options=-c%20search_path%3Dplinth_bench&max_connections=4"))
            .await?;
    Ok((db, Raw::Postgres(pool)))
}

async fn close(raw: Raw) -> Result<(), Error> {
    match raw {
        Raw::Postgres(pool) => {
            sqlx::query("DROP SCHEMA \"plinth_bench\" CASCADE").execute(&pool).await?;
            pool.close().await;
        }
        Raw::Sqlite(pool) => pool.close().await,
    }
    Ok(())
}

/// `add_all` of `batch` against the baseline's bulk insert, the table emptied (untimed)
/// before every batch.
async fn bulk_pair(
    report: &mut Report,
    workload: Workload<'_>,
    db: &Database,
    raw: &Raw,
    batch: &[BulkRow],
    one_per_row: bool,
) -> Result<(), Error> {
    report
        .pair_prepared(
            workload,
            || {
                let raw = raw.clone();
                async move { Ok::<_, Error>(raw.clear_bulk().await?) }
            },
            || {
                let (db, batch) = (db.clone(), batch.to_vec());
                async move {
                    let mut session = db.session().await?;
                    session.add_all(batch).await?;
                    session.commit().await?;
                    Ok(())
                }
            },
            || {
                let (raw, batch) = (raw.clone(), batch.to_vec());
                async move { Ok(raw.bulk(&batch, one_per_row).await?) }
            },
        )
        .await
}
