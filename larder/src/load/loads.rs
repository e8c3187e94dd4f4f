//! [`Loads`]: what a cache keeps for loading — its flights (with the negative entries), its
//! load counters and its negative-caching setting — and the operations on them that need no
//! engine: invalidation, closing, counting.

use std::hash::Hash;

use crate::equivalent::Equivalent;
use crate::expiry::Nanos;
use crate::flight::{Flights, Waiter};
use crate::hooks::HookRunner;
use crate::observe::CacheName;
use crate::stats::{LoadCounters, Stats};
use crate::sync::{Arc, Ordering};

/// One cache's loading state. The cache owns it; [`LoadPath`](super::LoadPath) pairs it
/// with the engine to load.
pub(crate) struct Loads<K, V> {
    pub(super) flights: Arc<Flights<K, V>>,
    pub(super) counters: LoadCounters,
    /// How long a load's error or "no value" is kept (negative caching), if at all.
    pub(super) negative_ttl: Option<Nanos>,
    /// A disabled cache (the kill switch): its engine stores nothing, but its loads are
    /// still shared.
    pass_through: bool,
    /// The cache's name, for its spans and its load-duration histogram.
    pub(super) name: CacheName,
    /// The cache's hooks (`CacheBuilder::hooks`), if it has any.
    hooks: Option<Arc<HookRunner>>,
}

impl<K, V> Loads<K, V> {
    /// The state of a cache whose engine has `shards` shards (the registry gets as many),
    /// keeping at most `negative_cap` negative entries; `pass_through` for a disabled cache;
    /// `name` labels its spans and metrics.
    pub(crate) fn new(
        negative_ttl: Option<Nanos>,
        shards: usize,
        negative_cap: u64,
        pass_through: bool,
        name: CacheName,
    ) -> Self {
        Self {
            flights: Arc::new(Flights::new(shards, negative_cap)),
            counters: LoadCounters::default(),
            negative_ttl,
            pass_through,
            name,
            hooks: None,
        }
    }

    /// Whether the cache is disabled: it stores nothing, and its loads are still shared.
    pub(crate) fn is_pass_through(&self) -> bool {
        self.pass_through
    }

    /// The cache's name, as its spans and metrics label it.
    pub(crate) fn name(&self) -> &CacheName {
        &self.name
    }

    /// This state with the cache's hooks.
    pub(crate) fn with_hooks(self, hooks: Option<Arc<HookRunner>>) -> Self {
        Self { hooks, ..self }
    }

    /// The cache's hooks, if it has any.
    #[inline]
    pub(crate) fn hooks(&self) -> Option<&HookRunner> {
        self.hooks.as_deref()
    }

    /// Whether the cache was closed for loading.
    pub(crate) fn is_closed(&self) -> bool {
        self.flights.is_closed()
    }

    /// The whole cache (or a part no key names: a predicate) was invalidated: no load in
    /// flight stores its result, and no kept failure answers again.
    pub(crate) fn invalidate_all(&self) {
        self.flights.invalidate_all();
    }

    /// Adds the load counters to `stats`.
    pub(crate) fn add_stats(&self, stats: &mut Stats) {
        self.counters.add_to(stats);
        stats.hook_panics = self.hooks().map_or(0, HookRunner::panics);
    }

    pub(crate) fn reset_stats(&self) {
        self.counters.reset();
    }

    /// The mean load time so far, in nanoseconds of the cache's clock (refresh-ahead's delta).
    pub(crate) fn mean_load_nanos(&self) -> u64 {
        self.counters.mean_load_nanos()
    }

    /// Counts a stale value served while it is revalidated.
    pub(crate) fn count_stale_served(&self) {
        self.counters.stale_served.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refresh started (a foreground `refresh`, or a background one spawned).
    pub(crate) fn count_refresh(&self) {
        self.counters.refreshes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a caller that joined a load another caller had started.
    pub(crate) fn count_coalesced(&self) {
        self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.flights.in_flight()
    }

    #[cfg(test)]
    pub(crate) fn negative_entries(&self) -> usize {
        self.flights.negative_entries()
    }
}

impl<K: Hash + Eq, V: Clone> Loads<K, V> {
    /// `key` (whose hash, by the cache's hasher, is `hash`) was invalidated: a load in
    /// flight for it stores nothing, and a kept failure of it is forgotten.
    pub(crate) fn invalidate<Q>(&self, hash: u64, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.flights.invalidate(hash, key);
    }

    /// Runs `op` and invalidates the key `to_invalidate` names in its result, if any, with
    /// no load able to store in between: see [`Flights::invalidating`]. `hash` is the key's.
    pub(crate) fn invalidating<R>(
        &self,
        hash: u64,
        op: impl FnOnce() -> R,
        to_invalidate: impl FnOnce(&R) -> Option<&K>,
    ) -> R {
        self.flights.invalidating(hash, op, to_invalidate)
    }

    /// Closes the cache for loading. With `cancel`, the loads in flight are cancelled and
    /// nothing is returned; without, they are returned for the caller to wait for.
    pub(crate) fn close(&self, cancel: bool) -> Vec<Waiter<V>> {
        self.flights.close(cancel)
    }
}
