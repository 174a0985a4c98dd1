//! Relations: references (`Id<P>` fields) hold on every backend — a reference to a
//! missing row is refused, deletes follow each reference's rule (cascade, set null,
//! restrict) — and related records load in a bounded number of queries.

use std::sync::atomic::Ordering;

use crate::cases::committed;
use crate::counting::CountingBackend;
use crate::entities::{
    relation_tables, Badge, Comment, Node, Part, Post, PostRestrictingAuthor, PostTopic, Shelf, ShelfWithOwner,
    ShelfWithRequiredOwner, Thing, Topic, User,
};
use crate::Fixture;
use plinth::backend::ColumnDef;
use plinth::migrate::{Migration, Step};
use plinth::{Database, Entity, Error, Filter, Id, OnDelete, Record};

/// Opens the check's database with the relation tables, given children first.
pub(crate) async fn setup(fixture: &mut impl Fixture) -> Database {
    let db = fixture.open().await;
    db.create_all(&relation_tables()).await.expect("create_all orders parents before children");
    db
}

/// A user, two posts by them with two comments each (by the user), and a second
/// user with one post: (users, posts, comments).
pub(crate) async fn family(db: &Database) -> (Vec<Record<User>>, Vec<Record<Post>>, Vec<Record<Comment>>) {
    let users = committed(db, vec![User::named("ada"), User::named("bob")]).await;
    let posts = committed(
        db,
        vec![Post::by(users[0].id(), "a1"), Post::by(users[0].id(), "a2"), Post::by(users[1].id(), "b1")],
    )
    .await;
    let comment = |post: &Record<Post>, text: &str| Comment { post: post.id(), by: users[0].id(), text: text.into() };
    let comments = committed(
        db,
        vec![comment(&posts[0], "x"), comment(&posts[0], "y"), comment(&posts[1], "z"), comment(&posts[2], "w")],
    )
    .await;
    (users, posts, comments)
}

async fn titles(db: &Database) -> Vec<String> {
    let mut session = db.session().await.expect("session");
    session.query::<Post>().all().await.expect("posts").iter().map(|p| p.title.clone()).collect()
}

/// A write whose reference names no row is `ForeignKeyViolation` naming table, column
/// and parent; it writes nothing, and the session goes on to commit its other writes.
pub async fn a_reference_to_a_missing_row_is_refused_and_the_session_goes_on(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    let mut session = db.session().await.expect("session");
    let missing = session.add(Post::by(Id::new(ada.id().get() + 100), "lost")).await;
    assert!(
        matches!(missing, Err(Error::ForeignKeyViolation { table: "posts", column: "author", parent: "users" })),
        "{missing:?}"
    );
    let batch = session.add_all(vec![Post::by(ada.id(), "kept?"), Post::by(Id::new(999), "lost")]).await;
    assert!(matches!(batch, Err(Error::ForeignKeyViolation { column: "author", .. })), "{batch:?}");
    let mut post = session.add(Post::by(ada.id(), "kept")).await.expect("a reference that holds");
    post.editor = Some(Id::new(12_345));
    let refused = session.update(&mut post).await;
    assert!(matches!(refused, Err(Error::ForeignKeyViolation { column: "editor", .. })), "{refused:?}");
    session.commit().await.expect("commit after the refusals");
    assert_eq!(titles(&db).await, ["kept"]);
    let stored = db.session().await.expect("session").get::<Post>(post.id()).await.expect("get");
    assert_eq!(stored.expect("the post").editor, None, "the refused update wrote nothing");
}

/// A parent added earlier in the same session can be referred to at once, and both
/// commit together.
pub async fn a_parent_added_in_the_same_session_can_be_referred_to(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let mut session = db.session().await.expect("session");
    let cy = session.add(User::named("cy")).await.expect("the user");
    let post = session.add(Post::by(cy.id(), "first")).await.expect("a post by a user not yet committed");
    session.add(Comment { post: post.id(), by: cy.id(), text: "hi".into() }).await.expect("a comment on it");
    session.commit().await.expect("commit");
    let mut reader = db.session().await.expect("session");
    let comments = reader.query::<Comment>().all().await.expect("comments");
    assert_eq!((comments.len(), comments[0].post, comments[0].by), (1, post.id(), cy.id()));
}

