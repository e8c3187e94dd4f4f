//! A tiered cache's counters, and the [`TierStats`] snapshot it hands out.

use std::sync::atomic::{AtomicU64, Ordering};

use super::BreakerState;
use crate::Stats;

/// A snapshot of a [`Tiered`](super::Tiered) cache's counters, from
/// [`Tiered::stats`](super::Tiered::stats).
///
/// A read that L1 answers is an `l1_hit`. A read L1 misses goes to L2, unless the breaker is
/// open (`l2_skipped`), and ends as an `l2_hit` or an `l2_miss`; a failed L2 read is an
/// `l2_miss` and an `l2_error` (or an `l2_timeout`, when it ran out of time), never an error to
/// the caller.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use larder::store::MemoryStore;
/// use larder::tier::Tiered;
///
/// let tiered: Tiered<String, u32> = Tiered::builder(Cache::new(100), MemoryStore::new("t")).build();
/// tiered.insert("a".to_string(), 1).await;
/// assert_eq!(tiered.get(&"a".to_string()).await, Some(1)); // from L1
/// assert_eq!(tiered.get(&"b".to_string()).await, None); // L1 miss, L2 miss
/// let stats = tiered.stats();
/// assert_eq!((stats.l1_hits, stats.l2_hits, stats.l2_misses), (1, 0, 1));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TierStats {
    /// The L1 cache's own counters.
    pub l1: Stats,
    /// Lookups L1 answered (L1's own `hits`).
    pub l1_hits: u64,
    /// L1 misses that L2 answered.
    pub l2_hits: u64,
    /// L1 misses that L2 did not answer: absent, stale by a tag, unreadable, or failed.
    pub l2_misses: u64,
    /// L2 calls that failed, timeouts included.
    pub l2_errors: u64,
    /// L2 calls that ran out of time (also counted in `l2_errors`).
    pub l2_timeouts: u64,
    /// L2 calls skipped because the breaker was open.
    pub l2_skipped: u64,
    /// Writes to L2 that failed (the value stays in L1); also counted in `l2_errors`.
    pub l2_write_errors: u64,
    /// The breaker's state when the snapshot was taken.
    pub breaker: BreakerState,
    /// Times the breaker opened.
    pub breaker_trips: u64,
    /// Loads that waited for another process's lease.
    pub lease_waits: u64,
    /// Lease waits that ended without the value, after which this process loaded.
    pub lease_timeouts: u64,
    /// Invalidations this instance wrote to L2 (removals, clears, tag invalidations).
    pub invalidations_sent: u64,
    /// Invalidations received from the store's watch (keys, tags, or "everything").
    pub invalidations_received: u64,
    /// Write-behind writes dropped because the queue was full.
    pub write_behind_drops: u64,
    /// Invalidations (removals, clears, tags) L2 has not taken yet: retried on the next L2
    /// calls, and masking L2's copies for this instance meanwhile.
    pub pending_invalidations: u64,
}

impl TierStats {
    /// All zero, the breaker closed: the stats of a tier not built yet.
    pub(crate) fn zero() -> Self {
        Counters::default().snapshot(Stats::default(), BreakerState::Closed, 0)
    }

    /// Adds `other`'s counters to these (the tiers of one `#[cached]` function in a generic
    /// `impl`). The breaker state is the least healthy of the two.
    pub(crate) fn accumulate(&mut self, other: &TierStats) {
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
        } = other;
        self.l1.accumulate(l1);
        self.l1_hits += l1_hits;
        self.l2_hits += l2_hits;
        self.l2_misses += l2_misses;
        self.l2_errors += l2_errors;
        self.l2_timeouts += l2_timeouts;
        self.l2_skipped += l2_skipped;
        self.l2_write_errors += l2_write_errors;
        let rank = |state: BreakerState| match state {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        };
        if rank(*breaker) > rank(self.breaker) {
            self.breaker = *breaker;
        }
        self.breaker_trips += breaker_trips;
        self.lease_waits += lease_waits;
        self.lease_timeouts += lease_timeouts;
        self.invalidations_sent += invalidations_sent;
        self.invalidations_received += invalidations_received;
        self.write_behind_drops += write_behind_drops;
        self.pending_invalidations += pending_invalidations;
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) l2_hits: AtomicU64,
    pub(crate) l2_misses: AtomicU64,
    pub(crate) l2_errors: AtomicU64,
    pub(crate) l2_timeouts: AtomicU64,
    pub(crate) l2_skipped: AtomicU64,
    pub(crate) l2_write_errors: AtomicU64,
    pub(crate) lease_waits: AtomicU64,
    pub(crate) lease_timeouts: AtomicU64,
    pub(crate) invalidations_sent: AtomicU64,
    pub(crate) invalidations_received: AtomicU64,
    pub(crate) write_behind_drops: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self, l1: Stats, breaker: BreakerState, trips: u64) -> TierStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TierStats {
            l1_hits: l1.hits,
            l1,
            l2_hits: read(&self.l2_hits),
            l2_misses: read(&self.l2_misses),
            l2_errors: read(&self.l2_errors),
            l2_timeouts: read(&self.l2_timeouts),
            l2_skipped: read(&self.l2_skipped),
            l2_write_errors: read(&self.l2_write_errors),
            breaker,
            breaker_trips: trips,
            lease_waits: read(&self.lease_waits),
            lease_timeouts: read(&self.lease_timeouts),
            invalidations_sent: read(&self.invalidations_sent),
            invalidations_received: read(&self.invalidations_received),
            write_behind_drops: read(&self.write_behind_drops),
            pending_invalidations: 0,
        }
    }
}
