//! The `Store` conformance suite, run against every store: the suite itself is larder's
//! public `larder::test_util::conformance` (feature `test-util`, which larder's
//! dev-dependencies turn on), so that a third-party store runs the very same checks. Each
//! store's test file includes this with `mod conformance;`; what is here is only the gate's
//! own: where its servers are.

#![allow(dead_code)] // each test file uses its own part

#[allow(unused_imports)] // each test file uses its own part
pub(crate) use larder::test_util::conformance::{Harness, assert_unavailable, run_all, unique};

/// The address of a server the gate started (`scripts/services.sh`) from the environment
/// variable `var`, or `None` outside the gate. In CI a missing server is a failure, not a
/// skip.
pub(crate) fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) => Some(value),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{var} is not set: scripts/test starts the servers")
        }
        Err(_) => None,
    }
}
