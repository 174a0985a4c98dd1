//! Rule 5 through an index: a filter on an indexed column gives the same rows as the
//! same filter where no index can serve it (a store that reads its index for the one
//! must agree with a scan for the other), for every type, with the session's own writes.

use chrono::{DateTime, NaiveDate, Utc};
use plinth::{Database, Entity, Filter, Session};
use uuid::Uuid;

use crate::cases::{at, committed, date, ids};
use crate::entities::Gauge;
use crate::Fixture;

fn c() -> <Gauge as Entity>::Columns {
    Gauge::columns()
}

/// One gauge; `note` is the column without an index.
#[allow(clippy::too_many_arguments)]
fn gauge(
    level: i64,
    small: Option<i16>,
    reading: f64,
    ratio: Option<f32>,
    tag: &str,
    day: Option<NaiveDate>,
    moment: DateTime<Utc>,
    blob: &[u8],
    key: Option<u128>,
    note: &str,
) -> Gauge {
    Gauge {
        level,
        small,
        reading,
        ratio,
        tag: tag.to_owned(),
        day,
        moment,
        flag: note == "b",
        blob: blob.to_vec(),
        key: key.map(Uuid::from_u128),
        note: note.to_owned(),
    }
}

/// The gauges, committed; ids 1 to 10 in this order. `flag` is true where `note` is
/// `b`. Extremes, signed zeros, supplementary-plane text beside the private use area
/// (UTF-16 order differs there), `NULL`s and repeated values.
async fn gauges(fixture: &mut impl Fixture) -> Database {
    let db = fixture.open().await;
    db.create_all(&[Gauge::table()]).await.expect("create_all");
    let max_key = u128::MAX;
    committed(
        &db,
        vec![
            gauge(
                i64::MIN,
                Some(i16::MIN),
                -1e300,
                Some(-0.0),
                "",
                Some(date(1, 1, 1)),
                at("1900-01-01T00:00:00Z"),
                &[],
                Some(0),
                "a",
            ),
            gauge(
                -5,
                None,
                -0.0,
                None,
                "a",
                Some(date(9999, 12, 31)),
                at("1969-12-31T23:59:59.999999Z"),
                &[0],
                Some(max_key),
                "b",
            ),
            gauge(-1, Some(0), 0.0, Some(0.0), "B", None, at("1970-01-01T00:00:00Z"), &[0, 0], None, "a"),
            gauge(
                0,
                Some(i16::MAX),
                1.5,
                Some(1.5),
                "\u{FFFD}",
                Some(date(2024, 2, 29)),
                at("2024-02-29T12:00:00.000001Z"),
                &[255],
                Some(1),
                "b",
            ),
            gauge(
                1,
                Some(-1),
                -2.5,
                Some(-2.5),
                "\u{1F600}",
                Some(date(2024, 3, 1)),
                at("2999-12-31T23:59:59Z"),
                &[1, 2],
                None,
                "a",
            ),
            gauge(
                5,
                None,
                f64::MIN_POSITIVE,
                None,
                "\u{E000}",
                None,
                at("2024-02-29T12:00:00Z"),
                &[0x80],
                Some(1 << 127),
                "b",
            ),
            gauge(
                5,
                Some(5),
                1e300,
                Some(3.0e38),
                "ab",
                Some(date(1999, 12, 31)),
                at("2000-01-01T00:00:00Z"),
                &[0x7f, 0xff],
                None,
                "a",
            ),
            gauge(
                i64::MAX,
                Some(5),
                0.1,
                Some(-1e-30),
                "a\u{10FFFF}",
                Some(date(2000, 1, 1)),
                at("1999-12-31T23:59:59.999999Z"),
                &[0, 1],
                Some(max_key >> 1),
                "b",
            ),
            gauge(
                3,
                Some(1),
                -0.1,
                Some(0.25),
                "zz",
                Some(date(2024, 1, 1)),
                at("1970-01-01T00:00:00.000001Z"),
                &[0xff, 0],
                Some(0),
                "a",
            ),
            gauge(7, None, 2.0, None, "é", Some(date(2023, 12, 31)), at("2024-02-29T12:00:00Z"), &[2], None, "b"),
        ],
    )
    .await;
    db
}

/// The ids of the gauges matching `filter`, in `id` order.
async fn gauge_ids(db: &Database, filter: Filter) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    ids(&session.query::<Gauge>().filter_by(filter).all().await.expect("query"))
}

/// The ids of the gauges matching `filter` as `session` sees them, in `id` order.
async fn session_ids(session: &mut Session, filter: Filter) -> Vec<i64> {
    ids(&session.query::<Gauge>().filter_by(filter).all().await.expect("query"))
}

