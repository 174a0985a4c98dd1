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

/// A stream in id order over more rows than a page (where a store pages) gives what
/// `all` gives with the session's own writes over the committed rows — updated,
/// deleted and new rows, in and across pages — and with a filter, offset and limit.
pub async fn a_stream_in_id_order_sees_the_sessions_writes_across_pages(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let tags: Vec<Tag> = (0..1_300).map(|i| Tag { label: Some(format!("t{i:04}")), weight: i % 5 }).collect();
    session.add_all(tags).await.expect("add_all");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let moved = session.query::<Tag>().filter(|c| c.label.like("t0%7")).update(|c| c.weight.set(9)).await;
    assert_eq!(moved.expect("update across pages"), 100);
    let gone = session.query::<Tag>().filter(|c| c.label.like("t1%3")).delete().await;
    assert_eq!(gone.expect("delete across pages"), 30);
    session.add_all((0..20).map(|i| Tag { label: Some(format!("new {i}")), weight: 9 })).await.expect("add");
    let windows = [(None, 0), (Some(1_000), 3), (Some(7), 640)];
    for (limit, offset) in windows {
        for filter in [Filter::And(Vec::new()), Filter::column("weight").eq(9_i32)] {
            let whole =
                ids(&window(session.query::<Tag>().filter_by(filter.clone()), limit, offset).all().await.expect("all"));
            let streamed = window(session.query::<Tag>().filter_by(filter.clone()), limit, offset).stream();
            let records: Vec<_> = streamed.try_collect().await.expect("stream");
            assert_eq!(ids(&records), whole, "{filter:?} limit {limit:?} offset {offset}");
        }
    }
}

/// `query` with an offset and, if any, a limit.
fn window<E: plinth::Entity>(query: plinth::Query<'_, E>, limit: Option<u64>, offset: u64) -> plinth::Query<'_, E> {
    match limit {
        Some(limit) => query.offset(offset).limit(limit),
        None => query.offset(offset),
    }
}
