//! JavaScript exceptions as [`plinth::Error`]s.

use plinth::Error;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

/// The error for a JavaScript exception (a `DOMException` or any thrown value) from
/// `backend`: `QuotaExceededError` is [`Error::QuotaExceeded`], anything else
/// [`Error::Backend`] with the exception's name and message.
pub(crate) fn from_js(backend: &'static str, exception: &JsValue) -> Error {
    let text = describe(exception);
    match exception.dyn_ref::<DomException>() {
        Some(e) if e.name() == "QuotaExceededError" => Error::QuotaExceeded { detail: format!("{backend}: {text}") },
        _ => Error::backend(backend, text),
    }
}

fn describe(exception: &JsValue) -> String {
    if let Some(e) = exception.dyn_ref::<DomException>() {
        return format!("{}: {}", e.name(), e.message());
    }
    if let Some(e) = exception.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(e.name()), String::from(e.message()));
    }
    exception.as_string().unwrap_or_else(|| format!("{exception:?}"))
}
