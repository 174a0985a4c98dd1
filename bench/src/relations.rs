//! Loading records with their parents: 100 notes and their authors, by Plinth's
//! `load_parents` (two queries) against the two forms a careful engineer writes with
//! sqlx — one `JOIN`, and the same two queries by hand.

use chrono::{DateTime, Utc};
use plinth::{Database, Entity, Id};

use crate::harness::Report;
use crate::sql::Raw;

/// The parents.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_authors")]
pub(crate) struct BenchAuthor {
    pub(crate) name: String,
    pub(crate) email: String,
}

/// The children: each refers to an author.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "bench_notes")]
pub(crate) struct BenchNote {
    #[entity(on_delete = "cascade")]
    pub(crate) author: Id<BenchAuthor>,
    pub(crate) title: String,
    pub(crate) body: Option<String>,
}

type Error = Box<dyn std::error::Error>;
type NoteTuple = (i64, i64, String, Option<String>, DateTime<Utc>, DateTime<Utc>);
type AuthorTuple = (i64, String, String, DateTime<Utc>, DateTime<Utc>);
type Joined = (i64, i64, String, Option<String>, DateTime<Utc>, DateTime<Utc>, String, String);

const AUTHORS: usize = 1_000;
const NOTES: usize = 10_000;
/// Notes per load.
const PAGE: i64 = 100;
const NOTE_COLUMNS: &str = "\"id\", \"author\", \"title\", \"body\", \"created_at\", \"updated_at\"";

/// The windows of 100 notes the loads read, one per round's operation, spread over
/// the table.
fn window(i: u32) -> (i64, i64) {
    let first = i64::from(i) * 997 % (NOTES as i64 - PAGE) + 1;
    (first, first + PAGE - 1)
}

impl Raw {
    /// The notes with ids `first..=last` and their authors, in one `JOIN`.
    async fn notes_joined(&self, (first, last): (i64, i64)) -> Result<Vec<Joined>, sqlx::Error> {
        let sql = |a: &str, b: &str| {
            format!(
                "SELECT n.\"id\", n.\"author\", n.\"title\", n.\"body\", n.\"created_at\", n.\"updated_at\", \
                 a.\"name\", a.\"email\" FROM \"bench_notes\" AS n JOIN \"bench_authors\" AS a ON a.\"id\" = n.\"author\" \
                 WHERE n.\"id\" BETWEEN {a} AND {b} ORDER BY n.\"id\""
            )
        };
        match self {
            Raw::Postgres(pool) => sqlx::query_as(&sql("$1", "$2")).bind(first).bind(last).fetch_all(pool).await,
            Raw::Sqlite(pool) => sqlx::query_as(&sql("?1", "?2")).bind(first).bind(last).fetch_all(pool).await,
        }
    }

    /// The same, as two queries: the notes, then their authors by id.
    async fn notes_then_authors(
        &self,
        (first, last): (i64, i64),
    ) -> Result<(Vec<NoteTuple>, Vec<AuthorTuple>), sqlx::Error> {
        let authors = "SELECT \"id\", \"name\", \"email\", \"created_at\", \"updated_at\" FROM \"bench_authors\"";
        match self {
            Raw::Postgres(pool) => {
                let sql = format!(
                    "SELECT {NOTE_COLUMNS} FROM \"bench_notes\" WHERE \"id\" BETWEEN $1 AND $2 ORDER BY \"id\""
                );
                let notes: Vec<NoteTuple> = sqlx::query_as(&sql).bind(first).bind(last).fetch_all(pool).await?;
                let mut ids: Vec<i64> = notes.iter().map(|n| n.1).collect();
                ids.sort_unstable();
                ids.dedup();
                let sql = format!("{authors} WHERE \"id\" = ANY($1)");
                Ok((notes, sqlx::query_as(&sql).bind(ids).fetch_all(pool).await?))
            }
            Raw::Sqlite(pool) => {
                let sql = format!(
                    "SELECT {NOTE_COLUMNS} FROM \"bench_notes\" WHERE \"id\" BETWEEN ?1 AND ?2 ORDER BY \"id\""
                );
                let notes: Vec<NoteTuple> = sqlx::query_as(&sql).bind(first).bind(last).fetch_all(pool).await?;
                let mut ids: Vec<i64> = notes.iter().map(|n| n.1).collect();
                ids.sort_unstable();
                ids.dedup();
                let marks: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
                let sql = format!("{authors} WHERE \"id\" IN ({})", marks.join(", "));
                let query = ids.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(*id));
                Ok((notes, query.fetch_all(pool).await?))
            }
        }
    }
}

/// 1,000 authors and 10,000 notes, then the loads side by side.
pub(crate) async fn run(
    report: &mut Report,
    backend: &str,
    db: &Database,
    raw: &Raw,
    rounds: usize,
) -> Result<(), Error> {
    db.create_all(&[BenchNote::table(), BenchAuthor::table()]).await?;
    let mut session = db.session().await?;
    let authors = session
        .add_all(
            (0..AUTHORS).map(|i| BenchAuthor { name: format!("author {i:04}"), email: format!("a{i}@example.com") }),
        )
        .await?;
    let notes = (0..NOTES).map(|i| BenchNote {
        author: authors[(i * 7) % AUTHORS].id(),
        title: format!("note {i:05}"),
        body: (i % 2 == 0).then(|| format!("body of note {i}")),
    });
    session.add_all(notes).await?;
    session.commit().await?;
    if let Raw::Postgres(pool) = raw {
        sqlx::query("VACUUM ANALYZE \"bench_notes\"").execute(pool).await?;
        sqlx::query("VACUUM ANALYZE \"bench_authors\"").execute(pool).await?;
    }

    const LOADS: u32 = 20;
    let plinth = || {
        let db = db.clone();
        async move {
            for i in 0..LOADS {
                let (first, last) = window(i);
                let mut session = db.session().await?;
                let notes = session.query::<BenchNote>().filter(|c| c.id.ge(first).and(c.id.le(last))).all().await?;
                let authors = session.load_parents(&notes, BenchNote::columns().author).await?;
                assert_eq!(notes.len(), 100);
                assert!(notes.iter().all(|n| authors.get(n.author).is_some()));
            }
            Ok::<_, Error>(())
        }
    };
    for two_queries in [false, true] {
        let (name, baseline_name) = match two_queries {
            false => ("load 100 notes with their authors", "sqlx JOIN, one query"),
            true => ("load 100 notes with their authors vs two queries", "sqlx notes, then authors by id"),
        };
        report
            .pair(backend, name, None, rounds, LOADS, baseline_name, plinth, || {
                let raw = raw.clone();
                async move {
                    for i in 0..LOADS {
                        let count = match two_queries {
                            false => raw.notes_joined(window(i)).await?.len(),
                            true => raw.notes_then_authors(window(i)).await?.0.len(),
                        };
                        assert_eq!(count, 100);
                    }
                    Ok(())
                }
            })
            .await?;
    }
    Ok(())
}
