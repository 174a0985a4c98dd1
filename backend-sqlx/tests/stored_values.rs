//! Values another program wrote into a Plinth table never panic a decoder and are read
//! the same way on PostgreSQL and SQLite: random values, of every column type and of the
//! kinds Plinth itself never writes (`'infinity'`, years past 9999 or before 1, NaN,
//! NUL characters, integers out of a column's range, text that is no timestamp), are
//! written with raw SQL into one column of a stored row, `created_at` and `updated_at`
//! included. Then `get`, `all`, `first`, a filtered query and `count` must each be `Ok`
//! with exactly the stored value when Plinth can read it, and `Error::Decode` naming the
//! column when it cannot — never a panic, never another error.
//!
//! Needs PostgreSQL like `tests/postgres.rs`: `cargo test -p plinth-sqlx --test stored_values`.
//! The default 128 cases per database take a few seconds; run longer with e.g.
//! `PROPTEST_CASES=5000`.

use chrono::NaiveDate;
use plinth::{ColumnType, Database, Entity, Error, Filter, Record, Value};
use plinth_conformance::entities::Sample;
use plinth_conformance::Fixture;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

mod support;

use support::{PostgresSchema, SqliteFile};

const DEFAULT_CASES: u32 = 128;

/// What a raw write stores, and what Plinth must read back.
#[derive(Clone, Debug)]
struct Write {
    /// The column written.
    column: &'static str,
    /// The stored value as text, converted by the database (`CAST($1 AS type)`), or a
    /// value bound as it is (SQLite's own types); `None` is NULL.
    stored: Stored,
    /// The value Plinth reads back, or `None` if it must refuse it with `Decode`.
    expected: Option<Value>,
}

#[derive(Clone, Debug)]
enum Stored {
    Text(Option<String>),
    Integer(i64),
    Real(f64),
    Blob(Vec<u8>),
}

/// A calendar day of the proleptic Gregorian calendar, any year, as
/// (ISO year, month, day); year 0 is 1 BC.
fn days(years: std::ops::RangeInclusive<i32>) -> BoxedStrategy<(i32, u32, u32)> {
    let year = prop_oneof![
        3 => 1_i32..=9999,
        2 => select(vec![-1, 0, 1, 2, 9998, 9999, 10_000, 10_001, *years.start(), *years.end()]),
        1 => years,
    ];
    (year, 1_u32..=12, 1_u32..=28).boxed()
}

fn readable_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).filter(|_| (1..=9999).contains(&year))
}

/// PostgreSQL's text for an ISO year: `0005` or `0004 BC` (1 BC is ISO year 0).
fn pg_year(year: i32) -> String {
    if year >= 1 {
        format!("{year:04}")
    } else {
        format!("{:04}", 1 - year)
    }
}

fn pg_era(year: i32) -> &'static str {
    if year >= 1 {
        ""
    } else {
        " BC"
    }
}

/// A timestamp PostgreSQL holds (from 4712 BC, to stay clear of its first day in
/// November 4713 BC, to 294275 AD), or an infinite one.
fn pg_timestamps() -> BoxedStrategy<(Option<String>, Option<Value>)> {
    let finite = (days(-4711..=294_275), 0_u32..24, 0_u32..60, 0_u32..60, 0_u32..1_000_000).prop_map(
        |((year, month, day), h, m, s, us)| {
            let text = format!("{}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{us:06}+00{}", pg_year(year), pg_era(year));
            let time = readable_date(year, month, day).and_then(|d| d.and_hms_micro_opt(h, m, s, us));
            (Some(text), time.map(|t| Value::Timestamp(t.and_utc())))
        },
    );
    prop_oneof![4 => finite, 1 => select(vec!["infinity", "-infinity"]).prop_map(|t| (Some(t.to_owned()), None))]
        .boxed()
}

/// A date PostgreSQL holds (4712 BC to 5874896 AD), or an infinite one.
fn pg_dates() -> BoxedStrategy<(Option<String>, Option<Value>)> {
    let finite = days(-4711..=5_874_896).prop_map(|(year, month, day)| {
        let text = format!("{}-{month:02}-{day:02}{}", pg_year(year), pg_era(year));
        (Some(text), readable_date(year, month, day).map(Value::Date))
    });
    prop_oneof![4 => finite, 1 => select(vec!["infinity", "-infinity"]).prop_map(|t| (Some(t.to_owned()), None))]
        .boxed()
}

