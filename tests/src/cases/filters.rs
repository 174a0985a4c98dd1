//! Rules 5–6: every filter gives the same rows on every backend (see
//! [`items`](crate::cases::items) for the data).

use plinth::{Entity, Error, Filter};

use crate::cases::{at, committed, date, ids, item_ids, items, setup};
use crate::entities::{Item, Sample, User};
use crate::Fixture;

fn c() -> <Item as Entity>::Columns {
    Item::columns()
}

/// `eq` and `ne`; `ne` does not match `NULL`.
pub async fn eq_and_ne_skip_nulls(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().name.eq("apple")).await, [1]);
    assert_eq!(item_ids(&db, c().label.eq("fruit")).await, [1, 2]);
    assert_eq!(item_ids(&db, c().label.ne("fruit")).await, [4, 5, 6, 7]);
    assert_eq!(item_ids(&db, c().rank.ne(3)).await, [3, 5, 7]);
    assert_eq!(item_ids(&db, c().price.eq(1.5)).await, [1, 7]);
    assert_eq!(item_ids(&db, c().name.eq("APPLE")).await, Vec::<i64>::new());
}

/// Order comparisons on integers and floats; `NULL` never matches.
pub async fn lt_le_gt_ge_on_numbers(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().rank.lt(3)).await, [3, 5]);
    assert_eq!(item_ids(&db, c().rank.le(3)).await, [1, 3, 4, 5]);
    assert_eq!(item_ids(&db, c().rank.gt(3)).await, [7]);
    assert_eq!(item_ids(&db, c().rank.ge(3)).await, [1, 4, 7]);
    assert_eq!(item_ids(&db, c().price.gt(1.5)).await, [3, 6]);
    assert_eq!(item_ids(&db, c().price.ge(1.5)).await, [1, 3, 6, 7]);
    assert_eq!(item_ids(&db, c().price.lt(0.0)).await, [4]);
    assert_eq!(item_ids(&db, c().price.le(0.0)).await, [4, 5]);
}

/// Text comparisons use UTF-8 byte order: upper case before lower, accents after.
pub async fn text_compares_by_bytes(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().name.gt("Zed")).await, [1, 3, 4, 5, 7]);
    assert_eq!(item_ids(&db, c().name.lt("a")).await, [2, 6]);
    assert_eq!(item_ids(&db, c().name.ge("apple")).await, [1, 3, 4, 5, 7]);
    assert_eq!(item_ids(&db, c().name.gt("z")).await, [4, 5]);
    assert_eq!(item_ids(&db, c().label.lt("a")).await, [4, 5, 7]);
}

/// LIKE: case-sensitive, `%` any run, `_` one character, `\` escapes.
pub async fn like_is_case_sensitive_with_wildcards_and_escapes(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().name.like("apple%")).await, [1, 7]);
    assert_eq!(item_ids(&db, c().name.like("%pple")).await, [1, 4]);
    assert_eq!(item_ids(&db, c().name.like("_pple")).await, [1, 4]);
    assert_eq!(item_ids(&db, c().name.like("A%")).await, Vec::<i64>::new());
    assert_eq!(item_ids(&db, c().name.like("%e%")).await, [1, 3, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, c().name.like("_ emoji")).await, [5]);
    assert_eq!(item_ids(&db, c().label.like("50\\% off")).await, [5]);
    assert_eq!(item_ids(&db, c().label.like("50\\%")).await, Vec::<i64>::new());
    assert_eq!(item_ids(&db, c().label.like("a\\_b")).await, [6]);
    assert_eq!(item_ids(&db, c().label.like("%")).await, [1, 2, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, c().label.like("")).await, [7]);
    let typed = format!("%{}%", plinth::like_escape("% o"));
    assert_eq!(item_ids(&db, c().label.like(typed)).await, [5]);
}

/// `is_in` matches any listed value; an empty list matches nothing.
pub async fn in_matches_listed_values_and_empty_in_matches_nothing(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().rank.is_in([1, 2])).await, [3, 5]);
    assert_eq!(item_ids(&db, c().label.is_in(["fruit", "Fruit"])).await, [1, 2, 4]);
    assert_eq!(item_ids(&db, c().name.is_in(Vec::<String>::new())).await, Vec::<i64>::new());
    assert_eq!(item_ids(&db, !c().name.is_in(Vec::<String>::new())).await, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, !c().rank.is_in(Vec::<i32>::new())).await, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, Filter::column("price").eq(-0.0_f64)).await, [5]);
    assert_eq!(item_ids(&db, c().id.is_in([7, 2, 99])).await, [2, 7]);
}

