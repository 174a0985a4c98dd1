//! The demo's operations — list with a filter and a sort, add, edit, delete — over any
//! [`Database`], with errors in words a person understands. The page calls them on
//! browser storage, the server on SQLite or PostgreSQL; both answer the same JSON.

use std::fmt;

use chrono::{DateTime, Utc};
use plinth::{like_escape, Database, Entity, Error, Filter, Order, Record, Session};
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
    Ok((Note { title, body, pinned: input.pinned, tags: Json::from(tags), colour }, input.updated_at))
}

fn dicts<E: Entity>(records: Vec<Record<E>>) -> Vec<Map<String, Json>> {
    records.iter().map(Record::to_dict).collect()
}

/// The records of `kind` whose name contains `text` (case-sensitive, as LIKE), sorted.
pub async fn list(db: &Database, kind: Kind, text: &str, sort: Sort) -> Result<Vec<Map<String, Json>>, DemoError> {
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
            dicts(query.all().await?)
        }
        Kind::Notes => {
            let mut query = session.query::<Note>();
            if !text.trim().is_empty() {
                query = query.filter_by(Filter::column("title").like(pattern.clone()));
            }
            query = query.order_by(|c| c.pinned.desc());
            for key in sort.order("title") {
                query = query.then_order(key);
            }
            dicts(query.all().await?)
        }
    })
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

/// Deletes a record.
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
        let found = list(&db, Kind::Users, "example.org", Sort::Name).await.expect("list");
        assert_eq!(found.iter().map(|d| d["username"].clone()).collect::<Vec<_>>(), [Json::from("bob")]);
        let by_name = list(&db, Kind::Users, "", Sort::Name).await.expect("list");
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
        assert!(list(&db, Kind::Users, "", Sort::Newest).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn notes_are_edited_and_deleted_with_pinned_first() {
        let db = db().await;
        create(&db, Kind::Notes, r#"{"title":"first"}"#).await.expect("note");
        let pinned = create(&db, Kind::Notes, r#"{"title":"second","pinned":true,"tags":["a"]}"#).await.expect("note");
        let listed = list(&db, Kind::Notes, "", Sort::Oldest).await.expect("list");
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
        assert_eq!(list(&db, Kind::Notes, "", Sort::Newest).await.expect("list").len(), 1);
    }
}
