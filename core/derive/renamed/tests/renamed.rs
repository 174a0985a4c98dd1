//! The derived entity works end to end through the renamed dependency.

use plinth_derive_renamed::Note;
use storage::Entity;

#[tokio::test]
async fn an_entity_derived_through_a_renamed_dependency_round_trips() -> storage::Result<()> {
    assert_eq!(Note::table().name(), "notes");
    let db = storage::memory();
    db.create_all(&[Note::table()]).await?;
    let mut session = db.session().await?;
    let added = session.add(Note { title: "renamed".into(), body: None }).await?;
    session.commit().await?;
    let mut session = db.session().await?;
    let found = session.query::<Note>().filter(|c| c.title.eq("renamed")).all().await?;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id(), added.id());
    assert_eq!(found[0].body, None);
    Ok(())
}
