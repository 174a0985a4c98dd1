//! Tracing (feature `tracing`): a `plinth.session` span per session and a
//! `plinth.statement` span per statement inside it, on target `plinth`, with the SQL
//! text — never the bound values unless [`record_bound_values`] asks — the rows, the
//! time taken and the backend; a statement slower than [`set_slow_statement_threshold`]
//! (1 s by default) also logs a `WARN` event. Without the feature every function here
//! is a no-op the compiler removes.
//!
//! | span | fields |
//! |---|---|
//! | `plinth.session` | `backend`, `outcome` (`committed`, `rolled back`, `failed`; empty if dropped) |
//! | `plinth.statement` | `backend`, `sql`, `rows` (returned or changed), `elapsed_us`, `error` (if it failed), `values` (only when asked) |

use std::future::Future;

#[cfg(feature = "tracing")]
pub use enabled::{record_bound_values, set_slow_statement_threshold};

/// A session's span, or nothing without the feature.
#[derive(Clone, Debug)]
pub(crate) struct SessionSpan(#[cfg(feature = "tracing")] tracing::Span);

impl SessionSpan {
    /// A new session's span.
    pub(crate) fn begin(backend: &'static str) -> Self {
        #[cfg(feature = "tracing")]
        return SessionSpan(tracing::info_span!(
            target: "plinth",
            "plinth.session",
            backend,
            outcome = tracing::field::Empty
        ));
        #[cfg(not(feature = "tracing"))]
        {
            let _ = backend;
            SessionSpan()
        }
    }

    /// Runs `work` inside the session's span, so its statements' spans are children.
    pub(crate) async fn run<T>(&self, work: impl Future<Output = plinth::Result<T>>) -> plinth::Result<T> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(work, self.0.clone()).await;
        #[cfg(not(feature = "tracing"))]
        work.await
    }

    /// Records how the session ended.
    pub(crate) fn ended(&self, outcome: &'static str) {
        #[cfg(feature = "tracing")]
        self.0.record("outcome", outcome);
        #[cfg(not(feature = "tracing"))]
        let _ = outcome;
    }
}

#[cfg(feature = "tracing")]
pub(crate) use enabled::statement;

/// Runs `statement`: without the feature there is no span to make.
#[cfg(not(feature = "tracing"))]
pub(crate) async fn statement<T, E: std::fmt::Display>(
    _backend: &'static str,
    _sql: &str,
    _values: &(dyn std::fmt::Debug + Sync),
    _rows: impl FnOnce(&T) -> u64,
    statement: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    statement.await
}

#[cfg(feature = "tracing")]
mod enabled {
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use tracing::field::Empty;
    use tracing::Instrument as _;

    static SLOW_MICROS: AtomicU64 = AtomicU64::new(1_000_000);
    static BOUND_VALUES: AtomicBool = AtomicBool::new(false);

    /// From how long on a statement also logs a `WARN` event `slow statement` (1 s by
    /// default), for every database in the process.
    pub fn set_slow_statement_threshold(threshold: Duration) {
        SLOW_MICROS.store(u64::try_from(threshold.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Whether statement spans carry the bound values (`values`); off by default, since
    /// they may hold what must not reach a log (passwords, personal data).
    pub fn record_bound_values(record: bool) {
        BOUND_VALUES.store(record, Ordering::Relaxed);
    }

    /// Runs `statement` (whose text is `sql`, with `values` bound) inside a
    /// `plinth.statement` span, recording its rows (what `rows` counts of its output),
    /// its time and its failure.
    pub(crate) async fn statement<T, E: std::fmt::Display>(
        backend: &'static str,
        sql: &str,
        values: &(dyn std::fmt::Debug + Sync),
        rows: impl FnOnce(&T) -> u64,
        statement: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let span = tracing::info_span!(
            target: "plinth",
            "plinth.statement",
            backend,
            sql,
            rows = Empty,
            elapsed_us = Empty,
            error = Empty,
            values = Empty
        );
        if BOUND_VALUES.load(Ordering::Relaxed) {
            span.record("values", tracing::field::debug(values));
        }
        let started = Instant::now();
        let result = statement.instrument(span.clone()).await;
        let elapsed = started.elapsed();
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        span.record("elapsed_us", micros);
        match &result {
            Ok(output) => span.record("rows", rows(output)),
            Err(err) => span.record("error", tracing::field::display(err)),
        };
        if micros >= SLOW_MICROS.load(Ordering::Relaxed) {
            tracing::warn!(target: "plinth", parent: &span, backend, sql, elapsed_us = micros, "slow statement");
        }
        result
    }
}
