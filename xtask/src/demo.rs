//! `cargo xtask demo`: build the wasm page and the server, then serve them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use xshell::{cmd, Shell};

use crate::flags::Demo;
use crate::tools::{ensure_wasm_opt, ensure_wasm_tools, step, workspace_root, BINARYEN_VERSION};
use crate::Result;

pub(crate) fn run(flags: &Demo) -> Result {
    let sh = Shell::new()?;
    sh.change_dir(workspace_root());
    build(&sh)?;
    if flags.build_only {
        return Ok(());
    }
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

/// The most the page's wasm may weigh gzipped: a guard against growth, about 5% above
/// its size when set (282 KB, after wasm-opt; issue 16 aims at 200 KB).
const PAGE_BUDGET_GZIPPED: usize = 296_000;

/// Builds the page's wasm, for size (the `wasm-release` profile: `opt-level = "z"`, fat
/// LTO, one codegen unit, `panic = "abort"`), and its JavaScript glue into
/// `demo-web/static/pkg`, runs binaryen's `wasm-opt` over it ([`WASM_OPT_FLAGS`]), and
/// refuses a page past [`PAGE_BUDGET_GZIPPED`].
pub(crate) fn build_page(sh: &Shell) -> Result {
    step("wasm tools", || ensure_wasm_tools(sh))?;
    step("wasm-pack build demo-web (wasm-release)", || {
        Ok(cmd!(
            sh,
            "wasm-pack build demo-web --target web --profile wasm-release --no-typescript --out-dir static/pkg"
        )
        .run()?)
    })?;
    step(&format!("wasm-opt (binaryen {BINARYEN_VERSION})"), || {
        let wasm_opt = ensure_wasm_opt(sh)?;
        let wasm = sh.current_dir().join(PAGE_WASM);
        Ok(cmd!(sh, "{wasm_opt} {WASM_OPT_FLAGS...} {wasm} -o {wasm}").run()?)
    })?;
    let (raw, gzipped) = page_size(sh)?;
    println!("xtask: the page's wasm is {} KB, {} KB gzipped", raw / 1000, gzipped / 1000);
    if gzipped > PAGE_BUDGET_GZIPPED {
        return Err(format!(
            "the page's wasm is {gzipped} bytes gzipped, past its budget of {PAGE_BUDGET_GZIPPED} \
             (xtask/src/demo.rs): find what grew it"
        )
        .into());
    }
    Ok(())
}

/// How `wasm-opt` optimises the page, chosen by its gzipped size, which is what a page
/// costs: `-O2` without inlining functions that have one caller. Inlining them (which
/// every `-O` level and `-Oz` does) made the module smaller raw but about 4% larger
/// gzipped than no wasm-opt at all; without it, `-O2` is 2.4% smaller gzipped, `-Oz`
/// and `-O3` a little less. The features are those rustc's wasm32 target enables by
/// default, which its output uses (bulk memory, for one).
const WASM_OPT_FLAGS: [&str; 11] = [
    "-O2",
    "--one-caller-inline-max-function-size=0",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--strip-debug",
    "--strip-producers",
    "--quiet",
];

/// The page's wasm as [`build_page`] left it: its size in bytes, raw and gzipped.
pub(crate) fn page_size(sh: &Shell) -> Result<(usize, usize)> {
    let wasm = sh.current_dir().join(PAGE_WASM);
    let raw = std::fs::metadata(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?.len();
    let gzipped = cmd!(sh, "gzip -9 -c {wasm}").output()?.stdout.len();
    Ok((usize::try_from(raw)?, gzipped))
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
