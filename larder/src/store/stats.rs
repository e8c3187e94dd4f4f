//! [`StoreStats`]: a store's counters and latencies, as a snapshot.

use std::time::Duration;

/// Upper bounds of the buckets of a [`Latency`], in nanoseconds: 100 µs, 250 µs, 500 µs, 1 ms,
/// 2.5 ms, 5 ms, 10 ms, 50 ms, 250 ms and 1 s. A last bucket counts everything slower.
pub const LATENCY_BOUNDS_NANOS: [u64; 10] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    50_000_000,
    250_000_000,
    1_000_000_000,
];

/// How many buckets a [`Latency`] has: one per bound in [`LATENCY_BOUNDS_NANOS`], and one
/// for the rest.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_NANOS.len() + 1;

/// The latencies of one class of a store's operations: how many, their total time, and a
/// small histogram of fixed buckets.
///
/// `buckets[i]` counts the operations that took at most `LATENCY_BOUNDS_NANOS[i]` and more
/// than the bound before it; the last bucket counts those that took more than 1 s. The
/// buckets are not cumulative (add them up for Prometheus's `le` buckets), and their sum is
/// `count`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::store::{MemoryStore, Store};
///
/// let store = MemoryStore::new("ns");
/// store.get("k").await?;
/// let reads = store.store_stats().expect("larder's stores count").reads;
/// assert_eq!(reads.count, 1);
/// assert_eq!(reads.buckets.iter().sum::<u64>(), 1);
/// assert!(reads.mean().is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Latency {
    /// Operations of this class that ended (failed ones included).
    pub count: u64,
    /// Their total time, in nanoseconds.
    pub total_nanos: u64,
    /// How many took each bucket's time: see above.
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl Latency {
    /// The mean time of an operation, or `None` before any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::store::Latency::default().mean(), None);
    /// ```
    pub fn mean(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_nanos(self.total_nanos / self.count))
    }
}

/// A snapshot of a store's counters, from [`Store::store_stats`](super::Store::store_stats).
///
/// Every store of larder's counts, at the [`Store`](super::Store) methods' boundary, what its
/// callers asked and got: keys read and found, keys written, deletes, failures, and the time
/// each operation took (from its call to its result, waits for a connection or a coalesced
/// read included), in three classes. The counts are shared by every handle of one store
/// (`with_timeout`, `with_default_ttl`, clones; `DiskStore::with_namespace` too) and never
/// reset.
///
/// An operation built on others counts as them as well: a lease is an `add` on every store
/// (`release` is counted as itself), a `set` with a zero TTL also a `delete`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{MemoryStore, Store};
///
/// let store = MemoryStore::new("ns");
/// store.set("a", b"1", Ttl::Never).await?;
/// store.get_many(&["a", "b"]).await?;
/// let stats = store.store_stats().unwrap();
/// assert_eq!(stats.backend, "memory");
/// assert_eq!((stats.gets, stats.hits, stats.misses, stats.sets), (2, 1, 1, 1));
/// assert_eq!((stats.reads.count, stats.writes.count), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Which store: `"memory"`, `"redis"`, `"memcached"` or `"disk"` (the name its tracing
    /// spans give as `db.system.name`).
    pub backend: &'static str,
    /// Keys asked for: one per `get`, one per key of `get_many`.
    pub gets: u64,
    /// Keys asked for and found (of reads that succeeded).
    pub hits: u64,
    /// Keys asked for and not found (of reads that succeeded).
    pub misses: u64,
    /// Keys written: one per `set` and `add` (stored or not), one per key of `set_many`.
    pub sets: u64,
    /// Calls of `delete`.
    pub deletes: u64,
    /// Operations that failed, but for timeouts: a closed store, an unreachable server, a
    /// value that is not a counter, ...
    pub errors: u64,
    /// Operations that failed with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub timeouts: u64,
    /// Latencies of `get`, `get_many` and `exists`.
    pub reads: Latency,
    /// Latencies of `set`, `set_many`, `add`, `expire` and `increment`.
    pub writes: Latency,
    /// Latencies of `delete`, `release` and `clear`.
    pub removals: Latency,
}

impl StoreStats {
    /// Zero counts for the store named `backend`: for a store of your own, whose
    /// [`store_stats`](super::Store::store_stats) fills in what it counts.
    ///
    /// # Examples
    ///
    /// ```
    /// let stats = larder::store::StoreStats::new("sqlite");
    /// assert_eq!((stats.backend, stats.gets), ("sqlite", 0));
    /// ```
    pub fn new(backend: &'static str) -> Self {
        Self {
            backend,
            gets: 0,
            hits: 0,
            misses: 0,
            sets: 0,
            deletes: 0,
            errors: 0,
            timeouts: 0,
            reads: Latency::default(),
            writes: Latency::default(),
            removals: Latency::default(),
        }
    }

    /// `hits / (hits + misses)`, or 0.0 before any read.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::store::StoreStats::new("memory").hit_rate(), 0.0);
    /// ```
    pub fn hit_rate(&self) -> f64 {
        crate::stats::hit_rate(self.hits, self.misses)
    }
}
