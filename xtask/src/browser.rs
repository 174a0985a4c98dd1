//! The browser tests: `plinth-browser`'s conformance suite and browser-only checks,
//! compiled to wasm32 and run by wasm-bindgen-test-runner in headless Chromium.

use std::path::PathBuf;

use xshell::{cmd, Cmd, Shell};

use crate::tools::ensure_wasm_tools;
use crate::Result;

/// Installs what the browser tests need where it is missing, as TOOLCHAIN.md says: the
/// wasm tools (target, wasm-bindgen-cli at the pinned version, which provides
/// `wasm-bindgen-test-runner`, and wasm-pack) and Debian's `chromium` and `chromium-driver`.
pub(crate) fn ensure_browser_tools(sh: &Shell) -> Result {
    ensure_wasm_tools(sh)?;
    if chromedriver().is_none() {
        println!("xtask: installing chromium and chromium-driver with apt-get (needs root)");
        cmd!(sh, "apt-get update").run()?;
        cmd!(sh, "apt-get install -y chromium chromium-driver").run()?;
    }
    Ok(())
}

/// Runs `cargo test --target wasm32-unknown-unknown -p plinth-browser` in headless
/// Chromium.
pub(crate) fn run_browser_tests(sh: &Shell) -> Result {
    Ok(browser_tests(sh)?.run()?)
}

/// How long wasm-bindgen-test-runner waits for one test binary to finish, in seconds.
/// Its default, 20 s, is a budget for the whole binary, not per test: the conformance
/// suite takes about 18 s warm, so a busy machine ran out of it part-way and the run
/// failed with "Failed to detect test as having been run" and no failing test.
const TEST_BINARY_TIMEOUT_SECONDS: &str = "600";

/// `cargo test --target wasm32-unknown-unknown -p plinth-browser`, set to run in
/// headless Chromium with the flags of `backend-browser/webdriver.json` and a test
/// binary budget of [`TEST_BINARY_TIMEOUT_SECONDS`]; callers add arguments (e.g.
/// `--test NAME`).
pub(crate) fn browser_tests(sh: &Shell) -> Result<Cmd<'_>> {
    let driver = chromedriver().ok_or("chromedriver not found on PATH; run ensure_browser_tools first")?;
    let webdriver_json = sh.current_dir().join("backend-browser").join("webdriver.json");
    Ok(cmd!(sh, "cargo test --locked --target wasm32-unknown-unknown -p plinth-browser")
        .env("CHROMEDRIVER", driver)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", webdriver_json)
        .env("WASM_BINDGEN_TEST_TIMEOUT", TEST_BINARY_TIMEOUT_SECONDS))
}

/// `chromedriver` from `CHROMEDRIVER` or PATH.
fn chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())
}
