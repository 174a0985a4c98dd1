//! The entities the suite stores, covering every field type and naming rule.

use chrono::{DateTime, NaiveDate, Utc};
use plinth::{Entity, Id, Table};

/// The seed's user: a unique username and an email address.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
pub struct User {
    /// Unique.
    #[entity(unique)]
    pub username: String,
    /// Any text.
    pub email_address: String,
}

impl User {
    /// A user named `name` with an address derived from it.
    pub fn named(name: &str) -> Self {
        User { username: name.to_owned(), email_address: format!("{name}@example.com") }
    }
}

/// One field of every supported type, plain and optional.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Sample {
    pub flag: bool,
    pub small: i16,
    pub medium: i32,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    pub text: String,
    pub day: NaiveDate,
    pub moment: DateTime<Utc>,
    pub doc: serde_json::Value,
    pub blob: Vec<u8>,
    pub key: uuid::Uuid,
    pub maybe_flag: Option<bool>,
    pub maybe_small: Option<i16>,
    pub maybe_medium: Option<i32>,
    pub maybe_big: Option<i64>,
    pub maybe_single: Option<f32>,
    pub maybe_double: Option<f64>,
    pub maybe_text: Option<String>,
    pub maybe_day: Option<NaiveDate>,
    pub maybe_moment: Option<DateTime<Utc>>,
    pub maybe_doc: Option<serde_json::Value>,
    pub maybe_blob: Option<Vec<u8>>,
    pub maybe_key: Option<uuid::Uuid>,
}

impl Sample {
    /// Ordinary values, every option `None`.
    pub fn plain() -> Self {
        Sample {
            flag: true,
            small: 1,
            medium: 2,
            big: 3,
            single: 0.5,
            double: 0.25,
            text: "text".to_owned(),
            day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default(),
            moment: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap_or_default(),
            doc: serde_json::json!({"k": "v"}),
            blob: vec![0, 1, 2],
            key: uuid::Uuid::from_u128(0x0192_3c6a_7b1e_7000_8000_0000_0000_0001),
            maybe_flag: None,
            maybe_small: None,
            maybe_medium: None,
            maybe_big: None,
            maybe_single: None,
            maybe_double: None,
            maybe_text: None,
            maybe_day: None,
            maybe_moment: None,
            maybe_doc: None,
            maybe_blob: None,
            maybe_key: None,
        }
    }
}

/// The query data set: text with unicode, optional numbers and labels.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Item {
    pub name: String,
    pub rank: Option<i32>,
    pub price: f64,
    pub label: Option<String>,
    pub active: bool,
    pub added_on: NaiveDate,
}

/// A unique column that may be `NULL`, and an indexed one.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Tag {
    #[entity(unique)]
    pub label: Option<String>,
    #[entity(index)]
    pub weight: i32,
}

/// An indexed column of every type that can be indexed, nullable in turn, and one
/// column without an index: what index scans are checked against.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Gauge {
    #[entity(index)]
    pub level: i64,
    #[entity(index)]
    pub small: Option<i16>,
    #[entity(index)]
    pub reading: f64,
    #[entity(index)]
    pub ratio: Option<f32>,
    #[entity(index)]
    pub tag: String,
    #[entity(index)]
    pub day: Option<NaiveDate>,
    #[entity(index)]
    pub moment: DateTime<Utc>,
    #[entity(index)]
    pub flag: bool,
    #[entity(index)]
    pub blob: Vec<u8>,
    #[entity(index)]
    pub key: Option<uuid::Uuid>,
    pub note: String,
}

/// SQL keywords as table and column names.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "order")]
#[allow(missing_docs)]
pub struct Keyword {
    pub select: String,
    pub user: Option<String>,
    #[entity(unique)]
    pub r#where: String,
}

/// A non-ASCII type name: its table is `пользовательs`.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Пользователь {
    #[entity(unique)]
    pub имя: String,
}

