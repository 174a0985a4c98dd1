//! The record engine: sessions over any store of rows keyed by table and id.
//!
//! A store only has to read committed rows ([`Store`]), hand out ids and execute a
//! [`CommitPlan`] atomically ([`StoreMut`]). The engine does the rest the same way for
//! every store: it stages writes in the session, checks unique columns, evaluates
//! filters and ordering, and decides at commit what must be checked (no other session
//! changed a row underneath, no unique value held twice) and what is written.
//! The memory backend is this engine over maps; the browser backend is this engine
//! over web storage and IndexedDB, so its logic is tested natively too.

mod backend;
mod eval;
mod index;
mod memory;
mod migration;
mod plan;
mod store;
mod transaction;
mod upgrade;

pub(crate) use backend::stored_tables;
pub use backend::EngineBackend;
pub(crate) use eval::{column_value, run_select};
pub(crate) use index::index_scan;
pub use index::{sort_key, IndexScan, SortKeyBounds};
pub use memory::MemoryStore;
pub(crate) use migration::apply_migration;
pub use migration::{row_versions, RemovedTable, Replaced, ReplacedTable, Replacement};
pub use plan::{Change, CommitPlan, ReferencedRow, UniqueSlot, Write};
pub use store::{next_ids, Store, StoreMut};
pub(crate) use transaction::EngineTransaction;
pub use upgrade::TableUpgrade;
