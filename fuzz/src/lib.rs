//! What the fuzz targets share: an entity with a column of every type, and a way to
//! run the futures of stores that never wait.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, NaiveDate, Utc};
use plinth::Entity;

/// One field of every type, a unique one and an indexed one.
#[allow(missing_docs)]
#[derive(Entity, Clone, Debug, PartialEq)]
pub struct Thing {
    #[entity(unique)]
    pub name: String,
    #[entity(index)]
    pub rank: i32,
    pub flag: bool,
    pub small: i16,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    pub day: NaiveDate,
    pub moment: DateTime<Utc>,
    pub doc: serde_json::Value,
    pub blob: Vec<u8>,
    pub note: Option<String>,
    pub maybe_day: Option<NaiveDate>,
    pub maybe_doc: Option<serde_json::Value>,
}

impl Thing {
    /// A thing called `name`, with ordinary values.
    pub fn named(name: &str) -> Self {
        Thing {
            name: name.to_owned(),
            rank: 1,
            flag: true,
            small: -2,
            big: i64::MAX,
            single: 0.5,
            double: -1.25,
            day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default(),
            moment: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap_or_default(),
            doc: serde_json::json!({"k": [1, null]}),
            blob: vec![0, 255],
            note: None,
            maybe_day: None,
            maybe_doc: Some(serde_json::Value::Null),
        }
    }
}

/// Runs a future of the in-memory store to completion: nothing in it ever waits.
pub fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return value;
        }
    }
}