fn f64s() -> BoxedStrategy<f64> {
    let special = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MAX, f64::MIN_POSITIVE, 5e-324];
    prop_oneof![select(special), any::<f64>()].boxed()
}

fn f32s() -> BoxedStrategy<f32> {
    let special = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MAX, f32::MIN_POSITIVE, 1e-45];
    prop_oneof![select(special), any::<f32>()].boxed()
}

fn finite_or_none<T: Into<Value> + Copy>(x: T, finite: bool) -> Option<Value> {
    finite.then(|| x.into())
}

fn jsons() -> BoxedStrategy<serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(serde_json::Value::from),
        "[a-z😀\"\\\\ ]{0,6}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// JSON documents equal with numbers compared as numbers: PostgreSQL's `jsonb` keeps
/// a number as `numeric`, so an integral float past 2^53 written by another program
/// (`1.5e19`) reads back as the integer of the same value (`15000000000000000000`).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i128(), y.as_i128()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (x, y) => x == y,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every column a raw write may target — `Sample`'s, `created_at` and `updated_at` —
/// with its type and whether it is nullable.
fn writable_columns() -> Vec<(&'static str, ColumnType, bool)> {
    let fields = Sample::table().columns().iter().map(|c| (c.name(), c.ty(), c.nullable()));
    fields.chain([("created_at", ColumnType::Timestamp, false), ("updated_at", ColumnType::Timestamp, false)]).collect()
}

/// A raw PostgreSQL write into one column of `Sample`, `created_at` or `updated_at`.
fn pg_writes() -> BoxedStrategy<Write> {
    select(writable_columns())
        .prop_flat_map(|(column, ty, nullable)| {
            let value: BoxedStrategy<(Option<String>, Option<Value>)> = match ty {
                ColumnType::Bool => any::<bool>().prop_map(|b| (Some(b.to_string()), Some(Value::Bool(b)))).boxed(),
                ColumnType::I16 => any::<i16>().prop_map(|n| (Some(n.to_string()), Some(Value::I16(n)))).boxed(),
                ColumnType::I32 => any::<i32>().prop_map(|n| (Some(n.to_string()), Some(Value::I32(n)))).boxed(),
                ColumnType::I64 => any::<i64>().prop_map(|n| (Some(n.to_string()), Some(Value::I64(n)))).boxed(),
                ColumnType::F32 => {
                    f32s().prop_map(|x| (Some(pg_float(f64::from(x))), finite_or_none(x, x.is_finite()))).boxed()
                }
                ColumnType::F64 => f64s().prop_map(|x| (Some(pg_float(x)), finite_or_none(x, x.is_finite()))).boxed(),
                ColumnType::Text => "[^\u{0}]{0,12}".prop_map(|t| (Some(t.clone()), Some(Value::Text(t)))).boxed(),
                ColumnType::Date => pg_dates(),
                ColumnType::Timestamp => pg_timestamps(),
                ColumnType::Json => jsons().prop_map(|doc| (Some(doc.to_string()), Some(Value::Json(doc)))).boxed(),
                ColumnType::Bytes => prop::collection::vec(any::<u8>(), 0..8)
                    .prop_map(|b| (Some(format!("\\x{}", hex(&b))), Some(Value::Bytes(b))))
                    .boxed(),
                // PostgreSQL reads any of its input forms (upper case, braces) as the UUID.
                ColumnType::Uuid => (any::<u128>(), any::<bool>())
                    .prop_map(|(n, upper)| {
                        let id = uuid::Uuid::from_u128(n);
                        let text = if upper { id.to_string().to_uppercase() } else { format!("{{{id}}}") };
                        (Some(text), Some(Value::Uuid(id)))
                    })
                    .boxed(),
            };
            let value =
                if nullable { prop_oneof![1 => Just((None, Some(Value::Null))), 5 => value].boxed() } else { value };
            value.prop_map(move |(text, expected)| Write { column, stored: Stored::Text(text), expected })
        })
        .boxed()
}

