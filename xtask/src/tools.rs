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
