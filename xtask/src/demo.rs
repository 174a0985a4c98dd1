//! `cargo xtask demo`: build the wasm page and the server, then serve them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use xshell::{cmd, Shell};

use crate::flags::Demo;
use crate::tools::{ensure_wasm_tools, step, workspace_root};
use crate::Result;

pub(crate) fn run(flags: &Demo) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    build(&sh)?;
    let port = flags.port.unwrap_or(8080);
    let database_url = std::env::var("DATABASE_URL").ok();
    let mut server = start_server(&sh, port, database_url.as_deref())?;
    // Ctrl-C reaches the server too (same process group); it shuts down gracefully.
    let status = server.wait()?;
    if !status.success() && status.code().is_some() {
        return Err(format!("the demo server stopped with {status}").into());
    }
    Ok(())
}

/// The page's release wasm, as [`build_page`] writes it.
pub(crate) const PAGE_WASM: &str = "demo-web/static/pkg/plinth_demo_bg.wasm";

/// Builds the page's wasm into `demo-web/static/pkg` and the server binary.
pub(crate) fn build(sh: &Shell) -> Result {
    build_page(sh)?;
    step("cargo build -p plinth-demo-server", || Ok(cmd!(sh, "cargo build --locked -p plinth-demo-server").run()?))?;
    Ok(())
}

/// Builds the page's release wasm and its JavaScript glue into `demo-web/static/pkg`.
pub(crate) fn build_page(sh: &Shell) -> Result {
    step("wasm tools", || ensure_wasm_tools(sh))?;
    step("wasm-pack build demo-web (release)", || {
        Ok(cmd!(sh, "wasm-pack build demo-web --target web --release --no-typescript --out-dir static/pkg").run()?)
    })
}

/// Starts the server in the background on `port`; SQLite under `target/` unless a
/// database URL is given.
pub(crate) fn start_server(sh: &Shell, port: u16, database_url: Option<&str>) -> Result<Child> {
    let root = sh.current_dir();
    let target = target_dir(&root);
    let default_sqlite = format!("sqlite://{}", target.join("plinth-demo.sqlite").display());
    let database_url = database_url.map_or(default_sqlite, str::to_owned);
    let binary = target.join("debug").join("plinth-demo-server");
    let child = Command::new(&binary)
        .args(["--port", &port.to_string(), "--database", &database_url])
        .arg("--site")
        .arg(root.join("demo-web").join("static"))
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    Ok(child)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}
