//! Differential test of the query compiler: random rows of every column type and random
//! queries must give the same answer on the memory engine, SQLite and PostgreSQL
//! (DESIGN.md, shared semantics rule 6), the memory engine being the reference.
//!
//! Every query orders by `id` after its own keys (Plinth always does), so the order is
//! total and results are compared as exact sequences: same records, same order. `all`,
//! `first` and `count` run for every query; errors (a wrong type, a bad pattern) must be
//! the same error on every backend.
//!
//! Needs PostgreSQL (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`),
//! used in a schema of its own that is dropped afterwards:
//! `cargo test -p plinth-sqlx --test differential`. The default 128 cases take a few
//! seconds; run longer with e.g. `PROPTEST_CASES=2000`.

use chrono::{DateTime, NaiveDate, Utc};
use plinth::Query;
use plinth::{like_escape, ColumnType, Database, Entity, Filter, Order, Session, Value};
use plinth_conformance::entities::Sample;
use plinth_conformance::Fixture;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

mod support;

use support::PostgresSchema;

const DEFAULT_CASES: u32 = 128;

/// The columns queries may name, with their types: `id` and `Sample`'s fields.
fn columns() -> Vec<(&'static str, ColumnType)> {
    std::iter::once(("id", ColumnType::I64))
        .chain(Sample::table().columns().iter().map(|c| (c.name(), c.ty())))
        .collect()
}

fn i16s() -> BoxedStrategy<i16> {
    prop_oneof![select(vec![i16::MIN, -1, 0, 1, i16::MAX]), -3_i16..3].boxed()
}

fn i32s() -> BoxedStrategy<i32> {
    prop_oneof![select(vec![i32::MIN, -1, 0, 1, i32::MAX, 70_000]), -3_i32..3].boxed()
}

fn i64s() -> BoxedStrategy<i64> {
    prop_oneof![select(vec![i64::MIN, -1, 0, 1, i64::MAX, 1 << 53, (1 << 53) + 1]), -3_i64..3].boxed()
}

fn f32s() -> BoxedStrategy<f32> {
    let special = vec![-0.0, 0.0, 0.1, -0.1, 1.5, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 16_777_217.0, 1e-45];
    prop_oneof![select(special), (-4_i16..4).prop_map(|n| f32::from(n) / 2.0)].boxed()
}

fn f64s() -> BoxedStrategy<f64> {
    let special = vec![-0.0, 0.0, 0.1, -0.1, 1.5, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e300, -5e-324];
    prop_oneof![select(special), (-4_i32..4).prop_map(|n| f64::from(n) / 2.0)].boxed()
}

/// Text that collides often, differs in case, and holds LIKE and SQL metacharacters.
fn texts() -> BoxedStrategy<String> {
    let special = [
        "", "a", "A", "b", "B", "Z", "z", "é", "É", "ß", "😀", "%", "_", "\\", "'", "\"", "a%b", "a_b", "a\\b", "ab",
        "abc", "Abc", "it's", "[a]", "*", "?", " ", "a ",
    ];
    // Control characters, the ends of one- and two-byte UTF-8, the last code point, a
    // combining accent.
    let edges = ["\n", "\t", "\u{7f}", "\u{80}", "ÿ", "Ā", "\u{10ffff}", "e\u{301}"];
    prop_oneof![
        select(special.iter().chain(&edges).map(|s| (*s).to_owned()).collect::<Vec<_>>()),
        "[aAbBzZé😀%_'\"\\\\*?\\[\\] ]{0,5}",
    ]
    .boxed()
}

/// LIKE patterns from pieces: wildcards, escapes and literals (a lone trailing `\` too).
fn patterns() -> BoxedStrategy<String> {
    let pieces = ["a", "A", "b", "é", "😀", "%", "_", "\\%", "\\_", "\\\\", "\\a", "'", "*", "?", "[", "]", " "];
    prop_oneof![
        8 => prop::collection::vec(select(pieces.to_vec()), 0..5).prop_map(|p| p.concat()),
        1 => texts().prop_map(|t| format!("{t}\\")),
    ]
    .boxed()
}

