//! IndexedDB requests and transactions as futures.
//!
//! Handlers are attached when a request is issued, not when its future is first
//! polled: a request that finishes before its turn to be awaited is not lost.

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbRequest, IdbTransaction};

/// An issued request, its outcome not awaited yet.
#[derive(Debug)]
pub(crate) struct Pending {
    request: IdbRequest,
    done: JsFuture,
}

impl Pending {
    /// Watches `request`, issued just now.
    pub(crate) fn new(request: IdbRequest) -> Self {
        let promise: Promise = Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(Some(&resolve));
            request.set_onerror(Some(&reject));
        });
        Pending { request, done: JsFuture::from(promise) }
    }

    /// The request's result, or the `DOMException` it failed with.
    pub(crate) async fn result(self) -> Result<JsValue, JsValue> {
        match self.done.await {
            Ok(_) => self.request.result(),
            Err(event) => Err(self.request.error().ok().flatten().map_or(event, JsValue::from)),
        }
    }
}

/// Resolves when `transaction` commits; fails with its error when it aborts (after
/// a failed request, a `QuotaExceededError`, or an explicit abort).
pub(crate) fn completion(transaction: &IdbTransaction) -> impl std::future::Future<Output = Result<(), JsValue>> {
    let promise: Promise = Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onabort(Some(&reject));
    });
    let done = JsFuture::from(promise);
    let transaction = transaction.clone();
    async move {
        match done.await {
            Ok(_) => Ok(()),
            Err(event) => Err(transaction.error().map_or(event, JsValue::from)),
        }
    }
}
