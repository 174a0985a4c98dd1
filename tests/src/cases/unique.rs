//! Rule 4: a unique violation writes nothing, names the column, and leaves the
//! session usable.

use plinth::Error;

use crate::cases::{committed, setup};
use crate::entities::{Tag, User};
use crate::Fixture;

fn is_username_violation(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::UniqueViolation { table, column }) if *table == "users" && *column == Some("username"))
}

/// The error names the table and the column.
pub async fn unique_violation_names_table_and_column(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("alice")).await.expect("add");
    let dup = session.add(User { username: "alice".into(), email_address: "other@example.com".into() }).await;
    assert!(is_username_violation(&dup), "{dup:?}");
    let message = dup.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("users") && message.contains("username"), "{message}");
}

/// After a violation the session writes on and commits what it did before and after.
pub async fn unique_violation_writes_nothing_and_session_goes_on(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("alice")).await.expect("add");
    let dup = session.add(User::named("alice")).await;
    assert!(is_username_violation(&dup), "{dup:?}");
    session.add(User::named("bob")).await.expect("the session is still usable");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    let names: Vec<String> =
        session.query::<User>().all().await.expect("query").into_iter().map(|u| u.username.clone()).collect();
    assert_eq!(names, ["alice", "bob"]);
}

/// A value committed by an earlier session is taken.
pub async fn unique_violation_against_a_committed_row(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("alice")]).await;
    let mut session = db.session().await.expect("session");
    let dup = session.add(User::named("alice")).await;
    assert!(is_username_violation(&dup), "{dup:?}");
    session.commit().await.expect("committing the rest is fine");
    assert_eq!(db.session().await.expect("session").query::<User>().count().await.expect("count"), 1);
}

/// One duplicate in a batch, against the table or inside the batch, stores none of it.
pub async fn unique_violation_in_add_all_writes_none_of_the_batch(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("alice")]).await;
    let mut session = db.session().await.expect("session");
    let against_table = session.add_all(vec![User::named("x"), User::named("alice"), User::named("y")]).await;
    assert!(is_username_violation(&against_table), "{against_table:?}");
    let inside_batch = session.add_all(vec![User::named("p"), User::named("q"), User::named("p")]).await;
    assert!(is_username_violation(&inside_batch), "{inside_batch:?}");
    session.add(User::named("x")).await.expect("x was not stored, so it is free");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    let names: Vec<String> =
        session.query::<User>().all().await.expect("query").into_iter().map(|u| u.username.clone()).collect();
    assert_eq!(names, ["alice", "x"]);
}

/// The same for batches of thousands of rows, which backends may insert another way
/// (PostgreSQL: inside a savepoint): the failed batch leaves no row, and the session
/// then stores a large batch and commits.
pub async fn unique_violation_in_a_large_add_all_writes_none_of_it(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("u01500")]).await;
    let batch = |from: usize| (from..from + 3000).map(|i| User::named(&format!("u{i:05}"))).collect::<Vec<_>>();
    let mut session = db.session().await.expect("session");
    let against_table = session.add_all(batch(0)).await;
    assert!(is_username_violation(&against_table), "{against_table:?}");
    let mut repeated = batch(10_000);
    repeated.push(User::named("u10000"));
    let inside_batch = session.add_all(repeated).await;
    assert!(is_username_violation(&inside_batch), "{inside_batch:?}");
    let stored = session.add_all(batch(20_000)).await.expect("the session is still usable");
    assert_eq!(stored.len(), 3000);
    assert!(stored.windows(2).all(|w| w[0].id() < w[1].id()), "ids ascend in input order");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<User>().count().await.expect("count"), 3001);
    let first = session.query::<User>().filter(|c| c.username.eq("u20000")).first().await.expect("query");
    assert_eq!(first.map(|u| u.id()), Some(stored[0].id()));
}

/// Updating a row to a taken value is refused and the row keeps its value.
pub async fn unique_violation_on_update(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut rows = committed(&db, vec![User::named("alice"), User::named("bob")]).await;
    let mut session = db.session().await.expect("session");
    rows[1].username = "alice".into();
    let result = session.update(&mut rows[1]).await;
    assert!(is_username_violation(&result), "{result:?}");
    session.commit().await.expect("commit");
    let bob = db.session().await.expect("session").get::<User>(2).await.expect("get").expect("exists");
    assert_eq!(bob.username, "bob");
}

/// Deleting a row frees its unique values within the same session.
pub async fn a_value_freed_by_delete_can_be_reused(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut rows = committed(&db, vec![User::named("alice")]).await;
    let mut session = db.session().await.expect("session");
    session.delete(rows.remove(0)).await.expect("delete");
    let again = session.add(User::named("alice")).await.expect("alice is free again");
    session.commit().await.expect("commit");
    assert_eq!(again.id(), 2);
    let found = db.session().await.expect("session").query::<User>().filter(|c| c.username.eq("alice")).all().await;
    assert_eq!(found.expect("query").iter().map(|u| u.id()).collect::<Vec<_>>(), [2]);
}

/// `NULL` is not a value: many rows may leave a unique column empty.
pub async fn nulls_never_collide_in_unique_columns(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let tags = vec![
        Tag { label: None, weight: 1 },
        Tag { label: None, weight: 2 },
        Tag { label: Some("x".into()), weight: 3 },
    ];
    committed(&db, tags).await;
    let mut session = db.session().await.expect("session");
    session.add(Tag { label: None, weight: 4 }).await.expect("another NULL is fine");
    let dup = session.add(Tag { label: Some("x".into()), weight: 5 }).await;
    assert!(matches!(dup, Err(Error::UniqueViolation { column, .. }) if column == Some("label")), "{dup:?}");
    assert_eq!(session.query::<Tag>().filter(|c| c.label.is_null()).count().await.expect("count"), 3);
}
