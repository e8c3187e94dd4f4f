//! [`Cache`]: the in-process cache handle, its state, and the operations that load nothing
//! (lookups, inserts, removals, stats). Loading is in `load.rs` and `refresh.rs`, and goes
//! through the load protocol (`crate::load`) by [`Cache::load_path`].

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use super::iter::Iter;
use super::revalidation::Revalidation;
use crate::engine::Engine;
use crate::equivalent::Equivalent;
use crate::hasher::DefaultHashBuilder;
use crate::load::{LoadPath, Loads};
use crate::stats::Stats;
use crate::{Policy, Ttl};

/// A concurrent in-process cache, bounded by entries or weight, with TTLs.
///
/// `Cache` is a cheap handle: clones share one cache. It is `Send + Sync` when `K` and `V`
/// are. Reads return clones of values, so wrap large values in an `Arc`.
///
/// # Examples
///
/// ```
/// use larder::Cache;
/// use std::time::Duration;
///
/// let cache = Cache::builder()
///     .max_capacity(10_000)
///     .time_to_live(Duration::from_secs(300))
///     .build();
/// cache.insert("alice".to_string(), 42);
/// assert_eq!(cache.get("alice"), Some(42));
///
/// let handle = cache.clone(); // same cache
/// handle.remove("alice");
/// assert_eq!(cache.get("alice"), None);
/// ```
pub struct Cache<K, V, S = DefaultHashBuilder> {
    inner: Arc<Inner<K, V, S>>,
}

/// A cache's state; its fields are private to this module and its children.
pub(super) struct Inner<K, V, S> {
    pub(super) engine: Engine<K, V, S>,
    /// The flights, load counters and negative entries: everything loading keeps.
    pub(super) loads: Loads<K, V>,
    /// Background refreshes (stale-while-revalidate, refresh-ahead), if either is on.
    pub(super) revalidation: Option<Revalidation>,
    pub(super) name: Option<String>,
    /// The autosave task's control, if the builder set one: dropped with the cache, which
    /// ends the task.
    #[cfg(feature = "snapshot")]
    pub(super) autosave: Option<super::autosave::AutosaveControl>,
}

/// A handle that does not keep the cache alive: for the autosave task, which must end when
/// the cache's last handle is dropped.
#[cfg(feature = "snapshot")]
pub(super) struct WeakCache<K, V, S> {
    inner: std::sync::Weak<Inner<K, V, S>>,
}

#[cfg(feature = "snapshot")]
impl<K, V, S> WeakCache<K, V, S> {
    /// The cache, if a handle to it is still alive.
    pub(super) fn upgrade(&self) -> Option<Cache<K, V, S>> {
        self.inner.upgrade().map(|inner| Cache { inner })
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// A cache of these parts; [`CacheBuilder`] assembles them.
    pub(super) fn from_parts(inner: Inner<K, V, S>) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A clone of the live value for `key`, if any. Counts a hit or a miss; under LRU and LFU
    /// it also counts as a use of the entry.
    ///
    /// `key` is a borrowed form of `K` (`&str` for a `String` key), or any type that
    /// implements [`Equivalent<K>`](crate::Equivalent), so that a composite key is looked up
    /// without building it; so are the keys of every other lookup.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert("k".to_string(), 1);
    /// assert_eq!(cache.get("k"), Some(1)); // look up a String key by &str
    /// assert_eq!(cache.get("other"), None);
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        // One predictable branch for the hooks, taken only by a cache that has them.
        if let Some(hooks) = self.inner.loads.hooks() {
            return self.get_hooked(hooks, key);
        }
        self.inner.engine.get(key)
    }

