//! The conformance suite on SQLite, each check in a database file of its own that is
//! deleted afterwards. Runs anywhere: `cargo test -p plinth-sqlx --test sqlite`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use plinth::Database;
use plinth_conformance::{Capabilities, Fixture};

/// A database file per check, in the system's temporary directory.
struct SqliteFixture {
    path: PathBuf,
}

impl SqliteFixture {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("plinth-test-{}-{}.sqlite", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        SqliteFixture { path: std::env::temp_dir().join(name) }
    }
}

impl Fixture for SqliteFixture {
    async fn open(&mut self) -> Database {
        plinth_sqlx::connect(&format!("sqlite://{}", self.path.display())).await.expect("open the check's database")
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { concurrent_writers: false }
    }
}

impl Drop for SqliteFixture {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

plinth_conformance::conformance_suite!(tokio::test, SqliteFixture::new());