/// Deleting a user deletes their posts and those posts' comments (three levels), and
/// nothing else; the delete commits as one.
pub async fn a_delete_cascades_through_three_levels(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let (users, posts, comments) = family(&db).await;
    let mut session = db.session().await.expect("session");
    // The comments on bob's post are ada's: refusing her delete; remove them first.
    session.delete_by_id::<Comment>(comments[3].id()).await.expect("ada's comment on bob's post");
    session.delete(users[0].clone()).await.expect("delete ada with everything that is hers");
    assert_eq!(session.query::<Comment>().count().await.expect("count"), 0, "the session sees the cascade");
    session.commit().await.expect("commit");
    assert_eq!(titles(&db).await, ["b1"]);
    let mut reader = db.session().await.expect("session");
    assert_eq!(reader.query::<Comment>().count().await.expect("count"), 0);
    assert!(reader.get::<Post>(posts[0].id()).await.expect("get").is_none());
    assert!(reader.get::<User>(users[1].id()).await.expect("get").is_some(), "bob stays");
}

/// Deleting a user that edited a post sets the post's `editor` to `NULL` and moves its
/// `updated_at`; the post stays.
pub async fn a_delete_sets_null_where_the_rule_says_so(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let users = committed(&db, vec![User::named("ada"), User::named("eve")]).await;
    let post = Post { editor: Some(users[1].id()), ..Post::by(users[0].id(), "edited") };
    let before = committed(&db, vec![post]).await.remove(0);
    let mut session = db.session().await.expect("session");
    session.delete(users[1].clone()).await.expect("delete the editor");
    session.commit().await.expect("commit");
    let after = db.session().await.expect("session").get::<Post>(before.id()).await.expect("get");
    let after = after.expect("the post stays");
    assert_eq!((after.editor, after.title.as_str(), after.author), (None, "edited", users[0].id()));
    assert!(after.updated_at() > before.updated_at(), "setting NULL is a write: the version moves");
    assert_eq!(after.created_at(), before.created_at());
}

/// A reference with the default rule refuses the delete with `StillReferenced` naming
/// both sides; nothing is deleted (not even what a cascade would have taken), and the
/// session goes on. Rows the same delete removes do not count (SQL's `NO ACTION`).
pub async fn a_restricting_reference_refuses_the_delete_and_writes_nothing(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let (users, posts, _) = family(&db).await;
    let badge = committed(&db, vec![Badge { holder: users[0].id(), name: "first".into() }]).await.remove(0);
    let mut session = db.session().await.expect("session");
    let refused = session.delete(users[0].clone()).await;
    match refused {
        Err(Error::StillReferenced { table: "users", id, by_table, by_column }) => {
            assert_eq!(id, users[0].id().get());
            assert!(
                [("badges", "holder"), ("comments", "by")].contains(&(by_table, by_column)),
                "{by_table}.{by_column}"
            );
        }
        other => panic!("expected StillReferenced on users, got {other:?}"),
    }
    assert_eq!(session.query::<Post>().count().await.expect("count"), 3, "no cascade ran");
    session.delete(badge).await.expect("the badge");
    // Ada's comments on her own posts go with the posts; the one on bob's post stays.
    let on_bobs = session.delete(users[0].clone()).await;
    assert!(matches!(on_bobs, Err(Error::StillReferenced { by_table: "comments", .. })), "{on_bobs:?}");
    let on_bob = session.query::<Comment>().filter(|c| c.post.eq(posts[2].id())).first().await.expect("query");
    session.delete(on_bob.expect("ada's comment on bob's post")).await.expect("delete it");
    session.delete(users[0].clone()).await.expect("now nothing refuses");
    session.commit().await.expect("commit");
    assert_eq!(titles(&db).await, ["b1"]);
}

