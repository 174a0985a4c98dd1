use plinth::Id;

#[derive(plinth::Entity)]
struct User {
    name: String,
}

#[derive(plinth::Entity)]
struct Note {
    // A required reference cannot be set to NULL.
    #[entity(on_delete = "set_null")]
    author: Id<User>,
    // Not a reference at all.
    #[entity(on_delete = "cascade")]
    score: i64,
}

fn main() {}
