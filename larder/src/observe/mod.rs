//! What the slow paths report with the `tracing` and `metrics` features: a span per load,
//! refresh and batch call, events on failures and on a tier's breaker, and the load-duration
//! histogram. A leaf: it knows no cache, only the name and the numbers its callers hand it.
//! Without either feature every function here is empty and compiles away. The hit path never
//! calls into this module.

mod load;
mod name;
#[cfg(feature = "tier")]
mod tier;

pub(crate) use load::{LoadScope, Outcome, RefreshTrigger};
pub(crate) use name::CacheName;
#[cfg(feature = "tier")]
pub(crate) use tier::{breaker_changed, l2_timed_out, lease_timed_out, write_behind_dropped};

/// The target of every span and event larder emits (filter with `larder=debug`).
#[cfg(feature = "tracing")]
pub(crate) const TARGET: &str = "larder";

/// The load-duration histogram's name (see `larder::metrics`).
#[cfg(feature = "metrics")]
pub(crate) const LOAD_DURATION: &str = "larder_load_duration_seconds";
