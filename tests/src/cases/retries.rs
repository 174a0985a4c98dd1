//! Transactions that retry: `Database::transaction` commits the work, or runs it again
//! in a fresh session when the error says that may succeed, a bounded number of times.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use plinth::{Error, RetryPolicy};

use crate::cases::{committed, setup};
use crate::entities::{Tag, User};
use crate::Fixture;

/// Work whose update meets a row another session wrote since it was read (a
/// `Conflict`) runs again, from its reads, in a fresh session, and then commits.
pub async fn a_transaction_runs_again_after_a_conflict(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let tag = committed(&db, vec![Tag { label: Some("t".into()), weight: 1 }]).await.remove(0);
    let attempts = Arc::new(AtomicU32::new(0));
    let weight = db
        .transaction(|session| {
            let (db, attempts, id) = (db.clone(), Arc::clone(&attempts), tag.id());
            Box::pin(async move {
                let mut tag = session.get::<Tag>(id).await?.expect("the tag");
                if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                    // Another session writes the row between this one's read and write.
                    let mut other = db.session().await?;
                    let mut theirs = other.get::<Tag>(id).await?.expect("the tag");
                    theirs.weight = 10;
                    other.update(&mut theirs).await?;
                    other.commit().await?;
                }
                tag.weight += 1;
                session.update(&mut tag).await?;
                Ok(tag.weight)
            })
        })
        .await
        .expect("the second attempt commits");
    assert_eq!((weight, attempts.load(Ordering::SeqCst)), (11, 2));
    let mut session = db.session().await.expect("session");
    assert_eq!(session.get::<Tag>(tag.id()).await.expect("get").expect("the tag").weight, 11);
}

/// A retryable error runs the work again up to the policy's attempts, then is
/// returned; an error that is not retryable is returned at once. Either way nothing
/// the work wrote is committed.
pub async fn a_transaction_retries_only_retryable_errors_and_only_so_often(fx: &mut impl Fixture) {
    let db = setup(fx).await;
    let policy = RetryPolicy { attempts: 3, ..RetryPolicy::default() };
    let attempts = Arc::new(AtomicU32::new(0));
    let always_conflicting = db
        .transaction_with(policy, |session| {
            let attempts = Arc::clone(&attempts);
            Box::pin(async move {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                session.add(User::named(&format!("try {n}"))).await?;
                Err::<(), _>(Error::Conflict { table: "users", id: 1 })
            })
        })
        .await;
    assert!(matches!(always_conflicting, Err(Error::Conflict { .. })), "{always_conflicting:?}");
    assert_eq!(attempts.swap(0, Ordering::SeqCst), 3);

    committed(&db, vec![User::named("ada")]).await;
    let duplicate = db
        .transaction(|session| {
            let attempts = Arc::clone(&attempts);
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                session.add(User::named("bob")).await?;
                session.add(User::named("ada")).await?;
                Ok(())
            })
        })
        .await;
    assert!(matches!(duplicate, Err(Error::UniqueViolation { column: Some("username"), .. })), "{duplicate:?}");
    assert!(!duplicate.as_ref().is_err_and(Error::is_retryable));
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "not retried");
    let mut session = db.session().await.expect("session");
    let names: Vec<String> =
        session.query::<User>().all().await.expect("users").iter().map(|u| u.username.clone()).collect();
    assert_eq!(names, ["ada"], "nothing the failed work wrote was committed");
}
