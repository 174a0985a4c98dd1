//! Sessions that retry: [`Database::transaction`] runs a piece of work in a session and
//! commits it, running it again in a fresh session, under a bounded [`RetryPolicy`],
//! when the database answers that it may succeed next time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::backend::clock;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::session::Session;

/// The future a [`Database::transaction`] closure returns: `Box::pin(async move { … })`
/// over the session it is lent. `Send` on native targets, so the whole transaction can
/// run in a spawned task or an axum handler; not on wasm32, where JavaScript futures
/// never are.
#[cfg(not(target_arch = "wasm32"))]
pub type SessionFuture<'s, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 's>>;

/// The future a [`Database::transaction`] closure returns: `Box::pin(async move { … })`
/// over the session it is lent.
#[cfg(target_arch = "wasm32")]
pub type SessionFuture<'s, T> = Pin<Box<dyn Future<Output = Result<T>> + 's>>;

/// How often, and how patiently, [`Database::transaction_with`] runs a session again.
///
/// Between attempts it pauses, doubling from `first_pause` up to `max_pause`, each
/// pause shortened by a random part of up to half so that sessions that collided do
/// not collide again in step. Pauses are the backend's own ([`Backend::pause`]): real
/// waits on SQL, where sessions wait on each other's locks; none on the record engine,
/// whose sessions never wait and meet only at commit.
///
/// [`Backend::pause`]: crate::backend::Backend::pause
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times the work runs at most, the first included (at least 1).
    pub attempts: u32,
    /// The pause before the second attempt.
    pub first_pause: Duration,
    /// The longest pause.
    pub max_pause: Duration,
}

impl RetryPolicy {
    /// Runs the work once: what [`Database::session`] and a hand-written commit do.
    pub const ONCE: RetryPolicy = RetryPolicy { attempts: 1, first_pause: Duration::ZERO, max_pause: Duration::ZERO };

    /// The pause before attempt `next` (2 for the first retry).
    fn pause_before(&self, next: u32) -> Duration {
        let doubled = self.first_pause.saturating_mul(1 << next.saturating_sub(2).min(20));
        let pause = doubled.min(self.max_pause);
        // Up to half of it off, from the clock's microseconds: enough to part sessions
        // that collided, with no random number generator in the crate.
        let jitter = clock::now().timestamp_subsec_micros() % 1000;
        pause.saturating_sub(pause.mul_f64(f64::from(jitter) / 2000.0))
    }
}

impl Default for RetryPolicy {
    /// Ten attempts, pausing from 2 ms up to 200 ms.
    fn default() -> Self {
        RetryPolicy { attempts: 10, first_pause: Duration::from_millis(2), max_pause: Duration::from_millis(200) }
    }
}

impl Database {
    /// Runs `work` in a new session and commits it, with the default [`RetryPolicy`];
    /// see [`transaction_with`](Database::transaction_with).
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug)]
    /// # pub struct Counter { #[entity(unique)] pub name: String, pub value: i64 }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[Counter::table()]).await?;
    /// # let id = db.transaction(|s| Box::pin(async move { Ok(s.add(Counter { name: "hits".into(), value: 0 }).await?.id()) })).await?;
    /// let value = db
    ///     .transaction(|session| {
    ///         Box::pin(async move {
    ///             let mut counter = session.get::<Counter>(id).await?.expect("the counter");
    ///             counter.value += 1;
    ///             session.update(&mut counter).await?; // a `Conflict` here or at commit runs it again
    ///             Ok(counter.value)
    ///         })
    ///     })
    ///     .await?;
    /// assert_eq!(value, 1);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'s> FnMut(&'s mut Session) -> SessionFuture<'s, T>,
    {
        self.transaction_with(RetryPolicy::default(), work).await
    }

    /// Runs `work` in a new session and commits it. When the work or the commit fails
    /// with an error that [`is_retryable`](Error::is_retryable) (a `Conflict`, a
    /// `Deadlock`, a `LockTimeout`), the session is rolled back and the work runs
    /// again in a fresh one, up to `policy.attempts` times in all; a lost `Connection`
    /// is retried too, but only before the commit (lost during the commit, the commit
    /// may have been applied). Every other error, and the last attempt's, is returned
    /// as it is, after rolling back. `work` may run several times: keep what it does
    /// outside the session (sending mail, counting) out of it.
    ///
    /// The future `work` returns may borrow the session it is lent, and nothing else of
    /// the caller's: move owned values into it, cloned per attempt (`let db =
    /// db.clone();` or an `Arc`, before `Box::pin(async move { … })`). Borrowing a local
    /// shows as "does not live long enough" or "cannot move out of a captured variable
    /// in an `FnMut` closure".
    pub async fn transaction_with<T, F>(&self, policy: RetryPolicy, mut work: F) -> Result<T>
    where
        F: for<'s> FnMut(&'s mut Session) -> SessionFuture<'s, T>,
    {
        let attempts = policy.attempts.max(1);
        let mut attempt = 1;
        loop {
            let failure = match self.session().await {
                Err(err) => Failure::BeforeCommit(err),
                Ok(mut session) => match work(&mut session).await {
                    Ok(value) => match session.commit().await {
                        Ok(()) => return Ok(value),
                        Err(err) => Failure::AtCommit(err),
                    },
                    Err(err) => {
                        // The work's error is the answer; a failed rollback adds nothing.
                        let _ = session.rollback().await;
                        Failure::BeforeCommit(err)
                    }
                },
            };
            let (retry, err) = match failure {
                Failure::BeforeCommit(err) => (err.is_retryable() || matches!(err, Error::Connection { .. }), err),
                Failure::AtCommit(err) => (err.is_retryable(), err),
            };
            if !retry || attempt >= attempts {
                return Err(err);
            }
            attempt += 1;
            self.backend().pause(policy.pause_before(attempt)).await;
        }
    }
}

/// Where an attempt failed, which decides whether a lost connection may be retried.
enum Failure {
    BeforeCommit(Error),
    AtCommit(Error),
}
