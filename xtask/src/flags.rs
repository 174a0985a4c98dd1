//! Command-line flags.

xflags::xflags! {
    /// The project's own tasks.
    cmd xtask {
        /// Every check: fmt, clippy, native tests on memory, SQLite and PostgreSQL, and
        /// the wasm32 build.
        cmd test {
            /// Skip the formatting and lint checks.
            optional --no-lint
        }
    }
}
