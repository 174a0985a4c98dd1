//! The demo's entities, shared by the page and the server, and the migrations that
//! bring a database stored by an earlier version of the demo to them.

use plinth::backend::ColumnDef;
use plinth::migrate::{Migration, Step};
use plinth::{Entity, Value};

/// The seed's user: a unique username and an email address.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
pub struct User {
    /// 3 to 32 lower-case letters, digits or `_`; unique.
    #[entity(unique)]
    pub username: String,
    /// An address with an `@`.
    pub email_address: String,
}

/// A note: an optional body, a pin, tags kept as a JSON array, and a colour.
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Note {
    /// 1 to 120 characters.
    pub title: String,
    /// Free text, or nothing.
    pub body: Option<String>,
    /// Pinned notes are listed first.
    pub pinned: bool,
    /// A JSON array of tag strings.
    pub tags: serde_json::Value,
    /// One of [`COLOURS`]; notes stored before version 2 of the demo are yellow.
    #[entity(default = "yellow", max_length = 16)]
    pub colour: String,
}

/// The colours a note may have.
pub const COLOURS: [&str; 5] = ["yellow", "green", "blue", "pink", "grey"];

/// The demo's migrations. Version 1 of the demo had notes without a colour; its
/// databases — in the browser and on the server — get one, yellow, when the page or
/// the server opens them.
pub static MIGRATIONS: [Migration; 1] = [Migration::schema(
    1,
    "notes get a colour",
    &[Step::AddColumn {
        table: "notes",
        column: ColumnDef::of::<String>("colour").max_length(16).with_default(|| Value::from("yellow")),
    }],
)];

/// The model as version 1 of the demo stored it, before [`MIGRATIONS`]: kept so tests
/// (and the end-to-end test's seed) can make a database of version 1.
pub mod version_one {
    use plinth::Entity;

    /// A note of version 1: no colour yet.
    #[derive(Entity, Clone, Debug, PartialEq)]
    #[entity(table = "notes")]
    pub struct Note {
        /// The title.
        pub title: String,
        /// The body, if any.
        pub body: Option<String>,
        /// Whether it is pinned.
        pub pinned: bool,
        /// A JSON array of tag strings.
        pub tags: serde_json::Value,
    }

    /// The notes a version-1 database holds in the tests: `Old note one` and `Old note two`.
    pub fn sample_notes() -> Vec<Note> {
        ["Old note one", "Old note two"]
            .into_iter()
            .map(|title| Note {
                title: title.to_owned(),
                body: Some("from version 1".to_owned()),
                pinned: false,
                tags: serde_json::json!(["v1"]),
            })
            .collect()
    }
}
