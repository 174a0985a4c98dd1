//! The memory backend's cost curve (get and insert at 1,000 and 1,000,000 rows) and the
//! bytes a native `get` allocates.

use std::alloc::System;
use std::time::Instant;

use plinth::{Database, Entity};
use stats_alloc::{Region, StatsAlloc};

use crate::harness::Report;
use crate::sql::{pick, BenchRow};

type Error = Box<dyn std::error::Error>;

fn row(i: usize) -> BenchRow {
    BenchRow { name: format!("row {i}"), score: 1, note: None, active: true }
}

async fn filled(rows: usize) -> Result<Database, Error> {
    let db = plinth::memory();
    db.create_all(&[BenchRow::table()]).await?;
    let mut session = db.session().await?;
    for start in (0..rows).step_by(100_000) {
        session.add_all((start..(start + 100_000).min(rows)).map(row)).await?;
    }
    session.commit().await?;
    Ok(db)
}

/// Nanoseconds per get and per insert+commit on a table of `rows` rows.
async fn costs(db: &Database, rows: usize) -> Result<(f64, f64), Error> {
    const OPS: u32 = 20_000;
    let started = Instant::now();
    // Ids in a pseudo-random order: a stride through the table would let the CPU's
    // prefetchers hide what a large table costs.
    let mut seed = 11;
    for _ in 0..OPS {
        let id = pick(&mut seed, rows);
        db.session().await?.get::<BenchRow>(id).await?;
    }
    let get = started.elapsed().as_secs_f64() * 1e9 / f64::from(OPS);
    let started = Instant::now();
    for i in 0..OPS {
        let mut session = db.session().await?;
        session.add(row(usize::try_from(i).unwrap_or_default())).await?;
        session.commit().await?;
    }
    let insert = started.elapsed().as_secs_f64() * 1e9 / f64::from(OPS);
    Ok((get, insert))
}

pub(crate) async fn run(report: &mut Report) -> Result<(), Error> {
    let big = 1_000_000;
    let small_db = filled(1_000).await?;
    let big_db = filled(big).await?;
    let mut small = Vec::new();
    let mut large = Vec::new();
    for _ in 0..3 {
        small.push(costs(&small_db, 1_000).await?);
        large.push(costs(&big_db, big).await?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut sg, mut si): (Vec<f64>, Vec<f64>) = small.iter().copied().unzip();
    let (mut lg, mut li): (Vec<f64>, Vec<f64>) = large.iter().copied().unzip();
    let (sg, si, lg, li) = (median(&mut sg), median(&mut si), median(&mut lg), median(&mut li));
    report.facts.push((
        "memory backend, get at 1,000 vs 1,000,000 rows (target ratio ≤ 2)".to_owned(),
        format!("{sg:.0} ns vs {lg:.0} ns, ratio {:.2}", lg / sg),
    ));
    report.facts.push((
        "memory backend, insert + commit at 1,000 vs 1,000,000 rows (target ratio ≤ 2)".to_owned(),
        format!("{si:.0} ns vs {li:.0} ns, ratio {:.2}", li / si),
    ));
    Ok(())
}

/// Bytes and allocations of one `get` (session, query, decode) on the memory backend.
pub(crate) async fn allocations(report: &mut Report, allocator: &'static StatsAlloc<System>) -> Result<(), Error> {
    let db = filled(1_000).await?;
    db.session().await?.get::<BenchRow>(1).await?;
    const OPS: usize = 1_000;
    let region = Region::new(allocator);
    for id in 1..=OPS {
        db.session().await?.get::<BenchRow>(i64::try_from(id).unwrap_or(1)).await?;
    }
    let change = region.change();
    report.facts.push((
        "allocated per `get` (memory backend: session, lookup, decode to a Record)".to_owned(),
        format!("{} bytes in {} allocations", change.bytes_allocated / OPS, change.allocations / OPS),
    ));
    Ok(())
}