/// PostgreSQL's input text for a float: `NaN`, `Infinity`, or the shortest exact form.
fn pg_float(x: f64) -> String {
    match x {
        x if x.is_nan() => "NaN".to_owned(),
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        x => format!("{x:?}"),
    }
}

/// SQLite's text for a timestamp of any year: canonical within 0 to 9999, a sign and
/// more digits beyond, as another program might write it.
fn sqlite_timestamps() -> BoxedStrategy<(Stored, Option<Value>)> {
    let canonical = (days(-20_000..=20_000), 0_u32..24, 0_u32..60, 0_u32..60, 0_u32..1_000_000).prop_map(
        |((year, month, day), h, m, s, us)| {
            let text = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z");
            let time = readable_date(year, month, day).and_then(|d| d.and_hms_micro_opt(h, m, s, us));
            (Stored::Text(Some(text)), time.map(|t| Value::Timestamp(t.and_utc())))
        },
    );
    let odd = select(vec!["infinity", "-infinity", "", "2024-13-01T00:00:00Z", "now", "2024-01-01T00:00:00.000000Z\0"])
        .prop_map(|t| (Stored::Text(Some(t.to_owned())), None));
    prop_oneof![4 => canonical, 1 => odd, 1 => any::<i64>().prop_map(|n| (Stored::Integer(n), None))].boxed()
}

fn sqlite_dates() -> BoxedStrategy<(Stored, Option<Value>)> {
    let canonical = days(-20_000..=20_000).prop_map(|(year, month, day)| {
        (Stored::Text(Some(format!("{year:04}-{month:02}-{day:02}"))), readable_date(year, month, day).map(Value::Date))
    });
    let odd =
        select(vec!["infinity", "2024-02-30", "2024-1-1x", ""]).prop_map(|t| (Stored::Text(Some(t.to_owned())), None));
    prop_oneof![4 => canonical, 1 => odd].boxed()
}

fn sqlite_integers(ty: ColumnType) -> BoxedStrategy<(Stored, Option<Value>)> {
    let edges = vec![0, 1, -1, 2, i64::from(i16::MIN) - 1, i64::from(i16::MAX) + 1, i64::from(i32::MAX) + 1, i64::MIN];
    prop_oneof![select(edges), any::<i64>(), any::<i16>().prop_map(i64::from)]
        .prop_map(move |n| {
            let expected = match ty {
                ColumnType::Bool => matches!(n, 0 | 1).then_some(Value::Bool(n == 1)),
                ColumnType::I16 => i16::try_from(n).ok().map(Value::I16),
                ColumnType::I32 => i32::try_from(n).ok().map(Value::I32),
                _ => Some(Value::I64(n)),
            };
            (Stored::Integer(n), expected)
        })
        .boxed()
}

