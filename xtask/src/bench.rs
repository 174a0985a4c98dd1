//! `cargo xtask bench`: runs `plinth-bench` (release) and writes BENCHMARKS.md.

use xshell::{cmd, Shell};

use crate::flags::Bench;
use crate::tools::workspace_root;
use crate::{postgres, Result};

pub(crate) fn run(flags: &Bench) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    let database_url = postgres::ensure_server(&sh)?;
    let quick = flags.quick.then_some("--quick");
    let table =
        cmd!(sh, "cargo run --locked --release -p plinth-bench -- --postgres {database_url} {quick...}").read()?;
    let machine = cmd!(sh, "uname -srm").read().unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let date = cmd!(sh, "date -u +%Y-%m-%dT%H:%MZ").read().unwrap_or_default();
    let rustc = cmd!(sh, "rustc --version").read().unwrap_or_default();
    let postgres_version = cmd!(sh, "psql --version").read().unwrap_or_default();
    let notes = sh.read_file("bench/NOTES.md").unwrap_or_default();
    let document = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench{}` on {date}.\n\n\
         - machine: {machine}, {cpu}, {cores} cores (shared; absolute times are noisy, ratios are what count)\n\
         - {rustc}; sqlx 0.8.6; {postgres_version} on loopback; SQLite bundled with sqlx\n\
         - method: each workload runs Plinth and its baseline in alternating rounds in one process on the same \
         database (current-thread tokio runtime); times are per operation, median and interquartile range; \
         ratio = Plinth median / baseline median\n\n\
         {table}\n{notes}",
        if flags.quick { " --quick" } else { "" },
    );
    sh.write_file("BENCHMARKS.md", document)?;
    println!("xtask: wrote BENCHMARKS.md");
    Ok(())
}