/// `users` as a later version of a program might declare it, with one field more: a
/// stored `users` table of [`User`] must be refused for it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
#[allow(missing_docs)]
pub struct UserWithAge {
    #[entity(unique)]
    pub username: String,
    pub email_address: String,
    pub age: i64,
}

/// `users` without the unique constraint on `username`: the same columns, one
/// constraint less, must be refused too.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
#[allow(missing_docs)]
pub struct UserWithoutUnique {
    pub username: String,
    pub email_address: String,
}

/// `tags` without the index on `weight`: an index more or less is no schema difference.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "tags")]
#[allow(missing_docs)]
pub struct TagWithoutIndex {
    #[entity(unique)]
    pub label: Option<String>,
    pub weight: i32,
}

/// Every table of the suite.
pub fn all_tables() -> [&'static Table; 6] {
    [User::table(), Sample::table(), Item::table(), Tag::table(), Keyword::table(), Пользователь::table()]
}

/// A two-word type name: its table is `orderitemchecks`. Never stored.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct OrderItemCheck {
    pub quantity: i32,
}

/// A colour, stored by its variant's name (`#[derive(Field)]` on a fieldless enum).
#[derive(plinth::Field, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Colour {
    Red,
    Green,
    Blue,
}

/// A label, stored as the `String` it wraps (`#[derive(Field)]` on a newtype).
#[derive(plinth::Field, Clone, Debug, PartialEq, Eq)]
pub struct Label(pub String);

/// A weight in grams, stored as the `i32` it wraps.
#[derive(plinth::Field, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grams(pub i32);

/// Fields of derived types: an enum, a newtype, and optional ones of each. Created by
/// the checks that use it, not by [`all_tables`].
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "swatches")]
#[allow(missing_docs)]
pub struct Swatch {
    #[entity(unique)]
    pub label: Label,
    pub colour: Colour,
    pub accent: Option<Colour>,
    pub weight: Grams,
    pub note: Option<Label>,
}

/// [`Swatch`]'s table as plain text and numbers: the same columns, so it writes what a
/// `Swatch` cannot, such as a colour that is no variant's name.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "swatches")]
#[allow(missing_docs)]
pub struct SwatchAsText {
    #[entity(unique)]
    pub label: String,
    pub colour: String,
    pub accent: Option<String>,
    pub weight: i32,
    pub note: Option<String>,
}

/// Unsigned integers and a timestamp without a time zone, each stored exactly in a
/// wider column. Created by the checks that use it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "readings")]
#[allow(missing_docs)]
pub struct Reading {
    pub level: u8,
    pub count: u16,
    pub total: u32,
    pub taken: chrono::NaiveDateTime,
    pub spare: Option<u32>,
}

/// [`Reading`]'s table in the signed and UTC types its columns hold, to write values a
/// `Reading` cannot hold.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "readings")]
#[allow(missing_docs)]
pub struct ReadingAsStored {
    pub level: i16,
    pub count: i32,
    pub total: i64,
    pub taken: DateTime<Utc>,
    pub spare: Option<i64>,
}

/// Fields stored under other column names (`#[entity(column = "…")]`), one of them an
/// SQL keyword. Created by the checks that use it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "accounts")]
#[allow(missing_docs)]
pub struct Account {
    #[entity(column = "user_name", unique)]
    pub name: String,
    #[entity(column = "order")]
    pub position: i32,
}

/// [`Account`]'s table with fields named as its columns.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "accounts")]
#[allow(missing_docs)]
pub struct AccountAsStored {
    #[entity(unique)]
    pub user_name: String,
    pub r#order: i32,
}

/// Text columns with length limits (`#[entity(max_length = n)]`). Created by the checks
/// that use it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "handles")]
#[allow(missing_docs)]
pub struct Handle {
    #[entity(unique, max_length = 8)]
    pub name: String,
    #[entity(max_length = 3)]
    pub code: Option<String>,
}

