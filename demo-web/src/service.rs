//! The demo's operations — list with a filter and a sort, add, edit, delete — over any
//! [`Database`], with errors in words a person understands. The page calls them on
//! browser storage, the server on SQLite or PostgreSQL; both answer the same JSON.
//!
//! Notes belong to users (`Note::author`): a note's form names its author by id, a
//! list of notes says each note's author's username and can be narrowed to one
//! author, a list of users says how many notes each has, and deleting a user deletes
//! their notes.

use std::fmt;

use chrono::{DateTime, Utc};
use plinth::{like_escape, Database, Entity, Error, Filter, Id, Order, Session};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::model::{Note, User, COLOURS, MIGRATIONS};

/// What went wrong, as an HTTP status and a sentence for the person at the page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DemoError {
    /// 404, 409, 422, 507 or 500.
    pub status: u16,
    /// What happened and what to do.
    pub message: String,
}

impl DemoError {
    fn invalid(message: impl Into<String>) -> Self {
        DemoError { status: 422, message: message.into() }
    }

    /// The error as JSON: `{"status": …, "message": …}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "status": self.status, "message": self.message }).to_string()
    }
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DemoError {}

impl From<Error> for DemoError {
    fn from(err: Error) -> Self {
        let (status, message) = match &err {
            Error::UniqueViolation { column: Some("username"), .. } => {
                (409, "That username is already taken; choose another.".to_owned())
            }
            Error::UniqueViolation { table, column: Some(column) } => {
                (409, format!("Another {table} row already has this {column}."))
            }
            Error::UniqueViolation { table, column: None } => {
                (409, format!("Another {table} row already has one of these values."))
            }
            Error::ForeignKeyViolation { table: "notes", column: "author", .. } => (
                422,
                "The chosen author does not exist (the user may have been deleted meanwhile); choose another \
                 author, or no author."
                    .to_owned(),
            ),
            Error::ForeignKeyViolation { table, column, parent } => {
                (422, format!("This {table} row's {column} names a {parent} row that does not exist."))
            }
            Error::StillReferenced { table, id, by_table, by_column } => (
                409,
                format!(
                    "The {table} row {id} cannot be deleted: {by_table} rows still refer to it through \
                     {by_column}; delete or change those first."
                ),
            ),
            Error::NotFound { .. } => {
                (404, "That record no longer exists; it may have been deleted elsewhere.".to_owned())
            }
            Error::Conflict { .. } => (409, "Someone changed this record meanwhile; reload and try again.".to_owned()),
            Error::InvalidValue { reason, .. } => (422, reason.clone()),
            Error::TypeMismatch { .. } | Error::UnknownColumn { .. } => (422, err.to_string()),
            Error::QuotaExceeded { .. } => (507, "Browser storage is full; delete something and try again.".to_owned()),
            Error::SchemaChanged { .. } | Error::DatabaseIsNewer { .. } => {
                (409, "A newer version of the demo upgraded this storage; reload the page.".to_owned())
            }
            _ => (500, err.to_string()),
        };
        DemoError { status, message }
    }
}

/// Which table an operation is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `users`
    Users,
    /// `notes`
    Notes,
}

impl Kind {
    /// `"users"` or `"notes"`.
    pub fn parse(name: &str) -> Result<Self, DemoError> {
        match name {
            "users" => Ok(Kind::Users),
            "notes" => Ok(Kind::Notes),
            other => {
                Err(DemoError { status: 404, message: format!("There is no `{other}` list; try users or notes.") })
            }
        }
    }
}

/// How a list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Most recently edited first.
    Updated,
    /// By username or title, A to Z (byte order: capitals first).
    Name,
}

impl Sort {
    /// `newest`, `oldest`, `updated` or `name`; anything else is refused.
    pub fn parse(name: &str) -> Result<Self, DemoError> {
        match name {
            "" | "newest" => Ok(Sort::Newest),
            "oldest" => Ok(Sort::Oldest),
            "updated" => Ok(Sort::Updated),
            "name" => Ok(Sort::Name),
            other => Err(DemoError::invalid(format!("Unknown sort order `{other}`."))),
        }
    }

