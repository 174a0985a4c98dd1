//! Limit, offset, count and first.

use crate::cases::{ids, items};
use crate::entities::Item;
use crate::Fixture;

async fn page(session: &mut plinth::Session, limit: Option<u64>, offset: u64) -> Vec<i64> {
    let mut query = session.query::<Item>().order_by(|c| c.name.asc()).offset(offset);
    if let Some(limit) = limit {
        query = query.limit(limit);
    }
    ids(&query.all().await.expect("query"))
}

/// Pages through the items by name: `[2, 6, 1, 7, 3, 4, 5]`.
pub async fn limit_and_offset_page_through_results(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut s = db.session().await.expect("session");
    assert_eq!(page(&mut s, Some(3), 0).await, [2, 6, 1]);
    assert_eq!(page(&mut s, Some(3), 3).await, [7, 3, 4]);
    assert_eq!(page(&mut s, Some(3), 6).await, [5]);
    assert_eq!(page(&mut s, None, 5).await, [4, 5]);
    assert_eq!(page(&mut s, Some(3), 10).await, Vec::<i64>::new());
    assert_eq!(page(&mut s, Some(0), 0).await, Vec::<i64>::new());
}

/// `count` is the length of what `all` returns, limit and offset included.
pub async fn count_counts_what_all_returns(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<Item>().count().await.expect("count"), 7);
    assert_eq!(session.query::<Item>().filter(|c| c.rank.is_null()).count().await.expect("count"), 2);
    assert_eq!(session.query::<Item>().offset(5).count().await.expect("count"), 2);
    assert_eq!(session.query::<Item>().limit(3).count().await.expect("count"), 3);
    assert_eq!(
        session.query::<Item>().filter(|c| c.active.eq(true)).limit(10).offset(1).count().await.expect("count"),
        3
    );
}

/// `first` is the first row in the query's order, or `None`.
pub async fn first_returns_the_first_in_order(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let priciest = session.query::<Item>().order_by(|c| c.price.desc()).first().await.expect("query");
    assert_eq!(priciest.map(|r| r.id().get()), Some(6));
    let second_cheapest = session.query::<Item>().order_by(|c| c.price.asc()).offset(1).first().await.expect("query");
    assert_eq!(second_cheapest.map(|r| r.name.clone()), Some("😀 emoji".to_owned()));
    let none = session.query::<Item>().filter(|c| c.name.eq("nope")).first().await.expect("query");
    assert!(none.is_none());
}
