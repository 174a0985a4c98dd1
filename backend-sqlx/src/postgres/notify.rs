//! Live queries across processes on PostgreSQL: each backend announces its own commits
//! with `NOTIFY` on the channel [`CHANNEL`], and, once a live query runs, `LISTEN`s
//! there and publishes what other backends announced to its
//! [`ChangeHub`](plinth::backend::ChangeHub).
//!
//! A notification's payload is JSON, `{"from": INSTANCE, "tables": [NAME, …]}`, with
//! `"tables": null` where anything may have been written; `from` names the backend that
//! sent it, so a backend skips its own. Announcing runs after the commit, off the
//! session's path, on a pool connection, at most once per 10 ms: commits that come in
//! between go out together in the next. A notification is lost if the server is unreachable then, and
//! a listener that lost its connection publishes "anything" when it is back, as what
//! was sent meanwhile is gone.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use plinth::backend::{ChangeHub, Changed};
use serde_json::json;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::runtime::Handle;

/// The channel every Plinth backend on a database notifies and listens on.
pub(crate) const CHANNEL: &str = "plinth_changes";

/// The shortest time between two announcements of one backend: what a commit may wait
/// before other processes hear of it.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(10);

/// PostgreSQL refuses payloads of 8000 bytes or more; past this, "anything" is sent.
const MAX_PAYLOAD: usize = 7_900;

/// Starts announcing `hub`'s local commits on `pool`, until the backend is dropped; does
/// nothing outside a tokio runtime.
pub(crate) fn announce(pool: &PgPool, hub: &ChangeHub, instance: &str) {
    let Ok(runtime) = Handle::try_current() else { return };
    let (pool, mut local, instance) = (pool.clone(), hub.subscribe_local(), instance.to_owned());
    runtime.spawn(async move {
        let mut last_sent: Option<Instant> = None;
        while let Some(first) = local.next().await {
            // At most one announcement per `ANNOUNCE_EVERY`: commits in between go out
            // together, so a stream of commits costs the server one NOTIFY per period.
            if let Some(wait) = last_sent.and_then(|at| ANNOUNCE_EVERY.checked_sub(at.elapsed())) {
                tokio::time::sleep(wait).await;
            }
            let mut changed = first;
            while let Ok(more) = local.try_recv() {
                changed = merged(changed, more);
            }
            last_sent = Some(Instant::now());
            let payload = payload(&instance, &changed);
            // An unreachable server loses the notification (see the module docs).
            let _ = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await;
        }
    });
}

/// Starts listening for other backends' announcements on a connection of its own (made
/// with `pool`'s options), publishing them to `hub` until the backend is dropped; does
/// nothing outside a tokio runtime.
///
/// Each time `LISTEN` is in place — the first time, and after a lost connection — it
/// publishes "anything": what was announced before, or meanwhile, was not heard. When
/// the backend is dropped, its own pool is closed, which ends a wait for a notification.
pub(crate) fn listen(pool: &PgPool, hub: &ChangeHub, instance: &str) {
    let Ok(runtime) = Handle::try_current() else { return };
    // A connection of its own, outside the sessions' pool, which it would take one of
    // for good (a pool of one would then serve no session).
    let options = (*pool.connect_options()).clone();
    let pool = PgPoolOptions::new().max_connections(1).min_connections(0).connect_lazy_with(options);
    // The hub's local changes end when the backend is dropped: then the pool closes.
    let (mut until_dropped, closing) = (hub.subscribe_local(), pool.clone());
    runtime.spawn(async move {
        while until_dropped.next().await.is_some() {}
        closing.close().await;
    });
    let (hub, instance) = (hub.downgrade(), instance.to_owned());
    runtime.spawn(async move {
        loop {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match listener.await {
                Ok(listener) => listener,
                Err(_) if hub.upgrade().is_some() && !pool.is_closed() => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            let Some(listening) = hub.upgrade() else { return };
            listening.publish_remote(&Changed::Anything);
            drop(listening);
            loop {
                let heard = listener.try_recv().await;
                let Some(hub) = hub.upgrade() else { return };
                match heard {
                    Ok(Some(notification)) => {
                        if let Some(changed) = heard_change(notification.payload(), &instance) {
                            hub.publish_remote(&changed);
                        }
                    }
                    // Lost and already listening again (`eager_reconnect`): what was
                    // announced meanwhile is gone.
                    Ok(None) => hub.publish_remote(&Changed::Anything),
                    // Listening again in the outer loop publishes "anything".
                    Err(_) => break,
                }
            }
        }
    });
}

/// One change for two.
fn merged(a: Changed, b: Changed) -> Changed {
    match (a, b) {
        (Changed::Tables(mut a), Changed::Tables(b)) => {
            a.extend(b);
            Changed::Tables(a)
        }
        _ => Changed::Anything,
    }
}

fn payload(instance: &str, changed: &Changed) -> String {
    let tables = match changed {
        Changed::Tables(tables) => json!(tables),
        Changed::Anything => serde_json::Value::Null,
    };
    let text = json!({ "from": instance, "tables": tables }).to_string();
    if text.len() <= MAX_PAYLOAD {
        return text;
    }
    json!({ "from": instance, "tables": null }).to_string()
}

/// The change another backend announced in `payload`; `None` for this backend's own,
/// and for a payload of another form (someone else's `NOTIFY` on the channel).
fn heard_change(payload: &str, instance: &str) -> Option<Changed> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    if value.get("from")?.as_str()? == instance {
        return None;
    }
    match value.get("tables")? {
        serde_json::Value::Null => Some(Changed::Anything),
        serde_json::Value::Array(names) => {
            let names: Option<BTreeSet<String>> = names.iter().map(|n| n.as_str().map(str::to_owned)).collect();
            names.map(Changed::Tables)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_heard_by_others_and_not_by_its_sender() {
        let changed = Changed::Tables(["notes".to_owned(), "a \"quoted\" name".to_owned()].into());
        let text = payload("me", &changed);
        assert_eq!(heard_change(&text, "other"), Some(changed));
        assert_eq!(heard_change(&text, "me"), None);
        assert_eq!(heard_change(&payload("me", &Changed::Anything), "other"), Some(Changed::Anything));
        assert_eq!(heard_change("not json", "other"), None);
        assert_eq!(heard_change(r#"{"from": "x", "tables": [1]}"#, "other"), None);
    }

    #[test]
    fn too_many_tables_are_announced_as_anything() {
        let many: BTreeSet<String> = (0..1000).map(|i| format!("table_number_{i}")).collect();
        let text = payload("me", &Changed::Tables(many));
        assert!(text.len() <= MAX_PAYLOAD);
        assert_eq!(heard_change(&text, "other"), Some(Changed::Anything));
    }

    #[test]
    fn changes_queued_together_are_announced_as_one() {
        let tables = |names: &[&str]| Changed::Tables(names.iter().map(|n| (*n).to_owned()).collect());
        assert_eq!(merged(tables(&["a"]), tables(&["b", "a"])), tables(&["a", "b"]));
        assert_eq!(merged(tables(&["a"]), Changed::Anything), Changed::Anything);
    }
}