fn dates() -> BoxedStrategy<NaiveDate> {
    let special = [(1, 1, 1), (9999, 12, 31), (2024, 2, 29), (1970, 1, 1), (1999, 12, 31), (10, 1, 1), (999, 5, 5)];
    let special: Vec<NaiveDate> = special.iter().filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)).collect();
    prop_oneof![select(special), (1_u32..4).prop_filter_map("a day", |d| NaiveDate::from_ymd_opt(2024, 1, d))].boxed()
}

/// Timestamps, some with nanoseconds that storage truncates to microseconds.
fn timestamps() -> BoxedStrategy<DateTime<Utc>> {
    let special = [
        (-62_135_596_800, 0),
        (253_402_300_799, 999_999_000),
        (0, 0),
        (-1, 999_999_000),
        (1_700_000_000, 123_456_789),
        (951_782_400, 1_000),
    ];
    let special: Vec<DateTime<Utc>> = special.iter().filter_map(|&(s, n)| DateTime::from_timestamp(s, n)).collect();
    prop_oneof![
        select(special),
        (0_i64..3, select(vec![0_u32, 1_000, 1_500, 999_999_000]))
            .prop_filter_map("a moment", |(s, n)| DateTime::from_timestamp(1_700_000_000 + s, n)),
    ]
    .boxed()
}

fn docs() -> BoxedStrategy<serde_json::Value> {
    use serde_json::json;
    select(vec![json!(null), json!(1), json!(1.5), json!("a"), json!({"k": [1, "two"]}), json!([]), json!({})]).boxed()
}

fn blobs() -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(select(vec![0_u8, 1, 255]), 0..3).boxed()
}

fn uuids() -> BoxedStrategy<uuid::Uuid> {
    // The ends, and neighbours that differ first in the high and the low bytes.
    select(vec![0_u128, 1, u128::MAX, 1 << 120, (1 << 120) + 1, 0x0192_3c6a_7b1e_7000_8000_0000_0000_0001])
        .prop_map(uuid::Uuid::from_u128)
        .boxed()
}

fn sample() -> impl Strategy<Value = Sample> {
    use prop::option::of;
    let plain = (
        any::<bool>(),
        i16s(),
        i32s(),
        i64s(),
        f32s(),
        f64s(),
        texts(),
        dates(),
        timestamps(),
        docs(),
        blobs(),
        uuids(),
    );
    let maybe = (
        of(any::<bool>()),
        of(i16s()),
        of(i32s()),
        of(i64s()),
        of(f32s()),
        of(f64s()),
        of(texts()),
        of(dates()),
        of(timestamps()),
        of(docs()),
        of(blobs()),
        of(uuids()),
    );
    (plain, maybe).prop_map(|(p, m)| Sample {
        flag: p.0,
        small: p.1,
        medium: p.2,
        big: p.3,
        single: p.4,
        double: p.5,
        text: p.6,
        day: p.7,
        moment: p.8,
        doc: p.9,
        blob: p.10,
        key: p.11,
        maybe_flag: m.0,
        maybe_small: m.1,
        maybe_medium: m.2,
        maybe_big: m.3,
        maybe_single: m.4,
        maybe_double: m.5,
        maybe_text: m.6,
        maybe_day: m.7,
        maybe_moment: m.8,
        maybe_doc: m.9,
        maybe_blob: m.10,
        maybe_key: m.11,
    })
}

/// A value of the column's own type.
fn value_of(kind: ColumnType) -> BoxedStrategy<Value> {
    match kind {
        ColumnType::Bool => any::<bool>().prop_map(Value::from).boxed(),
        ColumnType::I16 => i16s().prop_map(Value::from).boxed(),
        ColumnType::I32 => i32s().prop_map(Value::from).boxed(),
        ColumnType::I64 => prop_oneof![i64s(), 0_i64..12].prop_map(Value::from).boxed(),
        ColumnType::F32 => f32s().prop_map(Value::from).boxed(),
        ColumnType::F64 => f64s().prop_map(Value::from).boxed(),
        ColumnType::Text => texts().prop_map(Value::from).boxed(),
        ColumnType::Date => dates().prop_map(Value::from).boxed(),
        ColumnType::Timestamp => timestamps().prop_map(Value::from).boxed(),
        ColumnType::Json => docs().prop_map(Value::from).boxed(),
        ColumnType::Bytes => blobs().prop_map(Value::from).boxed(),
        ColumnType::Uuid => uuids().prop_map(Value::from).boxed(),
    }
}

