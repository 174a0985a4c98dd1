//! `cargo xtask bench --peers`: Plinth beside other data layers. Runs the peers
//! workspace (`peers/`: raw sqlx, SeaORM, diesel-async and SQLAlchemy on PostgreSQL;
//! Dexie.js and web-sys on IndexedDB in headless Chromium) and writes its "Peers"
//! section into BENCHMARKS.md, between markers, so `cargo xtask bench` keeps it.

use std::path::PathBuf;

use xshell::{cmd, Shell};

use crate::browser::ensure_browser_tools;
use crate::{postgres, Result};

/// The prefix of a result line, native or browser (`peers/src/harness.rs`).
const LINE_PREFIX: &str = "plinth-peers\t";

/// Where the section starts and ends in BENCHMARKS.md.
const START: &str = "<!-- peers: written by `cargo xtask bench --peers` -->";
const END: &str = "<!-- /peers -->";

/// The virtual environment SQLAlchemy and asyncpg are installed into.
const VENV: &str = "target/peers-venv";

/// Runs every peer and writes the section into BENCHMARKS.md (the rest of the file as
/// it was).
pub(crate) fn run(sh: &Shell, quick: bool) -> Result {
    let database_url = postgres::ensure_server(sh)?;
    let python = ensure_sqlalchemy(sh)?;
    let quick_flag = quick.then_some("--quick");
    let native = cmd!(
        sh,
        "cargo run --locked --release --manifest-path peers/Cargo.toml -- --postgres {database_url} --python {python} {quick_flag...}"
    )
    .read()?;
    let browser = browser_lines(sh, quick)?;
    let section = section(sh, quick, &native, &browser)?;
    let document = sh.read_file("BENCHMARKS.md").unwrap_or_default();
    sh.write_file("BENCHMARKS.md", splice(&document, &section))?;
    println!("xtask: wrote the Peers section of BENCHMARKS.md");
    Ok(())
}

/// `document`, a BENCHMARKS.md written anew, with the section `previous` held (if any).
pub(crate) fn keep_section(previous: &str, document: String) -> String {
    match kept_section(previous) {
        "" => document,
        kept => splice(&document, kept),
    }
}

/// The section `document` holds, markers included; empty when there is none.
fn kept_section(document: &str) -> &str {
    match (document.find(START), document.find(END)) {
        (Some(start), Some(end)) if start < end => &document[start..end + END.len()],
        _ => "",
    }
}

/// `document` with its section replaced by `section`, or `section` appended.
fn splice(document: &str, section: &str) -> String {
    let kept = kept_section(document);
    if kept.is_empty() {
        return format!("{}\n\n{section}\n", document.trim_end());
    }
    document.replacen(kept, section.trim_end(), 1)
}

/// A Python with SQLAlchemy 2 (asyncio) and asyncpg: a venv under target/, made and
/// filled from PyPI the first time.
fn ensure_sqlalchemy(sh: &Shell) -> Result<PathBuf> {
    let python = sh.current_dir().join(VENV).join("bin").join("python");
    if !python.is_file() {
        println!("xtask: making {VENV} for SQLAlchemy");
        cmd!(sh, "python3 -m venv {VENV}").run()?;
    }
    if cmd!(sh, "{python} -c 'import sqlalchemy, asyncpg'").quiet().ignore_stderr().run().is_err() {
        println!("xtask: installing SQLAlchemy 2 and asyncpg into {VENV}");
        cmd!(sh, "{python} -m pip install --quiet sqlalchemy[asyncio]>=2,<3 asyncpg").run()?;
    }
    Ok(python)
}

/// Runs `peers/browser/tests/dexie.rs` (release wasm, headless Chromium) after
/// installing Dexie from npm; its output.
fn browser_lines(sh: &Shell, quick: bool) -> Result<String> {
    ensure_browser_tools(sh)?;
    if !sh.path_exists("peers/browser/js/dexie.js") {
        let _dir = sh.push_dir("peers/browser");
        cmd!(sh, "npm ci --no-audit --no-fund").run()?;
    }
    let driver = chromedriver().ok_or("chromedriver not found on PATH or in CHROMEDRIVER")?;
    let webdriver_json = sh.current_dir().join("backend-browser").join("webdriver.json");
    let mut test = cmd!(
        sh,
        "cargo test --locked --release --manifest-path peers/Cargo.toml -p plinth-peers-browser
         --target wasm32-unknown-unknown --test dexie -- --include-ignored --nocapture"
    )
    .env("CHROMEDRIVER", driver)
    .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", webdriver_json)
    .env("WASM_BINDGEN_TEST_TIMEOUT", "1800");
    test = if quick { test.env("PLINTH_BENCH_QUICK", "1") } else { test.env_remove("PLINTH_BENCH_QUICK") };
    Ok(test.read()?)
}

/// `chromedriver` from `CHROMEDRIVER` or PATH, as `browser.rs` finds it.
fn chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())
}

