//! Queries: filters, ordering, limit and offset, built typed and checked before any I/O
//! (the semantics are in the crate's documentation).

mod aggregate;
mod assign;
mod builder;
mod column;
mod filter;
mod keyset;
mod like;
mod order;
mod select;

pub(crate) use aggregate::BoundAggregates;
pub use aggregate::{
    compute_aggregates, count, undecodable_aggregate, Aggregate, AggregateExpr, AggregateFunction, Aggregated,
    Aggregates, Aggregation, Computed, Group, GroupKeys, SumValue, Summable,
};
pub(crate) use assign::BoundAssignments;
pub use assign::{Assignment, Assignments};
pub use builder::{Grouped, Query};
pub use column::Column;
pub use filter::{CompareOp, DynColumn, Filter};
pub(crate) use keyset::Cursor;
pub use like::{like_escape, LikePattern, LikePiece};
pub use order::{Direction, Order};
pub(crate) use select::sorted_values;
pub use select::{Predicate, Select, SortKey, MAX_CONDITIONS, MAX_NESTING};
