//! The record engine: sessions over any store of rows keyed by table and id.
//!
//! A [`RecordStore`] only has to read committed rows, hand out ids, and apply a
//! [`Change`] set atomically. The engine does the rest the same way for every store:
//! it stages writes in the session, checks unique columns, evaluates filters and
//! ordering, and validates at commit that no other session changed a row underneath.
//! The memory backend is this engine over maps; the browser backend is this engine
//! over web storage and IndexedDB, so its logic is tested natively too.

mod backend;
mod eval;
mod memory;
mod store;
mod transaction;

pub use backend::EngineBackend;
pub use eval::{column_value, matches, run_select};
pub use memory::MemoryStore;
pub use store::{check_unique, next_ids, Change, RecordStore};
pub use transaction::EngineTransaction;
