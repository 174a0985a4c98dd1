//! The clock every backend stamps rows with.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to microseconds so it round-trips exactly through every
/// backend. On wasm32 this reads the browser's clock (`Date.now()`, through chrono's
/// `wasmbind` feature), never `SystemTime::now`.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A timestamp for a row written now that is strictly later than `previous` (by at
/// least a microsecond), so `updated_at` never goes backwards when the wall clock does
/// and never repeats: it is the row's version, which [`update`](crate::Session::update)
/// checks.
pub fn now_after(previous: DateTime<Utc>) -> DateTime<Utc> {
    now().max(previous + chrono::TimeDelta::microseconds(1))
}
