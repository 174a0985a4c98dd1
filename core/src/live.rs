//! Live queries: [`Database::watch`](crate::Database::watch) runs a query, and runs it
//! again after every commit that wrote a table the query read, emitting each result
//! that differs from the last.
//!
//! Every backend has one [`ChangeHub`] ([`Backend::changes`](crate::backend::Backend::changes)):
//! a session's transaction is [`Recorded`], which notes the tables it reads and writes,
//! and publishes the written ones to the hub once its commit succeeded. A backend that
//! learns of commits made elsewhere (another page, another process) publishes them to
//! the same hub.

mod recorded;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::{Stream, StreamExt};

use crate::database::Database;
use crate::error::Result;
use crate::retry::SessionFuture;
use crate::session::Session;
pub(crate) use recorded::Recorded;

/// What a committed transaction changed, as a live query needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// These tables (by name) were written.
    Tables(BTreeSet<String>),
    /// Anything may have been written (raw SQL, a commit seen from elsewhere without
    /// its tables).
    Anything,
}

impl Changed {
    /// Whether a query that read `tables` (`None`: it cannot say which) may see
    /// another result after this change.
    pub fn touches(&self, tables: Option<&BTreeSet<&'static str>>) -> bool {
        match (self, tables) {
            (Changed::Tables(written), Some(read)) => read.iter().any(|t| written.contains(*t)),
            _ => true,
        }
    }
}

/// Where a backend's commits are announced to its live queries: one per backend, shared
/// by every [`Database`] over it.
///
/// Commits made through this backend are published with [`publish`](Self::publish),
/// those a backend hears of from elsewhere (another page, another process) with
/// [`publish_remote`](Self::publish_remote); a relay that tells the others
/// ([`subscribe_local`](Self::subscribe_local)) sees only the first kind, so nothing
/// echoes back.
#[derive(Clone, Debug, Default)]
pub struct ChangeHub {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
}

#[derive(Debug)]
struct Subscriber {
    sender: UnboundedSender<Changed>,
    local_only: bool,
}

/// A [`ChangeHub`] that does not keep it alive: what a relay's listener holds.
#[derive(Clone, Debug)]
pub struct WeakChangeHub(Weak<Mutex<Vec<Subscriber>>>);

impl WeakChangeHub {
    /// The hub, unless its backend is gone.
    pub fn upgrade(&self) -> Option<ChangeHub> {
        self.0.upgrade().map(|subscribers| ChangeHub { subscribers })
    }
}

impl ChangeHub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        ChangeHub::default()
    }

    /// Tells every subscriber of a change committed through this backend; those
    /// dropped since are forgotten.
    pub fn publish(&self, changed: &Changed) {
        self.send(changed, true);
    }

    /// Tells every subscriber but the local-only ones of a change committed elsewhere.
    pub fn publish_remote(&self, changed: &Changed) {
        self.send(changed, false);
    }

    fn send(&self, changed: &Changed, local: bool) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|s| (s.local_only && !local) || s.sender.unbounded_send(changed.clone()).is_ok());
    }

    /// Every change published from now on.
    pub fn subscribe(&self) -> UnboundedReceiver<Changed> {
        self.subscribe_with(false)
    }

    /// Every change committed through this backend from now on, not those from
    /// elsewhere: what a relay to other pages or processes forwards. The stream ends
    /// when the backend is dropped.
    pub fn subscribe_local(&self) -> UnboundedReceiver<Changed> {
        self.subscribe_with(true)
    }

    fn subscribe_with(&self, local_only: bool) -> UnboundedReceiver<Changed> {
        let (sender, receiver) = unbounded();
        let mut subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        // Those dropped while nothing was published go now.
        subscribers.retain(|s| !s.sender.is_closed());
        subscribers.push(Subscriber { sender, local_only });
        receiver
    }

    /// A handle that does not keep the hub alive.
    pub fn downgrade(&self) -> WeakChangeHub {
        WeakChangeHub(Arc::downgrade(&self.subscribers))
    }
}

/// The stream of [`Database::watch`]: `Send` where sessions are.
#[cfg(not(target_arch = "wasm32"))]
pub type LiveQuery<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// The stream of [`Database::watch`].
#[cfg(target_arch = "wasm32")]
pub type LiveQuery<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T>>>>;

