//! `cargo xtask test`: every check the project has, in the order that fails fastest.

use xshell::{cmd, Shell};

use crate::flags::Test;
use crate::tools::{ensure_wasm_target, step, workspace_root};
use crate::{e2e, postgres, Result};

pub(crate) fn run(flags: &Test) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    step("tools", || ensure_wasm_target(&sh))?;
    if !flags.no_lint {
        step("cargo fmt --check", || Ok(cmd!(sh, "cargo fmt --all --check").run()?))?;
        step("cargo clippy (native)", || {
            Ok(cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?)
        })?;
    }
    let database_url = postgres::ensure_server(&sh)?;
    let _env = sh.push_env("DATABASE_URL", &database_url);
    step("native tests (memory, SQLite, PostgreSQL) and doc tests", || {
        Ok(cmd!(sh, "cargo test --workspace --locked").run()?)
    })?;
    step("wasm32 build of plinth", || {
        Ok(cmd!(sh, "cargo build --locked -p plinth --target wasm32-unknown-unknown").run()?)
    })?;
    step("the demo in headless Chromium", || e2e::run(&sh))?;
    println!("\nxtask: all checks passed");
    Ok(())
}
