#[derive(plinth::Field)]
struct Point(i32, i32);

#[derive(plinth::Field)]
struct Unit;

fn main() {}
