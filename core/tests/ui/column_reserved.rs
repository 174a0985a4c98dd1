#[derive(plinth::Entity)]
struct Account {
    #[entity(column = "id")]
    legacy_id: i64,
}

fn main() {}
