#[derive(plinth::Field)]
struct Document(serde_json::Value);

fn main() {}