    fn order(self, name_column: &'static str) -> Vec<Order> {
        match self {
            Sort::Newest => vec![Order::desc("created_at"), Order::desc("id")],
            Sort::Oldest => vec![Order::asc("created_at")],
            Sort::Updated => vec![Order::desc("updated_at"), Order::desc("id")],
            Sort::Name => vec![Order::asc(name_column)],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserInput {
    username: String,
    email_address: String,
    /// The version of the record the form edits (see [`update`]).
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteInput {
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    pinned: bool,
    #[serde(default)]
    tags: Vec<String>,
    /// One of [`COLOURS`]; yellow if the form does not say.
    #[serde(default)]
    colour: Option<String>,
    /// The id of the user who wrote the note; none if `null` or left out.
    #[serde(default)]
    author_id: Option<Id<User>>,
    /// The version of the record the form edits (see [`update`]).
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, DemoError> {
    serde_json::from_str(body).map_err(|e| DemoError::invalid(format!("The form could not be read: {e}.")))
}

/// Checks a user before anything is stored; with the version the form edits, if it
/// says one.
fn user_from(body: &str) -> Result<(User, Option<DateTime<Utc>>), DemoError> {
    let input: UserInput = parse(body)?;
    let username = input.username.trim().to_owned();
    let email_address = input.email_address.trim().to_owned();
    let valid_name = (3..=32).contains(&username.chars().count())
        && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(DemoError::invalid("A username is 3 to 32 lower-case letters, digits or underscores."));
    }
    let valid_email = email_address.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && email_address.chars().count() <= 254
        && !email_address.contains(char::is_whitespace);
    if !valid_email {
        return Err(DemoError::invalid("Enter an email address such as ada@example.com."));
    }
    Ok((User { username, email_address }, input.updated_at))
}

/// Checks a note before anything is stored; with the version the form edits, if it
/// says one.
fn note_from(body: &str) -> Result<(Note, Option<DateTime<Utc>>), DemoError> {
    let input: NoteInput = parse(body)?;
    let title = input.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 120 {
        return Err(DemoError::invalid("A note needs a title of 1 to 120 characters."));
    }
    let body = input.body.map(|b| b.trim().to_owned()).filter(|b| !b.is_empty());
    let tags: Vec<String> = input.tags.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    let colour = input.colour.unwrap_or_else(|| COLOURS[0].to_owned());
    if !COLOURS.contains(&colour.as_str()) {
        return Err(DemoError::invalid(format!("A note's colour is one of {}.", COLOURS.join(", "))));
    }
    let note = Note { title, body, pinned: input.pinned, tags: Json::from(tags), colour, author: input.author_id };
    Ok((note, input.updated_at))
}

/// The records of `kind` whose name contains `text` (case-sensitive, as LIKE), sorted;
/// notes only by `author` if one is given (the notes of a user that does not exist:
/// none). Each is its `to_dict()` and what it relates to: a user's `note_count`, a
/// note's `author_username` (`null` for a note without an author) — each relation
/// loaded in one query for the whole list, not one per record.
pub async fn list(
    db: &Database,
    kind: Kind,
    text: &str,
    sort: Sort,
    author: Option<Id<User>>,
) -> Result<Vec<Map<String, Json>>, DemoError> {
    if kind == Kind::Users && author.is_some() {
        return Err(DemoError::invalid("Only notes are listed by author; leave `author` out when listing users."));
    }
    let pattern = format!("%{}%", like_escape(text.trim()));
    let mut session = db.session().await?;
    Ok(match kind {
        Kind::Users => {
            let mut query = session.query::<User>();
            if !text.trim().is_empty() {
                query = query.filter(|c| c.username.like(pattern.clone()).or(c.email_address.like(pattern.clone())));
            }
            for key in sort.order("username") {
                query = query.then_order(key);
            }
            let users = query.all().await?;
            let notes = session.load_children(&users, Note::columns().author).await?;
            users.iter().map(|user| with(user.to_dict(), "note_count", Json::from(notes.of(user).len()))).collect()
        }
        Kind::Notes => {
            let mut query = session.query::<Note>();
            if let Some(author) = author {
                query = query.filter(|c| c.author.eq(author));
            }
            if !text.trim().is_empty() {
                query = query.filter_by(Filter::column("title").like(pattern.clone()));
            }
            query = query.order_by(|c| c.pinned.desc());
            for key in sort.order("title") {
                query = query.then_order(key);
            }
            let notes = query.all().await?;
            let authors = session.load_parents(&notes, Note::columns().author).await?;
            notes
                .iter()
                .map(|note| {
                    let username = authors.get(note.author).map(|user| user.username.clone());
                    with(note.to_dict(), "author_username", Json::from(username))
                })
                .collect()
        }
    })
}

/// `dict` with `key` set to `value`, after the record's own columns.
fn with(mut dict: Map<String, Json>, key: &str, value: Json) -> Map<String, Json> {
    dict.insert(key.to_owned(), value);
    dict
}

/// Adds a record from a JSON form and returns it as stored.
pub async fn create(db: &Database, kind: Kind, body: &str) -> Result<Map<String, Json>, DemoError> {
    let mut session = db.session().await?;
    let dict = match kind {
        Kind::Users => session.add(user_from(body)?.0).await?.to_dict(),
        Kind::Notes => session.add(note_from(body)?.0).await?.to_dict(),
    };
    session.commit().await?;
    Ok(dict)
}

/// Replaces a record's fields from a JSON form and returns it as stored. The form says
/// which version of the record it edits (`updated_at`, as it was read): if the record
/// has been written since — in another tab, by another person — the edit is refused
/// with 409 instead of silently overwriting that write.
pub async fn update(db: &Database, kind: Kind, id: i64, body: &str) -> Result<Map<String, Json>, DemoError> {
    let mut session = db.session().await?;
    let dict = match kind {
        Kind::Users => {
            let (user, version) = user_from(body)?;
            edit(&mut session, id, version, user).await?
        }
        Kind::Notes => {
            let (note, version) = note_from(body)?;
            edit(&mut session, id, version, note).await?
        }
    };
    session.commit().await?;
    Ok(dict)
}

/// Writes `entity` over record `id` if the record is still at `version`.
async fn edit<E: Entity>(
    session: &mut Session,
    id: i64,
    version: Option<DateTime<Utc>>,
    entity: E,
) -> Result<Map<String, Json>, DemoError> {
    let version = version.ok_or_else(|| {
        DemoError::invalid("Say which version of the record this edits: send the updated_at it was read with.")
    })?;
    let not_found =
        || DemoError { status: 404, message: format!("There is no record {id}; it may have been deleted.") };
    let mut record = session.get::<E>(id).await?.ok_or_else(not_found)?;
    if record.updated_at() != version {
        return Err(Error::Conflict { table: E::table().name(), id }.into());
    }
    *record = entity;
    session.update(&mut record).await?;
    Ok(record.to_dict())
}

/// Deletes a record; a user with their notes.
pub async fn delete(db: &Database, kind: Kind, id: i64) -> Result<(), DemoError> {
    let mut session = db.session().await?;
    match kind {
        Kind::Users => session.delete_by_id::<User>(id).await?,
        Kind::Notes => session.delete_by_id::<Note>(id).await?,
    }
    session.commit().await?;
    Ok(())
}

/// Brings the demo's tables to this version: creates them in a new database, and
/// applies the [`MIGRATIONS`] a database stored by an earlier version lacks.
pub async fn create_tables(db: &Database) -> Result<(), DemoError> {
    db.migrate(&MIGRATIONS, &[User::table(), Note::table()]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> Database {
        let db = plinth::memory();
        create_tables(&db).await.expect("tables");
        db
    }

    #[tokio::test]
    async fn users_are_added_listed_filtered_and_refused_when_duplicate() {
        let db = db().await;
        let ada = create(&db, Kind::Users, r#"{"username":"ada","email_address":"ada@example.com"}"#).await;
        assert_eq!(ada.map(|d| d["id"].clone()), Ok(Json::from(1)));
        create(&db, Kind::Users, r#"{"username":"bob","email_address":"bob@example.org"}"#).await.expect("bob");
        let dup = create(&db, Kind::Users, r#"{"username":"ada","email_address":"x@example.com"}"#).await;
        assert_eq!(dup.map_err(|e| e.status), Err(409));
        let found = list(&db, Kind::Users, "example.org", Sort::Name, None).await.expect("list");
        assert_eq!(found.iter().map(|d| d["username"].clone()).collect::<Vec<_>>(), [Json::from("bob")]);
        let by_name = list(&db, Kind::Users, "", Sort::Name, None).await.expect("list");
        assert_eq!(by_name.len(), 2);
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_it_is_stored() {
        let db = db().await;
        for body in [
            r#"{"username":"A","email_address":"a@example.com"}"#,
            r#"{"username":"ada","email_address":"not an address"}"#,
            r#"{"username":"ada"}"#,
            "not json",
        ] {
            let result = create(&db, Kind::Users, body).await;
            assert_eq!(result.map_err(|e| e.status), Err(422), "{body}");
        }
        let empty_title = create(&db, Kind::Notes, r#"{"title":"  "}"#).await;
        assert_eq!(empty_title.map_err(|e| e.status), Err(422));
        assert!(list(&db, Kind::Users, "", Sort::Newest, None).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn notes_are_edited_and_deleted_with_pinned_first() {
        let db = db().await;
        create(&db, Kind::Notes, r#"{"title":"first"}"#).await.expect("note");
        let pinned = create(&db, Kind::Notes, r#"{"title":"second","pinned":true,"tags":["a"]}"#).await.expect("note");
        let listed = list(&db, Kind::Notes, "", Sort::Oldest, None).await.expect("list");
        assert_eq!(listed[0]["title"], "second");
        assert_eq!(listed[0]["tags"], serde_json::json!(["a"]));
        let first = &listed[1];
        let form = serde_json::json!({"title": "first, edited", "body": "text", "updated_at": first["updated_at"]});
        let edited = update(&db, Kind::Notes, 1, &form.to_string()).await.expect("edit");
        assert_eq!(edited["body"], "text");
        assert!(edited["updated_at"].as_str() > edited["created_at"].as_str());
        let stale = update(&db, Kind::Notes, 1, &form.to_string()).await;
        assert_eq!(stale.map_err(|e| e.status), Err(409), "an edit of a version since written over is refused");
        let unversioned = update(&db, Kind::Notes, 1, r#"{"title":"no version"}"#).await;
        assert_eq!(unversioned.map_err(|e| e.status), Err(422));
        delete(&db, Kind::Notes, pinned["id"].as_i64().unwrap_or_default()).await.expect("delete");
        assert_eq!(delete(&db, Kind::Notes, 99).await.map_err(|e| e.status), Err(404));
        assert_eq!(list(&db, Kind::Notes, "", Sort::Newest, None).await.expect("list").len(), 1);
    }

    async fn user(db: &Database, username: &str) -> i64 {
        let form = serde_json::json!({"username": username, "email_address": format!("{username}@example.com")});
        let user = create(db, Kind::Users, &form.to_string()).await.expect("user");
        user["id"].as_i64().expect("an id")
    }

    async fn note(db: &Database, title: &str, author: Option<i64>) -> Map<String, Json> {
        let form = serde_json::json!({"title": title, "author_id": author});
        create(db, Kind::Notes, &form.to_string()).await.expect("note")
    }

    /// (title, author_username) of the notes listed, oldest first.
    async fn notes_by(db: &Database, author: Option<i64>) -> Vec<(String, Json)> {
        let notes = list(db, Kind::Notes, "", Sort::Oldest, author.map(Id::new)).await.expect("notes");
        notes
            .iter()
            .map(|n| (n["title"].as_str().unwrap_or_default().to_owned(), n["author_username"].clone()))
            .collect()
    }

    /// (username, note_count) of the users listed, by name.
    async fn note_counts(db: &Database) -> Vec<(String, Json)> {
        let users = list(db, Kind::Users, "", Sort::Name, None).await.expect("users");
        users.iter().map(|u| (u["username"].as_str().unwrap_or_default().to_owned(), u["note_count"].clone())).collect()
    }

    fn pairs(expected: &[(&str, Json)]) -> Vec<(String, Json)> {
        expected.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect()
    }

    #[tokio::test]
    async fn notes_belong_to_users_and_lists_say_whose_and_how_many() {
        let db = db().await;
        let (ada, bob) = (user(&db, "ada").await, user(&db, "bob").await);
        user(&db, "cy_").await;
        let first = note(&db, "ada's first", Some(ada)).await;
        assert_eq!(first["author"].as_i64(), Some(ada), "the stored note names its author by id");
        note(&db, "ada's second", Some(ada)).await;
        let bobs = note(&db, "bob's", Some(bob)).await;
        let nobodys = note(&db, "nobody's", None).await;
        assert_eq!(nobodys["author"], Json::Null);

        let everyone = pairs(&[
            ("ada's first", "ada".into()),
            ("ada's second", "ada".into()),
            ("bob's", "bob".into()),
            ("nobody's", Json::Null),
        ]);
        assert_eq!(notes_by(&db, None).await, everyone);
        assert_eq!(
            notes_by(&db, Some(ada)).await,
            pairs(&[("ada's first", "ada".into()), ("ada's second", "ada".into())])
        );
        let adas_second = list(&db, Kind::Notes, "second", Sort::Oldest, Some(ada.into())).await.expect("list");
        assert_eq!(adas_second.len(), 1, "the author and the text filter both hold");
        assert!(list(&db, Kind::Notes, "bob", Sort::Oldest, Some(ada.into())).await.expect("list").is_empty());
        assert_eq!(notes_by(&db, Some(bob + 100)).await, [], "a user that does not exist has no notes");
        assert_eq!(note_counts(&db).await, pairs(&[("ada", 2.into()), ("bob", 1.into()), ("cy_", 0.into())]));
        let by_author = list(&db, Kind::Users, "", Sort::Name, Some(ada.into())).await;
        assert_eq!(by_author.map_err(|e| e.status), Err(422), "users are not listed by author");

        // An edit moves a note to another author, or to none.
        let moved = serde_json::json!({"title": "bob's", "author_id": ada, "updated_at": bobs["updated_at"]});
        update(&db, Kind::Notes, bobs["id"].as_i64().unwrap_or_default(), &moved.to_string()).await.expect("move");
        let unowned = serde_json::json!({"title": "ada's first", "author_id": null, "updated_at": first["updated_at"]});
        update(&db, Kind::Notes, first["id"].as_i64().unwrap_or_default(), &unowned.to_string()).await.expect("edit");
        assert_eq!(note_counts(&db).await, pairs(&[("ada", 2.into()), ("bob", 0.into()), ("cy_", 0.into())]));
        assert_eq!(notes_by(&db, None).await[0], ("ada's first".to_owned(), Json::Null));
    }

    #[tokio::test]
    async fn a_missing_author_is_refused_and_deleting_a_user_deletes_their_notes() {
        let db = db().await;
        let (ada, bob) = (user(&db, "ada").await, user(&db, "bob").await);
        let missing = create(&db, Kind::Notes, r#"{"title":"lost","author_id":999}"#).await;
        let missing = missing.expect_err("an author that does not exist");
        assert_eq!(missing.status, 422);
        assert!(missing.message.contains("author does not exist"), "{}", missing.message);
        let text = create(&db, Kind::Notes, r#"{"title":"lost","author_id":"1"}"#).await;
        assert_eq!(text.map_err(|e| e.status), Err(422), "an author id is a number");
        assert_eq!(notes_by(&db, None).await, [], "nothing was stored");

        let adas = note(&db, "ada's", Some(ada)).await;
        note(&db, "bob's", Some(bob)).await;
        note(&db, "nobody's", None).await;
        let lost = serde_json::json!({"title": "ada's", "author_id": 999, "updated_at": adas["updated_at"]});
        let refused = update(&db, Kind::Notes, adas["id"].as_i64().unwrap_or_default(), &lost.to_string()).await;
        assert_eq!(refused.map_err(|e| e.status), Err(422));
        assert_eq!(notes_by(&db, Some(ada)).await, pairs(&[("ada's", "ada".into())]), "the refused edit wrote nothing");

        delete(&db, Kind::Users, ada).await.expect("delete ada, and her notes with her");
        assert_eq!(notes_by(&db, None).await, pairs(&[("bob's", "bob".into()), ("nobody's", Json::Null)]));
        assert_eq!(note_counts(&db).await, pairs(&[("bob", 1.into())]));
        assert_eq!(
            delete(&db, Kind::Notes, adas["id"].as_i64().unwrap_or_default()).await.map_err(|e| e.status),
            Err(404)
        );
    }

    #[test]
    fn reference_errors_are_422_and_409_in_words() {
        let restricted =
            DemoError::from(Error::StillReferenced { table: "users", id: 7, by_table: "notes", by_column: "author" });
        assert_eq!(restricted.status, 409);
        assert!(restricted.message.contains("users row 7") && restricted.message.contains("notes"), "{restricted}");
        let dangling =
            DemoError::from(Error::ForeignKeyViolation { table: "posts", column: "editor", parent: "users" });
        assert_eq!(dangling.status, 422);
        assert!(dangling.message.contains("editor"), "{dangling}");
    }
}
