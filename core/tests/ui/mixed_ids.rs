use plinth::{Entity, Id};

#[derive(Entity, Clone, Debug)]
struct User {
    name: String,
}

#[derive(Entity, Clone, Debug)]
struct Note {
    author: Id<User>,
}

async fn mixed(session: &mut plinth::Session, note: plinth::Record<Note>) -> plinth::Result<()> {
    // A note's id is not a user's.
    session.get::<User>(note.id()).await?;
    // A reference column compares with the ids of its parent only.
    session.query::<Note>().filter(|c| c.author.eq(note.id())).all().await?;
    Ok(())
}

fn main() {
    let _ = mixed;
}
