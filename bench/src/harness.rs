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
    pub(crate) rows: Vec<Row>,
    pub(crate) facts: Vec<(String, String)>,
}

impl Report {
    pub(crate) fn new(quick: bool) -> Self {
        Report { quick, rows: Vec::new(), facts: Vec::new() }
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
        mut plinth: P,
        mut baseline: B,
    ) -> Result<(), E>
    where
        P: FnMut() -> PF,
        B: FnMut() -> BF,
        PF: Future<Output = Result<(), E>>,
        BF: Future<Output = Result<(), E>>,
    {
        let (mut ours, mut theirs) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        // One warm-up round each: statements prepared, caches filled.
        plinth().await?;
        baseline().await?;
        for round in 0..rounds {
            if round % 2 == 0 {
                ours.push(time(&mut plinth).await? / ops);
                theirs.push(time(&mut baseline).await? / ops);
            } else {
                theirs.push(time(&mut baseline).await? / ops);
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
