//! Schema evolution: `create_all` on a table stored by an earlier version of its entity
//! makes the additive changes by itself — a new nullable column, a new column with a
//! default, a new unique constraint the stored values satisfy, a new index — in one
//! atomic step, keeping every row (its id, `created_at` and `updated_at` included); it
//! refuses every other difference, and a unique constraint the data violates, before
//! anything is written. The same on every backend.

use plinth::backend::ColumnDef;
use plinth::{ColumnType, Database, Entity, Error, Record, Table, Value};

use crate::cases::{committed, date};
use crate::entities::{
    Colour, Gadget, GadgetV2, GadgetV3, GadgetWithNumericCode, GadgetWithWeight, GadgetWithoutCode, Gizmo,
};
use crate::Fixture;

/// A database holding version 1 of `gadgets`: `lamp`, `fan`, `kettle`, and `drill`
/// (deleted again, so the next id is past it).
async fn version_one(fx: &mut impl Fixture) -> (Database, Vec<Record<Gadget>>) {
    let db = fx.open().await;
    db.create_all(&[Gadget::table()]).await.expect("create_all of version 1");
    let mut rows = committed(
        &db,
        vec![
            Gadget::new("lamp", "L-1"),
            Gadget::new("fan", "F-1"),
            Gadget::new("kettle", "K-1"),
            Gadget::new("drill", "D-1"),
        ],
    )
    .await;
    let drill = rows.pop().expect("four rows");
    let mut session = db.session().await.expect("session");
    session.delete(drill).await.expect("delete");
    session.commit().await.expect("commit");
    (db, rows)
}

/// Asserts that `result` is `SchemaMismatch` on `gadgets` whose message holds `phrase`.
fn assert_refused(result: plinth::Result<()>, phrase: &str) {
    match result {
        Err(Error::SchemaMismatch { table: "gadgets", detail }) => {
            assert!(detail.contains(phrase), "the message says `{phrase}`: {detail}");
        }
        other => panic!("expected SchemaMismatch on gadgets saying `{phrase}`, got {other:?}"),
    }
}

/// Every row of version 1 reads back through `E` with the same id and timestamps.
fn assert_same_rows<E>(before: &[Record<Gadget>], after: &[Record<E>], name: impl Fn(&E) -> &str) {
    let seen = |r: &Record<Gadget>| (r.id().get(), r.created_at(), r.updated_at(), r.name.clone());
    let now = |r: &Record<E>| (r.id().get(), r.created_at(), r.updated_at(), name(r.entity()).to_owned());
    assert_eq!(after.iter().map(now).collect::<Vec<_>>(), before.iter().map(seen).collect::<Vec<_>>());
}

/// Version 2 opens version 1's table: `create_all` adds the new columns, the old rows
/// read `NULL` and the defaults, keep their ids and timestamps, and obey the new
/// unique constraint; new rows get ids past every id handed out; version 1 is now the
/// other schema.
pub async fn create_all_adds_columns_and_old_rows_read_their_defaults(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    db.create_all(&[GadgetV2::table()]).await.expect("create_all of version 2 upgrades the table");
    let mut session = db.session().await.expect("session");
    let after = session.query::<GadgetV2>().all().await.expect("version 2 reads the old rows");
    assert_same_rows(&before, &after, |g| &g.name);
    for gadget in &after {
        assert_eq!(
            (gadget.colour.as_deref(), gadget.size, gadget.tint, gadget.finish.as_str()),
            (None, 3, Colour::Green, "plain"),
            "{gadget:?}"
        );
    }
    assert_eq!(after[1].code, "F-1");
    let sized = session.query::<GadgetV2>().filter(|c| c.size.eq(3).and(c.tint.eq(Colour::Green))).count().await;
    assert_eq!(sized.expect("filters on the new columns"), 3);

    let new = GadgetV2 {
        colour: Some("red".into()),
        name: "drill".into(),
        code: "D-2".into(),
        size: 5,
        tint: Colour::Red,
        finish: "matte".into(),
    };
    let added = session.add(new.clone()).await.expect("a version 2 row");
    assert!(added.id().get() > before[2].id().get() + 1, "the deleted row's id is not reused: {}", added.id());
    let taken = session.add(GadgetV2 { name: "saw".into(), code: "L-1".into(), ..new }).await;
    assert!(
        matches!(taken, Err(Error::UniqueViolation { table: "gadgets", column: Some("code"), .. })),
        "the new unique constraint holds: {taken:?}"
    );
    session.commit().await.expect("commit");

    let reopened = fx.open().await;
    reopened.create_all(&[GadgetV2::table()]).await.expect("create_all of version 2 again changes nothing");
    let mut session = reopened.session().await.expect("session");
    assert_eq!(session.query::<GadgetV2>().count().await.expect("count"), 4);
    assert_refused(session.query::<Gadget>().all().await.map(drop), "`colour`");
    assert_refused(reopened.create_all(&[Gadget::table()]).await, "`colour`");
}

