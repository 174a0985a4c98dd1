#[derive(plinth::Field)]
enum Shape {
    Dot,
    Circle { radius: f64 },
}

fn main() {}
