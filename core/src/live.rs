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
use std::sync::{Arc, Mutex, PoisonError};

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
#[derive(Clone, Debug, Default)]
pub struct ChangeHub {
    subscribers: Arc<Mutex<Vec<UnboundedSender<Changed>>>>,
}

impl ChangeHub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        ChangeHub::default()
    }

    /// Tells every live query of a committed change; those dropped since are forgotten.
    pub fn publish(&self, changed: &Changed) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|subscriber| subscriber.unbounded_send(changed.clone()).is_ok());
    }

    /// Every change published from now on.
    pub fn subscribe(&self) -> UnboundedReceiver<Changed> {
        let (sender, receiver) = unbounded();
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner).push(sender);
        receiver
    }
}

/// The stream of [`Database::watch`]: `Send` where sessions are.
#[cfg(not(target_arch = "wasm32"))]
pub type LiveQuery<'d, T> = std::pin::Pin<Box<dyn Stream<Item = Result<T>> + Send + 'd>>;

/// The stream of [`Database::watch`].
#[cfg(target_arch = "wasm32")]
pub type LiveQuery<'d, T> = std::pin::Pin<Box<dyn Stream<Item = Result<T>> + 'd>>;

/// Runs `query` in a fresh session (rolled back), then again after each change that
/// touches a table it read, yielding the first result and every one unlike the last;
/// an error is yielded and the query runs again at the next change.
pub(crate) fn watch<'d, T, F>(db: &'d Database, mut query: F) -> LiveQuery<'d, T>
where
    T: PartialEq + Clone + crate::backend::SendOutsideWasm + 'd,
    F: for<'s> FnMut(&'s mut Session) -> SessionFuture<'s, T> + crate::backend::SendOutsideWasm + 'd,
{
    Box::pin(async_stream::stream! {
        // Subscribed before the first run, so no commit after it goes unseen.
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
                Err(err) => yield Err(err),
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
