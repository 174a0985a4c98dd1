//! Tables: creation, naming, and rule 7 — committed data survives reconnecting.

use plinth::Entity;

use crate::cases::{committed, setup};
use crate::entities::{all_tables, Item, Keyword, OrderItemCheck, User, Пользователь};
use crate::Fixture;

/// `create_all` twice keeps the data of the first time.
pub async fn create_all_is_idempotent(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a")]).await;
    db.create_all(&all_tables()).await.expect("second create_all");
    let read = db.session().await.expect("session").get::<User>(rows[0].id()).await.expect("get");
    assert_eq!(read.as_ref(), Some(&rows[0]));
}

/// Table names follow the type name; SQL keywords and non-ASCII names work as
/// table and column names.
pub async fn keywords_and_unicode_names_work(fx: &mut impl Fixture) {
    assert_eq!(Item::table().name(), "items");
    assert_eq!(OrderItemCheck::table().name(), "orderitemchecks");
    assert_eq!(Keyword::table().name(), "order");
    assert_eq!(Пользователь::table().name(), "пользовательs");
    let db = setup(fx).await;
    let keyword = Keyword { select: "from".into(), user: Some("group".into()), r#where: "having".into() };
    let person = Пользователь { имя: "Анна".into() };
    let stored_keyword = committed(&db, vec![keyword.clone()]).await.remove(0);
    committed(&db, vec![person.clone()]).await;
    let mut session = db.session().await.expect("session");
    let found = session.query::<Keyword>().filter(|c| c.r#where.eq("having").and(c.select.like("f%"))).all().await;
    assert_eq!(found.expect("query"), std::slice::from_ref(&stored_keyword));
    assert_eq!(stored_keyword.to_dict()["where"], "having");
    let people = session.query::<Пользователь>().filter(|c| c.имя.eq("Анна")).all().await.expect("query");
    assert_eq!(people.iter().map(|p| p.entity().clone()).collect::<Vec<_>>(), [person]);
}

/// A new handle on the same storage sees everything committed, nothing rolled back.
pub async fn committed_data_survives_reopening(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("kept"), User::named("also kept")]).await;
    let mut lost = db.session().await.expect("session");
    lost.add(User::named("lost")).await.expect("add");
    lost.rollback().await.expect("rollback");
    drop(db);

    let reopened = fx.open().await;
    reopened.create_all(&all_tables()).await.expect("create_all on existing tables");
    let mut session = reopened.session().await.expect("session");
    assert_eq!(session.query::<User>().all().await.expect("query"), rows);
    let next = session.add(User::named("next")).await.expect("add");
    assert!(next.id() > rows[1].id());
}
