use plinth::Id;

#[derive(plinth::Entity)]
struct User {
    name: String,
}

#[derive(plinth::Entity)]
struct Note {
    #[entity(on_delete = "nullify")]
    editor: Option<Id<User>>,
}

fn main() {}
