//! Single-flight: one load per key, however many callers ask at once.
//!
//! Start at `registry.rs` (who leads a load and who waits), then `waiter.rs` (one load's
//! outcome and the callers waiting on it) and `negative.rs` (recent failures, kept for a
//! while). No runtime is used: waiters are woken through their wakers, so a cache shared by
//! several runtimes (or none) just works.

mod negative;
mod registry;
mod waiter;

pub(crate) use registry::{Flights, Leader, Negative, Place, Role};
pub(crate) use waiter::{Outcome, Waiter};

#[cfg(all(test, larder_shuttle))]
mod tests_shuttle;
