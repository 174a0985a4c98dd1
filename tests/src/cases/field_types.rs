//! Field types beyond the column types: those made with `#[derive(Field)]` — a
//! fieldless enum is stored as its variant's name and compares and sorts as that text;
//! a newtype is stored, compared and sorted as the type it wraps — and those stored
//! exactly in a wider column (`u8`, `u16`, `u32`, `NaiveDateTime`). The same on every
//! backend.

use plinth::{Database, Entity, Error};

use crate::cases::committed;
use crate::entities::{
    Account, AccountAsStored, Colour, Grams, Handle, HandleUnlimited, Label, Reading, ReadingAsStored, Sample, Swatch,
    SwatchAsText,
};
use crate::Fixture;

async fn swatches(fx: &mut impl Fixture) -> Database {
    let db = fx.open().await;
    db.create_all(&[Swatch::table()]).await.expect("create_all");
    let swatch = |label: &str, colour, accent, weight, note: Option<&str>| Swatch {
        label: Label(label.to_owned()),
        colour,
        accent,
        weight: Grams(weight),
        note: note.map(|n| Label(n.to_owned())),
    };
    committed(
        &db,
        vec![
            swatch("sky", Colour::Blue, Some(Colour::Green), 120, Some("matte")),
            swatch("moss", Colour::Green, None, 80, None),
            swatch("brick", Colour::Red, Some(Colour::Blue), 200, Some("gloss")),
            swatch("leaf", Colour::Green, Some(Colour::Red), 95, None),
        ],
    )
    .await;
    db
}

fn labels(found: &[plinth::Record<Swatch>]) -> Vec<&str> {
    found.iter().map(|s| s.label.0.as_str()).collect()
}

/// Enums and newtypes come back as they went in, `None` included, and are stored as
/// the names and values underneath.
pub async fn derived_field_types_round_trip(fx: &mut impl Fixture) {
    let db = swatches(fx).await;
    let mut session = db.session().await.expect("session");
    let all = session.query::<Swatch>().all().await.expect("query");
    assert_eq!(labels(&all), ["sky", "moss", "brick", "leaf"]);
    assert_eq!(all[0].colour, Colour::Blue);
    assert_eq!(all[0].accent, Some(Colour::Green));
    assert_eq!(all[1].accent, None);
    assert_eq!(all[2].weight, Grams(200));
    assert_eq!(all[2].note, Some(Label("gloss".into())));
    let raw = session.query::<SwatchAsText>().all().await.expect("the same rows as text");
    assert_eq!(raw[0].colour, "Blue");
    assert_eq!(raw[0].accent.as_deref(), Some("Green"));
    assert_eq!((raw[2].label.as_str(), raw[2].weight), ("brick", 200));
}

/// Filters take the field's own type; an enum compares by name, a newtype as what it
/// wraps; both sort that way too (enums by name, not by declaration order).
pub async fn derived_field_types_filter_and_sort(fx: &mut impl Fixture) {
    let db = swatches(fx).await;
    let mut session = db.session().await.expect("session");
    let green = session.query::<Swatch>().filter(|c| c.colour.eq(Colour::Green)).all().await.expect("eq");
    assert_eq!(labels(&green), ["moss", "leaf"]);
    let warm = session.query::<Swatch>().filter(|c| c.accent.is_in([Colour::Red, Colour::Blue])).all().await;
    assert_eq!(labels(&warm.expect("is_in")), ["brick", "leaf"]);
    let heavy = session.query::<Swatch>().filter(|c| c.weight.gt(Grams(100))).all().await.expect("gt");
    assert_eq!(labels(&heavy), ["sky", "brick"]);
    let by_label = session.query::<Swatch>().filter(|c| c.label.eq(Label("leaf".into()))).all().await;
    assert_eq!(labels(&by_label.expect("newtype eq")), ["leaf"]);
    let by_colour = session.query::<Swatch>().order_by(|c| c.colour.asc()).all().await.expect("order");
    // "Blue" < "Green" < "Red": the names' order, whatever the declaration's.
    assert_eq!(labels(&by_colour), ["sky", "moss", "leaf", "brick"]);
    let by_weight = session.query::<Swatch>().order_by(|c| c.weight.desc()).all().await.expect("order");
    assert_eq!(labels(&by_weight), ["brick", "sky", "leaf", "moss"]);
    let noted = session.query::<Swatch>().filter(|c| c.note.is_null()).count().await.expect("count");
    assert_eq!(noted, 2);
}

