//! `cargo xtask test`: every check the project has, in the order that fails fastest.

use xshell::{cmd, Shell};

use crate::browser::{ensure_browser_tools, run_browser_tests};
use crate::flags::Test;
use crate::tools::{step, workspace_root};
use crate::{e2e, postgres, Result};

pub(crate) fn run(flags: &Test) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    step("tools", || ensure_browser_tools(&sh))?;
    if !flags.no_lint {
        step("cargo fmt --check", || Ok(cmd!(sh, "cargo fmt --all --check").run()?))?;
        step("cargo clippy (native)", || {
            Ok(cmd!(sh, "cargo clippy --workspace --all-targets --locked -- -D warnings").run()?)
        })?;
        step("cargo clippy (wasm32)", || {
            // The browser crate's tests are wasm tests; the others' tests and examples are native.
            let wasm = "wasm32-unknown-unknown";
            cmd!(sh, "cargo clippy --target {wasm} --locked -p plinth -p plinth-demo -- -D warnings").run()?;
            Ok(cmd!(sh, "cargo clippy --target {wasm} --all-targets --locked -p plinth-browser -- -D warnings")
                .run()?)
        })?;
        step("plinth-sqlx, each feature alone (clippy)", || {
            for features in ["postgres", "sqlite", "tls", "postgres,tls"] {
                cmd!(
                    sh,
                    "cargo clippy --locked -p plinth-sqlx --no-default-features --features {features} -- -D warnings"
                )
                .run()?;
            }
            Ok(())
        })?;
    }
    let database_url = postgres::ensure_server(&sh)?;
    let _env = sh.push_env("DATABASE_URL", &database_url);
    step("native tests (memory, SQLite, PostgreSQL) and doc tests", || {
        Ok(cmd!(sh, "cargo test --workspace --locked").run()?)
    })?;
    step("value round trips with plinth-sqlx built alone", || {
        // Without the rest of the workspace, whose features Cargo would unify into it: an
        // app that depends on plinth-sqlx alone gets exactly what plinth-sqlx declares.
        Ok(cmd!(sh, "cargo test --locked -p plinth-sqlx --test sqlite --test postgres round_trip").run()?)
    })?;
    step("conformance suite and browser checks in headless Chromium", || run_browser_tests(&sh))?;
    step("the demo in headless Chromium", || e2e::run(&sh))?;
    println!("\nxtask: all checks passed");
    Ok(())
}