/// [`Handle`]'s table without the limit on `name`: another schema.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "handles")]
#[allow(missing_docs)]
pub struct HandleUnlimited {
    #[entity(unique)]
    pub name: String,
    #[entity(max_length = 3)]
    pub code: Option<String>,
}

/// Version 1 of the `gadgets` model, for the schema-evolution checks: what an app's
/// first release stores. Created by the checks that use it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct Gadget {
    #[entity(unique)]
    pub name: String,
    pub code: String,
}

impl Gadget {
    /// A gadget named `name` with code `code`.
    pub fn new(name: &str, code: &str) -> Self {
        Gadget { name: name.to_owned(), code: code.to_owned() }
    }
}

/// Version 2 of `gadgets`: a nullable column (declared first, so the stored order
/// differs), columns with defaults (one indexed, an enum, a limited text), and a unique
/// constraint on `code`. Every change is one `create_all` makes by itself.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct GadgetV2 {
    pub colour: Option<String>,
    #[entity(unique)]
    pub name: String,
    #[entity(unique)]
    pub code: String,
    #[entity(default = 3, index)]
    pub size: i64,
    #[entity(default = Colour::Green)]
    pub tint: Colour,
    #[entity(default = "plain", max_length = 16)]
    pub finish: String,
}

/// Version 3 of `gadgets`: version 2 plus a float with a default, a nullable date and
/// a nullable unique column.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct GadgetV3 {
    pub colour: Option<String>,
    #[entity(unique)]
    pub name: String,
    #[entity(unique)]
    pub code: String,
    #[entity(default = 3, index)]
    pub size: i64,
    #[entity(default = Colour::Green)]
    pub tint: Colour,
    #[entity(default = "plain", max_length = 16)]
    pub finish: String,
    #[entity(default = 0.5)]
    pub ratio: f64,
    pub released: Option<NaiveDate>,
    #[entity(unique)]
    pub serial: Option<i64>,
}

/// `gadgets` without its `code` column: dropping a column is no change `create_all`
/// makes.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct GadgetWithoutCode {
    #[entity(unique)]
    pub name: String,
}

/// `gadgets` with a numeric `code`: neither is a type change.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct GadgetWithNumericCode {
    #[entity(unique)]
    pub name: String,
    pub code: i64,
}

/// `gadgets` with a required `weight` and no default: the stored rows would have no
/// value for it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "gadgets")]
#[allow(missing_docs)]
pub struct GadgetWithWeight {
    #[entity(unique)]
    pub name: String,
    pub code: String,
    pub weight: i64,
}

/// A table the schema-evolution checks create beside `gadgets`, to see that a refused
/// `create_all` creates nothing at all.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Gizmo {
    pub label: String,
}

/// Version 1 of the app whose tables the migration checks evolve: `notes` with a unique
/// title, a `body`, and a number of stars. Created by the checks that use it.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "notes")]
#[allow(missing_docs)]
pub struct NoteV1 {
    #[entity(unique)]
    pub title: String,
    pub body: String,
    pub stars: i32,
}

/// `notes` after migrations 1 and 2 of [`crate::cases::migrations::MIGRATIONS`]: `body`
/// renamed `text`, a colour with a default and an index, the stars as text.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "notes")]
#[allow(missing_docs)]
pub struct NoteV2 {
    #[entity(unique)]
    pub title: String,
    pub text: String,
    pub stars: String,
    #[entity(default = "yellow", index)]
    pub colour: String,
}

/// The last version: the table renamed `memos`, its title no longer unique.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Memo {
    pub title: String,
    pub text: String,
    pub stars: String,
    #[entity(default = "yellow", index)]
    pub colour: String,
}

/// `gadgets` after a migration renamed it `widgets` and its `name` column `label`.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Widget {
    #[entity(unique)]
    pub label: String,
    #[entity(index)]
    pub code: String,
}

/// `scores` before a migration changes `points` to text; `plinth_converting` is a
/// column name Plinth's SQL backends would use while converting, if it were free.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Score {
    #[entity(unique)]
    pub points: i64,
    pub plinth_converting: Option<i64>,
}

