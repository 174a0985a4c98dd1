//! The clock every backend stamps rows with.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to microseconds so it round-trips exactly through every
/// backend. On wasm32 this reads the browser's clock (`Date.now()`, through chrono's
/// `wasmbind` feature), never `SystemTime::now`.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A timestamp for a row written now that is never earlier than `previous`, so that
/// `updated_at` does not go backwards when the wall clock does.
pub fn now_after(previous: DateTime<Utc>) -> DateTime<Utc> {
    now().max(previous)
}