/// A raw SQLite write into one column of `Sample`, `created_at` or `updated_at`. The
/// `STRICT` table refuses what its column types cannot hold (and NaN, which SQLite turns
/// into NULL, in a NOT NULL column); such a write changes nothing.
fn sqlite_writes() -> BoxedStrategy<Write> {
    select(writable_columns())
        .prop_flat_map(|(column, ty, nullable)| {
            let value: BoxedStrategy<(Stored, Option<Value>)> = match ty {
                ColumnType::Bool | ColumnType::I16 | ColumnType::I32 | ColumnType::I64 => sqlite_integers(ty),
                ColumnType::F32 => f64s()
                    .prop_filter("SQLite stores NaN as NULL", |x| !x.is_nan())
                    .prop_map(|x| {
                        // An f32 column holds what was stored from an f32; a wider REAL
                        // written by another program reads as the nearest f32.
                        #[allow(clippy::cast_possible_truncation)]
                        let narrow = x as f32;
                        (Stored::Real(x), finite_or_none(narrow, narrow.is_finite()))
                    })
                    .boxed(),
                ColumnType::F64 => f64s()
                    .prop_filter("SQLite stores NaN as NULL", |x| !x.is_nan())
                    .prop_map(|x| (Stored::Real(x), finite_or_none(x, x.is_finite())))
                    .boxed(),
                ColumnType::Text => prop_oneof![
                    4 => ".{0,12}".prop_map(|t: String| {
                        let expected = (!t.contains('\0')).then(|| Value::Text(t.clone()));
                        (Stored::Text(Some(t)), expected)
                    }),
                    1 => Just((Stored::Text(Some("nul\0inside".to_owned())), None)),
                ]
                .boxed(),
                ColumnType::Date => sqlite_dates(),
                ColumnType::Timestamp => sqlite_timestamps(),
                ColumnType::Json => prop_oneof![
                    4 => jsons().prop_map(|doc| (Stored::Text(Some(doc.to_string())), Some(Value::Json(doc)))),
                    1 => select(vec!["{", "nul", "[1,]", "\"\\u0000\"", "1e400"])
                        .prop_map(|t| (Stored::Text(Some(t.to_owned())), None)),
                ]
                .boxed(),
                ColumnType::Bytes => prop::collection::vec(any::<u8>(), 0..8)
                    .prop_map(|b| (Stored::Blob(b.clone()), Some(Value::Bytes(b))))
                    .boxed(),
                // Only the lower-case hyphenated form Plinth writes reads back; SQL compares
                // that text, so any other form is refused rather than mis-compared.
                ColumnType::Uuid => prop_oneof![
                    4 => any::<u128>().prop_map(|n| {
                        let id = uuid::Uuid::from_u128(n);
                        (Stored::Text(Some(id.to_string())), Some(Value::Uuid(id)))
                    }),
                    1 => any::<u128>().prop_map(|n| {
                        (Stored::Text(Some(uuid::Uuid::from_u128(n).simple().to_string())), None)
                    }),
                    1 => select(vec!["", "not-a-uuid", "00000000-0000-0000-0000-00000000000G"])
                        .prop_map(|t| (Stored::Text(Some(t.to_owned())), None)),
                ]
                .boxed(),
            };
            let value = if nullable {
                prop_oneof![1 => Just((Stored::Text(None), Some(Value::Null))), 5 => value].boxed()
            } else {
                value
            };
            value.prop_map(move |(stored, expected)| Write { column, stored, expected })
        })
        .boxed()
}

/// What Plinth reads of row `id`: the value of `column` (or `Decode` naming it) through
/// `get`, and the same answer from `all`, `first` and a filtered query; `count` never
/// decodes, so it always answers.
async fn read_back(db: &Database, id: i64, column: &str) -> Result<Value, TestCaseError> {
    let mut session = db.session().await.map_err(fail)?;
    let value_of = |record: &Record<Sample>| -> Value {
        match column {
            "created_at" => Value::Timestamp(record.created_at()),
            "updated_at" => Value::Timestamp(record.updated_at()),
            name => {
                let position = Sample::table().columns().iter().position(|c| c.name() == name);
                record.to_row().into_values().swap_remove(position.expect("a column of Sample"))
            }
        }
    };
    let got = session.get::<Sample>(id).await;
    let all = session.query::<Sample>().all().await;
    let first = session.query::<Sample>().first().await;
    let filtered = session.query::<Sample>().filter_by(Filter::column("id").eq(id)).all().await;
    let count = session.query::<Sample>().count().await.map_err(fail)?;
    prop_assert_eq!(count, 1);
    match got {
        Ok(Some(record)) => {
            let value = value_of(&record);
            let all = all.map_err(fail)?;
            prop_assert_eq!(all.len(), 1);
            prop_assert_eq!(&all[0], &record);
            prop_assert_eq!(first.map_err(fail)?, Some(record.clone()));
            prop_assert_eq!(filtered.map_err(fail)?, vec![record]);
            Ok(value)
        }
        Ok(None) => Err(TestCaseError::fail("the row is gone")),
        Err(Error::Decode { column: found, .. }) => {
            prop_assert_eq!(found, Some(column), "the Decode error names another column");
            for other in [all.map(drop), first.map(drop), filtered.map(drop)] {
                prop_assert!(matches!(other, Err(Error::Decode { .. })), "not Decode: {:?}", other);
            }
            Err(TestCaseError::reject("unreadable"))
        }
        Err(other) => Err(TestCaseError::fail(format!("not a Decode error: {other:?}"))),
    }
}

