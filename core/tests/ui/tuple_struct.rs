#[derive(plinth::Entity)]
struct Pair(String, i32);

fn main() {}
