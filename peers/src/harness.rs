//! Rotated timing: every side of a workload runs once per round, the first side moving
//! on by one each round, so drift on a shared, noisy machine hits them all alike (the
//! two-sided version of this is `bench/src/harness.rs`).

use std::future::Future;
use std::time::{Duration, Instant};

/// The prefix of a result line, which `cargo xtask bench --peers` turns into a table row.
const LINE_PREFIX: &str = "plinth-peers";

/// The median and interquartile range of one side of a workload, per operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Timing {
    pub(crate) median: Duration,
    pub(crate) low: Duration,
    pub(crate) high: Duration,
}

impl Timing {
    /// The quartiles of `samples`, which must not be empty.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            // The index of quantile q; the vector is never empty here.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let i = ((samples.len() - 1) as f64 * q).round() as usize;
            samples[i]
        };
        Timing { median: at(0.5), low: at(0.25), high: at(0.75) }
    }
}

/// Times `sides` sides of a workload over `rounds` rounds (after one untimed warm-up
/// round), `ops` operations per batch: `prepare()` runs untimed before every batch,
/// `batch(side, round)` is the timed one. Returns each side's per-operation timing.
pub(crate) async fn rotate<S, B, SF, BF, E>(
    sides: usize,
    rounds: usize,
    ops: u32,
    mut prepare: S,
    mut batch: B,
) -> Result<Vec<Timing>, E>
where
    S: FnMut() -> SF,
    B: FnMut(usize, usize) -> BF,
    SF: Future<Output = Result<(), E>>,
    BF: Future<Output = Result<(), E>>,
{
    for side in 0..sides {
        prepare().await?;
        batch(side, 0).await?;
    }
    let mut samples = vec![Vec::with_capacity(rounds); sides];
    for round in 1..=rounds {
        for turn in 0..sides {
            let side = (round + turn) % sides;
            prepare().await?;
            let started = Instant::now();
            batch(side, round).await?;
            samples[side].push(started.elapsed() / ops);
        }
    }
    Ok(samples.into_iter().map(Timing::of).collect())
}

/// One result line: tab-separated, the prefix, backend, workload, Plinth's median, 25th
/// and 75th percentile in µs, the peer's name and its three figures.
pub(crate) fn line(backend: &str, workload: &str, plinth: Timing, peer: &str, theirs: Timing) -> String {
    let us = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e6);
    format!(
        "{LINE_PREFIX}\t{backend}\t{workload}\t{}\t{}\t{}\t{peer}\t{}\t{}\t{}",
        us(plinth.median),
        us(plinth.low),
        us(plinth.high),
        us(theirs.median),
        us(theirs.low),
        us(theirs.high),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_side_is_timed_once_per_round_and_each_goes_first_in_turn() {
        let order = std::cell::RefCell::new(Vec::new());
        let timings = block_on(rotate(
            3,
            3,
            1,
            || std::future::ready(Ok::<_, ()>(())),
            |side, round| {
                order.borrow_mut().push((round, side));
                std::future::ready(Ok(()))
            },
        ))
        .expect("no side fails");
        assert_eq!(timings.len(), 3);
        let firsts: Vec<usize> = order.borrow().chunks(3).map(|round| round[0].1).collect();
        assert_eq!(firsts, [0, 1, 2, 0]);
    }

    #[test]
    fn a_line_gives_microseconds_with_three_decimals() {
        let t = |us| Timing::of(vec![Duration::from_micros(us)]);
        assert_eq!(
            line("PostgreSQL", "get", t(80), "sqlx", t(40)),
            "plinth-peers\tPostgreSQL\tget\t80.000\t80.000\t80.000\tsqlx\t40.000\t40.000\t40.000"
        );
    }

    /// Runs a future that never waits.
    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
    }
}