fn fail(err: Error) -> TestCaseError {
    TestCaseError::fail(format!("{err:?}"))
}

/// How the cases of one run ended, so a run that read nothing (or refused nothing)
/// fails instead of passing unseen.
#[derive(Debug, Default)]
struct Tally {
    read: std::cell::Cell<u32>,
    refused: std::cell::Cell<u32>,
    not_stored: std::cell::Cell<u32>,
}

fn bump(counter: &std::cell::Cell<u32>) {
    counter.set(counter.get() + 1);
}

/// Stores `write` with raw SQL into row `id` and checks what Plinth reads.
async fn check(db: &Database, raw: &Raw, id: i64, write: &Write, tally: &Tally) -> Result<(), TestCaseError> {
    if !raw.write(id, write).await {
        bump(&tally.not_stored);
        return Ok(());
    }
    // Values are read through the entity, whose fields give `-0.0` as `0.0`, the form
    // Plinth stores it in (SQLite keeps no negative zero in a REAL column at all).
    let expected = match &write.expected {
        Some(Value::F32(z)) if *z == 0.0 => Some(Value::F32(0.0)),
        Some(Value::F64(z)) if *z == 0.0 => Some(Value::F64(0.0)),
        other => other.clone(),
    };
    match (read_back(db, id, write.column).await, &expected) {
        (Ok(Value::Json(value)), Some(Value::Json(expected))) => {
            prop_assert!(same_json(&value, expected), "{value} read back for {expected}");
            bump(&tally.read);
        }
        (Ok(value), Some(expected)) => {
            prop_assert_eq!(&value, expected);
            // Floats bit for bit. (JSON numbers are compared as numbers: JSONB keeps
            // no negative zero, and reorders keys.)
            if !matches!(value, Value::Json(_)) {
                prop_assert_eq!(format!("{value:?}"), format!("{expected:?}"));
            }
            bump(&tally.read);
        }
        (Ok(value), None) => return Err(TestCaseError::fail(format!("read {value:?}, expected a Decode error"))),
        (Err(TestCaseError::Reject(_)), None) => bump(&tally.refused),
        (Err(TestCaseError::Reject(_)), Some(expected)) => {
            return Err(TestCaseError::fail(format!("a Decode error, expected {expected:?}")))
        }
        (Err(failure), _) => return Err(failure),
    }
    Ok(())
}

/// Raw SQL on the database under test, bypassing Plinth.
enum Raw {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl Raw {
    /// Writes `write` into row `id`; `false` if the database refused it.
    async fn write(&self, id: i64, write: &Write) -> bool {
        let column = write.column;
        match (self, &write.stored) {
            (Raw::Postgres(pool), Stored::Text(text)) => {
                let ty = match column {
                    "created_at" | "updated_at" => "timestamptz",
                    name => pg_type(Sample::table().resolve(name).map_or(ColumnType::Text, |(_, ty)| ty)),
                };
                // The version trigger would overwrite a raw `updated_at`; a replica
                // session does not fire it.
                let mut tx = pool.begin().await.expect("begin");
                sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.expect("replica");
                let sql = format!("UPDATE \"samples\" SET \"{column}\" = CAST($1 AS {ty}) WHERE \"id\" = $2");
                let done = sqlx::query(&sql).bind(text.as_deref()).bind(id).execute(&mut *tx).await;
                let done = done.unwrap_or_else(|e| panic!("PostgreSQL refused {write:?}: {e}"));
                tx.commit().await.expect("commit");
                done.rows_affected() == 1
            }
            (Raw::Sqlite(pool), stored) => {
                let sql = format!("UPDATE \"samples\" SET \"{column}\" = ?1 WHERE \"id\" = ?2");
                let query = sqlx::query(&sql);
                let query = match stored {
                    Stored::Text(text) => query.bind(text.clone()),
                    Stored::Integer(n) => query.bind(*n),
                    Stored::Real(x) => query.bind(*x),
                    Stored::Blob(b) => query.bind(b.clone()),
                };
                query.bind(id).execute(pool).await.is_ok_and(|done| done.rows_affected() == 1)
            }
            (Raw::Postgres(_), other) => panic!("PostgreSQL writes are text, not {other:?}"),
        }
    }
}

fn pg_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool => "boolean",
        ColumnType::I16 => "smallint",
        ColumnType::I32 => "integer",
        ColumnType::I64 => "bigint",
        ColumnType::F32 => "real",
        ColumnType::F64 => "double precision",
        ColumnType::Text => "text",
        ColumnType::Date => "date",
        ColumnType::Timestamp => "timestamptz",
        ColumnType::Json => "jsonb",
        ColumnType::Bytes => "bytea",
        ColumnType::Uuid => "uuid",
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES)
}

