#[derive(plinth::Entity)]
enum Status {
    Active,
    Closed,
}

fn main() {}
