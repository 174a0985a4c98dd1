//! `add_all`: many rows in one call.

use crate::cases::{committed, setup};
use crate::entities::User;
use crate::Fixture;

/// 1,000 rows get ids 1 to 1,000 in input order and read back complete.
pub async fn add_all_of_1000_rows_keeps_input_order(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let users: Vec<User> = (0..1000).map(|i| User::named(&format!("user{i:04}"))).collect();
    let records = committed(&db, users.clone()).await;
    assert_eq!(records.len(), 1000);
    for (i, (record, user)) in records.iter().zip(&users).enumerate() {
        assert_eq!(record.id(), i64::try_from(i).expect("small") + 1);
        assert_eq!(record.entity(), user);
        assert_eq!(record.created_at(), record.updated_at());
    }
    let mut session = db.session().await.expect("session");
    let stored = session.query::<User>().all().await.expect("query");
    assert_eq!(stored, records);
    let last = session.query::<User>().filter(|c| c.username.eq("user0999")).first().await.expect("query");
    assert_eq!(last.map(|u| u.id().get()), Some(1000));
}

/// An empty batch is an empty result, not an error.
pub async fn add_all_of_nothing_returns_nothing(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let none = session.add_all(Vec::<User>::new()).await.expect("add_all");
    assert!(none.is_empty());
    session.commit().await.expect("commit");
}
