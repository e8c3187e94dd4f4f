//! Counters a cache keeps, and the [`Stats`] snapshot it hands out.

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a cache's counters, from [`Cache::stats`](crate::Cache::stats).
///
/// Conventions: a lookup that finds a live value is a hit, anything else a miss, including an
/// expired value. The caller that starts a load counts one miss; callers that join an
/// in-flight load count as misses and as `coalesced`. `size` and `weighted_size` are the live
/// entries when the snapshot was taken.
///
/// # Examples
///
/// ```
/// use larder::Cache;
///
/// let cache = Cache::new(10);
/// cache.insert(1, "one");
/// assert_eq!(cache.get(&1), Some("one"));
/// assert_eq!(cache.get(&2), None);
/// let stats = cache.stats();
/// assert_eq!((stats.hits, stats.misses, stats.size), (1, 1, 1));
/// assert_eq!(stats.hit_rate(), 0.5);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Lookups that found a live value.
    pub hits: u64,
    /// Lookups that found nothing, or only an expired value.
    pub misses: u64,
    /// Live entries.
    pub size: u64,
    /// Total weight of the live entries; without a weigher, equal to `size`.
    pub weighted_size: u64,
    /// Loads started by the loading methods.
    pub loads: u64,
    /// Loads that ended in an error or a panic.
    pub load_errors: u64,
    /// Callers that joined a load another caller had started.
    pub coalesced: u64,
    /// Time spent in loads, in nanoseconds of the cache's [`Clock`](crate::Clock).
    pub total_load_nanos: u64,
    /// Calls to [`Cache::refresh`](crate::Cache::refresh), and background refreshes started
    /// by [stale-while-revalidate](crate::CacheBuilder::stale_while_revalidate) or
    /// [refresh-ahead](crate::CacheBuilder::refresh_ahead).
    pub refreshes: u64,
    /// Stale values returned by the loading methods while they were revalidated, with
    /// [`CacheBuilder::stale_while_revalidate`](crate::CacheBuilder::stale_while_revalidate).
    /// Each is also counted in `hits`.
    pub stale_served: u64,
    /// Calls of a batch function, from a [`BatchLoader`](crate::batch::BatchLoader) or
    /// [`Cache::get_many_with`](crate::Cache::get_many_with). Each is also one of `loads`.
    pub batches: u64,
    /// Keys requested by those calls: `batched_keys / batches` is the mean batch size.
    pub batched_keys: u64,
    /// Entries evicted to respect the capacity, including inserts refused for being heavier
    /// than the capacity.
    pub evictions: u64,
    /// Entries removed because they expired, including inserts with a zero TTL.
    pub expirations: u64,
    /// Calls of the cache's [hooks](crate::hooks::Hooks) that panicked (each caught, the
    /// operation unharmed), since the cache was built: [`Cache::reset_stats`](crate::Cache::reset_stats)
    /// leaves it.
    pub hook_panics: u64,
}

impl Stats {
    /// Adds `other`'s counts to these (the caches of one `#[cached]` fn per instantiation).
    pub(crate) fn accumulate(&mut self, other: &Stats) {
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
        } = other;
        self.hits += hits;
        self.misses += misses;
        self.size += size;
        self.weighted_size += weighted_size;
        self.loads += loads;
        self.load_errors += load_errors;
        self.coalesced += coalesced;
        self.total_load_nanos += total_load_nanos;
        self.refreshes += refreshes;
        self.stale_served += stale_served;
        self.batches += batches;
        self.batched_keys += batched_keys;
        self.evictions += evictions;
        self.expirations += expirations;
        self.hook_panics += hook_panics;
    }

    /// `hits / (hits + misses)`, or 0.0 before any lookup.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::<u8, u8>::new(1);
    /// assert_eq!(cache.stats().hit_rate(), 0.0);
    /// ```
    pub fn hit_rate(&self) -> f64 {
        hit_rate(self.hits, self.misses)
    }
}

/// `hits / (hits + misses)`, or 0.0 when both are 0: the cache's and the stores' hit rate.
pub(crate) fn hit_rate(hits: u64, misses: u64) -> f64 {
    match hits + misses {
        0 => 0.0,
        total => hits as f64 / total as f64,
    }
}

/// Hits and misses, counted in one slot per thread.
///
/// Lookups are the hot path, and a locked add per hit would cost about as much as the rest of
/// the lookup. A thread with a slot of its own ([`thread_slot`](crate::thread_slot)) is that
/// slot's only writer, so a plain load and store counts exactly; threads beyond the slots share
/// one more, with atomic adds. Slots are cache-line aligned so threads never share a line.
///
/// The hot path is one thread-local read and one bounds check: a thread that has not claimed
/// its index yet, or has none, fails the check and takes the cold path, which claims.
#[derive(Debug)]
pub(crate) struct LookupCounters {
    /// `own[i]` is written only by the thread of index `i`.
    own: Box<[LookupSlot]>,
    /// For threads with no slot of their own: atomic adds.
    shared: Box<LookupSlot>,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct LookupSlot {
    hits: AtomicU64,
    misses: AtomicU64,
    /// What `reset` saw: counts are reported relative to these, so a reset never writes the
    /// counters themselves and cannot race their single writer.
    hits_base: AtomicU64,
    misses_base: AtomicU64,
}

/// Whether a thread's own slot has a single writer: under shuttle, "threads" share one OS
/// thread (and so one index), so they do not.
const SOLE_WRITER: bool = cfg!(not(all(test, larder_shuttle)));

impl LookupCounters {
    /// Counters with a slot for each of twice as many threads as the machine has cores
    /// (4 to 64): enough that a pool of workers rarely shares one.
    pub(crate) fn per_thread() -> Self {
        let cpus = std::thread::available_parallelism().map_or(4, std::num::NonZero::get);
        Self::new((cpus * 2).clamp(4, 64))
    }

