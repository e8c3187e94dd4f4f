//! The macros' diagnostics: every wrong use is a compile error at the offending tokens, with
//! a message that says what to write instead. One file per kind in `tests/ui/fail/`; the
//! expected messages are the `.stderr` files beside them (regenerate with
//! `TRYBUILD=overwrite cargo test -p larder --test ui` after a toolchain change).

#[test]
fn macro_diagnostics() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
