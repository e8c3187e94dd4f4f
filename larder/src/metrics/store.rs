//! A store's [`StoreStats`] as `larder_store_*` metrics: [`StoreMetrics`], the source for any
//! [`Store`].

use std::fmt;

use super::emit::Emitter;
use super::source::MetricsSource;
use crate::store::{LATENCY_BOUNDS_NANOS, Latency, Store, StoreStats};

/// A store as a [`MetricsSource`]: its [`store_stats`](Store::store_stats) published as
/// `larder_store_*` metrics, labelled `store="{name}"` and `backend="{backend}"` (`redis`,
/// `memcached`, ...). A store without counters (a store of your own that keeps none)
/// publishes nothing.
///
/// Latencies are published as Prometheus histograms are written:
/// `larder_store_operation_duration_seconds_bucket{class, le}` (cumulative counts, `class` one
/// of `read`, `write`, `removal`), with `_count` and `_sum` beside them, so
/// `histogram_quantile` works on them. They come from the store's own fixed buckets
/// ([`LATENCY_BOUNDS_NANOS`]), read when published: an operation pays nothing for them.
///
/// # Examples
///
/// ```
/// use larder::metrics::{MetricsPublisher, StoreMetrics};
/// use larder::store::MemoryStore;
///
/// let sessions = MemoryStore::new("sessions");
/// let publisher = MetricsPublisher::new();
/// publisher.register(StoreMetrics::new("sessions", sessions.clone()));
/// publisher.publish(); // larder_store_gets_total{store="sessions",backend="memory"} 0, ...
/// ```
pub struct StoreMetrics<S> {
    name: String,
    store: S,
}

impl<S> StoreMetrics<S> {
    /// `store`, published under `name`.
    pub fn new(name: impl Into<String>, store: S) -> Self {
        Self {
            name: name.into(),
            store,
        }
    }
}

impl<S> fmt::Debug for StoreMetrics<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreMetrics")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<S: Store> MetricsSource for StoreMetrics<S> {
    fn publish_metrics(&self) {
        if let Some(stats) = self.store.store_stats() {
            publish_store_stats(&Emitter::store(self.name.clone(), stats.backend), &stats);
        }
    }
}

/// Sets the `larder_store_*` metrics from `stats`.
pub(crate) fn publish_store_stats(emit: &Emitter, stats: &StoreStats) {
    let counters = [
        ("larder_store_gets_total", "Keys asked for.", stats.gets),
        (
            "larder_store_hits_total",
            "Keys asked for and found.",
            stats.hits,
        ),
        (
            "larder_store_misses_total",
            "Keys asked for and not found.",
            stats.misses,
        ),
        ("larder_store_sets_total", "Keys written.", stats.sets),
        (
            "larder_store_deletes_total",
            "Calls of delete.",
            stats.deletes,
        ),
        (
            "larder_store_errors_total",
            "Operations that failed, timeouts aside.",
            stats.errors,
        ),
        (
            "larder_store_timeouts_total",
            "Operations that timed out.",
            stats.timeouts,
        ),
    ];
    for (name, help, value) in counters {
        emit.counter(name, help, value);
    }
    for (class, latency) in [
        ("read", &stats.reads),
        ("write", &stats.writes),
        ("removal", &stats.removals),
    ] {
        publish_latency(emit, class, latency);
    }
}

const HELP: &str = "Store operations by class (read, write, removal) and duration.";

fn publish_latency(emit: &Emitter, class: &'static str, latency: &Latency) {
    let mut cumulative = 0;
    for (i, count) in latency.buckets.iter().enumerate() {
        cumulative += count;
        let le = LATENCY_BOUNDS_NANOS.get(i).map_or_else(
            || "+Inf".to_string(),
            |&nanos| format!("{}", nanos as f64 / 1e9),
        );
        emit.counter_with(
            "larder_store_operation_duration_seconds_bucket",
            HELP,
            &[("class", class.to_string()), ("le", le)],
            cumulative,
        );
    }
    emit.counter_with(
        "larder_store_operation_duration_seconds_count",
        HELP,
        &[("class", class.to_string())],
        latency.count,
    );
    emit.gauge_with(
        "larder_store_operation_duration_seconds_sum",
        HELP,
        &[("class", class.to_string())],
        latency.total_nanos as f64 / 1e9,
    );
}
