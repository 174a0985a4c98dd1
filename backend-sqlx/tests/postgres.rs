//! The conformance suite on PostgreSQL, each check in a schema of its own that is
//! dropped afterwards.
//!
//! Needs a server: `cargo xtask test` finds or starts one. By hand:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test postgres`
//! (that URL is also the default).

mod support;

use support::PostgresSchema;

plinth_conformance::conformance_suite!(tokio::test, PostgresSchema::new("plinth_test", 4));
