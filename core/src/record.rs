//! [`Record`]: an entity as stored, with its id and timestamps.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value as Json};

use crate::entity::Entity;
use crate::id::Id;
use crate::row::RowMeta;
use crate::value::Value;

/// An entity as stored: `id`, `created_at` and `updated_at` plus the entity, which it
/// dereferences to.
///
/// Only a session makes records, so a value that has an id has really been stored; a
/// new value is a plain entity. The id and timestamps are read through methods, so code
/// cannot point a record at another row by assigning its id.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
/// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let db = plinth::memory();
/// db.create_all(&[User::table()]).await?;
/// let mut session = db.session().await?;
/// let user = session
///     .add(User { username: "ada".into(), email_address: "ada@example.com".into() })
///     .await?;
/// assert_eq!(user.id(), 1);
/// assert_eq!(user.username, "ada"); // Deref to the entity
/// assert_eq!(user.created_at(), user.updated_at());
/// let dict = user.to_dict();
/// let keys: Vec<_> = dict.keys().map(String::as_str).collect();
/// assert_eq!(keys, ["id", "username", "email_address", "created_at", "updated_at"]);
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record<E> {
    meta: RowMeta,
    entity: E,
}

impl<E> Record<E> {
    pub(crate) fn new(meta: RowMeta, entity: E) -> Self {
        Record { meta, entity }
    }

    pub(crate) fn meta(&self) -> RowMeta {
        self.meta
    }

    pub(crate) fn set_meta(&mut self, meta: RowMeta) {
        self.meta = meta;
    }

    /// The primary key, typed by the entity: a note's id does not pass for a user's.
    pub fn id(&self) -> Id<E> {
        Id::new(self.meta.id)
    }

    /// When the row was inserted (UTC, microsecond precision).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.meta.created_at
    }

    /// When the row was last written (UTC, microsecond precision).
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.meta.updated_at
    }

    /// The entity.
    pub fn entity(&self) -> &E {
        &self.entity
    }

    /// Takes the entity out, dropping the id and timestamps.
    pub fn into_entity(self) -> E {
        self.entity
    }
}

impl<E: Entity> Record<E> {
    /// The row as a JSON object, keys in column order: `id`, the entity's fields in
    /// declaration order, `created_at`, `updated_at`. Timestamps are RFC 3339 UTC strings
    /// with microseconds, dates `YYYY-MM-DD`, bytes an array of numbers.
    pub fn to_dict(&self) -> Map<String, Json> {
        let table = E::table();
        let row = self.entity.to_row();
        let mut dict = Map::with_capacity(row.len() + 3);
        dict.insert("id".to_owned(), Json::from(self.meta.id));
        for (column, value) in table.columns().iter().zip(row.into_values()) {
            dict.insert(column.name().to_owned(), value_to_json(value));
        }
        dict.insert("created_at".to_owned(), timestamp_to_json(self.meta.created_at));
        dict.insert("updated_at".to_owned(), timestamp_to_json(self.meta.updated_at));
        dict
    }
}

impl<E> From<&Record<E>> for Id<E> {
    /// The record's id.
    fn from(record: &Record<E>) -> Self {
        record.id()
    }
}

impl<E> Deref for Record<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.entity
    }
}

impl<E> DerefMut for Record<E> {
    fn deref_mut(&mut self) -> &mut E {
        &mut self.entity
    }
}

impl<E: Entity> serde::Serialize for Record<E> {
    /// Serializes as [`to_dict`](Record::to_dict).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_dict().serialize(serializer)
    }
}

fn timestamp_to_json(t: DateTime<Utc>) -> Json {
    Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// A value as it appears in [`Record::to_dict`].
pub(crate) fn value_to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(v) => Json::Bool(v),
        Value::I16(v) => Json::from(v),
        Value::I32(v) => Json::from(v),
        Value::I64(v) => Json::from(v),
        // Through the shortest decimal form, so 0.1_f32 shows as 0.1, not 0.100000001…
        Value::F32(v) => v.to_string().parse::<f64>().ok().and_then(Number::from_f64).map_or(Json::Null, Json::Number),
        Value::F64(v) => Number::from_f64(v).map_or(Json::Null, Json::Number),
        Value::Text(v) => Json::String(v),
        // `Display` is `%Y-%m-%d`, without chrono's strftime machinery in the wasm.
        Value::Date(v) => Json::String(v.to_string()),
        Value::Timestamp(v) => timestamp_to_json(v),
        Value::Json(v) => v,
        Value::Bytes(v) => Json::Array(v.into_iter().map(Json::from).collect()),
        Value::Uuid(v) => Json::String(v.to_string()),
    }
}
