//! Makes a database as version 1 of the demo left it — its tables, with notes that have
//! no colour — for the end-to-end test, which then opens it with today's server:
//! `cargo run -p plinth-demo-server --example seed_version_one -- sqlite:///tmp/demo.sqlite`.

use plinth::Entity;
use plinth_demo::model::version_one::{sample_notes, Note};
use plinth_demo::model::User;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: seed_version_one DATABASE_URL")?;
    let db = plinth_sqlx::connect(&url).await?;
    db.create_all(&[User::table(), Note::table()]).await?;
    let mut session = db.session().await?;
    session.add_all(sample_notes()).await?;
    session.commit().await?;
    println!("seeded {url} with version 1 of the demo's notes");
    Ok(())
}
