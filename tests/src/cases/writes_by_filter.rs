//! Bulk writes by filter: `Query::update` sets columns of every matching row and
//! `Query::delete` deletes them, each returning how many; every row moves as a single
//! write would, unique and reference rules hold, and a refusal changes nothing.

use plinth::{Database, Entity, Error, Id, Record};

use crate::cases::relations::{family, setup as relations_setup};
use crate::cases::{committed, ids, items, setup};
use crate::entities::{Badge, Comment, Item, Post, Tag, User};
use crate::Fixture;

async fn all<E: Entity>(db: &Database) -> Vec<Record<E>> {
    let mut session = db.session().await.expect("session");
    session.query::<E>().all().await.expect("every row")
}

/// An update sets the assigned columns of the matching rows (the window of `order_by`
/// and `limit` too), keeps their ids and `created_at`, moves their `updated_at`, and
/// leaves every other row as it was; it says how many rows it updated.
pub async fn updates_by_filter_set_columns_and_move_updated_at(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let before = all::<Item>(&db).await;
    let mut session = db.session().await.expect("session");
    let fruit = session
        .query::<Item>()
        .filter(|c| c.label.eq("fruit"))
        .update(|c| (c.rank.set(7), c.active.set(false), c.label.set(None)))
        .await
        .expect("update the fruit");
    assert_eq!(fruit, 2);
    let cheapest = session.query::<Item>().order_by(|c| c.price.asc()).limit(1).update(|c| c.name.set("cheapest"));
    assert_eq!(cheapest.await.expect("update the cheapest"), 1);
    let nothing = session.query::<Item>().filter(|c| c.name.eq("nobody")).update(|c| c.rank.set(None));
    assert_eq!(nothing.await.expect("update nothing"), 0);
    session.commit().await.expect("commit");

    let after = all::<Item>(&db).await;
    assert_eq!(ids(&after), ids(&before));
    for (old, new) in before.iter().zip(&after) {
        let mut expected = (**old).clone();
        if old.label.as_deref() == Some("fruit") {
            (expected.rank, expected.active, expected.label) = (Some(7), false, None);
        }
        if old.name == "ápple" {
            expected.name = "cheapest".into();
        }
        assert_eq!(**new, expected, "item {}", old.id());
        assert_eq!(new.created_at(), old.created_at(), "item {}", old.id());
        match **new == **old {
            true => assert_eq!(new.updated_at(), old.updated_at(), "untouched item {}", old.id()),
            false => assert!(new.updated_at() > old.updated_at(), "updated item {}", old.id()),
        }
    }
}

/// An update that would give two rows one unique value, or a row a value another row
/// holds, is `UniqueViolation` and changes no row, not even those before the one
/// refused; the session goes on. Setting a unique column to `NULL` on many rows is fine.
pub async fn an_update_by_filter_that_breaks_a_unique_rule_changes_nothing(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let tag = |label: &str, weight| Tag { label: Some(label.into()), weight };
    committed(&db, vec![tag("a", 1), tag("b", 1), tag("c", 2)]).await;
    let before = all::<Tag>(&db).await;
    let mut session = db.session().await.expect("session");
    let twice = session.query::<Tag>().filter(|c| c.weight.eq(1)).update(|c| c.label.set(Some("same".to_owned())));
    let twice = twice.await;
    assert!(matches!(twice, Err(Error::UniqueViolation { table: "tags", column: Some("label") })), "{twice:?}");
    let taken = session.query::<Tag>().filter(|c| c.weight.eq(2)).update(|c| c.label.set(Some("a".to_owned())));
    let taken = taken.await;
    assert!(matches!(taken, Err(Error::UniqueViolation { column: Some("label"), .. })), "{taken:?}");
    assert_eq!(session.query::<Tag>().all().await.expect("tags in the session"), before);
    let cleared = session.query::<Tag>().filter(|c| c.weight.eq(1)).update(|c| c.label.set(None));
    assert_eq!(cleared.await.expect("NULLs never collide"), 2);
    session.commit().await.expect("the session goes on and commits");
    let labels: Vec<Option<String>> = all::<Tag>(&db).await.iter().map(|t| t.label.clone()).collect();
    assert_eq!(labels, [None, None, Some("c".to_owned())]);
}

