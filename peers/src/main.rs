//! Plinth beside other data layers on PostgreSQL: raw sqlx, SeaORM and diesel-async in
//! one process, in rotated rounds on the same database, and SQLAlchemy (a Python
//! process, `sqlalchemy_peer.py`) right after each workload's rounds. Run through
//! `cargo xtask bench --peers`, which turns the result lines this prints into the
//! "Peers" section of BENCHMARKS.md.
//!
//! `plinth-peers [--quick] [--postgres URL] [--python PATH]`: `--python` is an
//! interpreter with `sqlalchemy[asyncio]` 2 and asyncpg installed; without it
//! SQLAlchemy is left out. The tables are `peers_rows` and `peers_writes`, dropped and
//! made anew by every run.

mod diesel_peer;
mod harness;
mod plinth_side;
mod sea_orm_peer;
mod sqlalchemy;
mod sqlx_peer;

use std::path::PathBuf;

use crate::harness::{line, rotate, Timing};
use crate::plinth_side::PeerWrite;

/// The error every side returns.
pub(crate) type Error = Box<dyn std::error::Error>;

/// The backend every native result line names.
const BACKEND: &str = "PostgreSQL";

/// What every side does, each with its own library, on the same tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// 200 rows read by id, each in a session (or unit of work) of its own.
    Get,
    /// Every row of the 10,000-row table, in id order.
    All,
    /// 100 rows, each inserted and returned in a transaction of its own.
    Insert,
    /// 10,000 rows inserted in one transaction and returned.
    AddAll,
}

impl Workload {
    /// Every workload, in the order they run.
    pub(crate) const ALL: [Workload; 4] = [Workload::Get, Workload::All, Workload::Insert, Workload::AddAll];

    /// The name the result line gives, and SQLAlchemy's script takes.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::All => "all",
            Workload::Insert => "insert",
            Workload::AddAll => "add_all",
        }
    }

    /// What the table calls it.
    fn title(self) -> &'static str {
        match self {
            Workload::Get => "get by id (10,000 rows)",
            Workload::All => "fetch all 10,000 rows",
            Workload::Insert => "insert one row and return it, in a transaction",
            Workload::AddAll => "add_all 10,000 rows, returned",
        }
    }

    /// Operations in one timed batch.
    pub(crate) fn ops(self) -> u32 {
        match self {
            Workload::Get => 200,
            Workload::Insert => 100,
            Workload::All | Workload::AddAll => 1,
        }
    }

    /// Timed rounds: bulk inserts are long, so fewer of them.
    pub(crate) fn rounds(self, quick: bool) -> usize {
        match (self, quick) {
            (Workload::AddAll, true) => 5,
            (Workload::AddAll, false) => 9,
            (_, true) => 7,
            (_, false) => 25,
        }
    }
}

/// Rows in the table reads run against.
pub(crate) const TABLE_ROWS: usize = 10_000;

/// The row `i` every side writes: the benchmark's shape (`bench/src/sql.rs`).
pub(crate) fn row(i: usize) -> PeerWrite {
    let score = i64::try_from(i % 1000).unwrap_or_default();
    PeerWrite {
        name: format!("row {i:06}"),
        score,
        note: i.is_multiple_of(3).then(|| format!("note {i}")),
        active: i.is_multiple_of(2),
    }
}

/// `count` ids over `1..=TABLE_ROWS` from a cheap deterministic sequence started at `seed`.
pub(crate) fn picks(seed: usize, count: u32) -> Vec<i64> {
    let mut state = u64::try_from(seed).unwrap_or_default().wrapping_add(0x9E37_79B9_7F4A_7C15);
    let n = u64::try_from(TABLE_ROWS).unwrap_or(1);
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            i64::try_from((state >> 11) % n).unwrap_or_default() + 1
        })
        .collect()
}

/// One data layer under test.
#[derive(Debug)]
enum Side {
    Plinth(plinth_side::PlinthSide),
    Sqlx(sqlx_peer::SqlxPeer),
    SeaOrm(sea_orm_peer::SeaOrmPeer),
    Diesel(diesel_peer::DieselPeer),
}

macro_rules! on_side {
    ($side:expr, |$s:ident| $body:expr) => {
        match $side {
            Side::Plinth($s) => $body,
            Side::Sqlx($s) => $body,
            Side::SeaOrm($s) => $body,
            Side::Diesel($s) => $body,
        }
    };
}

