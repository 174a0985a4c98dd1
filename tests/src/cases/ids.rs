//! Rule 1: ids start at 1 and grow; never reused after delete.

use crate::cases::{committed, date, ids, setup};
use crate::entities::{Item, User};
use crate::Fixture;

/// The first row gets id 1, the next ones 2, 3…
pub async fn ids_start_at_one_and_grow(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let first = session.add(User::named("a")).await.expect("add");
    let second = session.add(User::named("b")).await.expect("add");
    session.commit().await.expect("commit");
    let more = committed(&db, vec![User::named("c"), User::named("d")]).await;
    assert_eq!((first.id().get(), second.id().get()), (1, 2));
    assert_eq!(ids(&more), [3, 4]);
}

/// Deleting the newest row does not give its id to the next one.
pub async fn ids_are_not_reused_after_delete(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    for row in rows {
        session.delete(row).await.expect("delete");
    }
    session.commit().await.expect("commit");
    let next = committed(&db, vec![User::named("c")]).await;
    assert_eq!(ids(&next), [3]);
}

/// Deleting the newest row and reopening the database does not give its id out again:
/// the next id is the old maximum plus one.
pub async fn ids_are_not_reused_after_delete_and_reopen(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a"), User::named("b"), User::named("c")]).await;
    let mut session = db.session().await.expect("session");
    session.delete_by_id::<User>(rows[2].id()).await.expect("delete the newest");
    session.commit().await.expect("commit");
    drop(db);
    let reopened = fx.open().await;
    reopened.create_all(&crate::entities::all_tables()).await.expect("create_all on existing tables");
    let next = committed(&reopened, vec![User::named("d")]).await;
    assert_eq!(ids(&next), [rows[2].id().get() + 1]);
}

/// A rolled-back insert may leave a gap, but later ids are still above every
/// committed one.
pub async fn ids_keep_growing_after_a_rollback(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let kept = committed(&db, vec![User::named("a")]).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("b")).await.expect("add");
    session.rollback().await.expect("rollback");
    let next = committed(&db, vec![User::named("c")]).await;
    assert!(next[0].id() > kept[0].id(), "id {} after committed id {}", next[0].id(), kept[0].id());
}

/// Every table counts its own ids.
pub async fn each_table_has_its_own_ids(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("a"), User::named("b")]).await;
    let item = Item { name: "x".into(), rank: None, price: 1.0, label: None, active: true, added_on: date(2024, 1, 1) };
    let items = committed(&db, vec![item]).await;
    assert_eq!(ids(&items), [1]);
}