/// `create_all` refuses a table whose reference names a table it was not given, before
/// creating anything.
pub async fn a_reference_to_a_table_never_created_is_refused(fx: &mut impl Fixture) {
    let db = fx.open().await;
    let refused = db.create_all(&[Post::table()]).await;
    assert!(matches!(refused, Err(Error::InvalidValue { table: "posts", column: Some("author"), .. })), "{refused:?}");
    db.create_all(&[Post::table(), User::table()]).await.expect("with its parent");
}

/// Loading the authors of many posts, and the posts and comments of many users, costs
/// one query per relation, not one per record; every record lands with its own.
pub async fn related_records_load_in_one_query_per_relation(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let users = committed(&db, (0..5).map(|i| User::named(&format!("u{i}"))).collect()).await;
    let posts = committed(
        &db,
        (0..20).map(|i| Post::by(users[i % 4].id(), &format!("p{i}"))).collect(), // u4 has none
    )
    .await;
    let comments: Vec<Comment> =
        posts.iter().map(|p| Comment { post: p.id(), by: users[4].id(), text: format!("on {}", p.title) }).collect();
    committed(&db, comments).await;

    let (counted, calls) = CountingBackend::wrap(&db);
    counted.create_all(&relation_tables()).await.expect("create_all");
    let mut session = counted.session().await.expect("session");
    let posts = session.query::<Post>().all().await.expect("posts");
    let before = calls.load(Ordering::Relaxed);
    let authors = session.load_parents(&posts, Post::columns().author).await.expect("authors");
    assert_eq!(calls.load(Ordering::Relaxed) - before, 1, "one query for 20 posts' authors");
    assert_eq!(authors.len(), 4);
    for post in &posts {
        let author = authors.get(post.author).expect("every author loaded");
        assert_eq!(author.id(), post.author);
    }
    assert!(authors.get(None::<Id<User>>).is_none());

    let users = session.query::<User>().all().await.expect("users");
    let before = calls.load(Ordering::Relaxed);
    let by_user = session.load_children(&users, Post::columns().author).await.expect("posts by user");
    let on_posts = session.load_children(by_user.records(), Comment::columns().post).await.expect("comments");
    assert_eq!(calls.load(Ordering::Relaxed) - before, 2, "users → posts → comments: two queries");
    for (i, user) in users.iter().enumerate() {
        let theirs = by_user.of(user);
        assert_eq!(theirs.len(), if i == 4 { 0 } else { 5 }, "{}", user.username);
        for post in theirs {
            assert_eq!(post.author, user.id());
            let texts: Vec<&str> = on_posts.of(post).iter().map(|c| c.text.as_str()).collect();
            assert_eq!(texts, [format!("on {}", post.title).as_str()]);
        }
    }
    let grouped = by_user.grouped(users.iter().chain(&users[..1]));
    assert_eq!(grouped.last().map(|(u, p)| (u.id(), p.len())), Some((users[0].id(), 5)), "a parent given twice");
    let grouped = by_user.grouped(&users);
    let sizes: Vec<(Id<User>, usize)> = grouped.iter().map(|(u, p)| (u.id(), p.len())).collect();
    assert_eq!(sizes, users.iter().enumerate().map(|(i, u)| (u.id(), if i == 4 { 0 } else { 5 })).collect::<Vec<_>>());
}

