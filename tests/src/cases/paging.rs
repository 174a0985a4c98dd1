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

/// Every page of `query_order` after `last` (none for the first), `size` rows each,
/// until an empty page: the ids in the order the pages gave them.
async fn keyset_ids(db: &plinth::Database, order: &[plinth::Order], size: u64) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    let mut seen = Vec::new();
    let mut last: Option<plinth::Record<Item>> = None;
    loop {
        let mut query = session.query::<Item>().limit(size);
        for key in order {
            query = query.then_order(key.clone());
        }
        if let Some(last) = &last {
            query = query.after(last);
        }
        let page = query.all().await.expect("a keyset page");
        assert!(page.len() as u64 <= size, "a page holds at most `limit` rows");
        seen.extend(ids(&page));
        match page.into_iter().last() {
            Some(record) => last = Some(record),
            None => return seen,
        }
    }
}

/// Keyset pages (`after` the last record, `limit` rows each) give every row once, in the
/// query's order, for every kind of sort key: ascending with `NULL`s last, descending
/// with `NULL`s first, several keys, text by bytes, booleans, dates, equal timestamps
/// (ties broken by `id`), floats with repeats.
pub async fn keyset_pages_give_every_row_once_in_order(fx: &mut impl Fixture) {
    use plinth::Order;
    let db = items(fx).await;
    let orders = [
        vec![],
        vec![Order::asc("rank")],
        vec![Order::desc("rank")],
        vec![Order::asc("label"), Order::desc("price")],
        vec![Order::desc("label"), Order::asc("rank")],
        vec![Order::asc("active"), Order::desc("added_on")],
        vec![Order::desc("name")],
        vec![Order::desc("created_at")],
        vec![Order::asc("price")],
    ];
    for order in &orders {
        let mut session = db.session().await.expect("session");
        let mut whole = session.query::<Item>();
        for key in order {
            whole = whole.then_order(key.clone());
        }
        let whole = ids(&whole.all().await.expect("the whole query"));
        drop(session);
        for size in [1, 2, 3, 7] {
            assert_eq!(keyset_ids(&db, order, size).await, whole, "{order:?}, {size} per page");
        }
    }
}

/// Rows inserted before the cursor between two pages do not shift the next page, as
/// they shift an offset; a row inserted after it is met in its place, and the cursor's
/// own row may be gone.
pub async fn keyset_pages_are_stable_under_concurrent_inserts(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut reader = db.session().await.expect("reader");
    let first = reader.query::<Item>().order_by(|c| c.name.asc()).limit(2).all().await.expect("page 1");
    assert_eq!(ids(&first), [2, 6], "Banana, Zed");
    let template = (*first[0]).clone();
    let named = |name: &str| Item { name: name.into(), ..template.clone() };
    crate::cases::committed(&db, vec![named("AA"), named("AB")]).await;

    let offset_page = reader.query::<Item>().order_by(|c| c.name.asc()).limit(2).offset(2);
    assert_eq!(ids(&offset_page.all().await.expect("offset page")), [2, 6], "an offset repeats page 1");
    let second = reader.query::<Item>().order_by(|c| c.name.asc()).after(&first[1]).limit(2).all().await;
    let second = second.expect("keyset page 2");
    assert_eq!(ids(&second), [1, 7], "apple, apple pie");

    let later = crate::cases::committed(&db, vec![named("b")]).await.remove(0);
    let mut writer = db.session().await.expect("writer");
    writer.query::<Item>().filter(|c| c.name.eq("apple pie")).delete().await.expect("delete the cursor's row");
    writer.commit().await.expect("commit");
    let third = reader.query::<Item>().order_by(|c| c.name.asc()).after(&second[1]).limit(2).all().await;
    assert_eq!(ids(&third.expect("keyset page 3")), [later.id().get(), 3], "b, cherry");
}