/// An update that points a reference at a row that does not exist is
/// `ForeignKeyViolation` and changes no row; one that points it at a row that exists
/// updates every matching row.
pub async fn an_update_by_filter_to_a_missing_parent_changes_nothing(fx: &mut impl Fixture) {
    let db = relations_setup(fx).await;
    let (users, _, _) = family(&db).await;
    let before = all::<Post>(&db).await;
    let ada = users[0].id();
    let mut session = db.session().await.expect("session");
    let missing = session.query::<Post>().filter(|c| c.author.eq(ada)).update(|c| c.editor.set(Id::new(999)));
    let missing = missing.await;
    assert!(
        matches!(missing, Err(Error::ForeignKeyViolation { table: "posts", column: "editor", parent: "users" })),
        "{missing:?}"
    );
    assert_eq!(session.query::<Post>().all().await.expect("posts in the session"), before);
    let by_ada = session.query::<Post>().filter(|c| c.author.matching(|u| u.username.eq("ada")));
    assert_eq!(by_ada.update(|c| c.editor.set(users[1].id())).await.expect("bob edits ada's posts"), 2);
    session.commit().await.expect("commit");
    let editors: Vec<Option<Id<User>>> = all::<Post>(&db).await.iter().map(|p| p.editor).collect();
    assert_eq!(editors, [Some(users[1].id()), Some(users[1].id()), None]);
}

/// What a bulk update is given is checked before any I/O, as a written field would
/// be: a NUL character, NaN, a text past its column's limit, a system column, the same
/// column twice and nothing at all are refused even where the table does not exist.
pub async fn bulk_updates_refuse_bad_input_before_any_io(fx: &mut impl Fixture) {
    let db = fx.open().await;
    let mut session = db.session().await.expect("session");
    let refusals = [
        (session.query::<Item>().update(|c| c.name.set("a\0b")).await, Some("name")),
        (session.query::<Item>().update(|c| c.price.set(f64::NAN)).await, Some("price")),
        (session.query::<Item>().update(|c| c.id.set(Id::new(5))).await, Some("id")),
        (session.query::<Item>().update(|c| c.created_at.set(chrono::Utc::now())).await, Some("created_at")),
        (session.query::<Item>().update(|c| (c.rank.set(1), c.rank.set(2))).await, Some("rank")),
        (session.query::<Item>().update(|_| Vec::new()).await, None),
        (session.query::<crate::entities::Handle>().update(|c| c.code.set("four".to_owned())).await, Some("code")),
    ];
    for (refused, column) in refusals {
        assert!(
            matches!(&refused, Err(Error::InvalidValue { column: c, .. }) if *c == column),
            "{column:?}: {refused:?}"
        );
    }
    let unknown = session.query::<Item>().filter(|c| c.name.eq("x")).update(|c| c.rank.set(1)).await;
    assert!(matches!(unknown, Err(Error::NoSuchTable { table: "items" })), "{unknown:?}");
}

/// A delete removes the matching rows (the window of `order_by` and `limit` too) and
/// says how many; no match deletes nothing.
pub async fn deletes_by_filter_remove_the_matching_rows(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut session = db.session().await.expect("session");
    let fruit = session.query::<Item>().filter(|c| c.label.eq("fruit")).delete().await;
    assert_eq!(fruit.expect("delete the fruit"), 2);
    let dearest = session.query::<Item>().order_by(|c| c.price.desc()).limit(2).delete().await;
    assert_eq!(dearest.expect("delete the two dearest"), 2);
    let nothing = session.query::<Item>().filter(|c| c.name.eq("nobody")).delete().await;
    assert_eq!(nothing.expect("delete nothing"), 0);
    assert_eq!(ids(&session.query::<Item>().all().await.expect("items left")), [4, 5, 7]);
    session.commit().await.expect("commit");
    assert_eq!(ids(&all::<Item>(&db).await), [4, 5, 7]);
}