/// Many to many through a join entity: a post's topics and a topic's posts, each two
/// queries.
pub async fn many_to_many_loads_through_the_join_entity(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    let posts = committed(&db, vec![Post::by(ada.id(), "rust"), Post::by(ada.id(), "sql")]).await;
    let topics = committed(&db, vec![Topic { name: "code".into() }, Topic { name: "data".into() }]).await;
    let link = |p: usize, t: usize| PostTopic { post: posts[p].id(), topic: topics[t].id() };
    committed(&db, vec![link(0, 0), link(1, 0), link(1, 1)]).await;

    let mut session = db.session().await.expect("session");
    let links = session.load_children(&posts, PostTopic::columns().post).await.expect("links");
    let linked = session.load_parents(links.records(), PostTopic::columns().topic).await.expect("topics");
    let names = |post: &Record<Post>| -> Vec<String> {
        links.of(post).iter().filter_map(|l| linked.get(l.topic)).map(|t| t.name.clone()).collect()
    };
    assert_eq!(
        (names(&posts[0]), names(&posts[1])),
        (vec!["code".to_owned()], vec!["code".to_owned(), "data".to_owned()])
    );

    // Deleting a topic removes its links (cascade), not the posts.
    session.delete(topics[0].clone()).await.expect("delete a topic");
    session.commit().await.expect("commit");
    let mut reader = db.session().await.expect("session");
    assert_eq!(reader.query::<PostTopic>().count().await.expect("links"), 1);
    assert_eq!(reader.query::<Post>().count().await.expect("posts"), 2);
}

/// A reference stored with another delete rule than the entity declares is a schema
/// difference like any other: `create_all` refuses it, naming the column, and so does
/// every operation through the entity.
pub async fn a_stored_reference_with_another_rule_is_a_schema_mismatch(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let refused = db.create_all(&[PostRestrictingAuthor::table(), User::table()]).await;
    match refused {
        Err(Error::SchemaMismatch { table: "posts", detail }) => {
            assert!(detail.contains("`author`") && detail.contains("reference"), "{detail}");
        }
        other => panic!("expected SchemaMismatch on posts, got {other:?}"),
    }
    let mut session = db.session().await.expect("session");
    let read = session.query::<PostRestrictingAuthor>().all().await;
    assert!(matches!(read, Err(Error::SchemaMismatch { table: "posts", .. })), "{read:?}");
}

/// `create_all` adds a nullable reference column by itself, with its constraint: old
/// rows read `None`, and the new column's rule holds at once.
pub async fn create_all_adds_a_nullable_reference_column(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[User::table(), Shelf::table()]).await.expect("version 1");
    let old = committed(&db, vec![Shelf { name: "old".into() }]).await.remove(0);
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    db.create_all(&[User::table(), ShelfWithOwner::table()]).await.expect("version 2 adds the reference");
    let mut session = db.session().await.expect("session");
    let read = session.get::<ShelfWithOwner>(old.id().get()).await.expect("get").expect("the old shelf");
    assert_eq!(read.owner, None);
    let missing = session.add(ShelfWithOwner { name: "lost".into(), owner: Some(Id::new(999)) }).await;
    assert!(matches!(missing, Err(Error::ForeignKeyViolation { table: "shelfs", column: "owner", .. })), "{missing:?}");
    let hers = session.add(ShelfWithOwner { name: "hers".into(), owner: Some(ada.id()) }).await.expect("add");
    session.delete(ada).await.expect("delete the owner");
    let after = session.get::<ShelfWithOwner>(hers.id()).await.expect("get").expect("the shelf stays");
    assert_eq!(after.owner, None, "set null");
    session.commit().await.expect("commit");
}

