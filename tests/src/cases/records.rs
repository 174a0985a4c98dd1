//! Records: `to_dict`, get, update and delete.

use serde_json::json;

use crate::cases::{at, committed, date, setup};
use crate::entities::{Sample, Tag, User};
use crate::Fixture;
use plinth::{Entity, Error};

/// `to_dict` has `id`, the fields in declaration order, then the timestamps.
pub async fn to_dict_lists_columns_in_order(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let user = committed(&db, vec![User::named("example_user")]).await.remove(0);
    let dict = user.to_dict();
    let keys: Vec<&str> = dict.keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "username", "email_address", "created_at", "updated_at"]);
    assert_eq!(dict["id"], json!(1));
    assert_eq!(dict["username"], json!("example_user"));
    assert_eq!(dict["email_address"], json!("example_user@example.com"));
}

/// `to_dict` renders timestamps as RFC 3339 UTC with microseconds, dates as
/// `YYYY-MM-DD`, bytes as numbers, `None` as null.
pub async fn to_dict_formats_every_value_type(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut sample = Sample::plain();
    sample.moment = at("2024-02-29T12:34:56.789012Z");
    sample.maybe_text = Some("x".into());
    let row = committed(&db, vec![sample]).await.remove(0);
    let dict = row.to_dict();
    assert_eq!(dict["flag"], json!(true));
    assert_eq!(dict["small"], json!(1));
    assert_eq!(dict["single"], json!(0.5));
    assert_eq!(dict["day"], json!("2024-02-29"));
    assert_eq!(dict["moment"], json!("2024-02-29T12:34:56.789012Z"));
    assert_eq!(dict["doc"], json!({"k": "v"}));
    assert_eq!(dict["blob"], json!([0, 1, 2]));
    assert_eq!(dict["maybe_text"], json!("x"));
    assert_eq!(dict["maybe_big"], json!(null));
    let created = dict["created_at"].as_str().expect("created_at is a string");
    assert_eq!(created.len(), "2024-02-29T12:34:56.789012Z".len(), "{created}");
    assert!(created.ends_with('Z'), "{created}");
    assert_eq!(at(created), row.created_at());
}

/// `get` returns the entity that was added, with the same id and timestamps.
pub async fn get_returns_what_was_added(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let added = committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    let read = session.get::<User>(added[1].id()).await.expect("get").expect("row 2 exists");
    assert_eq!(read, added[1]);
    assert_eq!(read.entity(), &User::named("b"));
}

/// `get` of an id that was never stored is `None`, not an error.
pub async fn get_of_a_missing_id_is_none(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    committed(&db, vec![User::named("a")]).await;
    let mut session = db.session().await.expect("session");
    assert!(session.get::<User>(2).await.expect("get").is_none());
    assert!(session.get::<User>(0).await.expect("get").is_none());
    assert!(session.get::<User>(-1).await.expect("get").is_none());
    assert!(session.get::<User>(i64::MAX).await.expect("get").is_none());
}

