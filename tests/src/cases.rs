//! The checks, one module per area of the shared semantics. Each check takes a
//! [`Fixture`](crate::Fixture) and panics with a message when a rule does not hold.

pub mod aggregates;
pub mod bulk;
pub mod errors;
pub mod evolution;
pub mod field_types;
pub mod filters;
pub mod ids;
pub mod indexes;
pub mod isolation;
pub mod live;
pub mod migrations;
pub mod one_shot;
pub mod ordering;
pub mod paging;
pub mod records;
pub mod relations;
pub mod retries;
pub mod schema;
pub mod streaming;
pub mod timestamps;
pub mod unique;
pub mod upsert;
pub mod values;
pub mod writes_by_filter;

use chrono::{DateTime, NaiveDate, Utc};
use plinth::{Database, Entity, Record};

use crate::entities::all_tables;
use crate::Fixture;

/// Opens the check's database with every suite table created.
pub(crate) async fn setup(fixture: &mut impl Fixture) -> Database {
    let db = fixture.open().await;
    db.create_all(&all_tables()).await.expect("create_all on an empty database");
    db
}

/// Adds `entities` in one committed session and returns the records.
pub(crate) async fn committed<E: Entity>(db: &Database, entities: Vec<E>) -> Vec<Record<E>> {
    let mut session = db.session().await.expect("session");
    let records = session.add_all(entities).await.expect("add_all");
    session.commit().await.expect("commit");
    records
}

/// The ids of `records`, in order.
pub(crate) fn ids<E>(records: &[Record<E>]) -> Vec<i64> {
    records.iter().map(|r| r.id().get()).collect()
}

/// A calendar date.
pub(crate) fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

/// A UTC timestamp from an RFC 3339 string.
pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("a valid RFC 3339 timestamp").to_utc()
}

/// The query data set, committed; ids 1 to 7 in this order.
///
/// | id | name        | rank | price | label     | active | added_on   |
/// |----|-------------|------|-------|-----------|--------|------------|
/// | 1  | apple       | 3    | 1.5   | fruit     | true   | 2024-01-03 |
/// | 2  | Banana      | NULL | 0.25  | fruit     | false  | 2024-01-01 |
/// | 3  | cherry      | 1    | 10.0  | NULL      | true   | 2024-02-29 |
/// | 4  | ápple       | 3    | -2.0  | Fruit     | true   | 2023-12-31 |
/// | 5  | 😀 emoji    | 2    | 0.0   | 50% off   | false  | 2024-01-03 |
/// | 6  | Zed         | NULL | 99.99 | a_b       | true   | 2025-06-30 |
/// | 7  | apple pie   | 10   | 1.5   | (empty)   | false  | 2024-01-02 |
pub(crate) async fn items(fixture: &mut impl Fixture) -> Database {
    use crate::entities::Item;
    let db = setup(fixture).await;
    let row = |name: &str, rank, price, label: Option<&str>, active, added_on| Item {
        name: name.to_owned(),
        rank,
        price,
        label: label.map(str::to_owned),
        active,
        added_on,
    };
    committed(
        &db,
        vec![
            row("apple", Some(3), 1.5, Some("fruit"), true, date(2024, 1, 3)),
            row("Banana", None, 0.25, Some("fruit"), false, date(2024, 1, 1)),
            row("cherry", Some(1), 10.0, None, true, date(2024, 2, 29)),
            row("ápple", Some(3), -2.0, Some("Fruit"), true, date(2023, 12, 31)),
            row("😀 emoji", Some(2), 0.0, Some("50% off"), false, date(2024, 1, 3)),
            row("Zed", None, 99.99, Some("a_b"), true, date(2025, 6, 30)),
            row("apple pie", Some(10), 1.5, Some(""), false, date(2024, 1, 2)),
        ],
    )
    .await;
    db
}

/// The ids of the items matching `filter`, in `id` order.
pub(crate) async fn item_ids(db: &Database, filter: plinth::Filter) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    let rows = session.query::<crate::entities::Item>().filter_by(filter).all().await;
    ids(&rows.expect("query"))
}

/// The ids of all items in the order given by `order`.
pub(crate) async fn item_order(db: &Database, order: Vec<plinth::Order>) -> Vec<i64> {
    let mut session = db.session().await.expect("session");
    let mut query = session.query::<crate::entities::Item>();
    for key in order {
        query = query.then_order(key);
    }
    ids(&query.all().await.expect("query"))
}