/// Filters can cross a relation, both ways and nested, with the same rows on every
/// backend: posts whose author's name starts with "a", users who edited a post titled
/// so, comments on posts by "ada"; a `NULL` reference never matches, and its negation
/// follows SQL's `NOT IN` (unknown while a parent matches, true when none does); the
/// session's own uncommitted rows count.
pub async fn filters_cross_relations_as_semi_joins(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let users = committed(&db, vec![User::named("ada"), User::named("abe"), User::named("bob")]).await;
    let post = |author: usize, title: &str, editor: Option<usize>| Post {
        editor: editor.map(|e| users[e].id()),
        ..Post::by(users[author].id(), title)
    };
    let posts = committed(
        &db,
        vec![post(0, "p0", Some(2)), post(1, "p1", None), post(2, "p2", Some(0)), post(2, "p3", Some(2))],
    )
    .await;
    let comment = |p: usize, text: &str| Comment { post: posts[p].id(), by: users[2].id(), text: text.into() };
    committed(&db, vec![comment(0, "c0"), comment(2, "c2"), comment(1, "c1")]).await;

    let mut session = db.session().await.expect("session");
    let titles = |posts: Vec<Record<Post>>| posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>();
    let by_a = session.query::<Post>().filter(|c| c.author.matching(|u| u.username.like("a%"))).all().await;
    assert_eq!(titles(by_a.expect("by a")), ["p0", "p1"]);
    let not_by_a = session.query::<Post>().filter(|c| !c.author.matching(|u| u.username.like("a%"))).all().await;
    assert_eq!(titles(not_by_a.expect("not by a")), ["p2", "p3"]);
    let edited_by_bob = session.query::<Post>().filter(|c| c.editor.matching(|u| u.username.eq("bob"))).all().await;
    assert_eq!(titles(edited_by_bob.expect("edited by bob")), ["p0", "p3"]);
    let not_edited_by_bob =
        session.query::<Post>().filter(|c| !c.editor.matching(|u| u.username.eq("bob"))).all().await;
    assert_eq!(titles(not_edited_by_bob.expect("not edited by bob")), ["p2"], "p1's NULL editor: unknown");
    let not_edited_by_nobody =
        session.query::<Post>().filter(|c| !c.editor.matching(|u| u.username.eq("nobody"))).all().await;
    assert_eq!(titles(not_edited_by_nobody.expect("none")), ["p0", "p1", "p2", "p3"], "NOT IN of nothing is true");

    let names = |users: Vec<Record<User>>| users.iter().map(|u| u.username.clone()).collect::<Vec<_>>();
    let editors =
        session.query::<User>().filter(|c| c.id.referred_by(Post::columns().editor, |p| p.title.ne("p1"))).all().await;
    assert_eq!(names(editors.expect("editors")), ["ada", "bob"]);
    let not_editors = session
        .query::<User>()
        .filter(|c| !c.id.referred_by(Post::columns().editor, |_| Filter::And(vec![])))
        .all()
        .await;
    assert_eq!(names(not_editors.expect("users who edited nothing")), ["abe"], "the editors' NULLs are left out");

    let on_adas = session
        .query::<Comment>()
        .filter(|c| c.post.matching(|p| p.author.matching(|u| u.username.eq("ada"))))
        .all()
        .await
        .expect("nested");
    assert_eq!(on_adas.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["c0"]);
    let count = session.query::<Comment>().filter(|c| c.post.matching(|p| p.title.like("p%"))).count().await;
    assert_eq!(count.expect("count"), 3);

    session.add(Post::by(users[1].id(), "p4")).await.expect("an uncommitted post by abe");
    let by_abe = session.query::<Post>().filter(|c| c.author.matching(|u| u.username.eq("abe"))).all().await;
    assert_eq!(titles(by_abe.expect("by abe")), ["p1", "p4"]);
    let authors = session
        .query::<User>()
        .filter(|c| c.id.referred_by(Post::columns().author, |p| p.title.eq("p4")))
        .all()
        .await
        .expect("the author of the uncommitted post");
    assert_eq!(names(authors), ["abe"]);
}

/// A migration adds a reference column with its constraint, like any other column;
/// `migrate` then creates and checks the tables parents first, and the reference's rule
/// holds on the migrated table.
pub async fn a_migration_adds_a_reference_column(fx: &mut impl Fixture) {
    static OWNERS: [Migration; 1] = [Migration::schema(
        1,
        "shelves get an owner",
        &[Step::AddColumn {
            table: "shelfs",
            column: ColumnDef::of::<Option<Id<User>>>("owner").on_delete(OnDelete::SetNull),
        }],
    )];
    let db = fx.open().await;
    db.create_all(&[Shelf::table(), User::table()]).await.expect("version 1");
    let old = committed(&db, vec![Shelf { name: "old".into() }]).await.remove(0);
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    db.migrate(&OWNERS, &[ShelfWithOwner::table(), User::table()]).await.expect("migrate");
    let mut session = db.session().await.expect("session");
    let mut shelf = session.get::<ShelfWithOwner>(old.id().get()).await.expect("get").expect("the old shelf");
    assert_eq!(shelf.owner, None);
    shelf.owner = Some(Id::new(404));
    let missing = session.update(&mut shelf).await;
    assert!(matches!(missing, Err(Error::ForeignKeyViolation { column: "owner", .. })), "{missing:?}");
    shelf.owner = Some(ada.id());
    session.update(&mut shelf).await.expect("an owner that exists");
    session.delete(ada).await.expect("delete the owner");
    let after = session.get::<ShelfWithOwner>(shelf.id()).await.expect("get").expect("the shelf stays");
    assert_eq!(after.owner, None);
    session.commit().await.expect("commit");
}

