//! Tables: creation, naming, and rule 7 — committed data survives reconnecting.

use plinth::{ColumnType, Entity, Error, Table};

use plinth::backend::ColumnDef;

use crate::cases::{committed, setup};
use crate::entities::{
    all_tables, Item, Keyword, OrderItemCheck, Tag, TagWithoutIndex, User, UserWithAge, UserWithoutUnique, Пользователь,
};
use crate::Fixture;

/// `create_all` twice keeps the data of the first time.
pub async fn create_all_is_idempotent(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("a")]).await;
    db.create_all(&all_tables()).await.expect("second create_all");
    let read = db.session().await.expect("session").get::<User>(rows[0].id()).await.expect("get");
    assert_eq!(read.as_ref(), Some(&rows[0]));
}

/// Table names follow the type name; SQL keywords and non-ASCII names work as
/// table and column names.
pub async fn keywords_and_unicode_names_work(fx: &mut impl Fixture) {
    assert_eq!(Item::table().name(), "items");
    assert_eq!(OrderItemCheck::table().name(), "orderitemchecks");
    assert_eq!(Keyword::table().name(), "order");
    assert_eq!(Пользователь::table().name(), "пользовательs");
    let db = setup(fx).await;
    let keyword = Keyword { select: "from".into(), user: Some("group".into()), r#where: "having".into() };
    let person = Пользователь { имя: "Анна".into() };
    let stored_keyword = committed(&db, vec![keyword.clone()]).await.remove(0);
    committed(&db, vec![person.clone()]).await;
    let mut session = db.session().await.expect("session");
    let found = session.query::<Keyword>().filter(|c| c.r#where.eq("having").and(c.select.like("f%"))).all().await;
    assert_eq!(found.expect("query"), std::slice::from_ref(&stored_keyword));
    assert_eq!(stored_keyword.to_dict()["where"], "having");
    let people = session.query::<Пользователь>().filter(|c| c.имя.eq("Анна")).all().await.expect("query");
    assert_eq!(people.iter().map(|p| p.entity().clone()).collect::<Vec<_>>(), [person]);
}

/// A new handle on the same storage sees everything committed, nothing rolled back.
pub async fn committed_data_survives_reopening(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("kept"), User::named("also kept")]).await;
    let mut lost = db.session().await.expect("session");
    lost.add(User::named("lost")).await.expect("add");
    lost.rollback().await.expect("rollback");
    drop(db);

    let reopened = fx.open().await;
    reopened.create_all(&all_tables()).await.expect("create_all on existing tables");
    let mut session = reopened.session().await.expect("session");
    assert_eq!(session.query::<User>().all().await.expect("query"), rows);
    let next = session.add(User::named("next")).await.expect("add");
    assert!(next.id() > rows[1].id());
}

/// A table built by hand that no derive would produce — a column named twice or like a
/// system column, a unique or indexed JSON column — is refused by `create_all` before
/// anything is created, with the same error on every backend.
pub async fn a_hand_built_table_that_cannot_be_stored_is_refused(fx: &mut impl Fixture) {
    static TWICE: [ColumnDef; 2] =
        [ColumnDef::new("x", ColumnType::Text, false), ColumnDef::new("x", ColumnType::I64, false)];
    static SYSTEM: [ColumnDef; 1] = [ColumnDef::new("updated_at", ColumnType::Text, false)];
    static UNIQUE_JSON: [ColumnDef; 1] = [ColumnDef::new("doc", ColumnType::Json, false).unique()];
    static INDEXED_JSON: [ColumnDef; 1] = [ColumnDef::new("doc", ColumnType::Json, true).indexed()];
    static TWICE_TABLE: Table = Table::new("hand_twice", &TWICE);
    static SYSTEM_TABLE: Table = Table::new("hand_system", &SYSTEM);
    static UNIQUE_JSON_TABLE: Table = Table::new("hand_unique_json", &UNIQUE_JSON);
    static INDEXED_JSON_TABLE: Table = Table::new("hand_indexed_json", &INDEXED_JSON);
    let db = fx.open().await;
    for table in [&TWICE_TABLE, &SYSTEM_TABLE] {
        let refused = db.create_all(&[User::table(), table]).await;
        assert!(matches!(refused, Err(Error::SchemaMismatch { table: t, .. }) if t == table.name()), "{refused:?}");
    }
    for table in [&UNIQUE_JSON_TABLE, &INDEXED_JSON_TABLE] {
        let refused = db.create_all(&[User::table(), table]).await;
        assert!(
            matches!(refused, Err(Error::InvalidValue { table: t, column, .. }) if t == table.name() && column == Some("doc")),
            "{refused:?}"
        );
    }
    // Refused before any I/O: not even the valid table beside them was created.
    let result = db.session().await.expect("session").add(User::named("a")).await;
    assert!(matches!(result, Err(Error::NoSuchTable { table }) if table == "users"), "{result:?}");
}

