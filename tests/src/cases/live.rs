//! Live queries: a watched query yields its result now, then after every commit that changes
//! it — made through any `Database` over the backend — and each result it yields is
//! what the query gives at that moment.

use futures_util::StreamExt;
use plinth::{Database, Record, Session};

use crate::cases::{committed, date, ids, setup};
use crate::entities::{Item, User};
use crate::Fixture;

fn item(name: &str, rank: i32) -> Item {
    Item { name: name.to_owned(), rank: Some(rank), price: 1.0, label: None, active: true, added_on: date(2024, 1, 1) }
}

/// The watched query: the ids of the items ranked 2 or more, in id order.
async fn ranked(session: &mut Session) -> plinth::Result<Vec<i64>> {
    Ok(ids(&session.query::<Item>().filter(|c| c.rank.ge(2)).all().await?))
}

/// What the watched query gives now, in a session of its own.
async fn ranked_now(db: &Database) -> Vec<i64> {
    ranked(&mut db.session().await.expect("session")).await.expect("query")
}

/// Commits that change the result are yielded, in order, each as the query gives it
/// then; commits that leave it as it is (another table, a row it does not select, a
/// change it does not show, a rollback) yield nothing.
pub async fn a_live_query_yields_each_result_a_commit_changes(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let other = Database::from_arc(db.shared_backend());
    let mut live = db.watch(|session| Box::pin(ranked(session)));
    assert_eq!(live.next().await.transpose().expect("first result"), Some(vec![]));

    let first = committed(&db, vec![item("a", 3), item("b", 1)]).await;
    assert_eq!(live.next().await.transpose().expect("after an insert"), Some(vec![first[0].id().get()]));
    assert_eq!(ranked_now(&db).await, [first[0].id().get()]);

    // None of these changes the result.
    committed(&other, vec![User::named("ann")]).await;
    committed(&other, vec![item("c", 0)]).await;
    let mut session = other.session().await.expect("session");
    let mut a: Record<Item> = session.get(first[0].id()).await.expect("get").expect("a");
    a.rank = Some(5);
    session.update(&mut a).await.expect("update");
    session.commit().await.expect("commit");
    let mut rolled_back = other.session().await.expect("session");
    rolled_back.add(item("d", 9)).await.expect("add");
    rolled_back.rollback().await.expect("rollback");

    // The next result is the one after a commit that changes it.
    let e = committed(&other, vec![item("e", 2)]).await;
    let expected = vec![first[0].id().get(), e[0].id().get()];
    assert_eq!(live.next().await.transpose().expect("after another handle's insert"), Some(expected.clone()));
    assert_eq!(ranked_now(&db).await, expected);

    let mut session = other.session().await.expect("session");
    session.delete(a).await.expect("delete");
    session.commit().await.expect("commit");
    assert_eq!(live.next().await.transpose().expect("after a delete"), Some(vec![e[0].id().get()]));

    let mut session = db.session().await.expect("session");
    let demoted = session.query::<Item>().filter(|c| c.rank.ge(2)).update(|c| c.rank.set(Some(1))).await;
    assert_eq!(demoted.expect("update by filter"), 1);
    session.commit().await.expect("commit");
    assert_eq!(live.next().await.transpose().expect("after an update by filter"), Some(vec![]));
}

/// A count is watched as a query is; a live query sees only the tables it read, and
/// dropping one leaves the others running.
pub async fn live_queries_watch_counts_and_stop_when_dropped(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut users = db.watch(|session| Box::pin(async move { session.query::<User>().count().await }));
    let mut items = db.watch(|session| Box::pin(ranked(session)));
    assert_eq!(users.next().await.transpose().expect("count"), Some(0));
    assert_eq!(items.next().await.transpose().expect("items"), Some(vec![]));
    committed(&db, vec![User::named("ann"), User::named("bob")]).await;
    assert_eq!(users.next().await.transpose().expect("count"), Some(2));
    drop(users);
    let added = committed(&db, vec![item("a", 4)]).await;
    assert_eq!(items.next().await.transpose().expect("items"), Some(ids(&added)));
    committed(&db, vec![User::named("cy")]).await;
    let more = committed(&db, vec![item("b", 7)]).await;
    assert_eq!(items.next().await.transpose().expect("items"), Some([ids(&added), ids(&more)].concat()));
}
