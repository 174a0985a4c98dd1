//! Finding (or starting) the PostgreSQL server the tests use.

use std::time::{Duration, Instant};

use xshell::{cmd, Shell};

use crate::Result;

/// The server the tests use when `DATABASE_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The URL to test against: `DATABASE_URL`, or the local server, started if it is down.
pub(crate) fn ensure_server(sh: &Shell) -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    if !is_ready(sh) {
        println!("xtask: PostgreSQL is not answering on 127.0.0.1:5432; starting the local cluster");
        let clusters = cmd!(sh, "ls /etc/postgresql").quiet().read().unwrap_or_default();
        let version = clusters.lines().next().unwrap_or("15").trim().to_owned();
        // pg_ctlcluster exits 2 when the cluster already runs; readiness is checked below.
        let _ = cmd!(sh, "pg_ctlcluster --skip-systemctl-redirect {version} main start").quiet().run();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !is_ready(sh) {
            if Instant::now() > deadline {
                return Err(format!(
                    "no PostgreSQL server on 127.0.0.1:5432 and the local cluster did not start.\n\
                     Start one (e.g. `pg_ctlcluster {version} main start`) or set DATABASE_URL=postgres://USER@HOST:PORT/DB"
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    Ok(DEFAULT_URL.to_owned())
}

fn is_ready(sh: &Shell) -> bool {
    cmd!(sh, "pg_isready -q -h 127.0.0.1 -p 5432").quiet().ignore_stderr().run().is_ok()
}
