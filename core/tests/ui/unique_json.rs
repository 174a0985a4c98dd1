#[derive(plinth::Entity)]
struct Settings {
    #[entity(unique)]
    doc: serde_json::Value,
    #[entity(index)]
    extra: Option<serde_json::Value>,
}

fn main() {}
