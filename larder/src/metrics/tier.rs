//! A tier's [`TierStats`] as `larder_tier_*` metrics (and its L1's as `larder_cache_*`):
//! [`Tiered`] and [`TieredFn`] as sources.

use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::publish_stats;
use super::emit::Emitter;
use super::source::MetricsSource;
use super::store::publish_store_stats;
use crate::tier::{BreakerState, TierKey, TierStats, Tiered, TieredFn};

/// Sets the `larder_tier_*` metrics, and L1's `larder_cache_*`, from `stats`.
fn publish_tier_stats(emit: &Emitter, stats: &TierStats) {
    let TierStats {
        l1,
        l1_hits,
        l2_hits,
        l2_misses,
        l2_errors,
        l2_timeouts,
        l2_skipped,
        l2_write_errors,
        breaker,
        breaker_trips,
        lease_waits,
        lease_timeouts,
        invalidations_sent,
        invalidations_received,
        write_behind_drops,
        pending_invalidations,
    } = stats;
    publish_stats(emit, l1);
    emit.counter(
        "larder_tier_l1_hits_total",
        "Lookups L1 answered.",
        *l1_hits,
    );
    emit.counter(
        "larder_tier_l2_hits_total",
        "L1 misses that L2 answered.",
        *l2_hits,
    );
    emit.counter(
        "larder_tier_l2_misses_total",
        "L1 misses that L2 did not answer.",
        *l2_misses,
    );
    emit.counter(
        "larder_tier_l2_errors_total",
        "L2 calls that failed, timeouts included.",
        *l2_errors,
    );
    emit.counter(
        "larder_tier_l2_timeouts_total",
        "L2 calls that ran out of time.",
        *l2_timeouts,
    );
    emit.counter(
        "larder_tier_l2_skipped_total",
        "L2 calls skipped because the breaker was open.",
        *l2_skipped,
    );
    emit.counter(
        "larder_tier_l2_write_errors_total",
        "Writes to L2 that failed.",
        *l2_write_errors,
    );
    emit.gauge(
        "larder_tier_breaker_state",
        "The L2 circuit breaker: 0 closed, 1 half-open, 2 open.",
        breaker_level(*breaker),
    );
    emit.counter(
        "larder_tier_breaker_trips_total",
        "Times the breaker opened.",
        *breaker_trips,
    );
    emit.counter(
        "larder_tier_lease_waits_total",
        "Loads that waited for another process's lease.",
        *lease_waits,
    );
    emit.counter(
        "larder_tier_lease_timeouts_total",
        "Lease waits that ended without the value.",
        *lease_timeouts,
    );
    emit.counter(
        "larder_tier_invalidations_sent_total",
        "Invalidations this instance wrote to L2.",
        *invalidations_sent,
    );
    emit.counter(
        "larder_tier_invalidations_received_total",
        "Invalidations received from the store's watch.",
        *invalidations_received,
    );
    emit.counter(
        "larder_tier_write_behind_drops_total",
        "Write-behind writes dropped because the queue was full.",
        *write_behind_drops,
    );
    emit.gauge(
        "larder_tier_pending_invalidations",
        "Invalidations L2 has not taken yet.",
        *pending_invalidations as f64,
    );
}

/// The breaker's state as the gauge's value.
fn breaker_level(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    }
}

/// Publishes [`Tiered::stats`] as `larder_tier_*` and `larder_cache_*`, labelled with the L1
/// cache's name.
impl<K, V> MetricsSource for Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    fn publish_metrics(&self) {
        let name = self.l1().name().unwrap_or("").to_owned();
        publish_tier_stats(&Emitter::cache(name.clone()), &self.stats());
        // Its L2 store's counters too, as `larder_store_*` under the L1's name.
        if let Some(stats) = self.l2_stats() {
            publish_store_stats(&Emitter::store(name, stats.backend), &stats);
        }
    }
}

/// Publishes [`TieredFn::stats`] as `larder_tier_*` and `larder_cache_*`, labelled with the
/// function's name.
impl MetricsSource for TieredFn {
    fn publish_metrics(&self) {
        publish_tier_stats(&Emitter::cache(self.name()), &self.stats());
    }
}
