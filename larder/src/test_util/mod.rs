//! Test helpers for code built on larder (feature `test-util`): above all the
//! [`conformance`] suite, which checks that a [`Store`](crate::store::Store) behaves as
//! larder's own stores do, so that a store you write can be checked the way larder checks
//! its own.
//!
//! Turn the feature on for your tests only:
//!
//! ```toml
//! [dev-dependencies]
//! larder = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use larder::store::MemoryStore;
//! use larder::test_util::conformance::{Harness, run_all};
//!
//! // Two stores of one backend in two namespaces: clear must empty only its own.
//! run_all(Harness::new(MemoryStore::new("ns"), MemoryStore::new("other"))).await;
//! # }
//! ```

pub mod conformance;
