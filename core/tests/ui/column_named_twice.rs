#[derive(plinth::Entity)]
struct Account {
    name: String,
    #[entity(column = "name")]
    display_name: String,
}

fn main() {}
