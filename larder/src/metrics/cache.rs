//! A cache's [`Stats`] as `larder_cache_*` metrics: [`Cache`] and [`CachedFn`] as sources.

use std::hash::{BuildHasher, Hash};

use super::emit::Emitter;
use super::source::MetricsSource;
use crate::observe::LOAD_DURATION;
use crate::{Cache, CachedFn, Stats};

/// Sets the `larder_cache_*` metrics from `stats`.
pub(crate) fn publish_stats(emit: &Emitter, stats: &Stats) {
    let Stats {
        hits,
        misses,
        size,
        weighted_size,
        loads,
        load_errors,
        coalesced,
        total_load_nanos,
        refreshes,
        stale_served,
        batches,
        batched_keys,
        evictions,
        expirations,
        hook_panics,
    } = stats;
    emit.counter(
        "larder_cache_hook_panics_total",
        "Hook calls that panicked (caught; the operation went on).",
        *hook_panics,
    );
    emit.counter(
        "larder_cache_hits_total",
        "Lookups that found a live value.",
        *hits,
    );
    emit.counter(
        "larder_cache_misses_total",
        "Lookups that found nothing, or only an expired value.",
        *misses,
    );
    emit.gauge("larder_cache_size", "Live entries.", *size as f64);
    emit.gauge(
        "larder_cache_weighted_size",
        "Total weight of the live entries.",
        *weighted_size as f64,
    );
    emit.counter("larder_cache_loads_total", "Loads started.", *loads);
    emit.counter(
        "larder_cache_load_errors_total",
        "Loads that ended in an error or a panic.",
        *load_errors,
    );
    emit.counter(
        "larder_cache_coalesced_total",
        "Callers that joined a load another caller had started.",
        *coalesced,
    );
    emit.gauge(
        "larder_cache_load_time_seconds",
        "Time spent in loads, in seconds (it only grows).",
        *total_load_nanos as f64 / 1e9,
    );
    emit.counter(
        "larder_cache_refreshes_total",
        "Refreshes, explicit and background.",
        *refreshes,
    );
    emit.counter(
        "larder_cache_stale_served_total",
        "Stale values served while they were revalidated.",
        *stale_served,
    );
    emit.counter(
        "larder_cache_batches_total",
        "Calls of a batch function.",
        *batches,
    );
    emit.counter(
        "larder_cache_batched_keys_total",
        "Keys requested by batch-function calls.",
        *batched_keys,
    );
    emit.counter(
        "larder_cache_evictions_total",
        "Entries evicted to respect the capacity.",
        *evictions,
    );
    emit.counter(
        "larder_cache_expirations_total",
        "Entries removed because they expired.",
        *expirations,
    );
    metrics::describe_histogram!(
        LOAD_DURATION,
        metrics::Unit::Seconds,
        "Duration of each loader or batch-function call."
    );
}

/// Publishes [`Cache::stats`] as `larder_cache_*{cache="<name>"}`.
impl<K, V, S> MetricsSource for Cache<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    S: BuildHasher + Send + Sync,
{
    fn publish_metrics(&self) {
        let emit = Emitter::cache(self.name().unwrap_or("").to_owned());
        publish_stats(&emit, &self.stats());
    }
}

/// Publishes [`CachedFn::stats`] (every cache of the function together) as
/// `larder_cache_*{cache="<function name>"}`.
impl MetricsSource for CachedFn {
    fn publish_metrics(&self) {
        publish_stats(&Emitter::cache(self.name()), &self.stats());
    }
}
