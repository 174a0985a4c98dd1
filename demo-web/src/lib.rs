//! The Plinth demo: the entities and the operations on them, defined once. The page
//! runs them in wasm on browser storage ([`web`], wasm32 only); the server
//! (`plinth-demo-server`) runs the very same functions on SQLite or PostgreSQL.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod model;
pub mod service;
#[cfg(target_arch = "wasm32")]
pub mod web;
