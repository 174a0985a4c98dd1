//! Rule 5: values round-trip exactly, and values no backend can store exactly are
//! refused before any I/O.

use serde_json::json;

use plinth::Error;

use crate::cases::{at, committed, date, setup};
use crate::entities::Sample;
use crate::Fixture;

/// Stores each sample, reads it back in a new session, and compares it whole, floats
/// by their bits (so `-0.0` and `0.0` differ), and the number of rows too.
async fn round_trip(fx: &mut impl Fixture, samples: Vec<Sample>) {
    let db = setup(fx).await;
    let stored = committed(&db, samples.clone()).await;
    assert_eq!(stored.len(), samples.len(), "add_all returned another number of records");
    let mut session = db.session().await.expect("session");
    for (record, original) in stored.iter().zip(&samples) {
        assert_same_bits(record.entity(), original, "add returned something else");
        let read = session.get::<Sample>(record.id()).await.expect("get").expect("stored");
        assert_same_bits(read.entity(), original, "read back something else");
    }
    let all = session.query::<Sample>().all().await.expect("query");
    assert_eq!(all.len(), samples.len(), "the table holds another number of rows than were added");
    assert_eq!(all, stored);
}

/// Equal values, and the floats equal bit for bit too: `==` calls `-0.0` and `0.0`
/// equal.
fn assert_same_bits(found: &Sample, expected: &Sample, what: &str) {
    assert_eq!(found, expected, "{what}");
    let bits = |s: &Sample| {
        (s.single.to_bits(), s.double.to_bits(), s.maybe_single.map(f32::to_bits), s.maybe_double.map(f64::to_bits))
    };
    assert_eq!(bits(found), bits(expected), "{what}: the floats differ bit for bit");
}

fn with_text(text: &str) -> Sample {
    Sample { text: text.to_owned(), maybe_text: Some(text.to_owned()), ..Sample::plain() }
}

/// Unicode, emoji, quotes, SQL injection, empty and long strings.
pub async fn awkward_strings_round_trip(fx: &mut impl Fixture) {
    let texts = [
        "",
        " ",
        "😀👨‍👩‍👧‍👦🇺🇦",
        "'; DROP TABLE users; --",
        "Robert'); DROP TABLE samples;--",
        "\"double\" 'single' `back`",
        "back\\slash \\n \\\\",
        "line\nbreak\ttab\rreturn",
        "Ünïcödé ñ 中文 العربية עברית",
        "%_%\\",
        "a\u{301} e\u{301}",
        "\u{feff}bom \u{200b}zero-width",
        "$1 ? :name @p0",
    ];
    let mut samples: Vec<Sample> = texts.iter().map(|t| with_text(t)).collect();
    samples.push(with_text(&"long ✓ ".repeat(5_000)));
    round_trip(fx, samples).await;
}

/// The extremes of every integer width.
pub async fn extreme_integers_round_trip(fx: &mut impl Fixture) {
    let samples = [(i16::MIN, i32::MIN, i64::MIN), (i16::MAX, i32::MAX, i64::MAX), (0, 0, 0), (-1, -1, -1)]
        .into_iter()
        .map(|(small, medium, big)| Sample {
            small,
            medium,
            big,
            maybe_small: Some(small),
            maybe_medium: Some(medium),
            maybe_big: Some(big),
            ..Sample::plain()
        })
        .collect();
    round_trip(fx, samples).await;
}

/// Finite floats of both widths, including the extremes.
pub async fn floats_round_trip(fx: &mut impl Fixture) {
    let pairs = [
        (0.1_f32, 0.1_f64),
        (f32::MAX, f64::MAX),
        (f32::MIN, f64::MIN),
        (f32::MIN_POSITIVE, f64::MIN_POSITIVE),
        (f32::EPSILON, f64::EPSILON),
        (-1.5e-30, -1.5e-300),
        (1.0 / 3.0, 1.0 / 3.0),
        (0.0, 0.0),
        (0.091_443_38, 0.091_443_385_120_928_87),
    ];
    let samples = pairs
        .into_iter()
        .map(|(single, double)| Sample {
            single,
            double,
            maybe_single: Some(single),
            maybe_double: Some(double),
            ..Sample::plain()
        })
        .collect();
    round_trip(fx, samples).await;
}

/// `-0.0` is stored as `0.0` on every backend (SQLite and JSON cannot keep the sign),
/// and reads back as `0.0`, bit for bit.
pub async fn negative_zero_is_stored_as_zero(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let negative =
        Sample { single: -0.0, double: -0.0, maybe_single: Some(-0.0), maybe_double: Some(-0.0), ..Sample::plain() };
    let positive =
        Sample { single: 0.0, double: 0.0, maybe_single: Some(0.0), maybe_double: Some(0.0), ..Sample::plain() };
    let record = committed(&db, vec![negative]).await.remove(0);
    assert_same_bits(record.entity(), &positive, "add returned another zero");
    let read = db.session().await.expect("session").get::<Sample>(record.id()).await.expect("get").expect("stored");
    assert_same_bits(read.entity(), &positive, "read back another zero");
}

/// NaN and infinities are refused with `InvalidValue`; nothing is written.
pub async fn non_finite_floats_are_refused(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let result = session.add(Sample { double: bad, ..Sample::plain() }).await;
        assert!(matches!(result, Err(Error::InvalidValue { column, .. }) if column == Some("double")), "{result:?}");
    }
    let result = session.add(Sample { maybe_single: Some(f32::NAN), ..Sample::plain() }).await;
    assert!(matches!(result, Err(Error::InvalidValue { column, .. }) if column == Some("maybe_single")), "{result:?}");
    let filter = session.query::<Sample>().filter(|c| c.double.lt(f64::NAN)).all().await;
    assert!(matches!(filter, Err(Error::InvalidValue { .. })), "{filter:?}");
    assert_eq!(session.query::<Sample>().count().await.expect("count"), 0);
}