    /// Own slots for the first `threads` thread indices, plus the shared one.
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            own: (0..threads).map(|_| LookupSlot::default()).collect(),
            shared: Box::default(),
        }
    }

    #[inline]
    pub(crate) fn hit(&self) {
        match self.own.get(crate::thread_slot::cached()) {
            Some(slot) if SOLE_WRITER => bump(&slot.hits),
            _ => self.count_slow(|s| &s.hits),
        }
    }

    #[inline]
    pub(crate) fn miss(&self) {
        match self.own.get(crate::thread_slot::cached()) {
            Some(slot) if SOLE_WRITER => bump(&slot.misses),
            _ => self.count_slow(|s| &s.misses),
        }
    }

    /// A thread's first count (which claims its index), or one by a thread with no slot.
    #[cold]
    #[inline(never)]
    fn count_slow(&self, counter: fn(&LookupSlot) -> &AtomicU64) {
        match self.own.get(crate::thread_slot::current()) {
            Some(slot) if SOLE_WRITER => bump(counter(slot)),
            _ => {
                counter(&self.shared).fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn slots(&self) -> impl Iterator<Item = &LookupSlot> {
        self.own.iter().chain(std::iter::once(&*self.shared))
    }

    pub(crate) fn add_to(&self, stats: &mut Stats) {
        let since = |c: &AtomicU64, base: &AtomicU64| {
            c.load(Ordering::Relaxed)
                .saturating_sub(base.load(Ordering::Relaxed))
        };
        for s in self.slots() {
            stats.hits += since(&s.hits, &s.hits_base);
            stats.misses += since(&s.misses, &s.misses_base);
        }
    }

    /// Zeroes the counts (by moving their baselines). A lookup racing with the reset may
    /// count on either side of it.
    pub(crate) fn reset(&self) {
        for s in self.slots() {
            s.hits_base
                .store(s.hits.load(Ordering::Relaxed), Ordering::Relaxed);
            s.misses_base
                .store(s.misses.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }
}

/// Adds one to a counter that has a single writer: a plain load and store, exact because no
/// other thread writes it (readers see either value).
#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// One shard's eviction and expiry counts, bumped after a write (never on a hit).
#[derive(Debug, Default)]
pub(crate) struct ShardCounters {
    pub(crate) evictions: AtomicU64,
    pub(crate) expirations: AtomicU64,
}

impl ShardCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.evictions += self.evictions.load(Ordering::Relaxed);
        stats.expirations += self.expirations.load(Ordering::Relaxed);
    }

    pub(crate) fn reset(&self) {
        self.evictions.store(0, Ordering::Relaxed);
        self.expirations.store(0, Ordering::Relaxed);
    }
}

/// Cache-wide counters for loads, which are rare next to lookups.
#[derive(Debug, Default)]
pub(crate) struct LoadCounters {
    pub(crate) loads: AtomicU64,
    pub(crate) load_errors: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) total_load_nanos: AtomicU64,
    pub(crate) refreshes: AtomicU64,
    pub(crate) stale_served: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) batched_keys: AtomicU64,
}

impl LoadCounters {
    pub(crate) fn add_to(&self, stats: &mut Stats) {
        stats.loads += self.loads.load(Ordering::Relaxed);
        stats.load_errors += self.load_errors.load(Ordering::Relaxed);
        stats.coalesced += self.coalesced.load(Ordering::Relaxed);
        stats.total_load_nanos += self.total_load_nanos.load(Ordering::Relaxed);
        stats.refreshes += self.refreshes.load(Ordering::Relaxed);
        stats.stale_served += self.stale_served.load(Ordering::Relaxed);
        stats.batches += self.batches.load(Ordering::Relaxed);
        stats.batched_keys += self.batched_keys.load(Ordering::Relaxed);
    }

    /// The mean duration of a load so far, in nanoseconds (0 before the first).
    pub(crate) fn mean_load_nanos(&self) -> u64 {
        let loads = self.loads.load(Ordering::Relaxed);
        self.total_load_nanos
            .load(Ordering::Relaxed)
            .checked_div(loads)
            .unwrap_or(0)
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.loads,
            &self.load_errors,
            &self.coalesced,
            &self.total_load_nanos,
            &self.refreshes,
            &self.stale_served,
            &self.batches,
            &self.batched_keys,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &LookupCounters) -> (u64, u64) {
        let mut stats = Stats::default();
        c.add_to(&mut stats);
        (stats.hits, stats.misses)
    }

    #[test]
    fn counts_are_exact_with_more_threads_than_slots() {
        // Two own slots, eight threads: most share the atomic slot, some count plainly.
        let c = LookupCounters::new(2);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..1_000 {
                        c.hit();
                    }
                    for _ in 0..10 {
                        c.miss();
                    }
                });
            }
        });
        assert_eq!(counts(&c), (8_000, 80));
    }

    #[test]
    fn a_threads_first_count_is_not_lost() {
        let c = LookupCounters::new(4);
        std::thread::scope(|s| {
            s.spawn(|| c.miss());
            s.spawn(|| c.hit());
        });
        assert_eq!(counts(&c), (1, 1));
    }

    #[test]
    fn reset_zeroes_every_slot() {
        let c = LookupCounters::new(1);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| c.hit());
            }
        });
        c.hit();
        c.reset();
        assert_eq!(counts(&c), (0, 0));
        c.miss();
        assert_eq!(counts(&c), (0, 1));
    }
}
