//! Versioned migrations: one list of migrations, written once, brings a database from
//! any earlier version to the last on every backend — keeping every row, its id and
//! timestamps, converting what a step converts — records each migration once, refuses a
//! changed migration and a database a newer app migrated, changes nothing when a step
//! fails, and lets two migrators run at once.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use plinth::backend::ColumnDef;
use plinth::migrate::{DataFuture, Migration, MigrationRecord, Step};
use plinth::{Database, Entity, Error, Record, Session, Value};

use crate::cases::committed;
use crate::entities::{Gadget, Memo, NoteV1, NoteV2, Score, ScoreAsText, Widget};
use crate::Fixture;

/// `n` stars as `n` asterisks; a negative number is no number of stars.
fn stars_as_text(value: Value) -> Result<Value, String> {
    match value {
        Value::I32(n) if n >= 0 => Ok(Value::Text("*".repeat(n.unsigned_abs() as usize))),
        other => Err(format!("{other} is no number of stars")),
    }
}

/// Migration 3: every title gets a `!` — not idempotent, so a migration run twice shows.
fn exclaim_titles(session: &mut Session) -> DataFuture<'_> {
    Box::pin(async move {
        for mut note in session.query::<NoteV2>().all().await? {
            note.title.push('!');
            session.update(&mut note).await?;
        }
        Ok(())
    })
}

/// Migration 1 of [`MIGRATIONS`].
const BODY_AND_COLOUR: Migration = Migration::schema(
    1,
    "body becomes text; notes get a colour",
    &[
        Step::RenameColumn { table: "notes", from: "body", to: "text" },
        Step::AddColumn {
            table: "notes",
            column: ColumnDef::of::<String>("colour").with_default(|| Value::from("yellow")),
        },
    ],
);

/// The app's migrations, from [`NoteV1`] to [`Memo`].
pub static MIGRATIONS: [Migration; 4] = [
    BODY_AND_COLOUR,
    Migration::schema(
        2,
        "stars as text; colours indexed",
        &[
            Step::ChangeType {
                table: "notes",
                from: ColumnDef::of::<i32>("stars"),
                to: ColumnDef::of::<String>("stars"),
                convert: stars_as_text,
            },
            Step::AddIndex { table: "notes", column: "colour" },
        ],
    ),
    Migration::data(3, "titles get an exclamation mark", exclaim_titles),
    Migration::schema(
        4,
        "notes become memos, whose titles need not be unique",
        &[Step::RenameTable { from: "notes", to: "memos" }, Step::DropUnique { table: "memos", column: "title" }],
    ),
];

/// A database of version 1 (made by `create_all`, before the app had migrations):
/// `a` (3 stars), `b` (0), `c` (2), and `d` (deleted again, so the next id is past it).
async fn version_one(fx: &mut impl Fixture) -> (Database, Vec<Record<NoteV1>>) {
    let db = fx.open().await;
    db.create_all(&[NoteV1::table()]).await.expect("create_all of version 1");
    let note = |title: &str, stars| NoteV1 { title: title.into(), body: format!("about {title}"), stars };
    let mut rows = committed(&db, vec![note("a", 3), note("b", 0), note("c", 2), note("d", 1)]).await;
    let mut session = db.session().await.expect("session");
    session.delete(rows.remove(3)).await.expect("delete");
    session.commit().await.expect("commit");
    (db, rows)
}

async fn records(db: &Database) -> Vec<(i64, String, String)> {
    let mut session = db.session().await.expect("session");
    let records = session.query::<MigrationRecord>().order_by(|c| c.version.asc()).all().await.expect("records");
    records.into_iter().map(|r| (r.version, r.name.clone(), r.checksum.clone())).collect()
}

fn every_record() -> Vec<(i64, String, String)> {
    MIGRATIONS.iter().map(|m| (m.version(), m.name().to_owned(), m.checksum())).collect()
}