/// `scores` after the migration: `points` as text.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "scores")]
#[allow(missing_docs)]
pub struct ScoreAsText {
    #[entity(unique)]
    pub points: String,
    pub plinth_converting: Option<i64>,
}

/// A post by a user, deleted with its author; its editor, another user, is cleared
/// when that user is deleted.
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Post {
    /// Deleted with the author.
    #[entity(on_delete = "cascade")]
    pub author: Id<User>,
    /// Any text.
    pub title: String,
    /// Set to `NULL` when the editor is deleted.
    #[entity(on_delete = "set_null")]
    pub editor: Option<Id<User>>,
}

impl Post {
    /// A post by `author` titled `title`, with no editor.
    pub fn by(author: Id<User>, title: &str) -> Self {
        Post { author, title: title.to_owned(), editor: None }
    }
}

/// A comment on a post (deleted with it: the third level of a cascade), written by a
/// user, whose delete it refuses (the default rule).
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Comment {
    /// Deleted with the post.
    #[entity(on_delete = "cascade")]
    pub post: Id<Post>,
    /// Refuses the user's delete while the comment exists.
    pub by: Id<User>,
    /// Any text.
    pub text: String,
}

/// A badge a user holds: the default rule, restrict.
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Badge {
    /// Refuses the holder's delete.
    pub holder: Id<User>,
    /// Any text.
    pub name: String,
}

/// A topic posts are filed under, many to many, through [`PostTopic`].
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Topic {
    /// Unique.
    #[entity(unique)]
    pub name: String,
}

/// The join entity between posts and topics.
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct PostTopic {
    /// Deleted with the post.
    #[entity(on_delete = "cascade")]
    pub post: Id<Post>,
    /// Deleted with the topic.
    #[entity(on_delete = "cascade")]
    pub topic: Id<Topic>,
}

/// The tables of the relation checks, children before parents (`create_all` orders them).
pub fn relation_tables() -> [&'static Table; 6] {
    [PostTopic::table(), Comment::table(), Post::table(), Badge::table(), Topic::table(), User::table()]
}

/// `posts` as an app that declares the author reference with the default rule would
/// have it: a stored schema of another rule.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "posts")]
#[allow(missing_docs)]
pub struct PostRestrictingAuthor {
    pub author: Id<User>,
    pub title: String,
    #[entity(on_delete = "set_null")]
    pub editor: Option<Id<User>>,
}

/// A shelf, version 1: no owner.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Shelf {
    pub name: String,
}

/// A shelf, version 2: an optional owner, cleared when the owner is deleted
/// (`create_all` adds the column and its constraint).
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "shelfs")]
#[allow(missing_docs)]
pub struct ShelfWithOwner {
    pub name: String,
    #[entity(on_delete = "set_null")]
    pub owner: Option<Id<User>>,
}

/// A thing a user owns, deleted with its owner.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Thing {
    #[entity(on_delete = "cascade")]
    pub owner: Id<User>,
}

/// A part of a thing, deleted with the thing and with its owner: a row a user's delete
/// reaches twice (a diamond).
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Part {
    #[entity(on_delete = "cascade")]
    pub thing: Id<Thing>,
    #[entity(on_delete = "cascade")]
    pub owner: Id<User>,
}

/// A node of a graph that refers to itself: deleting one deletes what hangs from it,
/// cycles included.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Node {
    pub name: String,
    #[entity(on_delete = "cascade")]
    pub parent: Option<Id<Node>>,
}

/// `shelfs` with a required owner: no migration can add it to stored rows.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "shelfs")]
#[allow(missing_docs)]
pub struct ShelfWithRequiredOwner {
    pub name: String,
    #[entity(default = Id::new(1))]
    pub owner: Id<User>,
}

/// A link in a chain of its own table, refusing its parent's delete (the default
/// rule): rows a delete may only take together.
#[derive(Entity, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Link {
    pub name: String,
    pub parent: Option<Id<Link>>,
}
