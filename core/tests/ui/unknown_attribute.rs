#[derive(plinth::Entity)]
struct User {
    #[entity(primary_key)]
    name: String,
}

fn main() {}
