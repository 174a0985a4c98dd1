//! SQLAlchemy 2 (async ORM over asyncpg): `sqlalchemy_peer.py`, run as a process of its
//! own right after a workload's Rust rounds, on the same tables. It cannot take turns
//! with the Rust sides round by round; its timings are its own rounds, back to back.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::Timing;
use crate::{Error, Workload, TABLE_ROWS};

/// The prefix of the script's result line.
const LINE_PREFIX: &str = "sqlalchemy\t";

/// What each workload runs, as the table names it.
pub(crate) fn describe(workload: Workload) -> &'static str {
    match workload {
        Workload::Get => "SQLAlchemy 2 async `session.get` (asyncpg; own process, after the rounds)",
        Workload::All => "SQLAlchemy 2 async `select(Row).order_by(id)` (asyncpg; own process, after the rounds)",
        Workload::Insert => {
            "SQLAlchemy 2 async `session.begin`, `add`, `flush` (asyncpg; own process, after the rounds)"
        }
        Workload::AddAll => "SQLAlchemy 2 async `add_all`, `flush` in `begin` (asyncpg; own process, after the rounds)",
    }
}

/// Runs `workload` for `rounds` timed rounds with the interpreter `python`, on the
/// database at `url`; the script's per-operation timing.
pub(crate) fn run(python: &Path, url: &str, workload: Workload, rounds: usize) -> Result<Timing, Error> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sqlalchemy_peer.py");
    let output = Command::new(python)
        .arg(&script)
        .args(["--url", url, "--workload", workload.key()])
        .args(["--rounds", &rounds.to_string(), "--ops", &workload.ops().to_string()])
        .args(["--rows", &TABLE_ROWS.to_string()])
        .output()
        .map_err(|err| format!("running {} {}: {err}", python.display(), script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} failed ({}):\n{stdout}{stderr}", script.display(), output.status).into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(LINE_PREFIX))
        .ok_or_else(|| format!("{} printed no result line:\n{stdout}", script.display()))?;
    parse(workload, line)
}

/// The script's line after its prefix: the workload, then median, 25th and 75th
/// percentile in µs per operation, tab-separated.
fn parse(workload: Workload, line: &str) -> Result<Timing, Error> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [key, median, low, high] = fields[..] else {
        return Err(format!("a malformed SQLAlchemy line: {line:?}").into());
    };
    if key != workload.key() {
        return Err(format!("SQLAlchemy answered for `{key}`, not `{}`", workload.key()).into());
    }
    let us = |text: &str| -> Result<Duration, Error> {
        let us: f64 = text.parse().map_err(|err| format!("{text:?} in {line:?}: {err}"))?;
        Ok(Duration::from_secs_f64(us / 1e6))
    };
    Ok(Timing { median: us(median)?, low: us(low)?, high: us(high)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_line_gives_the_quartiles_of_its_workload() {
        let timing = parse(Workload::Get, "get\t120.5\t110\t130").expect("a good line");
        assert_eq!(timing.median, Duration::from_secs_f64(120.5e-6));
        assert_eq!(timing.high, Duration::from_micros(130));
        assert!(parse(Workload::All, "get\t1\t1\t1").is_err());
        assert!(parse(Workload::Get, "get\t1").is_err());
    }
}
