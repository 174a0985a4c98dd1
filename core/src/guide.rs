//! The guide in `docs/`, one item per page, so `cargo test --doc` runs every example
//! the guide shows (`cargo xtask test` does). A page added to `docs/` is added here.

/// The guide's schema-evolution page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/schema-evolution.md")]
struct SchemaEvolutionGuide;

/// The guide's relations page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/relations.md")]
struct RelationsGuide;

/// The guide's getting-started page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStartedGuide;

/// The guide's entities page, whose examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/entities.md")]
struct EntitiesGuide;
