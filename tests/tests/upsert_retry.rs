//! An upsert in a retried transaction, racing another session that inserts the same
//! value, on the record engine (memory): the commit that meets the other's row is a
//! `Conflict`, so the transaction runs again and updates it. (It was `UniqueViolation`,
//! which is not retried.) On SQL the second insert waits for the first instead, so the
//! race cannot be staged in one task there; `upsert_race` runs it in many.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use plinth::Entity;
use plinth_conformance::entities::User;

fn user(name: &str, email: &str) -> User {
    User { username: name.into(), email_address: email.into() }
}

/// `Session::upsert` doc: when another session inserts the value between the lookup and
/// the write, the upsert updates what that session committed, or under contention is
/// refused "with `Error::Conflict` (on the record engine at commit): retry the session".
/// So `Database::transaction` around an upsert must end with this session's values,
/// here after one retry.
#[tokio::test]
async fn an_upsert_racing_an_insert_is_retried_by_a_transaction() {
    let db = plinth::memory();
    db.create_all(&[User::table()]).await.expect("create_all");
    let attempts = Arc::new(AtomicU32::new(0));
    let done = db
        .transaction(|session| {
            let (db, attempts) = (db.clone(), Arc::clone(&attempts));
            Box::pin(async move {
                session.upsert(user("ada", "mine@x"), |c| c.username).await?;
                if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Another session inserts "ada" and commits before this one commits.
                    let mut other = db.session().await.expect("other session");
                    other.upsert(user("ada", "theirs@x"), |c| c.username).await.expect("their upsert");
                    other.commit().await.expect("their commit");
                }
                Ok(())
            })
        })
        .await;
    let tries = attempts.load(Ordering::SeqCst);
    done.unwrap_or_else(|e| panic!("the transaction retried the upsert ({tries} attempts): {e:?}"));
    let mut s = db.session().await.expect("session");
    let rows = s.query::<User>().all().await.expect("users");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].email_address, "mine@x");
}
