//! Rule 3: uncommitted writes are invisible to other sessions; commit is
//! all-or-nothing; dropping a session rolls it back.

use plinth::Error;

use crate::cases::{committed, setup};
use crate::entities::User;
use crate::Fixture;

/// Another session sees nothing of an open session's writes.
pub async fn uncommitted_writes_are_invisible_to_other_sessions(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let existing = committed(&db, vec![User::named("kept")]).await.remove(0);
    let mut writer = db.session().await.expect("session");
    let added = writer.add(User::named("new")).await.expect("add");
    let mut changed = writer.get::<User>(existing.id()).await.expect("get").expect("exists");
    changed.email_address = "changed@example.com".into();
    writer.update(&mut changed).await.expect("update");

    let mut reader = db.session().await.expect("session");
    assert!(reader.get::<User>(added.id()).await.expect("get").is_none());
    let seen = reader.get::<User>(existing.id()).await.expect("get").expect("exists");
    assert_eq!(seen.email_address, "kept@example.com");
    assert_eq!(reader.query::<User>().count().await.expect("count"), 1);
    drop(reader);
    writer.commit().await.expect("commit");
}

/// After commit every write of the session is visible, and before it none is.
pub async fn commit_publishes_every_write_at_once(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut doomed = committed(&db, vec![User::named("doomed"), User::named("edited")]).await;
    let mut writer = db.session().await.expect("session");
    writer.add_all(vec![User::named("x"), User::named("y")]).await.expect("add_all");
    let mut edited = doomed.remove(1);
    edited.email_address = "edited@example.org".into();
    writer.update(&mut edited).await.expect("update");
    writer.delete(doomed.remove(0)).await.expect("delete");

    let names = |users: Vec<plinth::Record<User>>| users.into_iter().map(|u| u.username.clone()).collect::<Vec<_>>();
    let before = db.session().await.expect("session").query::<User>().all().await.expect("query");
    assert_eq!(names(before), ["doomed", "edited"]);
    writer.commit().await.expect("commit");
    let after = db.session().await.expect("session").query::<User>().all().await.expect("query");
    assert_eq!(after[0].email_address, "edited@example.org");
    assert_eq!(names(after), ["edited", "x", "y"]);
}

/// A session dropped without commit leaves nothing behind.
pub async fn dropping_a_session_rolls_it_back(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    {
        let mut session = db.session().await.expect("session");
        session.add(User::named("ghost")).await.expect("add");
    }
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<User>().count().await.expect("count"), 0);
    let found = session.query::<User>().filter(|c| c.username.eq("ghost")).first().await.expect("query");
    assert!(found.is_none());
}

/// `rollback` undoes inserts, updates and deletes alike.
pub async fn rollback_discards_inserts_updates_and_deletes(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut rows = committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("c")).await.expect("add");
    rows[0].email_address = "changed".into();
    session.update(&mut rows[0]).await.expect("update");
    session.delete_by_id::<User>(rows[1].id()).await.expect("delete");
    session.rollback().await.expect("rollback");
    let mut session = db.session().await.expect("session");
    let all = session.query::<User>().all().await.expect("query");
    let emails: Vec<_> = all.iter().map(|u| u.email_address.as_str()).collect();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
}

/// A session reads its own writes through `get`, queries and `count`.
pub async fn a_session_sees_its_own_writes(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let committed_rows = committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    let new = session.add(User::named("c")).await.expect("add");
    session.delete_by_id::<User>(committed_rows[0].id()).await.expect("delete");
    let mut b = session.get::<User>(committed_rows[1].id()).await.expect("get").expect("exists");
    b.username = "bb".into();
    session.update(&mut b).await.expect("update");

    assert_eq!(session.get::<User>(new.id()).await.expect("get").map(|u| u.username.clone()), Some("c".into()));
    assert!(session.get::<User>(committed_rows[0].id()).await.expect("get").is_none());
    let names: Vec<String> = session
        .query::<User>()
        .order_by(|c| c.username.asc())
        .all()
        .await
        .expect("query")
        .into_iter()
        .map(|u| u.username.clone())
        .collect();
    assert_eq!(names, ["bb", "c"]);
    assert_eq!(session.query::<User>().filter(|c| c.username.eq("bb")).count().await.expect("count"), 1);
    assert_eq!(session.query::<User>().filter(|c| c.username.eq("b")).count().await.expect("count"), 0);
}

