//! The conformance suite on the memory backend: `cargo test -p plinth-conformance`.

plinth_conformance::conformance_suite!(tokio::test, plinth_conformance::MemoryFixture::default());