/// The section: how it was measured, then a table per backend.
fn section(sh: &Shell, quick: bool, native: &str, browser: &str) -> Result<String> {
    let date = cmd!(sh, "date -u +%Y-%m-%dT%H:%MZ").read().unwrap_or_default();
    let postgres_version = cmd!(sh, "psql --version").read().unwrap_or_default();
    let chromium = cmd!(sh, "chromium --version").read().unwrap_or_default();
    let python = sh.current_dir().join(VENV).join("bin").join("python");
    let versions = "import sys, sqlalchemy, asyncpg; \
                    print(f'Python {sys.version.split()[0]}, SQLAlchemy {sqlalchemy.__version__}, asyncpg {asyncpg.__version__}')";
    let python_versions = cmd!(sh, "{python} -c {versions}").read().unwrap_or_default();
    Ok(format!(
        "{START}\n## Peers\n\n\
         Written by `cargo xtask bench --peers{}` on {date}; `peers/` (a workspace of its own, see peers/README.md).\n\n\
         - PostgreSQL ({postgres_version}, loopback, no TLS): Plinth, raw sqlx 0.8.6, SeaORM 1.1.20 (SeaORM 2 needs \
         sqlx 0.9; 1.1 shares Plinth's sqlx) and diesel-async 0.9 (diesel 2.3, tokio-postgres, deadpool) in one \
         process, in rotated rounds on the same tables (each round every side runs once, the first side moving on \
         by one); every pool holds four connections and none pings on checkout (Plinth's does not; sqlx's and \
         SeaORM's `test_before_acquire(false)`, diesel's `RecyclingMethod::Fast`). A get and a fetch are a session \
         (unit of work) each; an insert is its own transaction; `add_all` is one statement in one transaction, \
         every row returned with its id and timestamps, the written table emptied (untimed) before every batch.\n\
         - SQLAlchemy ({python_versions}; async ORM, `DeclarativeBase`, `eager_defaults`) runs `peers/sqlalchemy_peer.py` \
         in a process of its own, right after each workload's Rust rounds, on the same tables and with as many \
         rounds: it cannot take turns with the Rust sides round by round, so its ratio compares neighbouring \
         minutes, not interleaved rounds.\n\
         - IndexedDB ({chromium}, headless; release wasm): `peers/browser/tests/dexie.rs` rotates Plinth's \
         IndexedDB backend, Dexie.js 4.4.7 (its ESM build, called from wasm through a small JS module; rows as \
         plain objects; Dexie and Plinth both with an index on `score`, which their queries read) and `browser_bench.rs`'s hand-written web-sys code (rows as serde JSON text), each in a \
         database of its own. A sample is 50 inserts, 200 gets, one `add_all` or one query, at 1,000 rows \
         (the query at 10,000).\n\
         - times are per operation, median and interquartile range; ratio = Plinth median / peer median \
         (below 1: Plinth is faster)\n\n\
         ### PostgreSQL\n\n{}\n### IndexedDB (headless Chromium)\n\n{}{}{END}",
        if quick { " --quick" } else { "" },
        table(native, "PostgreSQL")?,
        table(browser, "IndexedDB")?,
        if quick { "\n(quick run: fewer rounds, wider spreads)\n" } else { "" },
    ))
}

/// The result lines of `backend` in `output` as a Markdown table.
fn table(output: &str, backend: &str) -> Result<String> {
    let mut table =
        String::from("| workload | Plinth median (IQR) | peer | peer median (IQR) | ratio |\n|---|---|---|---|---|\n");
    let mut rows = 0;
    for line in output.lines().filter_map(|l| l.trim().strip_prefix(LINE_PREFIX)) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [line_backend, workload, p_median, p_low, p_high, peer, median, low, high] = fields[..] else {
            return Err(format!("a malformed peers line: {line:?}").into());
        };
        if line_backend != backend {
            continue;
        }
        let number = |text: &str| text.parse::<f64>().map_err(|e| format!("{text:?} in {line:?}: {e}"));
        let (p_median, median) = (number(p_median)?, number(median)?);
        table.push_str(&format!(
            "| {workload} | {} ({}–{}) | {peer} | {} ({}–{}) | **{:.2}** |\n",
            micros(p_median),
            micros(number(p_low)?),
            micros(number(p_high)?),
            micros(median),
            micros(number(low)?),
            micros(number(high)?),
            p_median / median.max(f64::MIN_POSITIVE),
        ));
        rows += 1;
    }
    if rows == 0 {
        return Err(format!("the peers benchmark printed no {backend} result lines:\n{output}").into());
    }
    Ok(table)
}

/// µs as the other tables show them.
fn micros(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_become_rows_of_their_backends_table_with_the_ratio() {
        let output = "noise\nplinth-peers\tPostgreSQL\tget\t80.000\t70.000\t90.000\tsqlx\t40.000\t35.000\t45.000\n\
                      plinth-peers\tIndexedDB\tget\t1.0\t1.0\t1.0\tDexie\t1.0\t1.0\t1.0\n";
        let rendered = table(output, "PostgreSQL").expect("a table");
        assert!(
            rendered.ends_with("| get | 80.0 µs (70.0 µs–90.0 µs) | sqlx | 40.0 µs (35.0 µs–45.0 µs) | **2.00** |\n")
        );
        assert_eq!(rendered.lines().count(), 3);
        assert!(table("nothing", "PostgreSQL").is_err());
        assert!(table("plinth-peers\ttoo\tfew", "PostgreSQL").is_err());
    }

    #[test]
    fn the_section_is_appended_once_then_replaced_in_place() {
        let first = format!("{START}\n## Peers\nold\n{END}");
        let document = splice("# Benchmarks\n\nnotes\n", &first);
        assert_eq!(document, format!("# Benchmarks\n\nnotes\n\n{first}\n"));
        assert_eq!(kept_section(&document), first);
        let second = format!("{START}\n## Peers\nnew\n{END}");
        assert_eq!(splice(&document, &second), format!("# Benchmarks\n\nnotes\n\n{second}\n"));
        assert_eq!(kept_section("# Benchmarks\n"), "");
        assert_eq!(keep_section("# Benchmarks\n", "# New\n".to_owned()), "# New\n");
        assert_eq!(keep_section(&document, "# New\n".to_owned()), format!("# New\n\n{second}\n").replace("new", "old"));
    }
}
