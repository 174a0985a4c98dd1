//! The demo's end-to-end tests: the built page and server, driven in headless Chromium
//! by `demo-web/e2e` (playwright-core with the system's Chromium, from npm): the demo
//! used as a person would (`demo.test.mjs`), two tabs writing one browser database at
//! once (`two_tabs.test.mjs`), and today's page opening version 1's data in every
//! storage (`upgrade.test.mjs`).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use xshell::{cmd, Shell};

use crate::demo::{build, start_server};
use crate::Result;

/// A port unlikely to clash with a demo a developer has running on 8080.
const PORT: u16 = 18_080;

pub(crate) fn run(sh: &Shell) -> Result {
    build(sh)?;
    let root = sh.current_dir();
    let database = root.join("target").join("plinth-demo-e2e.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let e2e = root.join("demo-web").join("e2e");
    if !e2e.join("node_modules").join("playwright-core").exists() {
        let _dir = sh.push_dir(&e2e);
        cmd!(sh, "npm ci --no-audit --no-fund").run()?;
    }
    let database_url = format!("sqlite://{}", database.display());
    // The server opens a database that version 1 of the demo left (`upgrade.test.mjs`).
    cmd!(sh, "cargo run --locked -q -p plinth-demo-server --example seed_version_one -- {database_url}").run()?;
    let mut server = start_server(sh, PORT, Some(&database_url))?;
    let outcome = wait_for_port(PORT).and_then(|()| {
        let _dir = sh.push_dir(&e2e);
        let screenshot = root.join("target").join("demo.png");
        let _url = sh.push_env("DEMO_URL", format!("http://127.0.0.1:{PORT}"));
        let _shot = sh.push_env("DEMO_SCREENSHOT", &screenshot);
        // One file at a time: both drive Chromium, and the machine has two cores.
        cmd!(sh, "node --test --test-concurrency=1 demo.test.mjs two_tabs.test.mjs upgrade.test.mjs").run()?;
        println!("xtask: demo screenshot saved to {}", screenshot.display());
        Ok(())
    });
    let _ = server.kill();
    let _ = server.wait();
    outcome
}

fn wait_for_port(port: u16) -> Result {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("the demo server did not listen on port {port} within 30 s").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}