/// A batch large enough for every backend's bulk path (a savepoint on PostgreSQL, many
/// statements on SQLite) with one reference to a missing row writes none of its rows,
/// names the column, and leaves the session usable.
pub async fn a_large_batch_with_one_missing_reference_writes_nothing(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    let mut session = db.session().await.expect("session");
    let mut batch: Vec<Post> = (0..600).map(|i| Post::by(ada.id(), &format!("p{i}"))).collect();
    batch[450].editor = Some(Id::new(ada.id().get() + 1));
    let refused = session.add_all(batch).await;
    assert!(matches!(refused, Err(Error::ForeignKeyViolation { table: "posts", column: "editor", .. })), "{refused:?}");
    assert_eq!(session.query::<Post>().count().await.expect("count"), 0, "none of the batch was written");
    session.add(Post::by(ada.id(), "after")).await.expect("the session goes on");
    session.commit().await.expect("commit");
    assert_eq!(titles(&db).await, ["after"]);
}

/// A delete that reaches a row twice — through a diamond (a part of a user's thing, and
/// the user's too) or around a cycle of rows referring to each other — deletes each
/// once and commits, on every backend.
pub async fn a_cascade_over_a_diamond_or_a_cycle_deletes_each_row_once(fx: &mut impl Fixture) {
    let db = fx.open().await;
    db.create_all(&[Part::table(), Thing::table(), User::table(), Node::table()]).await.expect("create_all");
    let ada = committed(&db, vec![User::named("ada")]).await.remove(0);
    let thing = committed(&db, vec![Thing { owner: ada.id() }]).await.remove(0);
    committed(&db, vec![Part { thing: thing.id(), owner: ada.id() }]).await;
    let mut session = db.session().await.expect("session");
    let a = session.add(Node { name: "a".into(), parent: None }).await.expect("a");
    let b = session.add(Node { name: "b".into(), parent: Some(a.id()) }).await.expect("b");
    session.add(Node { name: "c".into(), parent: Some(b.id()) }).await.expect("c");
    let mut a = a;
    a.parent = Some(b.id());
    session.update(&mut a).await.expect("a and b refer to each other");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    session.delete(ada).await.expect("the user, the thing, the part reached twice");
    session.delete_by_id::<Node>(a.id()).await.expect("a cycle and what hangs from it");
    session.commit().await.expect("commit");
    let mut reader = db.session().await.expect("session");
    assert_eq!(reader.query::<Part>().count().await.expect("parts"), 0);
    assert_eq!(reader.query::<Thing>().count().await.expect("things"), 0);
    assert_eq!(reader.query::<User>().count().await.expect("users"), 0);
    assert_eq!(reader.query::<Node>().count().await.expect("nodes"), 0);
}

