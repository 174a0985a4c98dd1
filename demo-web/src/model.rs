//! The demo's entities, shared by the page and the server, and the migrations that
//! bring a database stored by an earlier version of the demo to them.

use plinth::backend::ColumnDef;
use plinth::migrate::{Migration, Step};
use plinth::{Entity, Id, OnDelete, Value};

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

/// A note: an optional body, a pin, tags kept as a JSON array, a colour, and the user
/// who wrote it.
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
    /// The [`User`] who wrote it, or nobody; notes stored before version 3 of the demo
    /// have no author. A note belongs to its author: deleting a user deletes their
    /// notes with them (`cascade`), in the same commit.
    #[entity(on_delete = "cascade")]
    pub author: Option<Id<User>>,
}

/// The colours a note may have.
pub const COLOURS: [&str; 5] = ["yellow", "green", "blue", "pink", "grey"];

/// The demo's migrations, which the page and the server apply when they open a
/// database stored by an earlier version of the demo:
///
/// 1. Version 1 of the demo had notes without a colour: they get one, yellow.
/// 2. Version 2 had notes without an author: they get the reference column, empty
///    (`NULL`) for every note stored before, with its rule — deleting a user deletes
///    their notes.
pub static MIGRATIONS: [Migration; 2] = [
    Migration::schema(
        1,
        "notes get a colour",
        &[Step::AddColumn {
            table: "notes",
            column: ColumnDef::of::<String>("colour").max_length(16).with_default(|| Value::from("yellow")),
        }],
    ),
    Migration::schema(
        2,
        "notes get an author",
        &[Step::AddColumn {
            table: "notes",
            column: ColumnDef::of::<Option<Id<User>>>("author").on_delete(OnDelete::Cascade),
        }],
    ),
];

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