/// A unique newtype column is unique as what it wraps.
pub async fn a_unique_newtype_is_unique_by_its_value(fx: &mut impl Fixture) {
    let db = swatches(fx).await;
    let mut session = db.session().await.expect("session");
    let twin = Swatch { label: Label("sky".into()), colour: Colour::Red, accent: None, weight: Grams(1), note: None };
    let refused = session.add(twin).await.map(drop);
    assert!(matches!(refused, Err(Error::UniqueViolation { table: "swatches", column: Some("label") })), "{refused:?}");
}

/// A stored name that is no variant's reads as `Decode` naming the column and the
/// names it accepts; other rows stay readable.
pub async fn an_unknown_enum_name_is_a_decode_error(fx: &mut impl Fixture) {
    let db = swatches(fx).await;
    let odd = SwatchAsText { label: "odd".into(), colour: "Purple".into(), accent: None, weight: 1, note: None };
    let id = committed(&db, vec![odd]).await[0].id();
    let mut session = db.session().await.expect("session");
    let read = session.get::<Swatch>(id.get()).await;
    match read {
        Err(Error::Decode { table: "swatches", column: Some("colour"), ref found, .. }) => {
            assert!(found.contains("Purple") && found.contains("`Red`, `Green`, `Blue`"), "{found}");
        }
        other => panic!("expected a Decode error naming `colour`, got {other:?}"),
    }
    let sky = session.query::<Swatch>().filter(|c| c.label.eq(Label("sky".into()))).all().await;
    assert_eq!(sky.expect("other rows stay readable").len(), 1);
}

fn naive(text: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("a valid naive date-time")
}

async fn readings(fx: &mut impl Fixture) -> Database {
    let db = fx.open().await;
    db.create_all(&[Reading::table()]).await.expect("create_all");
    let reading = |level, count, total, taken: &str, spare| Reading { level, count, total, taken: naive(taken), spare };
    committed(
        &db,
        vec![
            reading(0, 0, 0, "2024-02-29 23:59:59.999999", None),
            reading(u8::MAX, u16::MAX, u32::MAX, "0001-01-01 00:00:00", Some(u32::MAX)),
            reading(128, 40_000, 3_000_000_000, "9999-12-31 23:59:59.5", Some(0)),
        ],
    )
    .await;
    db
}

/// `u8`, `u16`, `u32` and `NaiveDateTime` come back exactly, extremes included, and
/// are stored as the wider signed and UTC values they equal.
pub async fn unsigned_and_naive_values_round_trip(fx: &mut impl Fixture) {
    let db = readings(fx).await;
    let mut session = db.session().await.expect("session");
    let all = session.query::<Reading>().all().await.expect("query");
    let got: Vec<_> = all.iter().map(|r| (r.level, r.count, r.total, r.taken, r.spare)).collect();
    assert_eq!(
        got,
        [
            (0, 0, 0, naive("2024-02-29 23:59:59.999999"), None),
            (u8::MAX, u16::MAX, u32::MAX, naive("0001-01-01 00:00:00"), Some(u32::MAX)),
            (128, 40_000, 3_000_000_000, naive("9999-12-31 23:59:59.5"), Some(0)),
        ]
    );
    let stored = session.query::<ReadingAsStored>().all().await.expect("the same rows as stored");
    assert_eq!((stored[1].level, stored[1].count, stored[1].total), (255, 65_535, 4_294_967_295));
    assert_eq!(stored[0].taken, naive("2024-02-29 23:59:59.999999").and_utc());
}

