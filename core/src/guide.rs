//! The guide in `docs/`, one item per page, so `cargo test --doc` runs every example
//! the guide shows (`cargo xtask test` does). A page added to `docs/` is added here.
//! In the guide's reading order (`docs/README.md`, the index, has no code).

/// The guide's getting-started page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStartedGuide;

/// The guide's entities page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/entities.md")]
struct EntitiesGuide;

/// The guide's queries page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/queries.md")]
struct QueriesGuide;

/// The guide's writes page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writes.md")]
struct WritesGuide;

/// The guide's relations page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/relations.md")]
struct RelationsGuide;

/// The guide's transactions page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/transactions.md")]
struct TransactionsGuide;

/// The guide's schema-evolution page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/schema-evolution.md")]
struct SchemaEvolutionGuide;

/// The guide's live-queries page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/live-queries.md")]
struct LiveQueriesGuide;

/// The guide's backends page, whose example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/backends.md")]
struct BackendsGuide;