/// Runs `query` in a fresh session (rolled back), then again after each change that
/// touches a table it read, yielding the first result and every one unlike the last;
/// an error is yielded and the query runs again at the next change.
pub(crate) fn watch<T, F>(db: Database, mut query: F) -> LiveQuery<T>
where
    T: PartialEq + Clone + crate::backend::SendOutsideWasm + 'static,
    F: for<'s> FnMut(&'s mut Session) -> SessionFuture<'s, T> + crate::backend::SendOutsideWasm + 'static,
{
    Box::pin(async_stream::stream! {
        // Subscribed before the first run, so no commit after it goes unseen.
        db.backend().watching();
        let mut changes = db.backend().changes().subscribe();
        let mut last: Option<T> = None;
        loop {
            let (result, read) = match db.session().await {
                Ok(mut session) => {
                    let result = query(&mut session).await;
                    let read = session.tables_read();
                    drop(session);
                    (result, read)
                }
                Err(err) => (Err(err), None),
            };
            match result {
                Ok(value) if last.as_ref() == Some(&value) => {}
                Ok(value) => {
                    last = Some(value.clone());
                    yield Ok(value);
                }
                Err(err) => {
                    // The next good result is yielded even if it equals the one before.
                    last = None;
                    yield Err(err);
                }
            }
            // The next change that may alter the result; those already queued behind
            // it are seen by the run that follows.
            loop {
                let Some(changed) = changes.next().await else { return };
                if changed.touches(read.as_ref()) {
                    break;
                }
            }
            while changes.try_recv().is_ok() {}
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;
    use crate::{Entity, Error};

    #[derive(Entity)]
    struct Gauge {
        level: i32,
    }

    async fn next_within(
        live: &mut LiveQuery<bool>,
    ) -> std::result::Result<Option<Result<bool>>, tokio::time::error::Elapsed> {
        tokio::time::timeout(Duration::from_secs(5), live.next()).await
    }

    async fn add_gauge(db: &Database) -> Result<()> {
        db.add(Gauge { level: 1 }).await.map(|_| ())
    }

    #[tokio::test]
    async fn after_an_error_the_next_good_result_is_yielded_even_if_it_is_the_last_one() -> Result<()> {
        let db = crate::memory();
        db.create_all(&[Gauge::table()]).await?;
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        let mut live = db.watch(move |session| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let many = session.query::<Gauge>().count().await? > 100;
                match run {
                    1 => Err(Error::Conflict { table: "gauges", id: 1 }),
                    _ => Ok(many),
                }
            })
        });
        assert!(matches!(next_within(&mut live).await, Ok(Some(Ok(false)))));
        add_gauge(&db).await?;
        assert!(matches!(next_within(&mut live).await, Ok(Some(Err(Error::Conflict { .. })))));
        add_gauge(&db).await?;
        assert!(matches!(next_within(&mut live).await, Ok(Some(Ok(false)))), "the recovery is yielded");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        Ok(())
    }

    #[test]
    fn subscribers_dropped_while_nothing_is_published_are_forgotten() {
        let hub = ChangeHub::new();
        for _ in 0..100 {
            drop(hub.subscribe());
        }
        let kept = hub.subscribe();
        assert_eq!(hub.subscribers.lock().map(|s| s.len()).unwrap_or_default(), 1);
        drop(kept);
    }

    #[test]
    fn a_relay_hears_local_changes_only_and_others_hear_both() {
        let hub = ChangeHub::new();
        let (mut relay, mut query) = (hub.subscribe_local(), hub.subscribe());
        let here = Changed::Tables(["a".to_owned()].into());
        hub.publish(&here);
        hub.publish_remote(&Changed::Anything);
        assert_eq!(relay.try_recv().ok(), Some(here.clone()));
        assert!(relay.try_recv().is_err(), "a remote change is not relayed back");
        assert_eq!(query.try_recv().ok(), Some(here));
        assert_eq!(query.try_recv().ok(), Some(Changed::Anything));
        let weak = hub.downgrade();
        drop(hub);
        assert!(weak.upgrade().is_none());
        let ended = futures_util::FutureExt::now_or_never(relay.next());
        assert_eq!(ended, Some(None), "the stream ends with its hub");
    }
}
