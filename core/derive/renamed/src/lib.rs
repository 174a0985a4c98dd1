//! An app that depends on Plinth under another name (`storage = { package = "plinth", … }`):
//! the code `#[derive(Entity)]` generates must name the crate as this manifest does.
//! Nothing here is named `plinth`, so the test fails if the derive assumes that name.

#![forbid(unsafe_code)]

use storage::Entity;

/// An entity whose derive must reach `storage::…`, not `plinth::…`.
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Note {
    /// A unique column, so the derive's constraint checks expand too.
    #[entity(unique)]
    pub title: String,
    /// A nullable column.
    pub body: Option<String>,
}
