//! Compile-fail and compile-pass cases of `#[ws_route]`.
//!
//! Regenerate the `.stderr` snapshots with
//! `TRYBUILD=overwrite cargo test -p wirehub-ui-tests`, then read every one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/fail/**/*.rs");
    t.pass("tests/pass/*.rs");
}