/// Runs `writes` against `db`, each on a fresh row.
fn run(db: &Database, raw: &Raw, writes: BoxedStrategy<Write>, runtime: &tokio::runtime::Runtime) {
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    let tally = Tally::default();
    let outcome = runner.run(&writes, |write| {
        runtime.block_on(async {
            let mut session = db.session().await.map_err(fail)?;
            let id = session.add(Sample::plain()).await.map_err(fail)?.id().get();
            session.commit().await.map_err(fail)?;
            let checked = check(db, raw, id, &write, &tally).await;
            let mut session = db.session().await.map_err(fail)?;
            session.delete_by_id::<Sample>(id).await.map_err(fail)?;
            session.commit().await.map_err(fail)?;
            checked
        })
    });
    if let Err(err) = outcome {
        panic!("{err}");
    }
    println!("stored values: {tally:?}");
    assert!(tally.read.get() > 0 && tally.refused.get() > 0, "every case should not end the same way: {tally:?}");
}

/// `Sample`'s table in `schema`, through Plinth and through a raw pool.
async fn postgres_samples(schema: &mut PostgresSchema) -> (Database, Raw) {
    let db = schema.open().await;
    db.create_all(&[Sample::table()]).await.expect("create_all");
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&schema.url()).await.expect("pool");
    (db, Raw::Postgres(pool))
}

#[test]
fn values_written_by_another_program_read_back_or_are_decode_errors_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut schema = PostgresSchema::new("plinth_stored", 2);
    let (db, raw) = runtime.block_on(postgres_samples(&mut schema));
    run(&db, &raw, pg_writes(), &runtime);
}

#[test]
fn values_written_by_another_program_read_back_or_are_decode_errors_on_sqlite() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut file = SqliteFile::new("plinth-stored");
    let (db, pool) = runtime.block_on(async {
        let db = file.open().await;
        db.create_all(&[Sample::table()]).await.expect("create_all");
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&file.url()).await.expect("pool");
        (db, pool)
    });
    run(&db, &Raw::Sqlite(pool), sqlite_writes(), &runtime);
}

/// The decoders' edges, stated once as examples (the property above draws them at
/// random): PostgreSQL's `'infinity'` in a timestamp, a date and `created_at`.
#[test]
fn infinite_timestamps_and_dates_are_decode_errors_naming_the_column() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut schema = PostgresSchema::new("plinth_infinity", 2);
    runtime.block_on(async {
        let (db, raw) = postgres_samples(&mut schema).await;
        for (column, text) in
            [("moment", "infinity"), ("day", "-infinity"), ("created_at", "infinity"), ("maybe_moment", "-infinity")]
        {
            let mut session = db.session().await.expect("session");
            let id = session.add(Sample::plain()).await.expect("add").id().get();
            session.commit().await.expect("commit");
            let write = Write { column, stored: Stored::Text(Some(text.to_owned())), expected: None };
            assert!(raw.write(id, &write).await, "the raw write");
            let mut session = db.session().await.expect("session");
            let got = session.get::<Sample>(id).await;
            match got {
                Err(Error::Decode { table, ref record, column: c, ref found }) => {
                    assert_eq!((table, record.as_str(), c), ("samples", format!("id {id}").as_str(), Some(column)));
                    assert!(found.contains(text), "{found}");
                }
                other => panic!("{column} = {text}: {other:?}"),
            }
            session.delete_by_id::<Sample>(id).await.expect("delete");
            session.commit().await.expect("commit");
        }
    });
}
