#[derive(plinth::Entity)]
struct Order {
    amount: u64,
}

fn main() {}