/// The migrations bring a version-1 database to the last version: every row kept with
/// its id and timestamps (but where migration 3 wrote it), renamed, converted and
/// filled; each migration recorded once; the next id past every id handed out; the old
/// table gone. Migrating again changes nothing.
pub async fn migrations_bring_a_version_one_database_to_the_last_version(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    db.migrate(&MIGRATIONS, &[Memo::table()]).await.expect("migrate");
    let mut session = db.session().await.expect("session");
    let memos = session.query::<Memo>().all().await.expect("the memos");
    let seen: Vec<(i64, &str, &str, &str, &str)> = memos
        .iter()
        .map(|m| (m.id().get(), m.title.as_str(), m.text.as_str(), m.stars.as_str(), m.colour.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (before[0].id().get(), "a!", "about a", "***", "yellow"),
            (before[1].id().get(), "b!", "about b", "", "yellow"),
            (before[2].id().get(), "c!", "about c", "**", "yellow"),
        ]
    );
    for (memo, note) in memos.iter().zip(&before) {
        assert_eq!(memo.created_at(), note.created_at(), "created_at is kept");
        assert!(memo.updated_at() > note.updated_at(), "migration 3 wrote every row");
    }
    assert_eq!(records(&db).await, every_record());
    let next =
        session.add(Memo { title: "a!".into(), text: "again".into(), stars: String::new(), colour: "red".into() });
    let next = next.await.expect("a memo's title need not be unique any more");
    assert!(next.id().get() > before[2].id().get() + 1, "the deleted note's id is not handed out again: {}", next.id());
    let old = session.query::<NoteV1>().count().await;
    assert!(matches!(old, Err(Error::NoSuchTable { table: "notes" })), "{old:?}");
    session.commit().await.expect("commit");

    let again = fx.open().await;
    again.migrate(&MIGRATIONS, &[Memo::table()]).await.expect("migrating again");
    assert_eq!(records(&again).await, every_record());
    let titles = again.session().await.expect("session").query::<Memo>().filter(|c| c.title.like("%!!")).count().await;
    assert_eq!(titles.expect("count"), 0, "no migration ran twice");
}

/// A new database gets the last version's tables at once, with every migration
/// recorded as applied; its plan says so beforehand.
pub async fn a_new_database_gets_the_last_tables_and_every_migration_recorded(fx: &mut impl Fixture) {
    let db = fx.open().await;
    let plan = db.migration_plan(&MIGRATIONS, &[Memo::table()]).await.expect("plan");
    assert!(plan.fresh && plan.pending.is_empty(), "{plan}");
    db.migrate(&MIGRATIONS, &[Memo::table()]).await.expect("migrate");
    assert_eq!(records(&db).await, every_record());
    let memo = Memo { title: "x".into(), text: "y".into(), stars: "*".into(), colour: "blue".into() };
    committed(&db, vec![memo.clone(), memo]).await;
    let plan = db.migration_plan(&MIGRATIONS, &[Memo::table()]).await.expect("plan");
    assert!(!plan.fresh && plan.pending.is_empty(), "{plan}");
}

/// A database migrated by version 2 of the app (the first two migrations) opens in
/// the last version, which applies the rest; its plan lists them first.
pub async fn a_database_at_an_earlier_version_gets_the_migrations_it_lacks(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    db.migrate(&MIGRATIONS[..2], &[NoteV2::table()]).await.expect("version 2");
    let mut session = db.session().await.expect("session");
    let notes = session.query::<NoteV2>().all().await.expect("version 2 reads");
    assert_eq!(notes.iter().map(|n| n.stars.as_str()).collect::<Vec<_>>(), ["***", "", "**"]);
    assert_eq!(notes[0].updated_at(), before[0].updated_at(), "schema steps do not move updated_at");
    session
        .add(NoteV2 { title: "e".into(), text: "new".into(), stars: "**".into(), colour: "green".into() })
        .await
        .expect("add");
    session.commit().await.expect("commit");

    let plan = db.migration_plan(&MIGRATIONS, &[Memo::table()]).await.expect("plan");
    let versions: Vec<i64> = plan.pending.iter().map(|(version, _, _)| *version).collect();
    assert_eq!(versions, [3, 4], "{plan}");
    assert!(plan.pending.iter().all(|(_, _, statements)| !statements.is_empty()), "{plan}");
    assert!(plan.to_string().contains("migration 4 `notes become memos"), "{plan}");

    db.migrate(&MIGRATIONS, &[Memo::table()]).await.expect("the last version");
    let memos = db.session().await.expect("session").query::<Memo>().all().await.expect("memos");
    let titles: Vec<&str> = memos.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, ["a!", "b!", "c!", "e!"]);
    assert_eq!(records(&db).await, every_record());
}

