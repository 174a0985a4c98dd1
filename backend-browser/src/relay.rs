//! Live queries across pages: every handle of a browser database relays the commits
//! made through it to the other pages (and other handles) of the origin over a
//! `BroadcastChannel` named after the database, and publishes what it hears from them
//! to its own [`ChangeHub`], so their live queries run again.
//!
//! A message is the array of the written tables' names, or `"*"` where anything may
//! have been written. `BroadcastChannel` does not deliver a message to the object that
//! sent it, and the relay forwards only this handle's own commits, so nothing echoes.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use js_sys::Array;
use plinth::backend::{ChangeHub, Changed};
use plinth::Result;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use crate::js_error::from_js;

/// What a message says anything may have changed.
const ANYTHING: &str = "*";

/// Starts relaying `hub`'s commits over the channel `plinth/KIND/NAME`, and
/// publishing the channel's messages to it, until the backend of `hub` is dropped.
/// [`Error::Connection`] if the browser has no `BroadcastChannel`.
pub(crate) fn start(backend: &'static str, channel: &str, hub: &ChangeHub) -> Result<()> {
    let channel = BroadcastChannel::new(channel).map_err(|e| from_js(backend, &e))?;
    let heard = hub.downgrade();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let (Some(hub), Some(changed)) = (heard.upgrade(), decode(&event.data())) {
            hub.publish_remote(&changed);
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let mut local = hub.subscribe_local();
    wasm_bindgen_futures::spawn_local(async move {
        while let Some(changed) = local.next().await {
            // A page closing meanwhile may refuse it; nothing is lost here.
            let _ = channel.post_message(&encode(&changed));
        }
        channel.set_onmessage(None);
        channel.close();
        drop(on_message);
    });
    Ok(())
}

fn encode(changed: &Changed) -> JsValue {
    match changed {
        Changed::Tables(tables) => tables.iter().map(|t| JsValue::from_str(t)).collect::<Array>().into(),
        Changed::Anything => JsValue::from_str(ANYTHING),
    }
}

/// A message another handle sent; `None` for one that is neither form (another
/// script on the channel), which is ignored.
fn decode(data: &JsValue) -> Option<Changed> {
    if data.as_string().as_deref() == Some(ANYTHING) {
        return Some(Changed::Anything);
    }
    let tables = data.dyn_ref::<Array>()?;
    let names: Option<BTreeSet<String>> = tables.iter().map(|t| t.as_string()).collect();
    names.map(Changed::Tables)
}