/// They compare and sort as the numbers and times they are, above `i8`/`i16`/`i32`'s
/// ranges too.
pub async fn unsigned_and_naive_values_filter_and_sort(fx: &mut impl Fixture) {
    let db = readings(fx).await;
    let mut session = db.session().await.expect("session");
    let levels = |found: &[plinth::Record<Reading>]| found.iter().map(|r| r.level).collect::<Vec<_>>();
    let high = session.query::<Reading>().filter(|c| c.total.gt(2_147_483_648_u32)).all().await.expect("gt");
    assert_eq!(levels(&high), [255, 128]);
    let by_count = session.query::<Reading>().order_by(|c| c.count.desc()).all().await.expect("order");
    assert_eq!(levels(&by_count), [255, 128, 0]);
    let level = session.query::<Reading>().filter(|c| c.level.eq(128_u8)).count().await.expect("eq");
    assert_eq!(level, 1);
    let later = session.query::<Reading>().filter(|c| c.taken.gt(naive("2024-02-29 23:59:59.999998"))).all().await;
    assert_eq!(levels(&later.expect("a naive time filter")), [0, 128]);
    let by_time = session.query::<Reading>().order_by(|c| c.taken.asc()).all().await.expect("order");
    assert_eq!(levels(&by_time), [255, 0, 128]);
}

/// A stored number an unsigned field cannot hold (negative, or past its maximum)
/// reads as `Decode` naming the column; other rows stay readable.
pub async fn a_stored_value_out_of_an_unsigned_range_is_a_decode_error(fx: &mut impl Fixture) {
    let db = readings(fx).await;
    let taken = naive("2024-01-01 00:00:00").and_utc();
    let stored = |level, count, total| ReadingAsStored { level, count, total, taken, spare: None };
    let written =
        committed(&db, vec![stored(-1, 0, 0), stored(256, 0, 0), stored(0, 65_536, 0), stored(0, 0, -5)]).await;
    let mut session = db.session().await.expect("session");
    for (record, column) in written.iter().zip(["level", "level", "count", "total"]) {
        match session.get::<Reading>(record.id().get()).await {
            Err(Error::Decode { table: "readings", column: Some(c), .. }) if c == column => {}
            other => panic!("expected a Decode error naming `{column}`, got {other:?}"),
        }
    }
    let readable = session.query::<Reading>().filter(|c| c.total.eq(u32::MAX)).count().await;
    assert_eq!(readable.expect("other rows stay readable"), 1);
}

/// A field stored under another column name (`#[entity(column = "…")]`) is that column
/// everywhere: in storage, in filters, in `to_dict` and in errors.
pub async fn a_field_can_be_stored_under_another_column_name(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[Account::table()]).await.expect("create_all");
    let account = |name: &str, position| Account { name: name.to_owned(), position };
    committed(&db, vec![account("ada", 2), account("bob", 1)]).await;
    let mut session = db.session().await.expect("session");
    let ada = session.query::<Account>().filter(|c| c.name.eq("ada")).all().await.expect("filter");
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0].to_dict()["user_name"], "ada");
    assert_eq!(ada[0].to_dict()["order"], 2);
    let by_position = session.query::<Account>().order_by(|c| c.position.asc()).all().await.expect("order");
    assert_eq!(by_position.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["bob", "ada"]);
    let stored = session.query::<AccountAsStored>().filter(|c| c.r#order.eq(2)).all().await.expect("as stored");
    assert_eq!(stored[0].user_name, "ada");
    let twin = session.add(account("ada", 3)).await.map(drop);
    assert!(matches!(twin, Err(Error::UniqueViolation { table: "accounts", column: Some("user_name") })), "{twin:?}");
}

