#[derive(plinth::Entity)]
struct Gauge {
    #[entity(max_length = 4)]
    level: i32,
}

fn main() {}