/// Mostly a value of the column's type; sometimes one that must be converted (an `i64`
/// for an `i16` column, an `f32` for an `f64` one) or refused (`NULL`, text with NUL,
/// a value of another type).
fn filter_value(kind: ColumnType) -> BoxedStrategy<Value> {
    let other = select(vec![
        Value::Null,
        Value::I64(1),
        Value::I64(40_000),
        Value::I16(-1),
        Value::F32(0.5),
        Value::Text("1".to_owned()),
        Value::Text("a\0b".to_owned()),
        Value::F64(f64::NAN),
    ]);
    prop_oneof![40 => value_of(kind), 1 => other].boxed()
}

fn compare(column: &'static str, op: u8, value: Value) -> Filter {
    let column = Filter::column(column);
    match op {
        0 => column.eq(value),
        1 => column.ne(value),
        2 => column.lt(value),
        3 => column.le(value),
        4 => column.gt(value),
        _ => column.ge(value),
    }
}

fn leaf() -> BoxedStrategy<Filter> {
    select(columns())
        .prop_flat_map(|(name, kind)| {
            let text_column = matches!(kind, ColumnType::Text);
            prop_oneof![
                6 => (0_u8..6, filter_value(kind)).prop_map(move |(op, v)| compare(name, op, v)),
                2 => prop::collection::vec(filter_value(kind), 0..4).prop_map(move |vs| Filter::column(name).is_in(vs)),
                if text_column { 4 } else { 0 } => patterns().prop_map(move |p| Filter::column(name).like(p)),
                1 => Just(Filter::column(name).is_null()),
                1 => Just(Filter::column(name).is_not_null()),
            ]
        })
        .boxed()
}

fn filters() -> BoxedStrategy<Filter> {
    leaf()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
                inner.prop_map(|f| !f),
            ]
        })
        .boxed()
}

/// A query as the public API builds it.
#[derive(Clone, Debug)]
struct QuerySpec {
    /// Each added with `filter_by` (so several are joined with AND).
    filters: Vec<Filter>,
    /// Added with the typed `filter`: `text LIKE '<escaped prefix>%'`.
    text_prefix: Option<String>,
    /// `(column, descending)`, added with `then_order`.
    order: Vec<(&'static str, bool)>,
    limit: Option<u64>,
    offset: u64,
}

fn queries() -> impl Strategy<Value = QuerySpec> {
    let ordered: Vec<&'static str> =
        columns().into_iter().filter(|(_, kind)| !matches!(kind, ColumnType::Json)).map(|(name, _)| name).collect();
    let order = prop::collection::vec((select(ordered), any::<bool>()), 0..4);
    let limit = prop_oneof![2 => Just(None), 4 => (0_u64..8).prop_map(Some), 1 => Just(Some(u64::MAX))];
    let offset = prop_oneof![4 => Just(0_u64), 4 => 0_u64..8, 1 => select(vec![u64::MAX, 1 << 63])];
    (prop::collection::vec(filters(), 0..3), prop::option::of(texts()), order, limit, offset).prop_map(
        |(filters, text_prefix, order, limit, offset)| QuerySpec { filters, text_prefix, order, limit, offset },
    )
}

fn build<'s>(session: &'s mut Session, spec: &QuerySpec) -> Query<'s, Sample> {
    let mut query = session.query::<Sample>();
    for filter in &spec.filters {
        query = query.filter_by(filter.clone());
    }
    if let Some(prefix) = &spec.text_prefix {
        let pattern = format!("{}%", like_escape(prefix));
        query = query.filter(|c| c.text.like(pattern));
    }
    for &(column, descending) in &spec.order {
        query = query.then_order(if descending { Order::desc(column) } else { Order::asc(column) });
    }
    if let Some(n) = spec.limit {
        query = query.limit(n);
    }
    query.offset(spec.offset)
}

