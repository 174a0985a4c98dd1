#[derive(plinth::Entity)]
struct Event {
    title: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