/// Comparisons, lists and ranges on every indexed type give what a scan gives, and
/// what the values say.
pub async fn filters_on_indexed_columns_match_a_scan(fx: &mut impl Fixture) {
    let db = gauges(fx).await;
    let anchored: Vec<(Filter, Vec<i64>)> = vec![
        (c().level.lt(0), vec![1, 2, 3]),
        (c().level.eq(5), vec![6, 7]),
        (c().level.ge(-1).and(c().level.lt(5)), vec![3, 4, 5, 9]),
        (c().reading.eq(0.0), vec![2, 3]),
        (c().ratio.eq(-0.0), vec![1, 3]),
        (c().small.lt(0_i16), vec![1, 5]),
        (c().tag.gt("\u{FFFD}"), vec![5]),
        (c().tag.lt("\u{E000}"), vec![1, 2, 3, 7, 8, 9, 10]),
        (c().blob.lt(vec![0, 0]), vec![1, 2]),
        (c().day.ge(date(2024, 1, 1)), vec![2, 4, 5, 9]),
        (c().moment.lt(at("1970-01-01T00:00:00Z")), vec![1, 2]),
        (c().key.gt(Uuid::nil()), vec![2, 4, 6, 8]),
        (c().flag.eq(true), vec![2, 4, 6, 8, 10]),
        (c().level.is_in([5, -1, 42]), vec![3, 6, 7]),
        (c().level.gt(5).and(c().level.lt(5)), vec![]),
        (c().level.is_in(Vec::<i64>::new()), vec![]),
    ];
    for (filter, expected) in anchored {
        assert_eq!(gauge_ids(&db, filter.clone()).await, expected, "{filter:?}");
    }

    let differential: Vec<Filter> = vec![
        c().level.eq(i64::MIN),
        c().level.le(0),
        c().level.gt(0),
        c().level.ge(i64::MAX),
        c().level.ge(5).and(c().level.le(5)),
        c().level.gt(1).and(c().level.ge(3)).and(c().level.lt(7)),
        c().level.ge(0).and(c().note.eq("a")),
        c().level.ge(0).and(c().level.is_in([1, 7, 9])),
        c().small.ge(0_i16),
        c().small.eq(5_i16),
        c().small.is_in([5_i16, i16::MAX]),
        c().small.gt(i16::MIN).and(c().small.lt(i16::MAX)),
        c().reading.eq(-0.0),
        c().reading.lt(0.0),
        c().reading.le(-0.0),
        c().reading.gt(-1e300),
        c().reading.ge(f64::MIN_POSITIVE),
        c().reading.is_in([0.0, 1e300]),
        c().ratio.eq(0.0),
        c().ratio.lt(1.0),
        c().ratio.gt(-1e-30),
        c().tag.eq(""),
        c().tag.ge("a").and(c().tag.lt("b")),
        c().tag.gt("a"),
        c().tag.le("\u{1F600}"),
        c().tag.is_in(["B", "\u{1F600}", "missing"]),
        c().day.lt(date(2000, 1, 1)),
        c().day.eq(date(9999, 12, 31)),
        c().day.ge(date(1, 1, 1)).and(c().day.le(date(2024, 2, 29))),
        c().moment.eq(at("2024-02-29T12:00:00Z")),
        c().moment.ge(at("1970-01-01T00:00:00Z")),
        c().moment.gt(at("1999-12-31T23:59:59.999999Z")).and(c().moment.lt(at("2999-12-31T23:59:59Z"))),
        c().flag.lt(true),
        c().flag.ge(false),
        c().blob.gt(vec![0x7f]),
        c().blob.eq(Vec::new()),
        c().blob.le(vec![0, 1]),
        c().key.eq(Uuid::from_u128(u128::MAX)),
        c().key.lt(Uuid::from_u128(1 << 127)),
        c().key.is_in([Uuid::nil(), Uuid::from_u128(1)]),
    ];
    for filter in differential {
        let through_index = gauge_ids(&db, filter.clone()).await;
        // `NOT NOT`: the same rows, through no index.
        let scanned = gauge_ids(&db, !!filter.clone()).await;
        assert_eq!(through_index, scanned, "{filter:?}");
    }
}

/// Updates, deletes and inserts move rows in and out of what an indexed filter
/// selects: staged in the session, committed for every other, and rolled back.
pub async fn indexed_filters_follow_writes_and_the_sessions_own(fx: &mut impl Fixture) {
    let db = gauges(fx).await;
    let mut session = db.session().await.expect("session");
    let mut seven = session.get::<Gauge>(7).await.expect("get").expect("row 7");
    seven.level = 100;
    seven.small = None;
    session.update(&mut seven).await.expect("update");
    let six = session.get::<Gauge>(6).await.expect("get").expect("row 6");
    session.delete(six).await.expect("delete");
    let added =
        session.add(gauge(5, Some(5), 0.5, None, "new", None, at("2024-01-01T00:00:00Z"), &[], None, "a")).await;
    let added = added.expect("add").id().get();
    assert_eq!(session_ids(&mut session, c().level.eq(5)).await, [added]);
    assert_eq!(session_ids(&mut session, c().level.eq(100)).await, [7]);
    assert_eq!(session_ids(&mut session, c().small.eq(5_i16)).await, [8, added]);
    assert_eq!(gauge_ids(&db, c().level.eq(5)).await, [6, 7], "another session sees the committed rows");
    session.commit().await.expect("commit");

    assert_eq!(gauge_ids(&db, c().level.eq(5)).await, [added]);
    assert_eq!(gauge_ids(&db, c().level.eq(100)).await, [7]);
    assert_eq!(gauge_ids(&db, c().small.eq(5_i16)).await, [8, added]);
    assert_eq!(gauge_ids(&db, c().tag.eq("\u{E000}")).await, Vec::<i64>::new());

    // A write to the column without an index keeps the row where its indexes have it.
    let mut session = db.session().await.expect("session");
    let mut seven = session.get::<Gauge>(7).await.expect("get").expect("row 7");
    seven.note = "changed".into();
    session.update(&mut seven).await.expect("update");
    session.commit().await.expect("commit");
    assert_eq!(gauge_ids(&db, c().level.eq(100)).await, [7]);

    let mut rolled_back = db.session().await.expect("session");
    let mut one = rolled_back.get::<Gauge>(1).await.expect("get").expect("row 1");
    one.level = 5;
    rolled_back.update(&mut one).await.expect("update");
    rolled_back.rollback().await.expect("rollback");
    assert_eq!(gauge_ids(&db, c().level.eq(5)).await, [added]);
    assert_eq!(gauge_ids(&db, c().level.eq(i64::MIN)).await, [1]);
}
