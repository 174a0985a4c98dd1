//! The seed's `main()`, ported: a model with an explicit table name, a session, add,
//! commit, get, and `to_dict()`. Run it with `cargo run -p plinth --example seed`.
//!
//! It runs on the memory backend; `plinth-sqlx` has the same example on SQLite and
//! PostgreSQL.

use plinth::{Entity, Record};

/// The seed's `Пользователь` model: a unique username and an email address.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "users")]
pub struct Пользователь {
    #[entity(unique)]
    pub username: String,
    pub email_address: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> plinth::Result<()> {
    let db = plinth::memory();
    db.create_all(&[Пользователь::table()]).await?;

    let mut session = db.session().await?;
    let new_user: Record<Пользователь> = session
        .add(Пользователь { username: "example_user".into(), email_address: "example@example.com".into() })
        .await?;
    session.commit().await?;

    let mut session = db.session().await?;
    if let Some(retrieved_user) = session.get::<Пользователь>(new_user.id()).await? {
        println!("{}", serde_json::Value::Object(retrieved_user.to_dict()));
    }
    Ok(())
}
