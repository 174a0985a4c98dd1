//! Nothing but a home for `tests/dexie.rs`: Plinth's IndexedDB backend beside Dexie.js and
//! hand-written web-sys, in headless Chromium (`cargo xtask bench --peers` runs it).
