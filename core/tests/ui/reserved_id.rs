#[derive(plinth::Entity)]
struct Account {
    id: i64,
    name: String,
}

fn main() {}