/// Rule 8: a table stored with another schema than the entity's — a column more, or a
/// unique constraint less — is refused with `SchemaMismatch` by `create_all` and by every
/// operation, on every backend, with a message that names the differing column; and the
/// stored table and its rows stay as they were.
pub async fn a_stored_table_of_another_schema_is_refused_by_every_operation(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let rows = committed(&db, vec![User::named("ada"), User::named("bob")]).await;
    let db = fx.open().await;
    async fn refused_everywhere<E: Entity + Clone + std::fmt::Debug>(db: &plinth::Database, entity: E, column: &str) {
        let mismatch = |what: &str, result: plinth::Result<()>| match result {
            Err(Error::SchemaMismatch { table, detail }) => {
                assert_eq!(table, "users", "{what}");
                assert!(detail.contains(&format!("`{column}`")), "{what}: the message names `{column}`: {detail}");
                assert!(
                    !detail.contains("ColumnDef") && !detail.contains('{'),
                    "{what}: a message for people: {detail}"
                );
            }
            other => panic!("{what}: expected SchemaMismatch, got {other:?}"),
        };
        mismatch("create_all", db.create_all(&[E::table()]).await);
        let mut session = db.session().await.expect("session");
        mismatch("add", session.add(entity.clone()).await.map(drop));
        mismatch("add_all", session.add_all(vec![entity.clone(), entity]).await.map(drop));
        mismatch("get", session.get::<E>(1).await.map(drop));
        mismatch("all", session.query::<E>().all().await.map(drop));
        mismatch("first", session.query::<E>().first().await.map(drop));
        mismatch("count", session.query::<E>().count().await.map(drop));
        mismatch("filtered", session.query::<E>().filter_by(plinth::Filter::column("id").eq(1)).all().await.map(drop));
        mismatch("delete", session.delete_by_id::<E>(1).await);
        session.commit().await.expect("a session that wrote nothing commits");
    }
    // A refusal in a session that has written leaves the session and its writes alone.
    let mut session = db.session().await.expect("session");
    let written = session.add(User::named("before")).await.expect("a write of the stored entity");
    let refused = session.get::<UserWithAge>(written.id().get()).await;
    assert!(matches!(refused, Err(Error::SchemaMismatch { .. })), "{refused:?}");
    let after = session.add(User::named("after")).await.expect("the session goes on");
    session.commit().await.expect("and commits what it wrote");
    let mut rows = rows;
    rows.extend([written, after]);
    let older = UserWithAge { username: "cy".into(), email_address: "cy@example.com".into(), age: 3 };
    refused_everywhere(&db, older, "age").await;
    let looser = UserWithoutUnique { username: "ada".into(), email_address: "dup@example.com".into() };
    refused_everywhere(&db, looser, "username").await;
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<User>().all().await.expect("the stored table reads as before"), rows);
    session.add(User::named("cy")).await.expect("and takes writes of its own entity");
    session.commit().await.expect("commit");
}

/// An index is no schema difference: a table made without the index an entity declares
/// (an entity that gained `#[entity(index)]`) is used as it is, and `create_all` adds the
/// index; an entity without an index the table has uses it too.
pub async fn an_index_more_or_less_is_no_schema_difference(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[TagWithoutIndex::table()]).await.expect("create_all without the index");
    let plain = committed(&db, vec![TagWithoutIndex { label: Some("a".into()), weight: 1 }]).await;
    db.create_all(&[Tag::table()]).await.expect("create_all with the index adds it");
    let mut session = db.session().await.expect("session");
    let tags = session.query::<Tag>().filter(|c| c.weight.eq(1)).all().await.expect("query through the index");
    assert_eq!(
        tags.iter().map(|t| (t.id().get(), t.label.clone())).collect::<Vec<_>>(),
        [(plain[0].id().get(), Some("a".into()))]
    );
    session.add(Tag { label: Some("b".into()), weight: 2 }).await.expect("add");
    session.commit().await.expect("commit");
    let count = db.session().await.expect("session").query::<TagWithoutIndex>().count().await;
    assert_eq!(count.expect("the entity without the index reads the table too"), 2);
    // A row the entity without the index writes is found through the index too.
    let unindexed = committed(&db, vec![TagWithoutIndex { label: Some("c".into()), weight: 3 }]).await;
    let mut session = db.session().await.expect("session");
    let heavy = session.query::<Tag>().filter(|c| c.weight.ge(3)).all().await.expect("query through the index");
    assert_eq!(heavy.iter().map(|t| t.id().get()).collect::<Vec<_>>(), [unindexed[0].id().get()]);
}
