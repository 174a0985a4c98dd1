//! The conformance suite on PostgreSQL, each check in a schema of its own that is
//! dropped afterwards.
//!
//! Needs a server: `cargo xtask test` finds or starts one. By hand:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test postgres`
//! (that URL is also the default).

use std::sync::atomic::{AtomicUsize, Ordering};

use plinth::Database;
use plinth_conformance::Fixture;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A schema per check, named after the process and a counter, dropped on drop.
struct PostgresFixture {
    schema: String,
    created: bool,
}

impl PostgresFixture {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let schema = format!("plinth_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        PostgresFixture { schema, created: false }
    }

    async fn admin(&self) -> sqlx::PgPool {
        let url = server_url();
        sqlx::PgPool::connect(&url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {url}: {e}\n\
                 run `cargo xtask test` (it starts the local server), or start one with \
                 `pg_ctlcluster 15 main start`, or set DATABASE_URL"
            )
        })
    }
}

impl Fixture for PostgresFixture {
    async fn open(&mut self) -> Database {
        if !self.created {
            let admin = self.admin().await;
            sqlx::query(&format!("CREATE SCHEMA \"{}\"", self.schema)).execute(&admin).await.expect("create schema");
            admin.close().await;
            self.created = true;
        }
        let url = server_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let schema = &self.schema;
        let url =
            format!("{url}{separator}options=-c%20search_path%3D{schema}&application_name={schema}&max_connections=4");
        plinth_sqlx::connect(&url).await.expect("connect to the check's schema")
    }
}

impl Drop for PostgresFixture {
    fn drop(&mut self) {
        if !self.created {
            return;
        }
        let schema = self.schema.clone();
        // Drop runs while the check's runtime is blocked, so its connections cannot finish
        // a rollback: they are ended first (they carry the schema as application name),
        // then a small runtime of its own drops the schema, whether the check passed or
        // panicked.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&server_url()).await.expect("connect");
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&schema)
                    .execute(&admin)
                    .await
                    .expect("end the check's connections");
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&admin)
                    .await
                    .expect("drop");
            });
        });
        let _ = dropped.join();
    }
}

plinth_conformance::conformance_suite!(tokio::test, PostgresFixture::new());
