//! Mistakes in queries are clear errors before any I/O.

use plinth::{Error, Filter, Order};
use serde_json::json;

use crate::cases::{committed, ids, items, setup};
use crate::entities::{Item, Sample};
use crate::Fixture;

/// A column the table does not have, in a filter or a sort key.
pub async fn unknown_columns_are_refused_before_io(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let result = session.query::<Item>().filter_by(Filter::column("nmae").eq("apple")).all().await;
    assert!(
        matches!(result, Err(Error::UnknownColumn { table, ref column }) if table == "items" && column == "nmae"),
        "{result:?}"
    );
    let result = session.query::<Item>().then_order(Order::asc("prize")).all().await;
    assert!(matches!(result, Err(Error::UnknownColumn { ref column, .. }) if column == "prize"), "{result:?}");
    let message = Error::UnknownColumn { table: "items", column: "nmae".into() }.to_string();
    assert_eq!(message, "table `items` has no column `nmae`");
}

/// A value of the wrong type, or one that does not fit the column.
pub async fn wrong_types_are_refused_before_io(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let result = session.query::<Item>().filter_by(Filter::column("rank").eq("three")).count().await;
    assert!(matches!(result, Err(Error::TypeMismatch { column, .. }) if column == "rank"), "{result:?}");
    let result = session.query::<Item>().filter_by(Filter::column("rank").gt(i64::MAX)).count().await;
    assert!(matches!(result, Err(Error::TypeMismatch { .. })), "{result:?}");
    let result = session.query::<Item>().filter_by(Filter::column("price").like("1%")).count().await;
    assert!(matches!(result, Err(Error::TypeMismatch { .. })), "{result:?}");
    let result = session.query::<Item>().filter_by(Filter::column("name").eq(plinth::Value::Null)).count().await;
    assert!(matches!(result, Err(Error::InvalidValue { .. })), "{result:?}");
    let widened = session.query::<Item>().filter_by(Filter::column("rank").eq(3_i64)).count().await;
    assert_eq!(widened.expect("an i64 that fits an i32 column is fine"), 2);
}

/// JSON columns take only `is_null`.
pub async fn json_columns_refuse_comparisons(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let result = session.query::<Sample>().filter_by(Filter::column("doc").eq(json!({"k": "v"}))).all().await;
    assert!(matches!(result, Err(Error::InvalidValue { column, .. }) if column == Some("doc")), "{result:?}");
    let result = session.query::<Sample>().then_order(Order::asc("doc")).all().await;
    assert!(matches!(result, Err(Error::InvalidValue { .. })), "{result:?}");
    drop(session);
    let stored = committed(
        &db,
        vec![
            Sample { maybe_doc: None, ..Sample::plain() },
            Sample { maybe_doc: Some(json!(null)), ..Sample::plain() },
            Sample { maybe_doc: Some(json!({"k": null})), ..Sample::plain() },
        ],
    )
    .await;
    let mut session = db.session().await.expect("session");
    let null = session.query::<Sample>().filter(|c| c.maybe_doc.is_null()).all().await;
    assert_eq!(ids(&null.expect("is_null works on JSON")), [stored[0].id()], "a JSON null document is not SQL NULL");
    let not_null = session.query::<Sample>().filter(|c| c.maybe_doc.is_not_null()).all().await;
    assert_eq!(ids(&not_null.expect("is_not_null works on JSON")), [stored[1].id(), stored[2].id()]);
}

/// Using a table before `create_all` names the table and says what to do.
pub async fn a_table_never_created_is_reported(fx: &mut impl Fixture) {
    let db = fx.open().await;
    let mut session = db.session().await.expect("session");
    let result = session
        .add(Item {
            name: "x".into(),
            rank: None,
            price: 1.0,
            label: None,
            active: true,
            added_on: crate::cases::date(2024, 1, 1),
        })
        .await;
    assert!(matches!(result, Err(Error::NoSuchTable { table }) if table == "items"), "{result:?}");
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("create_all"), "{message}");
}

/// Bad input is refused before any I/O: on a database whose tables were never created,
/// every bad value, filter or order is its validation error, not `NoSuchTable` (which
/// only a store that was asked could report).
pub async fn bad_input_is_refused_before_any_io(fx: &mut impl Fixture) {
    let db = fx.open().await;
    let mut session = db.session().await.expect("session");
    let invalid = |result: &plinth::Result<_>, column: &str| matches!(result, Err(Error::InvalidValue { column: c, .. }) if *c == Some(column));
    let nan = session.add(Sample { double: f64::NAN, ..Sample::plain() }).await.map(drop);
    assert!(invalid(&nan, "double"), "{nan:?}");
    let nul = session.add(Sample { text: "a\0b".into(), ..Sample::plain() }).await.map(drop);
    assert!(invalid(&nul, "text"), "{nul:?}");
    let year = session.add(Sample { day: crate::cases::date(10_000, 1, 1), ..Sample::plain() }).await.map(drop);
    assert!(invalid(&year, "day"), "{year:?}");
    let batch = session.add_all(vec![Sample::plain(), Sample { single: f32::INFINITY, ..Sample::plain() }]).await;
    let batch = batch.map(drop);
    assert!(invalid(&batch, "single"), "{batch:?}");
    let unknown = session.query::<Item>().filter_by(Filter::column("nmae").eq("x")).all().await.map(drop);
    assert!(matches!(unknown, Err(Error::UnknownColumn { .. })), "{unknown:?}");
    let wrong = session.query::<Item>().filter_by(Filter::column("rank").eq("three")).count().await.map(drop);
    assert!(matches!(wrong, Err(Error::TypeMismatch { .. })), "{wrong:?}");
    let like = session.query::<Item>().filter_by(Filter::column("price").like("1%")).first().await.map(drop);
    assert!(matches!(like, Err(Error::TypeMismatch { .. })), "{like:?}");
    let order = session.query::<Sample>().then_order(Order::asc("doc")).all().await.map(drop);
    assert!(invalid(&order, "doc"), "{order:?}");
    // The store really has no tables: a valid write reaches it and is refused there.
    let valid = session.add(Sample::plain()).await.map(drop);
    assert!(matches!(valid, Err(Error::NoSuchTable { table }) if table == "samples"), "{valid:?}");
}
