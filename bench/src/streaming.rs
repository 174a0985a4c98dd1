//! Streaming a large table: `Query::stream` against `all`, on the same rows, by the
//! largest live heap each reaches (sampled after every record) and the time it takes.

use std::time::Instant;

use futures_util::TryStreamExt as _;
use plinth::{Database, Entity};
use stats_alloc::Region;

use crate::harness::Report;

/// The streamed table.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_stream_rows")]
pub(crate) struct StreamRow {
    pub(crate) name: String,
    #[entity(index)]
    pub(crate) score: i64,
    pub(crate) note: Option<String>,
}

type Error = Box<dyn std::error::Error>;

/// Fills `bench_stream_rows` with `rows` rows, then reads them once as a stream and once
/// with `all`, and reports both.
pub(crate) async fn run(report: &mut Report, db: &Database, backend: &str, rows: usize) -> Result<(), Error> {
    db.create_all(&[StreamRow::table()]).await?;
    const BATCH: usize = 10_000;
    const SMALL: usize = 10_000;
    let mut small = None;
    let mut added = 0;
    for start in (0..rows).step_by(BATCH) {
        if start == SMALL {
            small = Some(costs(db, SMALL).await?);
            added += 3 * OPS;
        }
        let mut session = db.session().await?;
        let batch = (start..(start + BATCH).min(rows)).map(|i| StreamRow {
            name: format!("streamed row {i:07}"),
            score: i64::try_from(i).unwrap_or_default(),
            note: (i % 3 == 0).then(|| format!("a note on row {i}")),
        });
        session.add_all(batch).await?;
        session.commit().await?;
    }

    if let Some(small) = small {
        let large = costs(db, rows).await?;
        added += 3 * OPS;
        for (what, small, large) in [
            ("get by id", small.0, large.0),
            ("filter on an indexed column", small.1, large.1),
            ("insert + commit one row", small.2, large.2),
        ] {
            report.facts.push((
                format!("{backend}, {what} at {} vs {} rows (target ratio ≤ 1.5)", thousands(SMALL), thousands(rows)),
                format!("{small:.1} µs vs {large:.1} µs, ratio {:.2}", large / small),
            ));
        }
    }

    let mut session = db.session().await?;
    let region = Region::new(crate::GLOBAL);
    let started = Instant::now();
    let mut stream = session.query::<StreamRow>().stream();
    let (mut count, mut total, mut peak) = (0_usize, 0_i64, 0_isize);
    while let Some(record) = stream.try_next().await? {
        count += 1;
        total += record.score;
        peak = peak.max(live(&region));
    }
    drop(stream);
    let streamed = started.elapsed();
    assert_eq!(count, rows + added, "the stream gave every row");

    let region = Region::new(crate::GLOBAL);
    let started = Instant::now();
    let all = session.query::<StreamRow>().all().await?;
    let held = live(&region);
    let loaded = started.elapsed();
    assert_eq!(all.iter().map(|r| r.score).sum::<i64>(), total, "both read the same rows");
    drop(all);

    let mib = |bytes: isize| bytes as f64 / (1024.0 * 1024.0);
    report.facts.push((
        format!("{backend}, {} rows: largest live heap while streaming vs. holding `all`", thousands(rows)),
        format!("{:.2} MiB vs. {:.1} MiB", mib(peak), mib(held)),
    ));
    report.facts.push((
        format!("{backend}, {} rows: time to stream vs. `all`", thousands(rows)),
        format!("{:.2} s vs. {:.2} s", streamed.as_secs_f64(), loaded.as_secs_f64()),
    ));
    Ok(())
}

/// Bytes allocated and not freed since `region` began.
fn live(region: &Region<'_, std::alloc::System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize + change.bytes_reallocated
}

/// `1000000` as `1,000,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Operations per measurement of [`costs`].
const OPS: usize = 200;

/// The median cost, in µs, of a get by id, a query filtered on the indexed `score` and
/// an insert + commit, each over three rounds of [`OPS`], on a table of `rows` rows (the
/// inserts add rows scored -1, which no filter matches).
async fn costs(db: &Database, rows: usize) -> Result<(f64, f64, f64), Error> {
    let mut seed = 11_u64;
    let (mut gets, mut filters, mut inserts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = Instant::now();
        for _ in 0..OPS {
            db.session().await?.get::<StreamRow>(crate::sql::pick(&mut seed, rows)).await?;
        }
        gets.push(started.elapsed().as_secs_f64() * 1e6 / OPS as f64);
        let started = Instant::now();
        for _ in 0..OPS {
            let score = crate::sql::pick(&mut seed, rows) - 1;
            db.session().await?.query::<StreamRow>().filter(|c| c.score.eq(score)).all().await?;
        }
        filters.push(started.elapsed().as_secs_f64() * 1e6 / OPS as f64);
        let started = Instant::now();
        for i in 0..OPS {
            let mut session = db.session().await?;
            session.add(StreamRow { name: format!("added {i}"), score: -1, note: None }).await?;
            session.commit().await?;
        }
        inserts.push(started.elapsed().as_secs_f64() * 1e6 / OPS as f64);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(gets), median(filters), median(inserts)))
}