/// A migration that changed since the database recorded it is refused, naming it;
/// an app older than the database is refused with an error that says to update.
/// Neither writes anything.
pub async fn a_changed_migration_and_an_older_app_are_refused(fx: &mut impl Fixture) {
    static CHANGED: [Migration; 2] = [
        Migration::schema(
            1,
            "body becomes text; notes get a colour",
            &[Step::RenameColumn { table: "notes", from: "body", to: "content" }],
        ),
        Migration::schema(2, "unused", &[]),
    ];
    let (db, _) = version_one(fx).await;
    db.migrate(&MIGRATIONS[..2], &[NoteV2::table()]).await.expect("version 2");
    let changed = db.migrate(&CHANGED, &[NoteV2::table()]).await;
    assert!(matches!(&changed, Err(Error::MigrationChanged { version: 1, .. })), "{changed:?}");
    let message = changed.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("must not change"), "{message}");

    db.migrate(&MIGRATIONS, &[Memo::table()]).await.expect("the last version");
    let older = fx.open().await.migrate(&MIGRATIONS[..2], &[NoteV2::table()]).await;
    assert!(matches!(older, Err(Error::DatabaseIsNewer { database: 4, app: 2 })), "{older:?}");
    let message = older.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("upgraded by a newer version of the app"), "{message}");
    let memos = db.session().await.expect("session").query::<Memo>().count().await;
    assert_eq!(memos.expect("the memos are as they were"), 3);
}

/// A migration that fails — a conversion that refuses a value, a step naming a
/// column that is not stored, a unique constraint the values violate — changes
/// nothing: no record, every row as it was; the migrations before it stay applied.
pub async fn a_failing_migration_changes_nothing(fx: &mut impl Fixture) {
    static UNKNOWN_COLUMN: [Migration; 2] = [
        BODY_AND_COLOUR,
        Migration::schema(
            2,
            "rename a column that is not there",
            &[
                Step::AddColumn { table: "notes", column: ColumnDef::of::<Option<String>>("extra") },
                Step::RenameColumn { table: "notes", from: "bdy", to: "body" },
            ],
        ),
    ];
    static NOT_DISTINCT: [Migration; 2] =
        [BODY_AND_COLOUR, Migration::schema(2, "unique texts", &[Step::AddUnique { table: "notes", column: "text" }])];
    let (db, before) = version_one(fx).await;
    let mut session = db.session().await.expect("session");
    let mut c = before[2].clone();
    c.stars = -1;
    c.body = "about a".into();
    session.update(&mut c).await.expect("a note no conversion takes");
    session.commit().await.expect("commit");

    let refused = db.migrate(&MIGRATIONS, &[Memo::table()]).await;
    match refused {
        Err(Error::InvalidValue { table: "notes", column: Some("stars"), reason }) => {
            assert!(reason.contains("-1 is no number of stars"), "{reason}");
        }
        other => panic!("expected the conversion's error, got {other:?}"),
    }
    // Migration 1 was applied and recorded; migration 2, which failed, left nothing.
    assert_eq!(records(&db).await, every_record()[..1]);
    let notes = db.session().await.expect("session").query::<NoteV2>().count().await;
    assert!(matches!(notes, Err(Error::SchemaMismatch { .. })), "the stars are no text yet: {notes:?}");

    let unknown = db.migrate(&UNKNOWN_COLUMN, &[]).await;
    assert!(matches!(&unknown, Err(Error::UnknownColumn { table: "notes", column }) if column == "bdy"), "{unknown:?}");
    let duplicated = db.migrate(&NOT_DISTINCT, &[]).await;
    assert!(
        matches!(&duplicated, Err(Error::SchemaMismatch { table: "notes", detail }) if detail.contains("`text` is declared unique")),
        "{duplicated:?}"
    );
    static UNIQUE_THEN_DROPPED: [Migration; 2] = [
        BODY_AND_COLOUR,
        Migration::schema(
            2,
            "unique texts, then no texts",
            &[Step::AddUnique { table: "notes", column: "text" }, Step::DropColumn { table: "notes", column: "text" }],
        ),
    ];
    static OWN_TABLE: [Migration; 2] = [
        BODY_AND_COLOUR,
        Migration::schema(
            2,
            "touch the records",
            &[Step::AddColumn { table: "plinth_migrations", column: ColumnDef::of::<Option<String>>("note") }],
        ),
    ];
    let dropped = db.migrate(&UNIQUE_THEN_DROPPED, &[]).await;
    assert!(
        matches!(&dropped, Err(Error::SchemaMismatch { table: "notes", detail }) if detail.contains("`text` is declared unique")),
        "values are checked at the step that makes them unique, on every backend: {dropped:?}"
    );
    let own = db.migrate(&OWN_TABLE, &[]).await;
    assert!(matches!(own, Err(Error::InvalidValue { table: "plinth_migrations", .. })), "{own:?}");
    assert_eq!(records(&db).await, every_record()[..1], "none was recorded");
}

