//! Upsert by a unique column: the row holding the value is updated (its id and
//! `created_at` kept, its `updated_at` moved), or a new row is inserted.

use plinth::{Entity, Error};

use crate::cases::{committed, setup};
use crate::entities::{Colour, GadgetV2, Tag, User};
use crate::Fixture;

fn user(name: &str, email: &str) -> User {
    User { username: name.into(), email_address: email.into() }
}

/// The first upsert of a value inserts; the next updates that row, in the same session
/// or in a later one over the committed row, and the table holds one row per value.
pub async fn upsert_inserts_then_updates_the_row_holding_the_value(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let first = session.upsert(user("ada", "a@one"), |c| c.username).await.expect("insert ada");
    assert_eq!(first.created_at(), first.updated_at(), "a new row");
    let bob = session.upsert(user("bob", "b@one"), |c| c.username).await.expect("insert bob");
    let again = session.upsert(user("ada", "a@two"), |c| c.username).await.expect("update ada");
    assert_eq!((again.id(), again.created_at()), (first.id(), first.created_at()));
    assert!(again.updated_at() > first.updated_at());
    assert_eq!(again.email_address, "a@two");
    session.commit().await.expect("commit");

    let mut later = db.session().await.expect("later session");
    let third = later.upsert(user("ada", "a@three"), |c| c.username).await.expect("update the committed ada");
    assert_eq!((third.id(), third.created_at()), (first.id(), first.created_at()));
    assert!(third.updated_at() > again.updated_at());
    later.commit().await.expect("commit");
    let mut reader = db.session().await.expect("reader");
    let users = reader.query::<User>().all().await.expect("users");
    let rows: Vec<(i64, &str)> = users.iter().map(|u| (u.id().get(), u.email_address.as_str())).collect();
    assert_eq!(rows, [(first.id().get(), "a@three"), (bob.id().get(), "b@one")]);
    assert_eq!(reader.get::<User>(first.id()).await.expect("get"), Some(third));
}

/// An upsert must name a unique column (refused before any I/O otherwise); a `NULL`
/// value matches no row, so it always inserts.
pub async fn upsert_needs_a_unique_column_and_null_always_inserts(fx: &mut impl Fixture) {
    let unopened = fx.open().await;
    let mut session = unopened.session().await.expect("session");
    let not_unique = session.upsert(user("ada", "a@one"), |c| c.email_address).await;
    assert!(
        matches!(not_unique, Err(Error::InvalidValue { table: "users", column: Some("email_address"), .. })),
        "{not_unique:?}"
    );
    let by_id = session.upsert(user("ada", "a@one"), |c| c.id).await;
    assert!(matches!(by_id, Err(Error::InvalidValue { column: Some("id"), .. })), "{by_id:?}");
    drop(session);

    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    for weight in [1, 2] {
        session.upsert(Tag { label: None, weight }, |c| c.label).await.expect("a NULL label inserts");
    }
    let kept = session.upsert(Tag { label: Some("x".into()), weight: 3 }, |c| c.label).await.expect("insert x");
    let moved = session.upsert(Tag { label: Some("x".into()), weight: 4 }, |c| c.label).await.expect("update x");
    assert_eq!(moved.id(), kept.id());
    let weights: Vec<i32> = session.query::<Tag>().all().await.expect("tags").iter().map(|t| t.weight).collect();
    assert_eq!(weights, [1, 2, 4]);
}

/// A value another row holds in another unique column is `UniqueViolation`, whether the
/// upsert would insert or update; nothing is written and the session goes on.
pub async fn upsert_keeps_the_other_unique_rules(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[GadgetV2::table()]).await.expect("create_all");
    let gadget = |name: &str, code: &str| GadgetV2 {
        colour: None,
        name: name.into(),
        code: code.into(),
        size: 1,
        tint: Colour::Red,
        finish: "matt".into(),
    };
    let stored = committed(&db, vec![gadget("x", "c1"), gadget("y", "c2")]).await;
    let mut session = db.session().await.expect("session");
    let new_row = session.upsert(gadget("z", "c1"), |c| c.name).await;
    assert!(matches!(new_row, Err(Error::UniqueViolation { column: Some("code"), .. })), "{new_row:?}");
    let existing = session.upsert(gadget("y", "c1"), |c| c.name).await;
    assert!(matches!(existing, Err(Error::UniqueViolation { column: Some("code"), .. })), "{existing:?}");
    assert_eq!(session.query::<GadgetV2>().all().await.expect("gadgets"), stored);
    let by_code = session.upsert(gadget("w", "c2"), |c| c.code).await.expect("rename y by its code");
    assert_eq!(by_code.id(), stored[1].id());
    session.commit().await.expect("the session goes on and commits");
    let mut reader = db.session().await.expect("reader");
    let names: Vec<String> =
        reader.query::<GadgetV2>().all().await.expect("gadgets").iter().map(|g| g.name.clone()).collect();
    assert_eq!(names, ["x", "w"]);
}