/// A database made by version 1 opens in version 3 directly, and one upgraded to
/// version 2 (holding version 2's rows) opens in version 3 too: every row keeps its
/// values and reads the new columns' defaults.
pub async fn versions_one_two_and_three_open_the_same_database(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    db.create_all(&[GadgetV3::table()]).await.expect("version 1 to version 3 at once");
    let mut session = db.session().await.expect("session");
    let after = session.query::<GadgetV3>().all().await.expect("version 3 reads version 1's rows");
    assert_same_rows(&before, &after, |g| &g.name);
    let third = &after[2];
    assert_eq!(
        (third.code.as_str(), third.size, third.ratio, third.released, third.serial),
        ("K-1", 3, 0.5, None, None)
    );
    session.commit().await.expect("commit");

    let other = fx.open().await;
    let mut session = other.session().await.expect("session");
    let mut third = third.clone();
    third.released = Some(date(2025, 3, 1));
    third.serial = Some(7);
    session.update(&mut third).await.expect("a version 3 write");
    session.commit().await.expect("commit");
    let found = other.session().await.expect("session").query::<GadgetV3>().filter(|c| c.serial.eq(7)).all().await;
    assert_eq!(found.expect("the new unique column"), [third]);
}

/// Version 2 of a table upgraded step by step: version 1's rows, then version 2's
/// own rows, then version 3 over both.
pub async fn each_version_upgrades_the_one_before(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    db.create_all(&[GadgetV2::table()]).await.expect("version 2");
    let v2 = GadgetV2 {
        colour: Some("blue".into()),
        name: "saw".into(),
        code: "S-1".into(),
        size: 8,
        tint: Colour::Blue,
        finish: "gloss".into(),
    };
    let written = committed(&db, vec![v2.clone()]).await.remove(0);
    db.create_all(&[GadgetV3::table()]).await.expect("version 3");
    let mut session = db.session().await.expect("session");
    let after = session.query::<GadgetV3>().all().await.expect("version 3");
    assert_same_rows(&before, &after[..3], |g| &g.name);
    let saw = &after[3];
    assert_eq!(
        (saw.id().get(), saw.created_at(), saw.updated_at()),
        (written.id().get(), written.created_at(), written.updated_at())
    );
    assert_eq!(
        (saw.colour.as_deref(), saw.size, saw.tint, saw.finish.as_str(), saw.ratio),
        (Some("blue"), 8, Colour::Blue, "gloss", 0.5)
    );
}

