//! Plinth against hand-written sqlx, side by side in one process: every workload runs
//! Plinth and its baseline in alternating rounds on the same database, and reports the
//! median time per operation of each and their ratio. Run through `cargo xtask bench`
//! (`--quick` for a short run), which writes the Markdown this prints to BENCHMARKS.md.
//!
//! `plinth-bench [--quick] [--postgres URL] [--only TEXT]`; `--only` measures just the
//! workloads whose backend and name contain TEXT, e.g. `--only "PostgreSQL fetch all"`.

mod harness;
mod memory;
mod relations;
mod sql;
mod streaming;

use std::alloc::System;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Rounds per workload; each round times one batch of each side.
    pub(crate) rounds: usize,
    /// Rows in the tables that reads run against.
    pub(crate) table_rows: usize,
    /// Rows in the table that is streamed.
    pub(crate) stream_rows: usize,
}

fn main() -> std::process::ExitCode {
    let mut quick = false;
    let mut only = None;
    let mut postgres =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--postgres" => postgres = args.next().unwrap_or_default(),
            "--only" => only = args.next(),
            other => {
                eprintln!("plinth-bench: unknown argument `{other}`; use --quick, --postgres URL or --only TEXT");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    // Loopback in the clear, as every earlier run measured it: with the `tls` feature,
    // the default `sslmode=prefer` would encrypt every round trip, and the session's
    // extra round trips (BEGIN, COMMIT) would weigh more than the code being measured.
    if !postgres.contains("sslmode=") {
        let separator = if postgres.contains('?') { '&' } else { '?' };
        postgres = format!("{postgres}{separator}sslmode=disable");
    }
    let plan = match quick {
        true => Plan { rounds: 7, table_rows: 10_000, stream_rows: 100_000 },
        false => Plan { rounds: 25, table_rows: 10_000, stream_rows: 1_000_000 },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("plinth-bench: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let mut report = harness::Report::new(quick, only);
        sql::run(&mut report, plan, "PostgreSQL", &postgres).await?;
        let sqlite = std::env::temp_dir().join(format!("plinth-bench-{}.sqlite", std::process::id()));
        let sqlite_url = format!("sqlite://{}", sqlite.display());
        let outcome = sql::run(&mut report, plan, "SQLite", &sqlite_url).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sqlite.display()));
        }
        outcome?;
        if report.wants("memory", "") {
            memory::run(&mut report).await?;
            memory::allocations(&mut report, GLOBAL).await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(report)
    });
    match result {
        Ok(report) => {
            println!("{}", report.markdown());
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("plinth-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
