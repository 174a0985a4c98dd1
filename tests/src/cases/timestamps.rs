//! Rule 2: `created_at == updated_at` on insert; update keeps `id` and `created_at`
//! and never moves `updated_at` back. All timestamps are UTC with microseconds.

use chrono::{Duration, Timelike};

use crate::cases::{committed, setup};
use crate::entities::User;
use crate::Fixture;

/// A new row's two timestamps are equal.
pub async fn created_at_equals_updated_at_on_insert(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a"), User::named("b")]).await;
    for row in &rows {
        assert_eq!(row.created_at(), row.updated_at());
    }
    let read = db.session().await.expect("session").get::<User>(rows[0].id()).await.expect("get");
    let read = read.expect("row 1 exists");
    assert_eq!(read.created_at(), read.updated_at());
}

/// Timestamps are whole microseconds and close to the clock's now.
pub async fn timestamps_are_utc_microseconds_near_now(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let before = plinth::backend::clock::now();
    let row = committed(&db, vec![User::named("a")]).await.remove(0);
    let after = plinth::backend::clock::now();
    assert_eq!(row.created_at().nanosecond() % 1_000, 0, "not whole microseconds: {}", row.created_at());
    let slack = Duration::seconds(5);
    assert!(
        row.created_at() >= before - slack && row.created_at() <= after + slack,
        "created_at {} is not between {before} and {after}",
        row.created_at()
    );
}

/// Update keeps the id and `created_at`; `updated_at` moves strictly forward.
pub async fn update_keeps_id_and_created_at_and_moves_updated_at(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let mut row = session.add(User::named("a")).await.expect("add");
    let (id, created, updated) = (row.id(), row.created_at(), row.updated_at());
    row.email_address = "new@example.com".into();
    session.update(&mut row).await.expect("update");
    session.commit().await.expect("commit");
    assert_eq!((row.id(), row.created_at()), (id, created));
    assert!(row.updated_at() > updated);
    let read = db.session().await.expect("session").get::<User>(id).await.expect("get").expect("row exists");
    assert_eq!((read.created_at(), read.updated_at()), (row.created_at(), row.updated_at()));
}

/// An update in a later transaction stamps a time after the insert's.
pub async fn update_in_a_later_session_moves_updated_at_forward(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let inserted = committed(&db, vec![User::named("a")]).await.remove(0);
    let mut session = db.session().await.expect("session");
    let mut row = session.get::<User>(inserted.id()).await.expect("get").expect("row exists");
    row.username = "b".into();
    session.update(&mut row).await.expect("update");
    session.commit().await.expect("commit");
    assert_eq!(row.created_at(), inserted.created_at());
    assert!(row.updated_at() > inserted.updated_at());
    assert!(row.updated_at() > row.created_at());
}

/// What `add` returns is what a later `get` reads, to the microsecond.
pub async fn timestamps_read_back_exactly(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a")]).await;
    let read = db.session().await.expect("session").get::<User>(rows[0].id()).await.expect("get");
    let read = read.expect("row exists");
    assert_eq!(read.created_at(), rows[0].created_at());
    assert_eq!(read.updated_at(), rows[0].updated_at());
    assert_eq!(read.to_dict(), rows[0].to_dict());
}
