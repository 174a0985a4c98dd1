//! The seed's `main()` on a real database: a model with an explicit table name, a
//! session, add, commit, get, and `to_dict()`.
//!
//! `cargo run -p plinth-sqlx --example seed` uses a SQLite file in the system's temp
//! directory; with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` it uses
//! PostgreSQL. Afterwards `psql … -c '\d users'` shows the table.

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
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", std::env::temp_dir().join("plinth-seed.sqlite").display()));
    println!("database: {database_url}");
    let db = plinth_sqlx::connect(&database_url).await?;
    db.create_all(&[Пользователь::table()]).await?;

    let mut session = db.session().await?;
    // So the example can run again: the username is unique.
    let earlier = session.query::<Пользователь>().filter(|c| c.username.eq("example_user")).first().await?;
    if let Some(earlier) = earlier {
        session.delete(earlier).await?;
    }
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
