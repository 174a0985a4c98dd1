//! `cargo xtask bench`: runs `plinth-bench` (release) and the browser benchmark
//! (`backend-browser/tests/browser_bench.rs`, release wasm in headless Chromium),
//! measures the demo page's release wasm, and writes BENCHMARKS.md.

use xshell::{cmd, Shell};

use crate::browser::{browser_tests, ensure_browser_tools};
use crate::flags::Bench;
use crate::tools::workspace_root;
use crate::{demo, peers, postgres, Result};

/// The prefix of the browser benchmark's result lines.
const LINE_PREFIX: &str = "plinth-bench\t";

pub(crate) fn run(flags: &Bench) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    if flags.peers {
        return peers::run(&sh, flags.quick);
    }
    let database_url = postgres::ensure_server(&sh)?;
    let quick = flags.quick.then_some("--quick");
    let table =
        cmd!(sh, "cargo run --locked --release -p plinth-bench -- --postgres {database_url} {quick...}").read()?;
    let browser_table = browser_table(&sh, flags.quick)?;
    let (wasm_bytes, wasm_gzip_bytes) = demo_wasm_size(&sh)?;

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
    let chromium = cmd!(sh, "chromium --version").read().unwrap_or_default();
    let notes = sh.read_file("bench/NOTES.md").unwrap_or_default();
    let document = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench{}` on {date}.\n\n\
         - machine: {machine}, {cpu}, {cores} cores (shared; absolute times are noisy, ratios are what count)\n\
         - {rustc}; sqlx 0.8.6; {postgres_version} on loopback; SQLite bundled with sqlx\n\
         - method: each workload runs Plinth and its baseline in alternating rounds in one process on the same \
         database (current-thread tokio runtime); times are per operation, median and interquartile range; \
         ratio = Plinth median / baseline median\n\n\
         {table}\n\
         ## Browser (headless Chromium)\n\n\
         - {chromium}, headless; release wasm (wasm-bindgen 0.2.130), run by wasm-bindgen-test-runner\n\
         - method: `backend-browser/tests/browser_bench.rs`; in one page, Plinth and its hand-written \
         baseline (gloo-storage, web-sys) alternate round after round; a sample is 1,000 operations timed \
         together with `performance.now()` (IndexedDB: 200 gets, 50 inserts; one `add_all` or query); times are per operation, median and interquartile range; the table grows 1,000 → \
         10,000 → 20,000 rows and the point workloads run at 1,000 and at 20,000\n\n\
         {browser_table}\n\
         - demo page wasm (`wasm-pack build demo-web --profile wasm-release`: opt-level \"z\", fat LTO, one codegen unit, panic = \"abort\"; then binaryen 132's `wasm-opt -O2` without one-caller inlining): {wasm_bytes} bytes, \
         {wasm_gzip_bytes} gzipped (`gzip -9`)\n\n\
         {notes}",
        if flags.quick { " --quick" } else { "" },
    );
    // The Peers section, written by `--peers` alone, stays as it was.
    let document = peers::keep_section(&sh.read_file("BENCHMARKS.md").unwrap_or_default(), document);
    sh.write_file("BENCHMARKS.md", document)?;
    println!("xtask: wrote BENCHMARKS.md");
    Ok(())
}

/// Runs the browser benchmark in headless Chromium and renders its result lines as
/// a table with the native table's columns.
fn browser_table(sh: &Shell, quick: bool) -> Result<String> {
    ensure_browser_tools(sh)?;
    let mut test = browser_tests(sh)?
        .args(["--release", "--test", "browser_bench", "--", "--include-ignored", "--nocapture"])
        // A full benchmark run takes longer than the test binary budget `browser_tests` sets.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "1800");
    test = if quick { test.env("PLINTH_BENCH_QUICK", "1") } else { test.env_remove("PLINTH_BENCH_QUICK") };
    let output = test.read()?;
    let rows: Vec<String> =
        output.lines().filter_map(|l| l.trim().strip_prefix(LINE_PREFIX)).map(markdown_row).collect::<Result<_>>()?;
    if rows.is_empty() {
        return Err(format!("the browser benchmark printed no result lines:\n{output}").into());
    }
    let mut table = String::from(
        "| backend | workload | Plinth median (IQR) | baseline | baseline median (IQR) | ratio | target |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        table.push_str(&row);
    }
    if quick {
        table.push_str("\n(quick run: fewer rounds, wider spreads)\n");
    }
    Ok(table)
}

/// One result line (tab-separated: backend, workload, Plinth median, 25th and 75th
/// percentile in µs, baseline name, its three figures, target or `-`) as a table row.
fn markdown_row(line: &str) -> Result<String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [backend, workload, p_median, p_low, p_high, baseline, b_median, b_low, b_high, target] = fields[..] else {
        return Err(format!("a malformed browser benchmark line: {line:?}").into());
    };
    let number = |text: &str| text.parse::<f64>().map_err(|e| format!("{text:?} in {line:?}: {e}"));
    let (p_median, b_median) = (number(p_median)?, number(b_median)?);
    let ratio = p_median / b_median.max(f64::MIN_POSITIVE);
    let verdict = match target {
        "-" => "—".to_owned(),
        target => {
            let target = number(target)?;
            format!("≤ {target:.2} {}", if ratio <= target { "✓" } else { "✗" })
        }
    };
    Ok(format!(
        "| {backend} | {workload} | {} ({}–{}) | {baseline} | {} ({}–{}) | **{ratio:.2}** | {verdict} |\n",
        micros(p_median),
        micros(number(p_low)?),
        micros(number(p_high)?),
        micros(b_median),
        micros(number(b_low)?),
        micros(number(b_high)?),
    ))
}

/// µs as the native table shows them.
fn micros(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

/// The demo page's wasm, built as `cargo xtask demo` builds it: its size in bytes, raw
/// and gzipped.
fn demo_wasm_size(sh: &Shell) -> Result<(usize, usize)> {
    demo::build_page(sh)?;
    demo::page_size(sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_result_line_becomes_a_table_row_with_its_verdict() {
        let line = "IndexedDB\tget by id, 1000 rows\t600.000\t500.000\t700.000\tweb-sys `store.get`\t500.000\t450.000\t550.000\t1.3";
        let row = markdown_row(line).expect("row");
        assert_eq!(
            row,
            "| IndexedDB | get by id, 1000 rows | 600.0 µs (500.0 µs–700.0 µs) | web-sys `store.get` | \
             500.0 µs (450.0 µs–550.0 µs) | **1.20** | ≤ 1.30 ✓ |\n"
        );
        let slow = "localStorage\tadd_all\t20000\t19000\t21000\tgloo\t10000\t9000\t11000\t1.3";
        assert!(markdown_row(slow)
            .expect("row")
            .ends_with("| 20.0 ms (19.0 ms–21.0 ms) | gloo | 10.0 ms (9000.0 µs–11.0 ms) | **2.00** | ≤ 1.30 ✗ |\n"));
        assert!(markdown_row("too\tfew").is_err());
    }
}