/// What no backend could keep is refused before anything is written, the same way
/// everywhere: a required reference added to stored rows (by `create_all` or a
/// migration), and a type change that makes a column a reference to another table.
pub async fn references_no_backend_could_check_are_refused(fx: &mut impl Fixture) {
    static REQUIRED: [Migration; 1] = [Migration::schema(
        1,
        "a required owner",
        &[Step::AddColumn {
            table: "shelfs",
            column: ColumnDef::of::<Id<User>>("owner").with_default(|| plinth::Value::I64(1)),
        }],
    )];
    static RETYPED: [Migration; 1] = [Migration::schema(
        1,
        "a number becomes a reference",
        &[Step::ChangeType {
            table: "badges",
            from: ColumnDef::of::<String>("name"),
            to: ColumnDef::of::<Option<Id<User>>>("name"),
            convert: |_| Ok(plinth::Value::Null),
        }],
    )];
    let db = fx.open().await;
    db.create_all(&[Shelf::table(), User::table(), Badge::table()]).await.expect("version 1");
    committed(&db, vec![User::named("ada")]).await;
    committed(&db, vec![Shelf { name: "old".into() }]).await;
    let added = db.create_all(&[ShelfWithRequiredOwner::table(), User::table()]).await;
    assert!(
        matches!(&added, Err(Error::SchemaMismatch { table: "shelfs", detail }) if detail.contains("must be nullable")),
        "{added:?}"
    );
    let migrated = db.migrate(&REQUIRED, &[Shelf::table(), User::table(), Badge::table()]).await;
    assert!(matches!(&migrated, Err(Error::InvalidValue { column: Some("owner"), .. })), "{migrated:?}");
    let retyped = db.migrate(&RETYPED, &[Shelf::table(), User::table(), Badge::table()]).await;
    assert!(matches!(&retyped, Err(Error::InvalidValue { column: Some("name"), .. })), "{retyped:?}");
    let mut session = db.session().await.expect("session");
    assert_eq!(session.query::<Shelf>().count().await.expect("the shelves as they were"), 1);
}

/// A handle that was not given the tables (a restarted process or a reloaded page that
/// does not call `create_all`) keeps every stored reference all the same: a reference
/// to an existing row is accepted, to a missing one refused, and deletes follow the
/// rules — cascade and restrict.
pub async fn a_handle_not_given_the_tables_keeps_their_references(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let (users, posts, comments) = family(&db).await;
    let badge = committed(&db, vec![Badge { holder: users[1].id(), name: "b".into() }]).await.remove(0);
    let reopened = fx.open().await;
    let mut session = reopened.session().await.expect("session");
    session.add(Post::by(users[1].id(), "b2")).await.expect("an existing author");
    let missing = session.add(Post::by(Id::new(999), "lost")).await;
    assert!(matches!(missing, Err(Error::ForeignKeyViolation { column: "author", .. })), "{missing:?}");
    let refused = session.delete(users[1].clone()).await;
    assert!(matches!(refused, Err(Error::StillReferenced { by_table: "badges", .. })), "{refused:?}");
    session.delete(badge).await.expect("the badge");
    session.delete_by_id::<Comment>(comments[3].id()).await.expect("ada's comment on bob's post");
    session.delete(posts[0].clone()).await.expect("a post with its comments");
    session.commit().await.expect("commit");
    let mut reader = reopened.session().await.expect("session");
    let left: Vec<String> =
        reader.query::<Comment>().all().await.expect("comments").iter().map(|c| c.text.clone()).collect();
    assert_eq!(left, ["z"], "the post's comments went with it");
}

/// Two `Database`s over one backend (`from_arc`) share its tables: one is given them,
/// the other deletes by their rules.
pub async fn databases_over_one_backend_share_its_relations(fx: &mut impl Fixture) {
    let first = fx.open().await;
    let second = Database::from_arc(first.shared_backend());
    let early = second.session().await.expect("a session before the tables are given");
    early.rollback().await.expect("rollback");
    first.create_all(&relation_tables()).await.expect("create_all");
    let (users, _, comments) = family(&first).await;
    let mut session = second.session().await.expect("session");
    let refused = session.delete(users[0].clone()).await;
    assert!(matches!(refused, Err(Error::StillReferenced { by_table: "comments", .. })), "{refused:?}");
    session.delete_by_id::<Comment>(comments[3].id()).await.expect("the comment on bob's post");
    session.delete(users[0].clone()).await.expect("ada, cascading");
    session.commit().await.expect("commit");
    assert_eq!(titles(&first).await, ["b1"]);
}