impl Side {
    /// What this side's batch of `workload` runs, as the table names it.
    fn describe(&self, workload: Workload) -> &'static str {
        on_side!(self, |s| s.describe(workload))
    }

    /// One timed batch of `workload`; `add_all` writes (an owned copy of) `bulk`.
    async fn batch(&self, workload: Workload, round: usize, bulk: &[PeerWrite]) -> Result<(), Error> {
        match workload {
            Workload::Get => {
                for id in picks(round, workload.ops()) {
                    on_side!(self, |s| s.get(id).await?);
                }
            }
            Workload::All => {
                let count = on_side!(self, |s| s.all().await?);
                check_count(self, workload, count, TABLE_ROWS)?;
            }
            Workload::Insert => {
                for i in 0..workload.ops() as usize {
                    let id = on_side!(self, |s| s.insert(row(i)).await?);
                    if id < 1 {
                        return Err(format!("{:?} inserted a row with id {id}", self.describe(workload)).into());
                    }
                }
            }
            Workload::AddAll => {
                let count = on_side!(self, |s| s.add_all(bulk.to_vec()).await?);
                check_count(self, workload, count, TABLE_ROWS)?;
            }
        }
        Ok(())
    }
}

fn check_count(side: &Side, workload: Workload, count: usize, expected: usize) -> Result<(), Error> {
    if count == expected {
        return Ok(());
    }
    Err(format!("{}: {count} rows, not {expected}", side.describe(workload)).into())
}

/// What the command line asked for.
#[derive(Debug)]
struct Args {
    quick: bool,
    postgres: String,
    python: Option<PathBuf>,
}

fn args() -> Result<Args, Error> {
    let mut parsed = Args {
        quick: false,
        postgres: std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        python: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--postgres" => parsed.postgres = args.next().ok_or("--postgres needs a URL")?,
            "--python" => parsed.python = Some(args.next().ok_or("--python needs a path")?.into()),
            other => {
                return Err(format!("unknown argument `{other}`; use --quick, --postgres URL or --python PATH").into())
            }
        }
    }
    Ok(parsed)
}

async fn run(args: Args) -> Result<(), Error> {
    // Loopback in the clear, as the main benchmark measures (see bench/src/main.rs).
    let separator = if args.postgres.contains('?') { '&' } else { '?' };
    let url = match args.postgres.contains("sslmode=") {
        true => args.postgres.clone(),
        false => format!("{}{separator}sslmode=disable", args.postgres),
    };
    let raw = sqlx_peer::SqlxPeer::open(&url).await?;
    let plinth = plinth_side::PlinthSide::open(&url).await?;
    plinth.fill(&raw).await?;
    let sides = [
        Side::Plinth(plinth),
        Side::Sqlx(raw.clone()),
        Side::SeaOrm(sea_orm_peer::SeaOrmPeer::open(&url).await?),
        Side::Diesel(diesel_peer::DieselPeer::open(&args.postgres).await?),
    ];
    let (raw, bulk) = (&raw, (0..TABLE_ROWS).map(row).collect::<Vec<_>>());
    for workload in Workload::ALL {
        let rounds = workload.rounds(args.quick);
        let writes = matches!(workload, Workload::Insert | Workload::AddAll);
        let timings: Vec<Timing> = rotate(
            sides.len(),
            rounds,
            workload.ops(),
            || async move {
                if writes {
                    raw.clear_writes().await?;
                }
                Ok::<_, Error>(())
            },
            |side, round| sides[side].batch(workload, round, &bulk),
        )
        .await?;
        let ours = timings[0];
        for (side, theirs) in sides.iter().zip(&timings).skip(1) {
            println!("{}", line(BACKEND, workload.title(), ours, side.describe(workload), *theirs));
        }
        if let Some(python) = &args.python {
            raw.clear_writes().await?;
            let theirs = sqlalchemy::run(python, &args.postgres, workload, rounds)?;
            println!("{}", line(BACKEND, workload.title(), ours, sqlalchemy::describe(workload), theirs));
        }
    }
    raw.drop_tables().await
}

fn main() -> std::process::ExitCode {
    let outcome = args().and_then(|args| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(run(args))
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plinth-peers: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
