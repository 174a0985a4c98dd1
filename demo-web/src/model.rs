//! The demo's entities, shared by the page and the server.

use plinth::Entity;

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

/// A note: an optional body, a pin, and tags kept as a JSON array.
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
}
