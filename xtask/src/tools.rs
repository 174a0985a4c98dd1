//! Finding and installing the tools the checks need, as `../shared/TOOLCHAIN.md` lists.

use xshell::{cmd, Shell};

use crate::Result;

/// Adds the wasm32 target to the toolchain if it is missing.
pub(crate) fn ensure_wasm_target(sh: &Shell) -> Result {
    let installed = cmd!(sh, "rustup target list --installed").quiet().read()?;
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        println!("xtask: installing the wasm32-unknown-unknown target");
        cmd!(sh, "rustup target add wasm32-unknown-unknown").run()?;
    }
    Ok(())
}

/// Runs one step and says which, so a failure in a long run is easy to find.
pub(crate) fn step(name: &str, run: impl FnOnce() -> Result) -> Result {
    println!("\nxtask: ── {name}");
    let started = std::time::Instant::now();
    run().map_err(|err| format!("{name} failed: {err}"))?;
    println!("xtask: ── {name}: ok ({:.1}s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Installs what building the wasm page needs: the wasm32 target, wasm-bindgen-cli at
/// the version pinned in Cargo.toml, and wasm-pack (all from crates.io).
pub(crate) fn ensure_wasm_tools(sh: &Shell) -> Result {
    ensure_wasm_target(sh)?;
    let pinned = WASM_BINDGEN_VERSION;
    let installed = cmd!(sh, "wasm-bindgen --version").quiet().ignore_stderr().read().unwrap_or_default();
    if installed.trim() != format!("wasm-bindgen {pinned}") {
        println!("xtask: installing wasm-bindgen-cli {pinned} (a few minutes, once)");
        // Without --locked: its lock file wants a webpki-roots the registry lacks.
        cmd!(sh, "cargo install wasm-bindgen-cli --version {pinned}").run()?;
    }
    if cmd!(sh, "wasm-pack --version").quiet().ignore_stderr().read().is_err() {
        println!("xtask: installing wasm-pack (a few minutes, once)");
        cmd!(sh, "cargo install wasm-pack --locked").run()?;
    }
    Ok(())
}

/// The binaryen release whose `wasm-opt` optimises the page: the npm package `binaryen`
/// (reachable here, unlike wasm-pack's download of it; Debian's binaryen 108 writes
/// wasm that Chromium refuses).
pub(crate) const BINARYEN_VERSION: &str = "132.0.0";

/// Where [`ensure_wasm_opt`] installs binaryen, under the workspace root.
const BINARYEN_DIR: &str = "target/binaryen";

/// `wasm-opt` of binaryen [`BINARYEN_VERSION`], installed from npm into
/// `target/binaryen` if it is not there yet: its path.
pub(crate) fn ensure_wasm_opt(sh: &Shell) -> Result<std::path::PathBuf> {
    let wasm_opt = sh.current_dir().join(BINARYEN_DIR).join("node_modules").join(".bin").join("wasm-opt");
    let installed = cmd!(sh, "{wasm_opt} --version").quiet().ignore_stderr().read().unwrap_or_default();
    let major = BINARYEN_VERSION.split('.').next().unwrap_or(BINARYEN_VERSION);
    if !installed.contains(&format!("version {major} ")) {
        println!("xtask: installing binaryen {BINARYEN_VERSION} (wasm-opt) from npm into {BINARYEN_DIR}");
        let package = format!("binaryen@{BINARYEN_VERSION}");
        cmd!(sh, "npm install --prefix {BINARYEN_DIR} --no-audit --no-fund --no-save {package}").run()?;
    }
    Ok(wasm_opt)
}

/// The wasm-bindgen version pinned in the workspace's Cargo.toml; the CLI must match.
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// The workspace's root folder.
pub(crate) fn workspace_root() -> std::path::PathBuf {
    let xtask_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}
