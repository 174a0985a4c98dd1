//! Field types made with `#[derive(Field)]`: a fieldless enum is stored as its
//! variant's name and compares and sorts as that text; a newtype is stored, compared
//! and sorted as the type it wraps. The same on every backend.

use plinth::{Database, Entity, Error};

use crate::cases::committed;
use crate::entities::{Colour, Grams, Label, Swatch, SwatchAsText};
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
    let read = session.get::<Swatch>(id).await;
    match read {
        Err(Error::Decode { table: "swatches", column: Some("colour"), ref found, .. }) => {
            assert!(found.contains("Purple") && found.contains("`Red`, `Green`, `Blue`"), "{found}");
        }
        other => panic!("expected a Decode error naming `colour`, got {other:?}"),
    }
    let sky = session.query::<Swatch>().filter(|c| c.label.eq(Label("sky".into()))).all().await;
    assert_eq!(sky.expect("other rows stay readable").len(), 1);
}