/// Text with a NUL character is refused everywhere, since PostgreSQL cannot store it.
pub async fn nul_characters_are_refused(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let result = session.add(with_text("nul\0inside")).await;
    assert!(matches!(result, Err(Error::InvalidValue { column, .. }) if column == Some("text")), "{result:?}");
    let result = session.add(Sample { doc: json!({"k": "a\u{0}b"}), ..Sample::plain() }).await;
    assert!(matches!(result, Err(Error::InvalidValue { column, .. }) if column == Some("doc")), "{result:?}");
    session.add(Sample::plain()).await.expect("the session goes on");
    session.commit().await.expect("commit");
}

/// Every optional field, empty and filled.
pub async fn options_round_trip(fx: &mut impl Fixture) {
    let filled = Sample {
        maybe_flag: Some(false),
        maybe_small: Some(-7),
        maybe_medium: Some(7),
        maybe_big: Some(1 << 40),
        maybe_single: Some(2.5),
        maybe_double: Some(-0.125),
        maybe_text: Some(String::new()),
        maybe_day: Some(date(1999, 12, 31)),
        maybe_moment: Some(at("1999-12-31T23:59:59.999999Z")),
        maybe_doc: Some(json!([])),
        maybe_blob: Some(Vec::new()),
        ..Sample::plain()
    };
    round_trip(fx, vec![Sample::plain(), filled]).await;
}

/// JSON documents of every shape.
pub async fn json_round_trips(fx: &mut impl Fixture) {
    let docs = [
        json!({"nested": {"list": [1, 2.5, -3, null, true, "x"]}, "unicode": "😀 ü", "empty": {}, "arr": []}),
        json!({"big": i64::MAX, "small": i64::MIN, "quote": "'; DROP TABLE x; --", "b": false}),
        // Floats whose last digit a fast, inexact parser gets wrong (serde_json without
        // `float_roundtrip` reads the first as ...888).
        json!({"f": 0.091_443_385_120_928_87, "g": [1e-300, 2.225_073_858_507_201e-308, 1.797_693_134_862_315_7e308]}),
        json!(0.1),
        json!([1, "two", [3], {"four": 4}]),
        json!("just a string"),
        json!(42),
        json!(true),
        json!({}),
    ];
    let samples = docs.into_iter().map(|doc| Sample { maybe_doc: Some(doc.clone()), doc, ..Sample::plain() }).collect();
    round_trip(fx, samples).await;
}

/// Byte strings: empty, every byte value, and a longer one.
pub async fn bytes_round_trip(fx: &mut impl Fixture) {
    let every_byte: Vec<u8> = (0..=255).collect();
    let blobs = [Vec::new(), every_byte, vec![0; 100_000], b"'; DROP TABLE x; --".to_vec()];
    let samples =
        blobs.into_iter().map(|blob| Sample { maybe_blob: Some(blob.clone()), blob, ..Sample::plain() }).collect();
    round_trip(fx, samples).await;
}

/// Dates and timestamps across the supported range, to the microsecond.
pub async fn dates_and_timestamps_round_trip(fx: &mut impl Fixture) {
    let cases = [
        (date(1, 1, 1), at("0001-01-01T00:00:00Z")),
        (date(9999, 12, 31), at("9999-12-31T23:59:59.999999Z")),
        (date(1970, 1, 1), at("1970-01-01T00:00:00Z")),
        (date(1969, 7, 20), at("1969-07-20T20:17:40.000001Z")),
        (date(2024, 2, 29), at("2024-02-29T12:34:56.789012+05:30")),
    ];
    let samples = cases
        .into_iter()
        .map(|(day, moment)| Sample {
            day,
            moment,
            maybe_day: Some(day),
            maybe_moment: Some(moment),
            ..Sample::plain()
        })
        .collect();
    round_trip(fx, samples).await;
}

/// Dates outside years 1 to 9999 are refused with `InvalidValue`.
pub async fn out_of_range_dates_are_refused(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let too_late = session.add(Sample { day: date(10_000, 1, 1), ..Sample::plain() }).await;
    assert!(matches!(too_late, Err(Error::InvalidValue { column, .. }) if column == Some("day")), "{too_late:?}");
    let too_early = session.add(Sample { moment: at("0000-12-31T23:59:59Z"), ..Sample::plain() }).await;
    assert!(matches!(too_early, Err(Error::InvalidValue { column, .. }) if column == Some("moment")), "{too_early:?}");
    assert_eq!(session.query::<Sample>().count().await.expect("count"), 0);
}

/// Nanoseconds are cut to microseconds on the way in, the same on every backend.
pub async fn timestamps_are_truncated_to_microseconds(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let precise = at("2024-05-06T07:08:09.123456789Z");
    let record = committed(&db, vec![Sample { moment: precise, ..Sample::plain() }]).await.remove(0);
    assert_eq!(record.moment, at("2024-05-06T07:08:09.123456Z"));
    let read = db.session().await.expect("session").get::<Sample>(record.id()).await.expect("get");
    assert_eq!(read.map(|r| r.moment), Some(at("2024-05-06T07:08:09.123456Z")));
}