    /// Whether a live value is stored for `key`. No side effects: no stats, no recency, no
    /// use count.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, "a");
    /// assert!(cache.contains_key(&1));
    /// assert_eq!(cache.stats().hits + cache.stats().misses, 0);
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner.engine.contains_key(key)
    }

    /// Stores `value` under `key` with the cache's default TTL, replacing any previous value
    /// (and its tags: see [`insert_with_tags`](Self::insert_with_tags)).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, "a");
    /// cache.insert(1, "b");
    /// assert_eq!(cache.get(&1), Some("b"));
    /// ```
    pub fn insert(&self, key: K, value: V) {
        self.insert_with_ttl(key, value, Ttl::Default);
    }

    /// Stores `value` under `key` with its own TTL: a `Duration`, [`Ttl::Never`] or
    /// [`Ttl::Default`]. A zero duration stores nothing, and removes any previous value.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock, Ttl};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache = Cache::builder().clock(clock).build();
    /// cache.insert_with_ttl("short", 1, Duration::from_secs(1));
    /// cache.insert_with_ttl("forever", 2, Ttl::Never);
    /// mock.advance(Duration::from_secs(5));
    /// assert_eq!(cache.get("short"), None);
    /// assert_eq!(cache.get("forever"), Some(2));
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: impl Into<Ttl>) {
        let ttl = ttl.into();
        self.hooked_set(key, value, |k, v| self.inner.engine.insert(k, v, ttl));
    }

    /// Removes `key`, returning its live value if there was one.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, "a");
    /// assert_eq!(cache.remove(&1), Some("a"));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        // First the load in flight (its result must not be stored), then the entry.
        self.load_path().invalidate(key);
        self.hooked_remove(key, || self.inner.engine.remove(key))
    }

    /// Removes every entry for which `predicate` returns true.
    ///
    /// The predicate runs while a shard is locked: it must not call this cache.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// for i in 0..6 { cache.insert(i, i * 10); }
    /// cache.invalidate_if(|k, _v| k % 2 == 0);
    /// assert_eq!(cache.len(), 3);
    /// assert!(!cache.contains_key(&4) && cache.contains_key(&5));
    /// ```
    pub fn invalidate_if(&self, mut predicate: impl FnMut(&K, &V) -> bool) {
        // Loads in flight cannot be tested (their value is not known yet): none is stored.
        self.inner.loads.invalidate_all();
        self.inner.engine.retain(|k, v| !predicate(k, v));
    }

    /// Removes every entry. The counters are kept: see [`reset_stats`](Self::reset_stats).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, 1);
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&self) {
        self.inner.loads.invalidate_all();
        self.inner.engine.clear();
    }

    /// The number of live entries. Expired entries are reclaimed first, so they never count.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, 1);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.engine.len()
    }

    /// Whether the cache has no live entry.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(larder::Cache::<u8, u8>::new(10).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The total weight of the live entries; without a weigher, their number.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::builder()
    ///     .max_capacity(100)
    ///     .weigher(|_k: &u8, v: &String| v.len() as u32)
    ///     .build();
    /// cache.insert(1, "abc".to_string());
    /// assert_eq!(cache.weighted_size(), 3);
    /// ```
    pub fn weighted_size(&self) -> u64 {
        self.inner.engine.weighted_size()
    }

    /// A snapshot of the counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(1);
    /// cache.insert(1, 1);
    /// cache.insert(2, 2); // evicts one
    /// assert_eq!(cache.stats().evictions, 1);
    /// assert_eq!(cache.stats().size, 1);
    /// ```
    pub fn stats(&self) -> Stats {
        // Sizes first: measuring them reclaims expired entries, which the counters then
        // include, so a snapshot always balances.
        let mut stats = Stats {
            size: self.inner.engine.len() as u64,
            weighted_size: self.inner.engine.weighted_size(),
            ..Stats::default()
        };
        self.inner.engine.add_stats(&mut stats);
        self.inner.loads.add_stats(&mut stats);
        stats
    }

    /// Zeroes the counters; the entries stay.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, 1);
    /// cache.get(&1);
    /// cache.reset_stats();
    /// assert_eq!(cache.stats().hits, 0);
    /// assert_eq!(cache.stats().size, 1);
    /// ```
    pub fn reset_stats(&self) {
        self.inner.engine.reset_stats();
        self.inner.loads.reset_stats();
    }

    /// The live entries, as `(key, value)` clones, in no particular order; lazily.
    ///
    /// The iterator takes one shard at a time: when it reaches a shard it clones that
    /// shard's live entries under the shard's read lock, then hands them out, so it holds at
    /// most one shard's clones and no lock between calls to `next`. Each shard's part is
    /// consistent in itself; a write to a shard the iterator has not reached yet shows, one
    /// to a shard it has passed does not. Reading it changes no stats or recency. The
    /// iterator borrows the cache; for a cache with one shard (below 4096 entries, or
    /// weighted) it is a snapshot taken at the first `next`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert(1, "a");
    /// cache.insert(2, "b");
    /// let mut all: Vec<_> = cache.iter().collect();
    /// all.sort();
    /// assert_eq!(all, [(1, "a"), (2, "b")]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V, S>
    where
        K: Clone,
    {
        Iter::new(&self.inner.engine)
    }

    /// The name given with [`CacheBuilder::name`](crate::CacheBuilder::name).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder().name("sessions").build();
    /// assert_eq!(cache.name(), Some("sessions"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The eviction policy.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::Cache::<u8, u8>::new(1).policy(), larder::Policy::S3Fifo);
    /// ```
    pub fn policy(&self) -> Policy {
        self.inner.engine.settings().policy
    }

    /// Whether the cache stores anything: `false` when it was built disabled, by
    /// [`CacheBuilder::enabled(false)`](super::CacheBuilder::enabled) or the
    /// `LARDER_DISABLE` environment variable (read when it was built). A disabled cache is a
    /// pass-through: loads run, nothing is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    ///
    /// let off: Cache<u8, u8> = Cache::builder().enabled(false).build();
    /// assert!(!off.is_enabled());
    /// off.insert(1, 1);
    /// assert!(off.is_empty());
    /// ```
    pub fn is_enabled(&self) -> bool {
        !self.inner.loads.is_pass_through()
    }

    /// The cache's clock, and its default TTL: what a tier over it needs to know.
    pub(crate) fn clock_and_ttl(&self) -> (crate::Clock, Option<std::time::Duration>) {
        let settings = self.inner.engine.settings();
        let ttl = settings.time_to_live.map(std::time::Duration::from_nanos);
        (settings.clock.clone(), ttl)
    }

    #[cfg(test)]
    pub(crate) fn engine(&self) -> &Engine<K, V, S> {
        &self.inner.engine
    }

    #[cfg(test)]
    pub(crate) fn loads_in_flight(&self) -> usize {
        self.inner.loads.in_flight()
    }

    #[cfg(test)]
    pub(crate) fn negative_entries(&self) -> usize {
        self.inner.loads.negative_entries()
    }
}

impl<K, V, S> Cache<K, V, S> {
    /// The load protocol of this cache: the one way into a load, for the loading calls here
    /// and for batching and the macros.
    pub(crate) fn load_path(&self) -> LoadPath<'_, K, V, S> {
        LoadPath::new(&self.inner.engine, &self.inner.loads)
    }

    /// This cache's state, for the other files of the `cache` module.
    pub(super) fn inner(&self) -> &Inner<K, V, S> {
        &self.inner
    }

    /// A handle that does not keep the cache alive.
    #[cfg(feature = "snapshot")]
    pub(super) fn downgrade(&self) -> WeakCache<K, V, S> {
        WeakCache {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

impl<K, V, S> Clone for Cache<K, V, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V, S> fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the entries: cached values can be secrets.
        f.debug_struct("Cache")
            .field("name", &self.inner.name)
            .field("policy", &self.inner.engine.settings().policy)
            .field("shards", &self.inner.engine.shard_count())
            .finish_non_exhaustive()
    }
}