/// Two polls of two futures until both are done.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut first, mut second) = (None, None);
    std::future::poll_fn(|cx| {
        if first.is_none() {
            if let Poll::Ready(done) = a.as_mut().poll(cx) {
                first = Some(done);
            }
        }
        if second.is_none() {
            if let Poll::Ready(done) = b.as_mut().poll(cx) {
                second = Some(done);
            }
        }
        if first.is_some() && second.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    (first.expect("done"), second.expect("done"))
}

/// Two handles migrating one version-1 database at once both succeed, and each
/// migration is applied once (migration 3 would add a second `!`).
pub async fn two_migrators_at_once_both_succeed(fx: &mut impl Fixture) {
    let (first, _) = version_one(fx).await;
    let second = fx.open().await;
    let (a, b) =
        both(first.migrate(&MIGRATIONS, &[Memo::table()]), second.migrate(&MIGRATIONS, &[Memo::table()])).await;
    a.expect("the first migrator");
    b.expect("the second migrator");
    assert_eq!(records(&first).await, every_record());
    let memos = first.session().await.expect("session").query::<Memo>().all().await.expect("memos");
    assert_eq!(memos.iter().map(|m| m.title.as_str()).collect::<Vec<_>>(), ["a!", "b!", "c!"]);
}

/// A renamed table and a renamed column keep what they had: rows, the next id (past a
/// deleted last row), the unique constraint — whose violation names the new column —
/// and an index; and a table renamed to one that exists is refused.
pub async fn renamed_tables_and_columns_keep_their_rows_ids_and_constraints(fx: &mut impl Fixture) {
    static RENAMES: [Migration; 1] = [RENAMES_FIRST];
    static ONTO_AN_EXISTING_TABLE: [Migration; 2] = [
        RENAMES_FIRST,
        Migration::schema(2, "widgets become notes", &[Step::RenameTable { from: "widgets", to: "notes" }]),
    ];
    const RENAMES_FIRST: Migration = Migration::schema(
        1,
        "gadgets become widgets, named by a label",
        &[
            Step::RenameTable { from: "gadgets", to: "widgets" },
            Step::RenameColumn { table: "widgets", from: "name", to: "label" },
            Step::AddIndex { table: "widgets", column: "code" },
        ],
    );
    let db = fx.open().await;
    db.create_all(&[Gadget::table(), NoteV1::table()]).await.expect("version 1");
    let mut gadgets = committed(&db, vec![Gadget::new("lamp", "L-1"), Gadget::new("fan", "F-1")]).await;
    let mut session = db.session().await.expect("session");
    session.delete(gadgets.pop().expect("two")).await.expect("delete the last");
    session.commit().await.expect("commit");

    db.migrate(&RENAMES, &[Widget::table()]).await.expect("migrate");
    let mut session = db.session().await.expect("session");
    let widgets = session.query::<Widget>().filter(|c| c.code.eq("L-1")).all().await.expect("widgets");
    assert_eq!(
        widgets.iter().map(|w| (w.id().get(), w.label.as_str())).collect::<Vec<_>>(),
        [(gadgets[0].id().get(), "lamp")]
    );
    assert_eq!(widgets[0].created_at(), gadgets[0].created_at());
    let taken = session.add(Widget { label: "lamp".into(), code: "L-2".into() }).await;
    assert!(
        matches!(taken, Err(Error::UniqueViolation { table: "widgets", column: Some("label") })),
        "the unique constraint follows the rename: {taken:?}"
    );
    let next = session.add(Widget { label: "saw".into(), code: "S-1".into() }).await.expect("add");
    assert!(next.id().get() > gadgets[0].id().get() + 1, "the id sequence follows the rename: {}", next.id());
    session.commit().await.expect("commit");
    let gone = db.session().await.expect("session").query::<Gadget>().count().await;
    assert!(matches!(gone, Err(Error::NoSuchTable { table: "gadgets" })), "{gone:?}");

    static CASE_ONLY: [Migration; 2] = [
        RENAMES_FIRST,
        Migration::schema(2, "widgets become Widgets", &[Step::RenameTable { from: "widgets", to: "Widgets" }]),
    ];
    let case_only = db.migrate(&CASE_ONLY, &[]).await;
    assert!(
        matches!(&case_only, Err(Error::SchemaMismatch { detail, .. }) if detail.contains("differ only in ASCII case")),
        "{case_only:?}"
    );
    let onto = db.migrate(&ONTO_AN_EXISTING_TABLE, &[]).await;
    assert!(
        matches!(&onto, Err(Error::SchemaMismatch { table: "widgets", detail }) if detail.contains("table `notes` exists already")),
        "{onto:?}"
    );
}

/// A handle that used a table before a migration changed a column's type uses it
/// after at once, reading, adding, updating and filtering — no statement prepared
/// before the change is run again (PostgreSQL refuses those) — and a column of the
/// name a backend would use while converting is no obstacle.
pub async fn a_changed_type_is_used_through_the_same_handle_at_once(fx: &mut impl Fixture) {
    fn as_text(value: Value) -> Result<Value, String> {
        match value {
            Value::I64(n) => Ok(Value::Text(format!("{n} points"))),
            other => Err(format!("{other} is no score")),
        }
    }
    static TO_TEXT: [Migration; 1] = [Migration::schema(
        1,
        "points as text",
        &[Step::ChangeType {
            table: "scores",
            from: ColumnDef::of::<i64>("points").unique(),
            to: ColumnDef::of::<String>("points").unique(),
            convert: as_text,
        }],
    )];
    let db = fx.open().await;
    db.create_all(&[Score::table()]).await.expect("create_all");
    let mut rows = committed(
        &db,
        vec![Score { points: 1, plinth_converting: Some(7) }, Score { points: 2, plinth_converting: None }],
    )
    .await;
    for _ in 0..3 {
        let mut session = db.session().await.expect("session");
        session.query::<Score>().filter(|c| c.points.gt(0)).all().await.expect("query");
        session.query::<Score>().filter(|c| c.points.eq(1)).count().await.expect("count");
        session.get::<Score>(rows[0].id()).await.expect("get");
        rows[1].points += 10;
        session.update(&mut rows[1]).await.expect("update");
        session.commit().await.expect("commit");
    }
    db.migrate(&TO_TEXT, &[ScoreAsText::table()]).await.expect("migrate");
    let mut session = db.session().await.expect("session");
    let all = session.query::<ScoreAsText>().filter(|c| c.points.like("%points")).all().await.expect("query");
    assert_eq!(all.iter().map(|s| s.points.as_str()).collect::<Vec<_>>(), ["1 points", "32 points"]);
    assert_eq!(all[0].plinth_converting, Some(7), "the column of that name is kept");
    drop(session);
    for round in 0..3 {
        let mut session = db.session().await.expect("session");
        let count = session.query::<ScoreAsText>().filter(|c| c.points.eq("32 points")).count().await.expect("count");
        assert_eq!(count, 1);
        let listed = session.query::<ScoreAsText>().filter(|c| c.points.like("new%")).count().await.expect("query");
        assert_eq!(listed, round);
        let mut first = session.get::<ScoreAsText>(rows[0].id().get()).await.expect("get").expect("the first score");
        first.points = format!("{round} more");
        session.update(&mut first).await.expect("update");
        session.add(ScoreAsText { points: format!("new {round}"), plinth_converting: None }).await.expect("add");
        let taken = session.add(ScoreAsText { points: "32 points".into(), plinth_converting: None }).await;
        assert!(matches!(taken, Err(Error::UniqueViolation { column: Some("points"), .. })), "{taken:?}");
        session.commit().await.expect("commit");
    }
}

/// A migration added with a version below one the database has applied would never
/// run: `migrate` refuses it, naming it, and records nothing.
pub async fn a_migration_added_below_applied_ones_is_refused(fx: &mut impl Fixture) {
    static FIRST_AND_THIRD: [Migration; 2] = [BODY_AND_COLOUR, Migration::schema(3, "three", &[])];
    static WITH_SECOND: [Migration; 3] =
        [BODY_AND_COLOUR, Migration::schema(2, "two, added later", &[]), Migration::schema(3, "three", &[])];
    let (db, _) = version_one(fx).await;
    db.migrate(&FIRST_AND_THIRD, &[]).await.expect("migrations 1 and 3");
    let refused = db.migrate(&WITH_SECOND, &[]).await;
    assert!(matches!(refused, Err(Error::MigrationOutOfOrder { version: 2, applied: 3, .. })), "{refused:?}");
    let versions: Vec<i64> = records(&db).await.iter().map(|(version, _, _)| *version).collect();
    assert_eq!(versions, [1, 3]);
}

/// Migrations that would not lead the stored tables to the app's entities — here,
/// entities of version 1 given with migrations that rename their column — are refused
/// before anything is written: no migration applied, no record.
pub async fn migrations_that_do_not_lead_to_the_entities_are_refused_first(fx: &mut impl Fixture) {
    let (db, before) = version_one(fx).await;
    let refused = db.migrate(&MIGRATIONS[..2], &[NoteV1::table()]).await;
    assert!(
        matches!(&refused, Err(Error::SchemaMismatch { table: "notes", detail }) if detail.contains("`body`")),
        "{refused:?}"
    );
    assert!(records(&db).await.is_empty(), "nothing was recorded");
    let notes = db.session().await.expect("session").query::<NoteV1>().all().await.expect("version 1 as it was");
    assert_eq!(notes, before);
}