/// Two open sessions writing different rows both commit. On a backend with one
/// writer at a time (SQLite), the second session writes after the first commits.
pub async fn sessions_on_different_rows_both_commit(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut first = db.session().await.expect("session");
    let mut second = db.session().await.expect("session");
    let a = first.add(User::named("a")).await.expect("add");
    let b = if fx.capabilities().concurrent_writers {
        let b = second.add(User::named("b")).await.expect("add");
        second.commit().await.expect("commit");
        first.commit().await.expect("commit");
        b
    } else {
        first.commit().await.expect("commit");
        let b = second.add(User::named("b")).await.expect("add");
        second.commit().await.expect("commit");
        b
    };
    assert_ne!(a.id(), b.id());
    let all = db.session().await.expect("session").query::<User>().count().await.expect("count");
    assert_eq!(all, 2);
}

/// No lost update: a record read before another session wrote the row cannot
/// overwrite that write. The update is refused with `Conflict` and writes nothing; the
/// other write stands, and a record read again updates normally.
pub async fn a_stale_record_cannot_overwrite_a_newer_write(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let id = committed(&db, vec![User::named("ada")]).await[0].id();
    let mut slow = db.session().await.expect("session");
    let mut stale = slow.get::<User>(id).await.expect("get").expect("exists");
    let mut fast = db.session().await.expect("session");
    let mut fresh = fast.get::<User>(id).await.expect("get").expect("exists");
    fresh.email_address = "fast@example.com".into();
    fast.update(&mut fresh).await.expect("update");
    fast.commit().await.expect("commit");

    stale.email_address = "slow@example.com".into();
    let refused = slow.update(&mut stale).await;
    assert!(
        matches!(&refused, Err(Error::Conflict { table, id: at }) if *table == "users" && *at == id),
        "{refused:?}"
    );
    slow.commit().await.expect("nothing to commit is fine");
    let mut session = db.session().await.expect("session");
    let stored = session.get::<User>(id).await.expect("get").expect("exists");
    assert_eq!(stored.email_address, "fast@example.com");
    assert_eq!(stored.updated_at(), fresh.updated_at());

    let mut reread = stored;
    reread.email_address = "retried@example.com".into();
    session.update(&mut reread).await.expect("a record read again updates");
    session.commit().await.expect("commit");
    let stored = db.session().await.expect("session").get::<User>(id).await.expect("get").expect("exists");
    assert_eq!(stored.email_address, "retried@example.com");
}

/// Two copies of one record in one session: after the first is written back, the
/// other is stale, and so refused; updating the same record twice is fine.
pub async fn a_second_copy_of_a_record_is_stale_after_the_first_is_written(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let id = committed(&db, vec![User::named("ada")]).await[0].id();
    let mut session = db.session().await.expect("session");
    let mut first = session.get::<User>(id).await.expect("get").expect("exists");
    let mut second = first.clone();
    first.email_address = "one@example.com".into();
    session.update(&mut first).await.expect("update");
    let after_first = first.updated_at();
    first.email_address = "two@example.com".into();
    session.update(&mut first).await.expect("the same record again");
    assert!(after_first > first.created_at() && first.updated_at() > after_first, "every write moves updated_at");
    second.email_address = "stale@example.com".into();
    let refused = session.update(&mut second).await;
    assert!(matches!(refused, Err(Error::Conflict { .. })), "{refused:?}");
    session.commit().await.expect("commit");
    let stored = db.session().await.expect("session").get::<User>(id).await.expect("get").expect("exists");
    assert_eq!(stored.email_address, "two@example.com");
}
