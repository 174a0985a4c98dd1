//! `#[derive(Entity)]` refuses what cannot be a table, and `#[derive(Field)]` what cannot
//! be a column, with a message that says what
//! to do. Each case is a file in `tests/ui/` with its expected compiler output beside it;
//! regenerate the outputs with `TRYBUILD=overwrite cargo test -p plinth --test derive_errors`.

#[test]
fn derive_errors_say_what_to_do() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