/// A delete by filter gives the rows referring to the deleted ones their references'
/// rules, as a delete by id does: `cascade` deletes them, `set_null` clears the column
/// (moving `updated_at`), and `restrict` refuses the whole delete, writing nothing.
pub async fn deletes_by_filter_follow_every_reference_rule(fx: &mut impl Fixture) {
    let db = relations_setup(fx).await;
    let (users, posts, _) = family(&db).await;
    let (ada, bob) = (users[0].id(), users[1].id());
    committed(&db, vec![Badge { holder: bob, name: "first".into() }]).await;
    let mut session = db.session().await.expect("session");
    let edited = session.query::<Post>().filter(|c| c.author.eq(ada)).update(|c| c.editor.set(bob)).await;
    assert_eq!(edited.expect("bob edits ada's posts"), 2);
    let everyone = session.query::<User>().delete().await;
    assert!(
        matches!(everyone, Err(Error::StillReferenced { table: "users", by_table: "badges", by_column: "holder", .. })),
        "{everyone:?}"
    );
    assert_eq!(session.query::<User>().count().await.expect("users"), 2);
    assert_eq!(session.query::<Post>().count().await.expect("posts"), 3);
    assert_eq!(session.query::<Comment>().count().await.expect("comments"), 4);
    let badges = session.query::<Badge>().filter(|c| c.holder.eq(bob)).delete().await;
    assert_eq!(badges.expect("bob's badge"), 1);
    let bobs = session.query::<User>().filter(|c| c.username.eq("bob")).delete().await;
    assert_eq!(bobs.expect("delete bob"), 1);
    session.commit().await.expect("commit");

    let left = all::<Post>(&db).await;
    assert_eq!(ids(&left), ids(&posts[..2]), "bob's post went with him");
    for (post, was) in left.iter().zip(&posts) {
        assert_eq!(post.editor, None, "bob no longer edits post {}", post.id());
        assert!(post.updated_at() > was.updated_at());
    }
    let texts: Vec<String> = all::<Comment>(&db).await.iter().map(|c| c.text.clone()).collect();
    assert_eq!(texts, ["x", "y", "z"], "the comment on bob's post went with it");
}

/// Bulk writes see the session's own uncommitted rows, and other sessions see none of
/// their effect until commit.
pub async fn bulk_writes_are_the_sessions_own_until_commit(fx: &mut impl Fixture) {
    let db = items(fx).await;
    let mut writer = db.session().await.expect("writer");
    let mine = Item { name: "mine".into(), ..(*all::<Item>(&db).await[0]).clone() };
    writer.add(mine).await.expect("add in the session");
    let apples = writer.query::<Item>().filter(|c| c.name.like("%apple%")).update(|c| c.rank.set(None)).await;
    assert_eq!(apples.expect("update apples"), 2);
    let added = writer.query::<Item>().filter(|c| c.name.eq("mine")).update(|c| c.price.set(5.0)).await;
    assert_eq!(added.expect("update the row the session added"), 1);
    let gone = writer.query::<Item>().filter(|c| c.rank.is_null()).delete().await;
    assert_eq!(gone.expect("delete the unranked"), 4);

    let mut reader = db.session().await.expect("reader");
    assert_eq!(reader.query::<Item>().count().await.expect("count"), 7);
    assert_eq!(reader.query::<Item>().filter(|c| c.rank.is_null()).count().await.expect("count"), 2);
    drop(reader);
    writer.commit().await.expect("commit");
    let names: Vec<String> = all::<Item>(&db).await.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["cherry", "ápple", "😀 emoji", "mine"]);
}

/// Rows that refer to each other with `restrict` may go in one delete by filter: the
/// rule counts only rows the delete leaves, as SQL's `NO ACTION` at the end of the
/// statement, whatever the order of the rows (here a refers to b, which refers to c).
/// A row left behind that refers to one of them refuses the whole delete.
pub async fn a_delete_by_filter_takes_rows_that_restrict_each_other_together(fx: &mut impl Fixture) {
    use crate::entities::Link;
    let db = fx.open().await;
    db.create_all(&[Link::table()]).await.expect("create_all");
    let mut session = db.session().await.expect("session");
    let c = session.add(Link { name: "c".into(), parent: None }).await.expect("c");
    let b = session.add(Link { name: "b".into(), parent: Some(c.id()) }).await.expect("b");
    let mut a = session.add(Link { name: "a".into(), parent: None }).await.expect("a");
    a.parent = Some(b.id());
    session.update(&mut a).await.expect("a refers to b");
    session.add(Link { name: "d".into(), parent: Some(c.id()) }).await.expect("d");
    session.commit().await.expect("commit");

    let mut session = db.session().await.expect("session");
    let abc = session.query::<Link>().filter(|l| l.name.is_in(["a", "b", "c"])).delete().await;
    assert!(matches!(abc, Err(Error::StillReferenced { table: "links", by_column: "parent", .. })), "{abc:?}");
    assert_eq!(session.query::<Link>().count().await.expect("count"), 4, "the refused delete wrote nothing");
    let ab = session.query::<Link>().filter(|l| l.name.is_in(["a", "b"])).delete().await;
    assert_eq!(ab.expect("a and b go together"), 2);
    let rest = session.query::<Link>().order_by(|l| l.name.desc()).delete().await;
    assert_eq!(rest.expect("c and d go together"), 2);
    session.commit().await.expect("commit");
    assert_eq!(all::<Link>(&db).await.len(), 0);
}
