//! Events of a tier: its circuit breaker's changes, L2 calls that ran out of time, lease
//! waits that ended without the value, and write-behind writes dropped.

#[cfg(feature = "tracing")]
use super::TARGET;
use super::name::CacheName;

/// The tier's circuit breaker went to `state` (`"open"`, `"half_open"` or `"closed"`):
/// event `larder.tier.breaker`, at WARN when it opens, INFO otherwise.
#[inline]
pub(crate) fn breaker_changed(cache: &CacheName, state: &'static str) {
    #[cfg(feature = "tracing")]
    if state == "open" {
        tracing::warn!(
            name: "larder.tier.breaker",
            target: TARGET,
            cache = cache.as_str(),
            state,
            "the tier's circuit breaker opened: L2 is skipped until its cooldown ends",
        );
    } else {
        tracing::info!(
            name: "larder.tier.breaker",
            target: TARGET,
            cache = cache.as_str(),
            state,
            "the tier's circuit breaker changed",
        );
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (cache, state);
}

/// An L2 call ran out of the tier's time: event `larder.tier.l2_timeout` (WARN).
#[inline]
pub(crate) fn l2_timed_out(cache: &CacheName, timeout: std::time::Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        name: "larder.tier.l2_timeout",
        target: TARGET,
        cache = cache.as_str(),
        timeout_ms = timeout.as_millis() as u64,
        "an L2 call timed out",
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (cache, timeout);
}

/// A wait for another process's lease ended without the value: event
/// `larder.tier.lease_timeout` (INFO); this process loads.
#[inline]
pub(crate) fn lease_timed_out(cache: &CacheName) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        name: "larder.tier.lease_timeout",
        target: TARGET,
        cache = cache.as_str(),
        "a lease wait timed out; loading here",
    );
    #[cfg(not(feature = "tracing"))]
    let _ = cache;
}

/// A write-behind write was dropped, its queue full: event
/// `larder.tier.write_behind_drop` (WARN).
#[inline]
pub(crate) fn write_behind_dropped(cache: &CacheName) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        name: "larder.tier.write_behind_drop",
        target: TARGET,
        cache = cache.as_str(),
        "a write-behind write was dropped: its queue is full",
    );
    #[cfg(not(feature = "tracing"))]
    let _ = cache;
}
