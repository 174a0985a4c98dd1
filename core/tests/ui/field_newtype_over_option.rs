#[derive(plinth::Field)]
struct Nickname(Option<String>);

fn main() {}
