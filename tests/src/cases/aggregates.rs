//! Aggregates: `count`, `sum`, `avg`, `min`, `max` and `exists`, over every matching row
//! or grouped, give one answer on every backend (see [`items`](crate::cases::items) for
//! the data).

use plinth::count;

use crate::cases::{at, committed, date, items, setup};
use crate::entities::{Item, Sample};
use crate::Fixture;

/// Over every row: counts leave `NULL`s out, sums and averages of integers are exact,
/// extremes of text are by bytes; over no row, counts are 0 and the rest `None`.
pub async fn aggregates_over_all_rows_and_over_none(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let all = session
        .query::<Item>()
        .aggregate(|c| (count(), c.rank.count(), c.rank.sum(), c.rank.avg(), c.rank.min(), c.rank.max()))
        .await
        .expect("aggregate over every item");
    assert_eq!(all, (7, 5, Some(19), Some(3.8), Some(1), Some(10)));
    let text = session
        .query::<Item>()
        .aggregate(|c| (c.name.min(), c.name.max(), c.label.min(), c.label.max()))
        .await
        .expect("extremes of text");
    let text = (text.0.as_deref(), text.1.as_deref(), text.2.as_deref(), text.3.as_deref());
    assert_eq!(text, (Some("Banana"), Some("😀 emoji"), Some(""), Some("fruit")));
    let rest = session
        .query::<Item>()
        .aggregate(|c| {
            (c.added_on.min(), c.added_on.max(), c.active.min(), c.active.max(), c.price.min(), c.price.max())
        })
        .await
        .expect("extremes of dates, booleans, floats");
    assert_eq!(
        rest,
        (Some(date(2023, 12, 31)), Some(date(2025, 6, 30)), Some(false), Some(true), Some(-2.0), Some(99.99))
    );
    // Sums whose every partial sum is exact in f64, so the order rows are added in
    // cannot change them.
    let floats = session
        .query::<Item>()
        .filter(|c| c.price.lt(50.0))
        .aggregate(|c| (c.price.sum(), c.price.avg()))
        .await
        .expect("float sum");
    assert_eq!(floats, (Some(11.25), Some(1.875)));
    let none = session
        .query::<Item>()
        .filter(|c| c.name.eq("nobody"))
        .aggregate(|c| (count(), c.rank.count(), c.rank.sum(), c.price.avg(), c.name.max()))
        .await
        .expect("aggregate over no row");
    assert_eq!(none, (0, 0, None, None, None));
    let only_nulls =
        session.query::<Item>().filter(|c| c.rank.is_null()).aggregate(|c| (c.rank.sum(), c.rank.avg(), c.rank.min()));
    assert_eq!(only_nulls.await.expect("aggregate over NULLs"), (None, None, None));
}

/// `exists` says whether any row matches.
pub async fn exists_says_whether_any_row_matches(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    assert!(session.query::<Item>().exists().await.expect("exists"));
    assert!(session.query::<Item>().filter(|c| c.name.like("apple%")).exists().await.expect("exists"));
    assert!(!session.query::<Item>().filter(|c| c.name.eq("nobody")).exists().await.expect("exists"));
    assert!(!session.query::<Item>().offset(7).exists().await.expect("exists past the end"));
    assert!(session.query::<Item>().offset(6).exists().await.expect("exists at the end"));
}

/// Groups come in ascending key order by bytes, `NULL` last and one group of its own;
/// a filter applies before grouping, and no matching row gives no group.
pub async fn groups_are_ordered_by_key_with_null_last(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let by_label = session
        .query::<Item>()
        .group_by(|c| c.label)
        .aggregate(|c| (count(), c.rank.sum()))
        .await
        .expect("group by label");
    let label = |s: &str| Some(s.to_owned());
    assert_eq!(
        by_label,
        [
            (label(""), (1, Some(10))),
            (label("50% off"), (1, Some(2))),
            (label("Fruit"), (1, Some(3))),
            (label("a_b"), (1, None)),
            (label("fruit"), (2, Some(3))),
            (None, (1, Some(1))),
        ]
    );
    let by_two = session
        .query::<Item>()
        .group_by(|c| (c.active, c.rank))
        .aggregate(|c| (count(), c.name.max()))
        .await
        .expect("group by two columns");
    let name = |s: &str| Some(s.to_owned());
    assert_eq!(
        by_two,
        [
            ((false, Some(2)), (1, name("😀 emoji"))),
            ((false, Some(10)), (1, name("apple pie"))),
            ((false, None), (1, name("Banana"))),
            ((true, Some(1)), (1, name("cherry"))),
            ((true, Some(3)), (2, name("ápple"))),
            ((true, None), (1, name("Zed"))),
        ]
    );
    let active = session
        .query::<Item>()
        .filter(|c| c.active.eq(true))
        .group_by(|c| c.added_on)
        .aggregate(|_| count())
        .await
        .expect("filtered groups");
    let dates: Vec<_> = active.iter().map(|(day, n)| (*day, *n)).collect();
    assert_eq!(dates, [(date(2023, 12, 31), 1), (date(2024, 1, 3), 1), (date(2024, 2, 29), 1), (date(2025, 6, 30), 1)]);
    let none = session.query::<Item>().filter(|c| c.name.eq("nobody")).group_by(|c| c.label).aggregate(|_| count());
    assert_eq!(none.await.expect("no group"), []);
}

/// With `limit` or `offset`, aggregates cover the window the query's order leaves.
pub async fn aggregates_cover_the_window_of_limit_and_offset(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let top = session
        .query::<Item>()
        .order_by(|c| c.price.desc())
        .limit(3)
        .aggregate(|c| (count(), c.rank.sum(), c.price.min()))
        .await
        .expect("aggregate over a window");
    assert_eq!(top, (3, Some(4), Some(1.5)));
    let rest = session
        .query::<Item>()
        .order_by(|c| c.price.desc())
        .offset(3)
        .group_by(|c| c.active)
        .aggregate(|c| c.rank.sum())
        .await
        .expect("groups over a window");
    assert_eq!(rest, [(false, Some(12)), (true, Some(3))]);
}