/// `update` stores every field: each of the 24 changed (every option from `None` to
/// `Some`), then every option back to `None`.
pub async fn update_writes_every_field(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut row = committed(&db, vec![Sample::plain()]).await.remove(0);
    let changed = Sample {
        flag: false,
        small: -2,
        medium: -3,
        big: -42,
        single: 1.25,
        double: -0.75,
        text: "changed".into(),
        day: date(2000, 1, 1),
        moment: at("2001-02-03T04:05:06.070809Z"),
        doc: json!({"changed": [true]}),
        blob: vec![9, 8],
        key: uuid::Uuid::from_u128(u128::MAX),
        maybe_flag: Some(true),
        maybe_small: Some(5),
        maybe_medium: Some(6),
        maybe_big: Some(7),
        maybe_single: Some(8.5),
        maybe_double: Some(9.5),
        maybe_text: Some("now set".into()),
        maybe_day: Some(date(1999, 9, 9)),
        maybe_moment: Some(at("1999-09-09T09:09:09.999999Z")),
        maybe_doc: Some(json!([1, 2])),
        maybe_blob: Some(vec![0]),
        maybe_key: Some(uuid::Uuid::nil()),
    };
    let (before, after) = (Sample::plain().to_row(), changed.to_row());
    for ((column, old), new) in Sample::table().columns().iter().zip(before.values()).zip(after.values()) {
        assert_ne!(old, new, "the check must change column `{}`", column.name());
    }
    *row = changed.clone();
    let mut session = db.session().await.expect("session");
    session.update(&mut row).await.expect("update");
    session.commit().await.expect("commit");
    let read = db.session().await.expect("session").get::<Sample>(row.id()).await.expect("get");
    let mut read = read.expect("row exists");
    assert_eq!(read, row);
    assert_eq!(read.entity(), &changed);

    // Every nullable column of the changed sample set to NULL (every option to `None`).
    let values = changed.to_row().into_values().into_iter().zip(Sample::table().columns());
    let values = values.map(|(value, column)| if column.nullable() { plinth::Value::Null } else { value }).collect();
    let cleared = Sample::from_row(plinth::backend::Row::new(values)).expect("a row of Sample");
    assert_ne!(cleared, changed);
    *read = cleared.clone();
    let mut session = db.session().await.expect("session");
    session.update(&mut read).await.expect("update to None");
    session.commit().await.expect("commit");
    let again = db.session().await.expect("session").get::<Sample>(row.id()).await.expect("get");
    let again = again.expect("row exists");
    assert_eq!(again, read);
    assert_eq!(again.entity(), &cleared);
}

/// Setting a unique column from `Some` to `None` frees its value: another row can take
/// it, in the same session and after commit.
pub async fn a_unique_value_set_to_none_can_be_reused(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut tags = committed(&db, vec![Tag { label: Some("red".into()), weight: 1 }]).await;
    let mut session = db.session().await.expect("session");
    tags[0].label = None;
    session.update(&mut tags[0]).await.expect("update to None");
    let taken = session.add(Tag { label: Some("red".into()), weight: 2 }).await.expect("the freed value is free");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    let all = session.query::<Tag>().all().await.expect("query");
    assert_eq!(
        all.iter().map(|t| (t.id(), t.label.clone())).collect::<Vec<_>>(),
        [(tags[0].id(), None), (taken.id(), Some("red".into()))]
    );
    let dup = session.add(Tag { label: Some("red".into()), weight: 3 }).await;
    assert!(matches!(dup, Err(Error::UniqueViolation { column, .. }) if column == Some("label")), "{dup:?}");
}

/// Updating a row another session deleted is `NotFound`.
pub async fn update_of_a_deleted_row_is_not_found(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut row = committed(&db, vec![User::named("a")]).await.remove(0);
    let mut deleter = db.session().await.expect("session");
    deleter.delete_by_id::<User>(row.id()).await.expect("delete");
    deleter.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    row.username = "b".into();
    let result = session.update(&mut row).await;
    assert!(matches!(result, Err(Error::NotFound { table, id }) if table == "users" && id == 1), "{result:?}");
}

/// A deleted row is gone for `get` and for queries.
pub async fn delete_removes_the_row(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut rows = committed(&db, vec![User::named("a"), User::named("b")]).await;
    let mut session = db.session().await.expect("session");
    session.delete(rows.remove(0)).await.expect("delete");
    session.commit().await.expect("commit");
    let mut session = db.session().await.expect("session");
    assert!(session.get::<User>(1).await.expect("get").is_none());
    let left = session.query::<User>().all().await.expect("query");
    assert_eq!(left, rows);
}

/// Deleting an id that does not exist is `NotFound`.
pub async fn delete_of_a_missing_id_is_not_found(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let result = session.delete_by_id::<User>(7).await;
    assert!(matches!(result, Err(Error::NotFound { id: 7, .. })), "{result:?}");
    session.add(User::named("still usable")).await.expect("the session goes on");
}