/// A list of any length works, the same everywhere: 70,000 values, past every SQL
/// database's limit on a statement's parameters (65,535 and 32,766), of each type a
/// list can hold.
pub async fn in_with_a_list_longer_than_any_parameter_limit(fx: &mut impl Fixture) {
    const LONG: i32 = 70_000;
    let db = items(fx).await;
    let names = (0..LONG).map(|i| format!("name {i}")).chain(["cherry".to_owned(), "Zed".to_owned()]);
    assert_eq!(item_ids(&db, c().name.is_in(names.clone())).await, [3, 6]);
    assert_eq!(item_ids(&db, c().id.is_in((1..=i64::from(LONG)).filter(|i| i % 2 == 0))).await, [2, 4, 6]);
    let prices = (0..LONG).map(|i| f64::from(i) / 4.0 + 1_000.0).chain([1.5, 0.25]);
    assert_eq!(item_ids(&db, c().price.is_in(prices)).await, [1, 2, 7]);
    assert_eq!(item_ids(&db, c().rank.is_in((3..LONG).rev())).await, [1, 4, 7]);
    let days = (0..i64::from(LONG)).map(|n| date(1900, 1, 1) + chrono::Days::new(n.unsigned_abs()));
    let days: Vec<_> = days.filter(|d| *d != date(2024, 1, 3)).collect();
    assert_eq!(item_ids(&db, c().added_on.is_in(days.clone())).await, [2, 3, 4, 6, 7]);
    assert_eq!(item_ids(&db, !c().added_on.is_in(days)).await, [1, 5]);
    assert_eq!(item_ids(&db, c().active.is_in([false])).await, [2, 5, 7]);
    let mut session = db.session().await.expect("session");
    let counted = session.query::<Item>().filter(|c| c.name.is_in(names.clone())).count().await;
    assert_eq!(counted.expect("count"), 2);

    let samples = committed(
        &db,
        vec![
            Sample { blob: vec![0, 255], moment: at("2024-01-01T00:00:00.000001Z"), ..Sample::plain() },
            Sample { blob: vec![7], moment: at("1999-12-31T23:59:59Z"), ..Sample::plain() },
        ],
    )
    .await;
    let blobs = (0..LONG).map(|i| i.to_be_bytes().to_vec()).chain([vec![0, 255]]);
    let found = session.query::<Sample>().filter(|c| c.blob.is_in(blobs)).all().await.expect("query");
    assert_eq!(ids(&found), [samples[0].id()]);
    let start = at("2000-01-01T00:00:00Z");
    let moments =
        (0..i64::from(LONG)).map(|s| start + chrono::TimeDelta::seconds(s)).chain([at("1999-12-31T23:59:59Z")]);
    let found = session.query::<Sample>().filter(|c| c.moment.is_in(moments)).all().await.expect("query");
    assert_eq!(ids(&found), [samples[1].id()]);
}

/// A filter of the largest size allowed works everywhere (a thousand conditions, which
/// SQL must not nest a thousand deep), and one condition more is refused the same way
/// everywhere, before any I/O.
pub async fn a_filter_of_the_largest_size_works_and_a_larger_one_is_refused(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let conditions = |n: usize| {
        let names = (0..n - 2).map(|i| c().name.eq(format!("name {i}")));
        names.fold(c().name.eq("apple"), Filter::or).or(c().rank.eq(10))
    };
    assert_eq!(item_ids(&db, conditions(plinth::backend::MAX_CONDITIONS)).await, [1, 7]);
    // An even number of `!`, as deep as allowed: the same as no `!` at all.
    let nested = (0..plinth::backend::MAX_NESTING).fold(c().rank.eq(3), |f, _| !f);
    assert_eq!(item_ids(&db, nested.clone()).await, [1, 4]);
    let mut session = db.session().await.expect("session");
    let refused = session.query::<Item>().filter_by(conditions(plinth::backend::MAX_CONDITIONS + 1)).all().await;
    assert!(
        matches!(refused, Err(Error::InvalidValue { ref reason, .. }) if reason.contains("conditions")),
        "{refused:?}"
    );
    let refused = session.query::<Item>().filter_by(!nested).count().await;
    assert!(matches!(refused, Err(Error::InvalidValue { ref reason, .. }) if reason.contains("deep")), "{refused:?}");
}

/// `is_null` and `is_not_null`.
pub async fn is_null_and_is_not_null(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().rank.is_null()).await, [2, 6]);
    assert_eq!(item_ids(&db, c().label.is_null()).await, [3]);
    assert_eq!(item_ids(&db, c().label.is_not_null()).await, [1, 2, 4, 5, 6, 7]);
}

