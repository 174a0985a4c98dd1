//! The conformance suite on SQLite, each check in a database file of its own that is
//! deleted afterwards. Runs anywhere: `cargo test -p plinth-sqlx --test sqlite`.

mod support;

use support::SqliteFile;

plinth_conformance::conformance_suite!(tokio::test, SqliteFile::new("plinth-test"));
