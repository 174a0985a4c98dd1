//! Command-line flags.

xflags::xflags! {
    /// The project's own tasks.
    cmd xtask {
        /// Every check: fmt, clippy, native tests on memory, SQLite and PostgreSQL, the
        /// conformance suite in headless Chromium, and the demo's browser test.
        cmd test {
            /// Skip the formatting and lint checks.
            optional --no-lint
        }
        /// Build the wasm demo and serve it on 127.0.0.1 (SQLite on the server side, or
        /// PostgreSQL when DATABASE_URL is set). Ctrl-C stops it.
        cmd demo {
            /// The port to listen on (default 8080).
            optional --port port: u16
            /// Build the page (printing its size) and the server, then stop.
            optional --build-only
        }
        /// Plinth against hand-written sqlx (PostgreSQL, SQLite) and hand-written browser
        /// storage (localStorage, IndexedDB in headless Chromium) side by side, the memory
        /// backend's cost curve and the demo's wasm size; writes BENCHMARKS.md.
        cmd bench {
            /// A short run (about two minutes once built) for spot checks.
            optional --quick
            /// Instead, Plinth beside other data layers (raw sqlx, SeaORM, diesel-async,
            /// SQLAlchemy; Dexie.js and web-sys in Chromium), from `peers/`: writes only the
            /// "Peers" section of BENCHMARKS.md, which a plain `bench` keeps.
            optional --peers
        }
    }
}
