//! The `tracing` feature: a subscriber in the test reads the `plinth.session` and
//! `plinth.statement` spans a session makes on SQLite and PostgreSQL — their SQL, rows,
//! time and backend, no bound values unless asked — and the `WARN` event of a slow one.
//!
//! `cargo test -p plinth-sqlx --all-features --test tracing` (PostgreSQL as for every
//! test here: `DATABASE_URL`, or the local server).
#![cfg(feature = "tracing")]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth::{Database, Entity};
use plinth_conformance::entities::User;
use plinth_conformance::Fixture;
use support::{PostgresSchema, SqliteFile};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// A span or event as the subscriber saw it: its name, its fields rendered, and the
/// name of its parent span.
#[derive(Clone, Debug, Default)]
struct Seen {
    name: String,
    fields: BTreeMap<String, String>,
    parent: Option<String>,
    level: String,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen { name: attrs.metadata().name().to_owned(), ..Seen::default() };
        attrs.record(&mut Fields(&mut seen.fields));
        seen.parent = ctx.span(id).and_then(|span| span.parent()).map(|p| p.name().to_owned());
        seen.level = attrs.metadata().level().to_string();
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(self.0.lock().expect("capture").len());
        }
        self.0.lock().expect("capture").push(seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(index) = ctx.span(id).and_then(|span| span.extensions().get::<usize>().copied()) else { return };
        let mut all = self.0.lock().expect("capture");
        values.record(&mut Fields(&mut all[index].fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "plinth" {
            return;
        }
        let mut seen =
            Seen { name: "event".to_owned(), level: event.metadata().level().to_string(), ..Seen::default() };
        event.record(&mut Fields(&mut seen.fields));
        seen.parent = ctx.event_span(event).map(|span| span.name().to_owned());
        self.0.lock().expect("capture").push(seen);
    }
}

/// Runs a session that adds, reads and commits, then one that is rolled back, with the
/// capture as the only subscriber; what it saw.
async fn traced(db: &Database, name: &str) -> Vec<Seen> {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut session = db.session().await.expect("session");
    session.add(User::named(name)).await.expect("add");
    let found = session.query::<User>().filter(|c| c.username.eq(name)).all().await.expect("query");
    assert_eq!(found.len(), 1);
    session.commit().await.expect("commit");
    let mut dropped = db.session().await.expect("session");
    dropped.add(User::named(&format!("secret-{name}"))).await.expect("add");
    dropped.rollback().await.expect("rollback");
    let seen = capture.0.lock().expect("capture").clone();
    seen
}

async fn sessions_and_statements_are_spans(db: Database, backend: &str) {
    db.create_all(&[User::table()]).await.expect("create_all");
    // The table's schema check runs once per handle: do it before the capture.
    db.session().await.expect("session").query::<User>().count().await.expect("count");
    let seen = traced(&db, "ada").await;
    let sessions: Vec<&Seen> = seen.iter().filter(|s| s.name == "plinth.session").collect();
    let outcomes: Vec<Option<&str>> = sessions.iter().map(|s| s.fields.get("outcome").map(String::as_str)).collect();
    assert_eq!(outcomes, [Some("committed"), Some("rolled back")], "{seen:#?}");
    assert!(sessions.iter().all(|s| s.fields.get("backend").map(String::as_str) == Some(backend)));
    let statements: Vec<&Seen> = seen.iter().filter(|s| s.name == "plinth.statement").collect();
    let insert = statements.iter().find(|s| s.fields["sql"].starts_with("INSERT")).expect("an INSERT span");
    assert_eq!(insert.parent.as_deref(), Some("plinth.session"), "statements are children of their session");
    assert_eq!(insert.fields.get("rows").map(String::as_str), Some("1"), "{insert:?}");
    assert!(insert.fields.get("elapsed_us").is_some_and(|us| us.parse::<u64>().is_ok()), "{insert:?}");
    let select = statements.iter().find(|s| s.fields["sql"].starts_with("SELECT")).expect("a SELECT span");
    assert_eq!(select.fields.get("rows").map(String::as_str), Some("1"));
    assert!(
        statements.iter().all(|s| !s.fields.contains_key("values") && !format!("{s:?}").contains("secret-ada")),
        "bound values stay out of the spans: {statements:#?}"
    );

    plinth_sqlx::trace::record_bound_values(true);
    plinth_sqlx::trace::set_slow_statement_threshold(Duration::ZERO);
    let seen = traced(&db, "grace").await;
    plinth_sqlx::trace::record_bound_values(false);
    plinth_sqlx::trace::set_slow_statement_threshold(Duration::from_secs(1));
    let insert = seen.iter().find(|s| s.name == "plinth.statement" && s.fields["sql"].starts_with("INSERT"));
    let values = insert.and_then(|s| s.fields.get("values")).expect("values, once asked for");
    assert!(values.contains("grace"), "{values}");
    let slow: Vec<&Seen> = seen.iter().filter(|s| s.name == "event" && s.level == "WARN").collect();
    assert!(!slow.is_empty(), "every statement is slow past a zero threshold: {seen:#?}");
    assert!(slow.iter().all(|s| s.parent.as_deref() == Some("plinth.statement") && s.fields.contains_key("sql")));
}

// One test per binary changes the process-wide settings, so both databases run in it.
#[tokio::test]
async fn sessions_and_statements_are_spans_on_sqlite_and_postgres() {
    let mut file = SqliteFile::new("plinth-tracing");
    sessions_and_statements_are_spans(file.open().await, "sqlite").await;
    let mut schema = PostgresSchema::new("plinth_tracing", 2);
    sessions_and_statements_are_spans(schema.open().await, "postgres").await;
}