/// What one query returned on one backend; errors by their message.
#[derive(Debug, PartialEq)]
struct Outcome {
    all: Result<Vec<(i64, Sample)>, String>,
    first: Result<Option<(i64, Sample)>, String>,
    count: Result<u64, String>,
}

async fn run(db: &Database, spec: &QuerySpec) -> Outcome {
    let mut session = db.session().await.expect("session");
    let record = |r: plinth::Record<Sample>| (r.id().get(), r.into_entity());
    let all = build(&mut session, spec).all().await;
    let first = build(&mut session, spec).first().await;
    let count = build(&mut session, spec).count().await;
    Outcome {
        all: all.map(|rows| rows.into_iter().map(record).collect()).map_err(|e| e.to_string()),
        first: first.map(|row| row.map(record)).map_err(|e| e.to_string()),
        count: count.map_err(|e| e.to_string()),
    }
}

/// Deletes every row and stores `rows`; ids keep growing, the same on every backend.
async fn reset(db: &Database, rows: &[Sample]) {
    let mut session = db.session().await.expect("session");
    let old = session.query::<Sample>().all().await.expect("old rows");
    for row in old {
        session.delete_by_id::<Sample>(row.id()).await.expect("delete");
    }
    session.add_all(rows.iter().cloned()).await.expect("add_all");
    session.commit().await.expect("commit");
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES)
}

#[test]
fn random_queries_agree_on_memory_sqlite_and_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut schema = PostgresSchema::new("plinth_differential", 2);
    let postgres = runtime.block_on(schema.open());
    let backends = runtime.block_on(async {
        let memory = plinth::memory();
        let sqlite = plinth_sqlx::connect("sqlite::memory:").await.expect("sqlite");
        for db in [&memory, &sqlite, &postgres] {
            db.create_all(&[Sample::table()]).await.expect("create_all");
        }
        [("memory", memory), ("SQLite", sqlite), ("PostgreSQL", postgres)]
    });

    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy = (prop::collection::vec(sample(), 0..16), prop::collection::vec(queries(), 1..6));
    let started = std::time::Instant::now();
    let queries_run = std::cell::Cell::new(0_usize);
    let (with_rows, refused) = (std::cell::Cell::new(0_usize), std::cell::Cell::new(0_usize));
    let result = runner.run(&strategy, |(rows, specs)| {
        runtime.block_on(async {
            for (_, db) in &backends {
                reset(db, &rows).await;
            }
            for spec in &specs {
                queries_run.set(queries_run.get() + 1);
                let expected = run(&backends[0].1, spec).await;
                match &expected.all {
                    Ok(rows) if !rows.is_empty() => with_rows.set(with_rows.get() + 1),
                    Ok(_) => {}
                    Err(_) => refused.set(refused.get() + 1),
                }
                let all = expected.all.as_ref().map(|rows| rows.len() as u64);
                prop_assert_eq!(&expected.count, &all.map_err(Clone::clone), "count disagrees with all");
                let head = expected.all.as_ref().map(|rows| rows.first().cloned());
                prop_assert_eq!(&expected.first, &head.map_err(Clone::clone), "first disagrees with all");
                for (name, db) in &backends[1..] {
                    let actual = run(db, spec).await;
                    prop_assert_eq!(&actual, &expected, "{} differs from memory", name);
                }
            }
            Ok::<(), TestCaseError>(())
        })
    });
    eprintln!(
        "{} cases, {} queries (shrinking included; {} returned rows, {} were refused before any I/O) in {:?}",
        cases(),
        queries_run.get(),
        with_rows.get(),
        refused.get(),
        started.elapsed()
    );
    drop(backends);
    drop(schema);
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (rows, specs))) => {
            panic!("{reason}\nminimal rows: {rows:#?}\nminimal queries: {specs:#?}")
        }
        Err(e) => panic!("{e}"),
    }
}