/// What `create_all` does not make by itself — a dropped column, a changed type, a
/// required column without a default — is refused with a message naming the column,
/// before anything is written: not even a new table beside it is created, and version
/// 1 reads and writes as before.
pub async fn changes_create_all_does_not_make_are_refused_and_change_nothing(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    assert_refused(db.create_all(&[Gizmo::table(), GadgetWithoutCode::table()]).await, "column `code`");
    assert_refused(db.create_all(&[Gizmo::table(), GadgetWithNumericCode::table()]).await, "`code` is stored as");
    assert_refused(db.create_all(&[Gizmo::table(), GadgetWithWeight::table()]).await, "give the field a default");
    let mut session = db.session().await.expect("session");
    let created = session.query::<Gizmo>().count().await;
    assert!(matches!(created, Err(Error::NoSuchTable { table: "gizmos" })), "{created:?}");
    assert_eq!(session.query::<Gadget>().all().await.expect("version 1 reads as before"), before);
    session.add(Gadget::new("saw", "S-1")).await.expect("and writes");
    session.commit().await.expect("commit");
}

/// A unique constraint the stored values violate is refused, naming the column and
/// adding nothing; once the values are distinct, `create_all` adds it.
pub async fn a_unique_constraint_the_stored_values_violate_is_refused(fx: &mut impl Fixture) {
    let (db, _) = version_one(fx).await;
    let twins = committed(&db, vec![Gadget::new("saw", "L-1"), Gadget::new("awl", "L-1")]).await;
    assert_refused(
        db.create_all(&[Gizmo::table(), GadgetV2::table()]).await,
        "column `code` is declared unique, but one value is stored more than once",
    );
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<Gadget>().count().await.expect("version 1 reads as before"), 5);
    let created = session.query::<Gizmo>().count().await;
    assert!(matches!(created, Err(Error::NoSuchTable { .. })), "{created:?}");
    for (mut twin, code) in twins.into_iter().zip(["S-1", "A-1"]) {
        twin.code = code.into();
        session.update(&mut twin).await.expect("make the codes distinct");
    }
    session.commit().await.expect("commit");
    db.create_all(&[Gizmo::table(), GadgetV2::table()]).await.expect("then the constraint is added");
    let codes = db.session().await.expect("session").query::<GadgetV2>().filter(|c| c.code.eq("L-1")).count().await;
    assert_eq!(codes.expect("count"), 1);
}

/// A default that its column cannot hold — of another type, too long, not stored
/// exactly — is refused by `create_all` before any I/O, naming the column.
pub async fn a_default_its_column_cannot_hold_is_refused(fx: &mut impl Fixture) {
    static WRONG_TYPE: [ColumnDef; 1] = [ColumnDef::new("n", ColumnType::Text, false).with_default(|| Value::I64(1))];
    static TOO_LONG: [ColumnDef; 1] =
        [ColumnDef::new("n", ColumnType::Text, false).max_length(2).with_default(|| Value::Text("abc".into()))];
    static NOT_A_NUMBER: [ColumnDef; 1] =
        [ColumnDef::new("n", ColumnType::F64, false).with_default(|| Value::F64(f64::NAN))];
    static WRONG_TYPE_TABLE: Table = Table::new("default_wrong_type", &WRONG_TYPE);
    static TOO_LONG_TABLE: Table = Table::new("default_too_long", &TOO_LONG);
    static NOT_A_NUMBER_TABLE: Table = Table::new("default_nan", &NOT_A_NUMBER);
    let db = fx.open().await;
    for table in [&WRONG_TYPE_TABLE, &TOO_LONG_TABLE, &NOT_A_NUMBER_TABLE] {
        let refused = db.create_all(&[Gizmo::table(), table]).await;
        match refused {
            Err(Error::InvalidValue { table: t, column: Some("n"), reason }) if t == table.name() => {
                assert!(reason.starts_with("the default cannot be stored"), "{reason}");
            }
            other => panic!("{}: expected InvalidValue on column n, got {other:?}", table.name()),
        }
    }
    let created = db.session().await.expect("session").query::<Gizmo>().count().await;
    assert!(matches!(created, Err(Error::NoSuchTable { .. })), "refused before any I/O: {created:?}");
}
