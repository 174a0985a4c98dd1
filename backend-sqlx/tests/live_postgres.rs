//! Live queries across processes on PostgreSQL (`NOTIFY`/`LISTEN`): a commit another
//! process makes reaches this process's live query, and a commit of this process is
//! not heard back as another's.
//!
//! Needs PostgreSQL (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`);
//! `cargo xtask test` runs it. The other process is this test binary again, running
//! the ignored test `another_process_adds_a_user`.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use plinth::{Database, Entity, LiveQuery};
use plinth_conformance::entities::User;
use plinth_conformance::Fixture;
use support::PostgresSchema;

/// The variable that hands the other process its schema's URL.
const OTHER_PROCESS_URL: &str = "PLINTH_LIVE_OTHER_PROCESS_URL";

/// The other process: adds a user, then stays a moment, as a process that goes on
/// does (an announcement is sent after the commit, off its path).
#[tokio::test]
#[ignore = "the other process of a_commit_in_another_process_reaches_a_live_query"]
async fn another_process_adds_a_user() {
    let Ok(url) = std::env::var(OTHER_PROCESS_URL) else { return };
    let db = plinth_sqlx::connect(&url).await.expect("connect");
    db.add(User::named("from another process")).await.expect("add");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn usernames(db: &Database) -> LiveQuery<Vec<String>> {
    db.watch(|session| {
        Box::pin(async move {
            let users = session.query::<User>().order_by(|c| c.username.asc()).all().await?;
            Ok(users.iter().map(|u| u.username.clone()).collect())
        })
    })
}

async fn next_within(live: &mut LiveQuery<Vec<String>>, what: &str) -> Vec<String> {
    match tokio::time::timeout(Duration::from_secs(10), live.next()).await {
        Ok(Some(result)) => result.expect(what),
        Ok(None) => panic!("{what}: the live query ended"),
        Err(_) => panic!("{what}: no result within ten seconds"),
    }
}

#[tokio::test]
async fn a_commit_in_another_process_reaches_a_live_query() {
    let mut schema = PostgresSchema::new("live", 4);
    let db = schema.open().await;
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut live = usernames(&db);
    // At once, before this process's listener may be in place: a commit made before
    // its LISTEN is seen all the same (it runs the query again once listening).
    assert_eq!(next_within(&mut live, "first").await, Vec::<String>::new());

    let binary = std::env::current_exe().expect("this test binary");
    let url = schema.url();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary)
            .args(["--exact", "another_process_adds_a_user", "--ignored", "--quiet"])
            .env(OTHER_PROCESS_URL, url)
            .status()
    })
    .await
    .expect("join")
    .expect("run the other process");
    assert!(status.success(), "the other process: {status}");
    assert_eq!(next_within(&mut live, "the other process's commit").await, ["from another process"]);

    // This process's own commit: yielded once (through its own hub), and its
    // announcement, heard by its own listener, is skipped.
    db.add(User::named("from this process")).await.expect("add");
    let both = ["from another process", "from this process"];
    assert_eq!(next_within(&mut live, "this process's commit").await, both);
}