/// A text column with `#[entity(max_length = n)]` holds at most `n` characters —
/// characters, not bytes: eight `é` or eight emoji fit in 8 — and a longer value is
/// `InvalidValue` naming the column before any I/O, from `add` and `update` alike; a
/// table stored with another limit, or none, is another schema.
pub async fn text_longer_than_its_column_allows_is_refused(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[Handle::table()]).await.expect("create_all");
    let handle = |name: &str, code: Option<&str>| Handle { name: name.to_owned(), code: code.map(str::to_owned) };
    let fitting =
        vec![handle("abcdefgh", Some("abc")), handle("éééééééé", None), handle(&"😀".repeat(8), Some("日本語"))];
    committed(&db, fitting).await;
    let mut session = db.session().await.expect("session");
    let too_long = |result: plinth::Result<()>, column: &str| matches!(result, Err(Error::InvalidValue { table: "handles", column: Some(c), ref reason }) if c == column && reason.contains("at most"));
    assert!(too_long(session.add(handle("abcdefghi", None)).await.map(drop), "name"));
    assert!(too_long(session.add(handle(&"é".repeat(9), None)).await.map(drop), "name"));
    assert!(too_long(session.add(handle("ok", Some("abcd"))).await.map(drop), "code"));
    let mut first = session.query::<Handle>().first().await.expect("query").expect("a handle");
    first.name = "123456789".into();
    assert!(too_long(session.update(&mut first).await, "name"));
    session.rollback().await.expect("rollback");
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<Handle>().count().await.expect("count"), 3, "nothing refused was written");
    let reopened = fx.open().await;
    reopened.create_all(&[Handle::table()]).await.expect("the same limits, read back from storage");
    let mut session = reopened.session().await.expect("session");
    assert_eq!(session.query::<Handle>().count().await.expect("count after reopening"), 3);
    let other = reopened.create_all(&[HandleUnlimited::table()]).await;
    assert!(
        matches!(other, Err(Error::SchemaMismatch { table: "handles", ref detail })
            if detail.contains("`name`") && !detail.contains("`code`")),
        "only the limit that differs is a difference: {other:?}"
    );
}

/// A `uuid::Uuid` compares and sorts by its 16 bytes on every backend (PostgreSQL's
/// `uuid`, the lower-case text SQLite and the browser stores hold) and round-trips.
pub async fn uuids_compare_and_sort_by_their_bytes(fx: &mut impl Fixture) {
    let db = crate::cases::setup(fx).await;
    let ids = [u128::MAX, 0, 1 << 120, 0xff, (1 << 120) + 1].map(uuid::Uuid::from_u128);
    let samples = ids.iter().map(|&key| Sample { key, maybe_key: Some(key), ..Sample::plain() }).collect();
    committed(&db, samples).await;
    let mut session = db.session().await.expect("session");
    let keys = |found: Vec<plinth::Record<Sample>>| found.iter().map(|s| s.key.as_u128()).collect::<Vec<_>>();
    let sorted = session.query::<Sample>().order_by(|c| c.key.asc()).all().await.expect("order");
    assert_eq!(keys(sorted), [0, 0xff, 1 << 120, (1 << 120) + 1, u128::MAX]);
    let high = session.query::<Sample>().filter(|c| c.key.gt(uuid::Uuid::from_u128(0xff))).all().await;
    assert_eq!(keys(high.expect("gt")), [u128::MAX, 1 << 120, (1 << 120) + 1]);
    let listed = session.query::<Sample>().filter(|c| c.maybe_key.is_in([ids[1], ids[3]])).all().await;
    assert_eq!(keys(listed.expect("is_in")), [0, 0xff]);
    let nil = session.query::<Sample>().filter(|c| c.key.eq(uuid::Uuid::nil())).count().await.expect("eq");
    assert_eq!(nil, 1);
}
