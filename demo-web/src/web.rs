//! The page's side: the service on browser storage, exported to JavaScript. Every
//! method answers a promise of JSON text; a rejection carries `{"status","message"}`,
//! the same shape the server answers with, so the page handles both alike.

use plinth::{Database, Id};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::service::{self, DemoError, Kind, Sort};

/// The demo's data in one browser store: `local://NAME`, `session://NAME` or
/// `indexeddb://NAME`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct DemoStore {
    db: Database,
}

fn reject(err: DemoError) -> JsValue {
    JsValue::from_str(&err.to_json())
}

fn to_json(value: &impl Serialize) -> Result<JsValue, JsValue> {
    serde_json::to_string(value)
        .map(|text| JsValue::from_str(&text))
        .map_err(|e| reject(DemoError { status: 500, message: e.to_string() }))
}

fn record_id(id: f64) -> Result<i64, DemoError> {
    let whole = id.fract() == 0.0 && id.abs() < 9_007_199_254_740_992.0;
    // Checked above: a whole number JavaScript represents exactly.
    #[allow(clippy::cast_possible_truncation)]
    whole.then_some(id as i64).ok_or(DemoError { status: 422, message: format!("{id} is not a record id.") })
}

#[wasm_bindgen]
impl DemoStore {
    /// Opens the store at `url` and creates the demo's tables in it.
    pub async fn open(url: String) -> Result<DemoStore, JsValue> {
        let db = plinth_browser::connect(&url).await.map_err(|e| reject(e.into()))?;
        service::create_tables(&db).await.map_err(reject)?;
        Ok(DemoStore { db })
    }

    /// The storage's name: `localStorage`, `sessionStorage` or `IndexedDB`.
    pub fn backend(&self) -> String {
        self.db.backend_name().to_owned()
    }

    /// The records of `kind` (`users` or `notes`) containing `text`, sorted by `sort`
    /// (`newest`, `oldest`, `updated`, `name`), notes only by the user whose id is
    /// `author` if it is given (`undefined` or `null`: every note): a JSON array of
    /// `to_dict()` objects, with each user's `note_count` and each note's
    /// `author_username`.
    pub fn list(&self, kind: String, text: String, sort: String, author: Option<f64>) -> js_sys::Promise {
        let db = self.db.clone();
        future_to_promise(async move {
            let (kind, sort) = (Kind::parse(&kind).map_err(reject)?, Sort::parse(&sort).map_err(reject)?);
            let author = author.map(record_id).transpose().map_err(reject)?.map(Id::new);
            to_json(&service::list(&db, kind, &text, sort, author).await.map_err(reject)?)
        })
    }

    /// Adds a record from the form's JSON; resolves with the stored record.
    pub fn create(&self, kind: String, body: String) -> js_sys::Promise {
        let db = self.db.clone();
        future_to_promise(async move {
            let kind = Kind::parse(&kind).map_err(reject)?;
            to_json(&service::create(&db, kind, &body).await.map_err(reject)?)
        })
    }

    /// Replaces record `id`'s fields from the form's JSON; resolves with the record.
    pub fn update(&self, kind: String, id: f64, body: String) -> js_sys::Promise {
        let db = self.db.clone();
        future_to_promise(async move {
            let (kind, id) = (Kind::parse(&kind).map_err(reject)?, record_id(id).map_err(reject)?);
            to_json(&service::update(&db, kind, id, &body).await.map_err(reject)?)
        })
    }

    /// Deletes record `id` (a user with their notes).
    pub fn remove(&self, kind: String, id: f64) -> js_sys::Promise {
        let db = self.db.clone();
        future_to_promise(async move {
            let (kind, id) = (Kind::parse(&kind).map_err(reject)?, record_id(id).map_err(reject)?);
            service::delete(&db, kind, id).await.map_err(reject)?;
            Ok(JsValue::NULL)
        })
    }
}
