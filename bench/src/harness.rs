//! Paired timing: Plinth and its baseline alternate, round after round, so drift in a
//! shared, noisy machine hits both alike; only ratios of medians are compared.

use std::future::Future;
use std::time::{Duration, Instant};

/// The medians and spread of one side of a workload, per operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) median: Duration,
    pub(crate) low: Duration,
    pub(crate) high: Duration,
}

impl Timing {
    fn of(mut samples: Vec<Duration>) -> Self {
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

/// What a paired measurement is called and how long it runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Workload<'a> {
    /// The database, e.g. "PostgreSQL".
    pub(crate) backend: &'a str,
    /// What is measured.
    pub(crate) name: &'a str,
    /// The highest acceptable ratio, if there is a target.
    pub(crate) target: Option<f64>,
    /// Timed batches per side.
    pub(crate) rounds: usize,
    /// Operations per batch.
    pub(crate) ops: u32,
    /// What the baseline is.
    pub(crate) baseline_name: &'a str,
}

/// One line of the report.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) backend: String,
    pub(crate) workload: String,
    pub(crate) plinth: Timing,
    pub(crate) baseline_name: String,
    pub(crate) baseline: Timing,
    pub(crate) target: Option<f64>,
}

impl Row {
    pub(crate) fn ratio(&self) -> f64 {
        self.plinth.median.as_secs_f64() / self.baseline.median.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Everything measured, and notes.
#[derive(Debug)]
pub(crate) struct Report {
    quick: bool,
    only: Option<String>,
    pub(crate) rows: Vec<Row>,
    pub(crate) facts: Vec<(String, String)>,
}

impl Report {
    /// A report of every workload, or with `only`, of those whose backend and name
    /// contain it (to profile one workload).
    pub(crate) fn new(quick: bool, only: Option<String>) -> Self {
        Report { quick, only, rows: Vec::new(), facts: Vec::new() }
    }

    /// Whether the workload is to be measured.
    pub(crate) fn wants(&self, backend: &str, workload: &str) -> bool {
        self.only.as_deref().is_none_or(|only| format!("{backend} {workload}").contains(only))
    }

    /// Times `plinth` and `baseline`, `ops` operations per batch, alternating which goes
    /// first, and records per-operation medians.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn pair<P, B, PF, BF, E>(
        &mut self,
        backend: &str,
        workload: &str,
        target: Option<f64>,
        rounds: usize,
        ops: u32,
        baseline_name: &str,
        plinth: P,
        baseline: B,
    ) -> Result<(), E>
    where
        P: FnMut() -> PF,
        B: FnMut() -> BF,
        PF: Future<Output = Result<(), E>>,
        BF: Future<Output = Result<(), E>>,
    {
        let workload = Workload { backend, name: workload, target, rounds, ops, baseline_name };
        self.pair_prepared(workload, || std::future::ready(Ok(())), plinth, baseline).await
    }

    /// Like [`pair`](Report::pair), but runs `prepare` (untimed) before every timed
    /// batch of either side, e.g. to empty a table the batch fills.
    pub(crate) async fn pair_prepared<S, P, B, SF, PF, BF, E>(
        &mut self,
        workload: Workload<'_>,
        mut prepare: S,
        mut plinth: P,
        mut baseline: B,
    ) -> Result<(), E>
    where
        S: FnMut() -> SF,
        P: FnMut() -> PF,
        B: FnMut() -> BF,
        SF: Future<Output = Result<(), E>>,
        PF: Future<Output = Result<(), E>>,
        BF: Future<Output = Result<(), E>>,
    {
        let Workload { backend, name: workload, target, rounds, ops, baseline_name } = workload;
        if !self.wants(backend, workload) {
            return Ok(());
        }
        let (mut ours, mut theirs) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        // One warm-up round each: statements prepared, caches filled.
        prepare().await?;
        plinth().await?;
        prepare().await?;
        baseline().await?;
        for round in 0..rounds {
            if round % 2 == 0 {
                prepare().await?;
                ours.push(time(&mut plinth).await? / ops);
                prepare().await?;
                theirs.push(time(&mut baseline).await? / ops);
            } else {
                prepare().await?;
                theirs.push(time(&mut baseline).await? / ops);
                prepare().await?;
                ours.push(time(&mut plinth).await? / ops);
            }
        }
        let row = Row {
            backend: backend.to_owned(),
            workload: workload.to_owned(),
            plinth: Timing::of(ours),
            baseline_name: baseline_name.to_owned(),
            baseline: Timing::of(theirs),
            target,
        };
        eprintln!("{backend:>10} {workload:<48} ratio {:.2}", row.ratio());
        self.rows.push(row);
        Ok(())
    }

    /// The report as Markdown.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| backend | workload | Plinth median (IQR) | baseline | baseline median (IQR) | ratio | target |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for row in &self.rows {
            let verdict = match row.target {
                Some(t) if row.ratio() <= t => format!("≤ {t:.2} ✓"),
                Some(t) => format!("≤ {t:.2} ✗"),
                None => "—".to_owned(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | **{:.2}** | {} |\n",
                row.backend,
                row.workload,
                show(row.plinth),
                row.baseline_name,
                show(row.baseline),
                row.ratio(),
                verdict
            ));
        }
        if !self.facts.is_empty() {
            out.push('\n');
            for (name, value) in &self.facts {
                out.push_str(&format!("- {name}: {value}\n"));
            }
        }
        if self.quick {
            out.push_str("\n(quick run: fewer rounds, wider spreads)\n");
        }
        out
    }
}

async fn time<F, Fut, E>(run: &mut F) -> Result<Duration, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let started = Instant::now();
    run().await?;
    Ok(started.elapsed())
}

fn show(t: Timing) -> String {
    format!("{} ({}–{})", micros(t.median), micros(t.low), micros(t.high))
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}