/// `and`, `or` and `!` follow SQL's three-valued logic around `NULL`.
pub async fn and_or_not_use_three_valued_logic(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_ids(&db, c().rank.gt(1).and(c().active.eq(true))).await, [1, 4]);
    assert_eq!(item_ids(&db, c().rank.eq(3).or(c().rank.is_null())).await, [1, 2, 4, 6]);
    assert_eq!(item_ids(&db, !c().rank.eq(3)).await, [3, 5, 7]);
    assert_eq!(item_ids(&db, !(c().rank.gt(100).or(c().label.eq("x")))).await, [1, 4, 5, 7]);
    assert_eq!(item_ids(&db, Filter::And(vec![])).await, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, Filter::Or(vec![])).await, Vec::<i64>::new());
    let nested = c().name.like("a%").and(c().price.gt(1.0).or(c().label.eq("fruit")));
    assert_eq!(item_ids(&db, nested).await, [1, 7]);
}

/// Dates, booleans and timestamps filter like numbers.
pub async fn dates_bools_and_timestamps_filter(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let january_to_february = c().added_on.ge(date(2024, 1, 2)).and(c().added_on.lt(date(2024, 3, 1)));
    assert_eq!(item_ids(&db, january_to_february).await, [1, 3, 5, 7]);
    assert_eq!(item_ids(&db, c().active.eq(false)).await, [2, 5, 7]);
    assert_eq!(item_ids(&db, c().created_at.le(plinth::backend::clock::now())).await, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(item_ids(&db, c().created_at.lt(at("2000-01-01T00:00:00Z"))).await, Vec::<i64>::new());
}

/// Filters by id and by unique column find exactly their row, committed or staged.
pub async fn filters_on_id_and_unique_columns(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("c")).await.expect("add");
    let by_id = session.query::<User>().filter(|u| u.id.eq(2)).all().await.expect("query");
    assert_eq!(by_id.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["b"]);
    let staged = session.query::<User>().filter(|u| u.username.eq("c")).all().await.expect("query");
    assert_eq!(staged.iter().map(|u| u.id()).collect::<Vec<_>>(), [3]);
    let both = session.query::<User>().filter(|u| u.username.eq("a").and(u.id.eq(2))).count().await;
    assert_eq!(both.expect("count"), 0);
    let missing = session.query::<User>().filter(|u| u.username.eq("zz")).first().await.expect("query");
    assert!(missing.is_none());
}

/// A query reflects the session's updates: a row edited to match is found, one
/// edited away is not.
pub async fn queries_see_the_sessions_own_writes(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let mut cherry = session.get::<Item>(3).await.expect("get").expect("exists");
    cherry.label = Some("fruit".into());
    session.update(&mut cherry).await.expect("update");
    let mut apple = session.get::<Item>(1).await.expect("get").expect("exists");
    apple.label = Some("gone".into());
    session.update(&mut apple).await.expect("update");
    let rows = session.query::<Item>().filter(|c| c.label.eq("fruit")).all().await.expect("query");
    assert_eq!(rows.iter().map(|r| r.id()).collect::<Vec<_>>(), [2, 3]);
}

/// Ranges of ids — one bound, two, none possible, past every id — select the same rows
/// on every backend (the record engine reads them by key range), the session's own
/// rows and deletes included.
pub async fn id_ranges_select_the_same_rows(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, (0..10).map(|i| User::named(&format!("u{i}"))).collect()).await;
    let mut session = db.session().await.expect("session");
    session.add(User::named("staged")).await.expect("add");
    session.delete_by_id::<User>(5).await.expect("delete");
    let cases: [(Filter, Vec<i64>); 7] = [
        (Filter::column("id").ge(9_i64), vec![9, 10, 11]),
        (Filter::column("id").gt(3_i64).and(Filter::column("id").le(6_i64)), vec![4, 6]),
        (Filter::column("id").lt(3_i64), vec![1, 2]),
        (Filter::column("id").gt(6_i64).and(Filter::column("id").lt(6_i64)), vec![]),
        (Filter::column("id").gt(i64::MAX - 1), vec![]),
        (Filter::column("id").ge(4_i64).and(Filter::column("username").eq("u6")), vec![7]),
        (Filter::column("id").le(2_i64).or(Filter::column("id").ge(11_i64)), vec![1, 2, 11]),
    ];
    for (filter, expected) in cases {
        let rows = session.query::<User>().filter_by(filter.clone()).all().await.expect("query");
        assert_eq!(ids(&rows), expected, "{filter:?}");
    }
}
