//! The concurrency soak on the memory backend: `cargo test -p plinth-conformance --test
//! soak_memory -- --nocapture` prints the figures; `PLINTH_SOAK_TRANSACTIONS=5000` runs
//! a longer soak.

use plinth_conformance::MemoryFixture;
use plinth_conformance::{counter, soak, upsert_race};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_8_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut MemoryFixture::default(), 8, 300).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_32_tasks_keeps_every_committed_write_and_nothing_else() {
    let report = soak::run(&mut MemoryFixture::default(), 32, 150).await;
    assert!(report.committed > 0 && report.errors_of_kind("UniqueViolation") > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_incrementing_one_counter_lose_no_increment() {
    let report = counter::run(&mut MemoryFixture::default(), 8, 100).await;
    assert!(report.conflicts > 0, "the tasks did race: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tasks_upserting_the_same_keys_leave_one_row_per_key() {
    upsert_race::run(&mut MemoryFixture::default(), 8, 5).await;
}