/// Integer sums are exact past `i64` in both directions, and the average is the exact
/// sum over the count, rounded once.
pub async fn integer_sums_are_exact_past_i64(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let sample = |flag, big, medium| Sample { flag, big, medium, small: i16::MAX, ..Sample::plain() };
    committed(
        &db,
        vec![
            sample(true, i64::MAX, i32::MAX),
            sample(true, i64::MAX, i32::MAX),
            sample(false, i64::MIN, i32::MIN),
            sample(false, i64::MIN, i32::MIN),
            sample(false, -1, -1),
        ],
    )
    .await;
    let mut session = db.session().await.expect("session");
    let (max, min) = (i128::from(i64::MAX), i128::from(i64::MIN));
    let all = session
        .query::<Sample>()
        .aggregate(|c| (c.big.sum(), c.medium.sum(), c.small.sum(), c.maybe_big.sum(), c.big.max(), c.big.min()))
        .await
        .expect("sums of every row");
    let medium = 2 * i128::from(i32::MAX) + 2 * i128::from(i32::MIN) - 1;
    assert_eq!(
        all,
        (
            Some(2 * max + 2 * min - 1),
            Some(medium),
            Some(5 * i128::from(i16::MAX)),
            None,
            Some(i64::MAX),
            Some(i64::MIN)
        )
    );
    let by_flag = session
        .query::<Sample>()
        .group_by(|c| c.flag)
        .aggregate(|c| (c.big.sum(), c.big.avg()))
        .await
        .expect("sums per group");
    #[allow(clippy::cast_precision_loss)]
    let expected = [
        (false, (Some(2 * min - 1), Some((2 * min - 1) as f64 / 3.0))),
        (true, (Some(2 * max), Some((2 * max) as f64 / 2.0))),
    ];
    assert_eq!(by_flag, expected);
}

/// `min` and `max` of every ordered type are those `order_by` puts first and last.
pub async fn extremes_of_every_ordered_type(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let low = Sample {
        flag: false,
        small: -7,
        medium: -70,
        big: -700,
        single: -0.5,
        double: -2.25,
        text: "B".to_owned(),
        day: date(1999, 12, 31),
        moment: at("1999-12-31T23:59:59.999999Z"),
        blob: vec![1, 2],
        key: uuid::Uuid::from_u128(0x0f00_0000_0000_7000_8000_0000_0000_0001),
        maybe_text: Some("z".to_owned()),
        ..Sample::plain()
    };
    let high = Sample {
        flag: true,
        small: 7,
        medium: 70,
        big: 700,
        single: 0.5,
        double: 2.25,
        text: "a".to_owned(),
        day: date(2000, 1, 1),
        moment: at("2000-01-01T00:00:00Z"),
        blob: vec![255],
        key: uuid::Uuid::from_u128(0xf000_0000_0000_7000_8000_0000_0000_0000),
        maybe_text: None,
        ..Sample::plain()
    };
    let middle = Sample { blob: vec![1], text: "Ba".to_owned(), ..low.clone() };
    committed(&db, vec![high.clone(), middle, low.clone()]).await;
    let mut session = db.session().await.expect("session");
    let numbers = session
        .query::<Sample>()
        .aggregate(|c| (c.flag.min(), c.flag.max(), c.small.min(), c.medium.max(), c.big.min(), c.single.min()))
        .await
        .expect("extremes of numbers");
    assert_eq!(numbers, (Some(false), Some(true), Some(-7), Some(70), Some(-700), Some(-0.5)));
    let more = session
        .query::<Sample>()
        .aggregate(|c| (c.double.max(), c.text.min(), c.text.max(), c.day.min(), c.moment.max(), c.maybe_text.max()))
        .await
        .expect("extremes of text and time");
    assert_eq!(
        more,
        (
            Some(2.25),
            Some("B".to_owned()),
            Some("a".to_owned()),
            Some(low.day),
            Some(high.moment),
            Some("z".to_owned())
        )
    );
    let bytes = session
        .query::<Sample>()
        .aggregate(|c| (c.blob.min(), c.blob.max(), c.key.min(), c.key.max(), c.moment.min()))
        .await
        .expect("extremes of bytes and UUIDs");
    assert_eq!(bytes, (Some(vec![1]), Some(vec![255]), Some(low.key), Some(high.key), Some(low.moment)));
}

/// Aggregates see the session's own uncommitted writes, and other sessions do not.
pub async fn aggregates_see_the_sessions_own_writes(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let extra = Item {
        name: "fig".to_owned(),
        rank: Some(100),
        price: 2.0,
        label: Some("fruit".to_owned()),
        active: true,
        added_on: date(2024, 5, 1),
    };
    session.add(extra).await.expect("add");
    session.delete_by_id::<Item>(3).await.expect("delete cherry");
    let own = session.query::<Item>().aggregate(|c| (count(), c.rank.sum(), c.rank.max())).await;
    assert_eq!(own.expect("own view"), (7, Some(118), Some(100)));
    let fruit = session.query::<Item>().filter(|c| c.label.eq("fruit")).group_by(|c| c.active).aggregate(|_| count());
    assert_eq!(fruit.await.expect("own groups"), [(false, 1), (true, 2)]);
    let mut other = db.session().await.expect("second session");
    let theirs = other.query::<Item>().aggregate(|c| (count(), c.rank.sum())).await;
    assert_eq!(theirs.expect("other view"), (7, Some(19)));
}
