//! Streams: `Query::stream` hands out what `all` returns, one record at a time, and the
//! session goes on after a stream is finished or dropped part-way.

use futures_util::{StreamExt as _, TryStreamExt as _};
use plinth::{Error, Filter, Order, Session};

use crate::cases::{ids, items, setup};
use crate::entities::{Item, Tag};
use crate::Fixture;

async fn streamed(
    session: &mut Session,
    filter: Filter,
    order: Vec<Order>,
    limit: Option<u64>,
    offset: u64,
) -> Vec<i64> {
    let mut query = session.query::<Item>().filter_by(filter).offset(offset);
    for key in order {
        query = query.then_order(key);
    }
    if let Some(limit) = limit {
        query = query.limit(limit);
    }
    let records: Vec<_> = query.stream().try_collect().await.expect("stream");
    ids(&records)
}

/// A stream gives the records `all` gives, in the same order, for filters, sort keys,
/// limits and offsets; over no row it ends at once; a query refused before any I/O is
/// one error.
pub async fn streams_give_what_all_gives(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let every = Filter::And(Vec::new());
    let cases = [
        (every.clone(), vec![], None, 0),
        (Filter::column("rank").is_null(), vec![], None, 0),
        (every.clone(), vec![Order::desc("rank"), Order::asc("name")], None, 0),
        (Filter::column("name").like("%apple%"), vec![Order::asc("price")], Some(2), 1),
        (every.clone(), vec![Order::asc("label")], Some(3), 5),
        (Filter::column("name").eq("nobody"), vec![], None, 0),
    ];
    for (filter, order, limit, offset) in cases {
        let mut query = session.query::<Item>().filter_by(filter.clone()).offset(offset);
        for key in order.clone() {
            query = query.then_order(key);
        }
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        let whole = ids(&query.all().await.expect("all"));
        assert_eq!(
            streamed(&mut session, filter.clone(), order.clone(), limit, offset).await,
            whole,
            "{filter:?} {order:?}"
        );
    }
    let mut refused = session.query::<Item>().filter_by(Filter::column("nmae").eq("x")).stream();
    let first = refused.next().await;
    assert!(matches!(first, Some(Err(Error::UnknownColumn { .. }))), "{first:?}");
    assert!(refused.next().await.is_none(), "the error ends the stream");
}

/// A stream sees the session's own uncommitted rows; dropped part-way, it leaves the
/// session working: the next query, write and commit succeed.
pub async fn a_stream_dropped_part_way_leaves_the_session_usable(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let tags: Vec<Tag> = (0..2_500).map(|i| Tag { label: Some(format!("tag {i:04}")), weight: i % 7 }).collect();
    session.add_all(tags).await.expect("add_all");
    {
        let mut stream = session.query::<Tag>().order_by(|c| c.label.desc()).stream();
        let first = stream.next().await.expect("a record").expect("no error");
        assert_eq!(first.label.as_deref(), Some("tag 2499"));
        let second = stream.next().await.expect("a record").expect("no error");
        assert_eq!(second.label.as_deref(), Some("tag 2498"));
    }
    let heavy = session.query::<Tag>().filter(|c| c.weight.eq(6)).stream().try_fold(0, |n, _| async move { Ok(n + 1) });
    assert_eq!(heavy.await.expect("a second stream"), 357);
    session.add(Tag { label: Some("after".into()), weight: 0 }).await.expect("a write after the streams");
    assert_eq!(session.query::<Tag>().count().await.expect("count"), 2_501);
    session.commit().await.expect("commit");
    let mut reader = db.session().await.expect("reader");
    assert_eq!(reader.query::<Tag>().stream().count().await, 2_501);
}
