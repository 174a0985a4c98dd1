//! One-shot writes: `Database::add`, `update` and `delete` write without a session,
//! committed at once, with every rule a session's write has.

use plinth::Error;

use crate::cases::relations::{family, setup as relations_setup};
use crate::cases::setup;
use crate::entities::{Comment, Post, User};
use crate::Fixture;

/// A one-shot add, update and delete are committed when they return: another session
/// sees each at once; the update moves `updated_at` and keeps `created_at`.
pub async fn one_shot_writes_are_committed_when_they_return(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut ada = db.add(User::named("ada")).await.expect("one-shot add");
    assert_eq!(ada.created_at(), ada.updated_at());
    let mut reader = db.session().await.expect("reader");
    assert_eq!(reader.get::<User>(ada.id()).await.expect("get"), Some(ada.clone()));
    drop(reader);

    let before = ada.clone();
    ada.email_address = "ada@lovelace.org".into();
    db.update(&mut ada).await.expect("one-shot update");
    assert!(ada.updated_at() > before.updated_at() && ada.created_at() == before.created_at());
    let mut reader = db.session().await.expect("reader");
    assert_eq!(reader.get::<User>(ada.id()).await.expect("get"), Some(ada.clone()));
    drop(reader);

    db.delete(ada.clone()).await.expect("one-shot delete");
    let mut reader = db.session().await.expect("reader");
    assert_eq!(reader.get::<User>(ada.id()).await.expect("get"), None);
    let again = db.delete_by_id::<User>(ada.id()).await;
    assert!(matches!(again, Err(Error::NotFound { table: "users", .. })), "{again:?}");
}

/// One-shot writes keep a session's rules: a unique value another row holds and a
/// reference to a missing row are refused and write nothing, a stale record is a `Conflict`, and a delete applies
/// every reference rule (here a cascade two levels deep) or refuses, writing nothing.
pub async fn one_shot_writes_keep_every_rule(fx: &mut impl Fixture) {
    let db = relations_setup(fx).await;
    let (users, posts, comments) = family(&db).await;
    let taken = db.add(User::named("ada")).await;
    assert!(matches!(taken, Err(Error::UniqueViolation { column: Some("username"), .. })), "{taken:?}");
    let orphan = db.add(Post::by(plinth::Id::new(999), "orphan")).await;
    assert!(
        matches!(orphan, Err(Error::ForeignKeyViolation { table: "posts", column: "author", parent: "users" })),
        "{orphan:?}"
    );
    let mut stale = posts[2].clone();
    let mut fresh = posts[2].clone();
    fresh.title = "first".into();
    db.update(&mut fresh).await.expect("update");
    stale.title = "second".into();
    let conflict = db.update(&mut stale).await;
    assert!(matches!(conflict, Err(Error::Conflict { table: "posts", .. })), "{conflict:?}");

    let restricted = db.delete(users[0].clone()).await;
    assert!(matches!(restricted, Err(Error::StillReferenced { by_table: "comments", .. })), "{restricted:?}");
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<User>().count().await.expect("users"), 2, "the refused delete wrote nothing");
    drop(session);
    db.delete(posts[0].clone()).await.expect("delete a post and its comments");
    let mut session = db.session().await.expect("session");
    let texts: Vec<String> =
        session.query::<Comment>().all().await.expect("comments").iter().map(|c| c.text.clone()).collect();
    assert_eq!(texts, ["z", "w"], "the cascade removed the post's comments: {comments:?}");
    assert_eq!(session.query::<Post>().count().await.expect("posts"), 2);
}
