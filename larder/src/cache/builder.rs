//! [`CacheBuilder`]: every setting of a [`Cache`], checked once at build time.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::handle::{Cache, Inner};
use super::revalidation::Revalidation;
#[cfg(feature = "snapshot")]
use super::snapshot_settings::SnapshotSettings;
use super::switch;
use crate::engine::{Engine, MAX_SHARDS, Settings, Weigher, shard_count};
use crate::error::Error;
use crate::expiry::{MAX_DURATION, saturating_nanos};
use crate::hasher::DefaultHashBuilder;
use crate::hooks::{HookRunner, Hooks};
use crate::listener::Listener;
use crate::load::Loads;
use crate::observe::CacheName;
use crate::spawn::Spawner;
use crate::{Clock, Policy, RemovalCause};

/// Builds a [`Cache`]. Get one from [`Cache::builder`].
///
/// Every setting is optional: with none, the cache is unbounded, never expires entries, and
/// uses [`Policy::S3Fifo`], which only matters once it is bounded.
///
/// # Background work
///
/// None by default. The cache spawns no thread and no task: expired entries are reclaimed by
/// ordinary calls, namely every write and every read that finds an expired entry.
///
/// Two settings start background work:
/// [`stale_while_revalidate`](Self::stale_while_revalidate) and
/// [`refresh_ahead`](Self::refresh_ahead). Each of their refreshes is one task, a single load
/// of one key, handed to the [`spawner`](Self::spawner). The default spawner,
/// [`TokioSpawner`](crate::spawn::TokioSpawner), runs it on the tokio runtime of the call that
/// starts it. A refresh ends when its load does; [`Cache::close`] cancels or awaits the ones
/// running, and no new one starts after it.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Policy};
/// use std::time::Duration;
///
/// let cache: Cache<String, Vec<u8>> = Cache::builder()
///     .max_capacity(64 * 1024 * 1024)                  // bytes, with the weigher below
///     .weigher(|k: &String, v: &Vec<u8>| (k.len() + v.len()) as u32)
///     .policy(Policy::S3Fifo)
///     .time_to_live(Duration::from_secs(300))
///     .ttl_jitter(Duration::from_secs(5))
///     .name("blobs")
///     .build();
/// cache.insert("a".to_string(), vec![0; 10]);
/// assert_eq!(cache.weighted_size(), 11);
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct CacheBuilder<K, V, S = DefaultHashBuilder> {
    max_capacity: Option<u64>,
    weigher: Option<Weigher<K, V>>,
    policy: Policy,
    time_to_live: Option<Duration>,
    ttl_jitter: Option<Duration>,
    time_to_idle: Option<Duration>,
    negative_ttl: Option<Duration>,
    stale_while_revalidate: Option<Duration>,
    refresh_ahead: Option<f64>,
    spawner: Option<Arc<dyn Spawner>>,
    listener: Option<Listener<K, V>>,
    name: Option<String>,
    clock: Option<Clock>,
    shards: Option<usize>,
    hooks: Option<crate::sync::Arc<HookRunner>>,
    hasher: S,
    /// `enabled(false)`: a pass-through cache (`switch.rs`).
    enabled: bool,
    /// Whether `LARDER_DISABLE` can disable it: not for a store's own cache.
    follows_switch: bool,
    /// `restore_from` and `autosave` (`snapshot_settings.rs`).
    #[cfg(feature = "snapshot")]
    pub(super) snapshot: SnapshotSettings<K, V, S>,
    _types: PhantomData<fn(K, V)>,
}

impl<K, V> CacheBuilder<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            max_capacity: None,
            weigher: None,
            policy: Policy::default(),
            time_to_live: None,
            ttl_jitter: None,
            time_to_idle: None,
            negative_ttl: None,
            stale_while_revalidate: None,
            refresh_ahead: None,
            spawner: None,
            listener: None,
            name: None,
            clock: None,
            shards: None,
            hooks: None,
            hasher: DefaultHashBuilder::default(),
            enabled: true,
            follows_switch: true,
            #[cfg(feature = "snapshot")]
            snapshot: SnapshotSettings::default(),
            _types: PhantomData,
        }
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq,
    V: Clone,
{
    /// A cache of at most `max_capacity` entries, with every other setting at its default.
    ///
    /// # Examples
    ///
    /// ```
    /// let small = larder::Cache::<u64, String>::new(128);
    /// small.insert(1, "one".into());
    /// # assert_eq!(small.len(), 1);
    /// ```
    pub fn new(max_capacity: u64) -> Self {
        Self::builder().max_capacity(max_capacity).build()
    }
}

impl<K, V> Cache<K, V> {
    /// A builder for a cache with more settings than [`Cache::new`] offers.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Policy};
    /// let cache: Cache<u64, u64> = Cache::builder().max_capacity(100).policy(Policy::Lru).build();
    /// # drop(cache);
    /// ```
    pub fn builder() -> CacheBuilder<K, V> {
        CacheBuilder::new()
    }
}

impl<K, V, S> CacheBuilder<K, V, S> {
    /// The most entries the cache holds, or with a [`weigher`](Self::weigher) the most total
    /// weight. `0` stores nothing. Without it the cache is unbounded.
    ///
    /// An entry heavier than the whole capacity is not stored, and raises no error; the
    /// eviction listener sees it with [`RemovalCause::Size`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::builder().max_capacity(2).build();
    /// for i in 0..10 { cache.insert(i, i); }
    /// assert_eq!(cache.len(), 2);
    /// ```
    pub fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = Some(max_capacity);
        self
    }

    /// Weighs entries, making [`max_capacity`](Self::max_capacity) a total weight. It runs
    /// before any lock is taken, on the inserting thread. Weighted caches default to one
    /// shard, so that any entry up to the whole capacity fits; set [`shards`](Self::shards) to
    /// trade that for write concurrency.
    ///
    /// A weight of 0 counts as 1. Every entry takes room, so `max_capacity` also bounds how
    /// many entries the cache holds, even when the weigher says an empty value weighs
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::builder()
    ///     .max_capacity(10)
    ///     .weigher(|_k: &u32, v: &String| v.len() as u32)
    ///     .build();
    /// cache.insert(1, "x".repeat(20)); // heavier than the cache: not stored
    /// cache.insert(2, "x".repeat(5));
    /// assert!(!cache.contains_key(&1) && cache.contains_key(&2));
    /// ```
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// The eviction policy; [`Policy::S3Fifo`] by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Policy};
    /// let cache = Cache::builder().max_capacity(3).policy(Policy::Fifo).build();
    /// for i in 1..=4 { cache.insert(i, ()); }
    /// assert!(!cache.contains_key(&1));
    /// ```
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The default time to live of an entry, counted from when it is stored. `Duration::ZERO`
    /// means every entry is already expired. At most 100 years.
    ///
    /// An entry is never dropped before its TTL, but with the system clock it may be served
    /// up to [`Clock::hit_lag`](crate::Clock::hit_lag) (about 1 ms) after it: hits read a
    /// recent time that a process-wide ticker thread refreshes every millisecond while such
    /// a cache exists (see [Precision](crate::Clock#precision) and
    /// [the ticker thread](crate::Clock#the-ticker-thread)). [`Clock::exact`](crate::Clock::exact)
    /// opts out; a mock clock is exact.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock};
    /// use std::time::Duration;
    /// let (clock, mock) = Clock::mock();
    /// let cache = Cache::builder().time_to_live(Duration::from_secs(1)).clock(clock).build();
    /// cache.insert(1, 1);
    /// mock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Adds a random `0..=jitter` to every finite TTL, so entries stored together do not all
    /// expire together. Needs [`time_to_live`](Self::time_to_live).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .ttl_jitter(Duration::from_secs(6))
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn ttl_jitter(mut self, jitter: Duration) -> Self {
        self.ttl_jitter = Some(jitter);
        self
    }

    /// Expires an entry that has not been read or written for this long, on top of any TTL.
    /// `Duration::ZERO` means every entry is already expired: nothing is stored.
    ///
    /// With the system clock, reads record and check a recent time that a ticker thread
    /// refreshes, as for [`time_to_live`](Self::time_to_live) (see
    /// [Precision](crate::Clock#precision)): an idle entry may be served up to
    /// [`Clock::hit_lag`](crate::Clock::hit_lag) (about 1 ms) after its idle time runs out,
    /// and may go idle up to that much early. A mock clock is exact.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock};
    /// use std::time::Duration;
    /// let (clock, mock) = Clock::mock();
    /// let cache = Cache::builder().time_to_idle(Duration::from_secs(10)).clock(clock).build();
    /// cache.insert(1, 1);
    /// mock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1)); // read: idle time restarts
    /// mock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1));
    /// mock.advance(Duration::from_secs(10));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.time_to_idle = Some(tti);
        self
    }

    /// Keeps a failed load's error for this long. This is negative caching, and it is off by
    /// default. Calls of [`try_get_with`](crate::Cache::try_get_with) for that key with the
    /// same error type get the kept error instead of loading again, sparing a failing backend.
    ///
    /// A load that finds no value is kept the same way: `None` from
    /// [`optionally_get_with`](crate::Cache::optionally_get_with)'s loader, or a key missing
    /// from a batch's result. It answers the calls that can return `None`, which are
    /// `optionally_get_with`, batch loads and `get_many_with`; the other calls load.
    ///
    /// `remove`, `clear` and `invalidate_if` forget what is kept; a successful load replaces
    /// it. At most 100 years.
    ///
    /// What is kept is bounded: a cache with a [`max_capacity`](Self::max_capacity) keeps at
    /// most about that many failures besides its entries (rounded up to a whole number per
    /// shard), the oldest going first, so that a flood of absent keys cannot grow it. A
    /// weighted cache keeps at most 65,536, or its capacity if that is less; a cache without
    /// a capacity keeps them until they expire. Expired ones are dropped as new ones are
    /// kept, without a scan.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let cache: larder::Cache<u32, String> = larder::Cache::builder()
    ///     .negative_ttl(Duration::from_secs(5))
    ///     .build();
    /// let _ = cache.try_get_with(1, async { Err::<String, _>("down") }).await;
    /// // Within 5 s the error is served without calling the loader.
    /// let again = cache.try_get_with(1, async { unreachable!() as Result<String, &str> }).await;
    /// assert_eq!(**again.unwrap_err().loader_error().unwrap(), "down");
    /// # }
    /// ```
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// Stale-while-revalidate: keeps an entry for `grace` after its TTL or idle time runs out.
    /// Within the grace, the loading calls, such as [`get_with`](crate::Cache::get_with) and
    /// [`try_get_with`](crate::Cache::try_get_with), return the stale value at once and start
    /// one background refresh of the key with their loader. The callers that come while it
    /// runs get the stale value too, and start nothing. Past the grace, callers wait for a
    /// load as on a miss. At most 100 years.
    ///
    /// A stale entry is not live: [`get`](crate::Cache::get), `contains_key` and `iter` do
    /// not return it. It still takes its place in the cache: `len()` and `weighted_size()`
    /// count it until the grace ends. A refresh that fails, or yields `None`, leaves the
    /// stale value to be served until then. Counted in [`Stats::stale_served`](crate::Stats)
    /// and [`Stats::refreshes`](crate::Stats).
    ///
    /// # Background work
    ///
    /// One task per refresh, through the [`spawner`](Self::spawner).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, Clock};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache: Cache<&str, u32> = Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(30))
    ///     .clock(clock)
    ///     .build();
    /// cache.get_with("rate", async { 1 }).await;
    /// mock.advance(Duration::from_secs(70)); // expired, within the grace
    /// // The stale value comes back at once; the refresh runs in the background.
    /// assert_eq!(cache.get_with("rate", async { 2 }).await, 1);
    /// tokio::task::yield_now().await; // let the refresh run
    /// assert_eq!(cache.get("rate"), Some(2));
    /// # }
    /// ```
    pub fn stale_while_revalidate(mut self, grace: Duration) -> Self {
        self.stale_while_revalidate = Some(grace);
        self
    }

    /// Refresh-ahead: a hit on an entry close to its expiry may reload it in the background
    /// first, so that a hot key never expires under load. Each hit through a loading call,
    /// [`get_with`](crate::Cache::get_with) or one of its family, refreshes early with the
    /// probability of XFetch: that is, when `now + beta * delta * -ln(rand())` passes the
    /// entry's deadline, where `delta` is this cache's mean load time so far. The chance is
    /// negligible far from the deadline and grows as it nears, so one request among many
    /// refreshes a hot key shortly before it expires, and a cold key simply expires. XFetch
    /// is from Vattani, Chierichetti and Lowenstein, "Optimal Probabilistic Cache Stampede
    /// Prevention", VLDB 2015.
    ///
    /// `beta` scales how early: `1.0` is the paper's choice; larger refreshes earlier. It
    /// must be finite and above 0. Counted in [`Stats::refreshes`](crate::Stats).
    ///
    /// # Background work
    ///
    /// One task per refresh, through the [`spawner`](Self::spawner).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use std::time::Duration;
    ///
    /// let cache: Cache<u64, String> = Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .refresh_ahead(1.0)
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn refresh_ahead(mut self, beta: f64) -> Self {
        self.refresh_ahead = Some(beta);
        self
    }

    /// Where the background refreshes of
    /// [`stale_while_revalidate`](Self::stale_while_revalidate) and
    /// [`refresh_ahead`](Self::refresh_ahead) run. By default, with the `tokio` feature, it is
    /// [`TokioSpawner`](crate::spawn::TokioSpawner): the tokio runtime of the call that starts
    /// the refresh, so a cache shared by several runtimes needs no setting. Without the
    /// feature, those settings need a spawner.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use larder::spawn::{BackgroundTask, Spawner};
    /// use std::time::Duration;
    ///
    /// struct OnRuntime(tokio::runtime::Handle);
    ///
    /// impl Spawner for OnRuntime {
    ///     fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
    ///         self.0.spawn(task);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let cache: Cache<u64, u64> = Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .stale_while_revalidate(Duration::from_secs(5))
    ///     .spawner(OnRuntime(runtime.handle().clone()))
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn spawner(mut self, spawner: impl Spawner) -> Self {
        self.spawner = Some(Arc::new(spawner));
        self
    }

    /// Called with every entry that leaves the cache, and why. It runs on the thread that
    /// caused the removal, after the cache's locks are released, so it may call the cache.
    /// It should not panic: the panic reaches the caller whose call removed the entry, and the
    /// removals still waiting to be reported by that call are dropped unreported. The cache
    /// itself stays consistent.
    ///
    /// Calls are not serialised, not even for one key. Each thread reports its own removals
    /// in the order they happened, but two threads' calls can run at the same time, and for
    /// one key they can arrive out of order: a thread's `(k, Replaced)` call can begin while
    /// another thread's `(k, Expired)` call is still running. A listener that keeps per-key
    /// state must lock it, and must not assume that the last call for a key describes the
    /// key's current state: ask the cache for that.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, RemovalCause};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let evicted = Arc::new(AtomicUsize::new(0));
    /// let count = Arc::clone(&evicted);
    /// let cache = Cache::builder()
    ///     .max_capacity(1)
    ///     .eviction_listener(move |_k: u8, _v: u8, cause| {
    ///         if cause == RemovalCause::Size { count.fetch_add(1, Ordering::Relaxed); }
    ///     })
    ///     .build();
    /// cache.insert(1, 1);
    /// cache.insert(2, 2);
    /// assert_eq!(evicted.load(Ordering::Relaxed), 1);
    /// ```
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(K, V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// A name for the cache, used in its `Debug` output, as the `cache` field of its `tracing`
    /// spans and as the `cache` label of its metrics (`larder::metrics`), with those features.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder().name("users").build();
    /// assert_eq!(cache.name(), Some("users"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The clock the cache reads; [`Clock::system`] by default. Tests pass a [`Clock::mock`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (clock, _mock) = larder::Clock::mock();
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder().clock(clock).build();
    /// # drop(cache);
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Turns the cache off (`false`) or leaves it on (`true`, the default): a disabled cache
    /// is a pass-through, so that caching can be switched off from configuration with no
    /// other code change. Loads still run and return their values; nothing is stored.
    ///
    /// - [`get`](Cache::get) and `contains_key` find nothing: every lookup is a miss;
    ///   [`insert`](Cache::insert) and its variants do nothing; `len()` is 0.
    /// - [`get_with`](Cache::get_with) and its family run their loader on every call and
    ///   return its value; [`get_many_with`](Cache::get_many_with), batch loaders and
    ///   [`DataLoader`](crate::batch::DataLoader)s call their batch function for every key
    ///   they are asked; a `#[cached]` function runs its body on every call.
    /// - **Single-flight stays on**: concurrent calls for the same key still share one load,
    ///   so that switching the cache off does not multiply the load on the backend behind
    ///   it. Only calls that overlap share; the next call loads again. (This differs from
    ///   [`max_capacity(0)`](Self::max_capacity), where every caller runs its own loader.)
    /// - [`Stats`](crate::Stats) still count: every lookup is a miss, every load a load.
    /// - Nothing is kept: no negative entries ([`negative_ttl`](Self::negative_ttl)), no
    ///   stale values ([`stale_while_revalidate`](Self::stale_while_revalidate),
    ///   [`refresh_ahead`](Self::refresh_ahead) have nothing to refresh), and the eviction
    ///   listener is never called. With the `snapshot` feature, `restore_from` reads no file
    ///   and `autosave` starts no task and writes nothing, so that the snapshot on disk is
    ///   still there when the cache is turned back on.
    /// - A [`Tiered`](crate::tier::Tiered) over a disabled L1 cache is disabled too.
    /// - Settings are checked as for an enabled cache: a setting `try_build` rejects is
    ///   rejected either way.
    ///
    /// # The `LARDER_DISABLE` environment variable
    ///
    /// The same switch, for operators. When a cache is built ([`build`](Self::build) or
    /// [`try_build`](Self::try_build)), the builder reads `LARDER_DISABLE`; if it is `1`,
    /// `true`, `yes` or `on` (any ASCII case, surrounding whitespace ignored), the cache is
    /// built disabled, whatever `enabled` says. Any other value, or none, leaves the
    /// decision to `enabled`. It is read once per cache, at build time: changing it later
    /// changes no cache already built (restart the process, or build the caches anew), and a
    /// `#[cached]` function's cache, built on its first call, reads it then. `enabled(true)`
    /// does not override it. A [`MemoryStore`](crate::store::MemoryStore) made by
    /// `MemoryStore::new` is a store, not a cache, and ignores it.
    ///
    /// The hit path of an enabled cache does not change: a disabled cache is built with no
    /// room, so a lookup finds nothing without any check of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    ///
    /// let use_cache = false; // from your configuration
    /// let cache: Cache<u64, String> = Cache::builder().max_capacity(1_000).enabled(use_cache).build();
    /// assert!(!cache.is_enabled());
    ///
    /// cache.insert(1, "one".to_string());
    /// assert_eq!(cache.get(&1), None); // nothing stored
    /// assert_eq!(cache.get_with(1, async { "loaded".to_string() }).await, "loaded");
    /// assert_eq!(cache.get_with(1, async { "again".to_string() }).await, "again"); // loads every call
    /// assert_eq!(cache.stats().loads, 2);
    /// # }
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Makes the cache ignore `LARDER_DISABLE`: for a cache that is a store's storage
    /// ([`MemoryStore`](crate::store::MemoryStore)), not a cache of loads.
    pub(crate) fn ignoring_kill_switch(mut self) -> Self {
        self.follows_switch = false;
        self
    }

    /// Whether the cache this builds is enabled: by its setting, and `LARDER_DISABLE` now.
    fn enabled_now(&self) -> bool {
        self.enabled && !(self.follows_switch && switch::disabled_by_env())
    }

    /// How many shards (independently locked parts) the cache has; rounded up to a power of
    /// two, at most 4096, and never more than the capacity. Each shard gets an equal share of
    /// the capacity and evicts exactly by the policy within its share.
    ///
    /// By default: one shard below 4,096 of capacity or with a weigher; otherwise four per
    /// CPU, keeping at least 2,048 of capacity per shard.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder().max_capacity(100_000).shards(1).build();
    /// # drop(cache);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Code to run before and after each get, set, delete and load (aiocache's plugins): see
    /// [`Hooks`] for what they are told and the `hooks` module for how they run. A hook that
    /// panics is contained and counted in [`Stats::hook_panics`](crate::Stats::hook_panics).
    /// Setting hooks again replaces the previous ones.
    ///
    /// The cache tells them of `get`, `get_many` (each key), `insert` and its variants,
    /// `remove`, the lookup the `get_with` family starts with, and each loader a caller runs
    /// as the leader of a key's load (`Op::Load`; a batch function's keys and a background
    /// refresh are not told). A cache's hooks see keys as their hash
    /// ([`HookKey::Hash`](crate::hooks::HookKey::Hash)).
    ///
    /// Without hooks, a lookup pays one predictable branch for them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use larder::hooks::{Call, Hooks, Outcome};
    ///
    /// struct Print;
    /// impl Hooks for Print {
    ///     fn after(&self, call: &Call<'_>, outcome: Outcome, elapsed: Duration) {
    ///         println!("{} -> {outcome:?} in {elapsed:?}", call.op.as_str());
    ///     }
    /// }
    ///
    /// let cache = larder::Cache::builder().hooks(Print).build();
    /// cache.insert(1, "one"); // prints "set -> Done in …"
    /// ```
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Some(HookRunner::new(hooks));
        self
    }

    /// The hasher keys are hashed with; [`DefaultHashBuilder`](crate::DefaultHashBuilder) by
    /// default. It changes the cache's type, so it drops an `autosave` set before it (which
    /// `try_build` then reports): set the hasher first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: larder::Cache<String, u8, RandomState> = larder::Cache::builder()
    ///     .hasher(RandomState::new())
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn hasher<S2>(self, hasher: S2) -> CacheBuilder<K, V, S2> {
        CacheBuilder {
            max_capacity: self.max_capacity,
            weigher: self.weigher,
            policy: self.policy,
            time_to_live: self.time_to_live,
            ttl_jitter: self.ttl_jitter,
            time_to_idle: self.time_to_idle,
            negative_ttl: self.negative_ttl,
            stale_while_revalidate: self.stale_while_revalidate,
            refresh_ahead: self.refresh_ahead,
            spawner: self.spawner,
            listener: self.listener,
            name: self.name,
            clock: self.clock,
            shards: self.shards,
            hooks: self.hooks,
            hasher,
            enabled: self.enabled,
            follows_switch: self.follows_switch,
            #[cfg(feature = "snapshot")]
            snapshot: self.snapshot.with_hasher(),
            _types: PhantomData,
        }
    }
}

#[cfg(feature = "snapshot")]
impl<K, V, S> CacheBuilder<K, V, S> {
    /// Starts the cache with the entries of the snapshot file at `path`, as
    /// [`Cache::save`](crate::Cache::save) wrote it; their TTLs are what was left of them,
    /// less the wall-clock time since the save, as [`Cache::restore`](crate::Cache::restore)
    /// describes. No file at `path` (a first start) builds an empty cache.
    ///
    /// The file is read, checked and decoded whole by [`try_build`](Self::try_build), on the
    /// calling thread, before the cache exists: a file that is not a snapshot this larder
    /// can read is an error, and no cache is built. [`build`](Self::build) panics instead,
    /// so use `try_build` with this setting. In async code, a large snapshot blocks the
    /// worker that builds the cache while it is read: build it in `spawn_blocking`, or build
    /// it empty and call `restore(path).await`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-restore-from-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::Cache;
    ///
    /// let path = dir.join("cache.snapshot");
    /// // First start: no file yet, an empty cache.
    /// let cache: Cache<u64, String> = Cache::builder().restore_from(&path).try_build()?;
    /// assert!(cache.is_empty());
    /// cache.insert(7, "seven".to_string());
    /// cache.save(&path).await?;
    ///
    /// // Next start: the saved entries.
    /// let cache: Cache<u64, String> = Cache::builder().restore_from(&path).try_build()?;
    /// assert_eq!(cache.get(&7).as_deref(), Some("seven"));
    /// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "snapshot")))]
    pub fn restore_from(mut self, path: impl AsRef<std::path::Path>) -> Self
    where
        K: serde::de::DeserializeOwned,
        V: serde::de::DeserializeOwned,
    {
        self.snapshot.restore_from(path.as_ref());
        self
    }

    /// Saves a snapshot to `path` every `every`, as [`Cache::save`](crate::Cache::save)
    /// does, and once more on [`Cache::close`](crate::Cache::close). Pair it with
    /// [`restore_from`](Self::restore_from) on the same path to keep a cache across restarts.
    ///
    /// A save that fails leaves the previous snapshot whole, and is not reported: the next
    /// one tries again. Call `save` yourself where you need to know.
    ///
    /// Set it after [`hasher`](Self::hasher), which drops it.
    ///
    /// # Background work
    ///
    /// One tokio task, spawned by [`try_build`](Self::try_build) on the runtime it is called
    /// in (outside one, `try_build` fails). It waits `every` after each save ends, so saves
    /// never overlap, and does the file work on tokio's blocking threads. It ends when the
    /// cache is closed, after a last save that `close` waits for, or when the cache's last
    /// handle is dropped, without a last save; and with its runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-autosave-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{Cache, CloseMode};
    /// use std::time::Duration;
    ///
    /// let path = dir.join("cache.snapshot");
    /// let cache: Cache<u64, String> = Cache::builder()
    ///     .restore_from(&path)
    ///     .autosave(&path, Duration::from_secs(60))
    ///     .try_build()?;
    /// cache.insert(1, "one".to_string());
    /// cache.close(CloseMode::Wait).await; // saves once more
    ///
    /// let restarted: Cache<u64, String> = Cache::builder().restore_from(&path).try_build()?;
    /// assert_eq!(restarted.get(&1).as_deref(), Some("one"));
    /// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "snapshot")))]
    pub fn autosave(mut self, path: impl AsRef<std::path::Path>, every: Duration) -> Self
    where
        K: Hash + Eq + serde::Serialize + Send + Sync + 'static,
        V: Clone + serde::Serialize + Send + Sync + 'static,
        S: BuildHasher + Send + Sync + 'static,
    {
        self.snapshot.autosave(path.as_ref(), every);
        self
    }
}

impl<K, V, S> CacheBuilder<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// Builds the cache.
    ///
    /// # Panics
    ///
    /// On a nonsensical setting, with a message naming it, and on a snapshot that
    /// `restore_from` cannot read: see [`try_build`](Self::try_build) for the list, and use it
    /// to get an error instead. With `restore_from`, prefer `try_build`: a corrupt file is not
    /// a programming error.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u64, String> = larder::Cache::builder().max_capacity(10).build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn build(self) -> Cache<K, V, S> {
        match self.try_build() {
            Ok(cache) => cache,
            // A builder may panic on a setting that cannot mean anything; try_build is the
            // non-panicking twin.
            #[allow(clippy::panic)]
            Err(e) => panic!("{e}"),
        }
    }

    /// Builds the cache, or says which setting is wrong.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when: `shards` is 0 or above 4096; a
    /// `time_to_live`, `ttl_jitter`, `time_to_idle`, `negative_ttl` or
    /// `stale_while_revalidate` exceeds 100 years; `ttl_jitter` is set without
    /// `time_to_live`; a `weigher` is set without `max_capacity`; `refresh_ahead` is not
    /// finite and above 0; or `stale_while_revalidate` or `refresh_ahead` is set with no
    /// spawner (without the `tokio` feature). With the `snapshot` feature, also when:
    /// `autosave`'s interval is zero or above 100 years; `autosave` is set outside a tokio
    /// runtime; or `autosave` was set before `hasher`.
    ///
    /// With `restore_from`, the errors of `Cache::restore`:
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) for a file that is not a snapshot this
    /// larder can read (foreign, later format version, truncated, corrupt, or of other key
    /// and value types), and [`ErrorKind::Backend`](crate::ErrorKind::Backend) for one that
    /// cannot be read. No cache is built then. A missing file is not an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, ErrorKind};
    /// let err = Cache::<u8, u8>::builder()
    ///     .weigher(|_, _| 1)
    ///     .try_build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("weigher"));
    /// ```
    pub fn try_build(self) -> Result<Cache<K, V, S>, Error> {
        self.validate()?;
        let enabled = self.enabled_now();
        #[cfg(feature = "snapshot")]
        {
            let mut this = self;
            // Everything that can fail, reading the file included, before the cache exists.
            // A disabled cache reads no file and saves none.
            let snapshot = std::mem::take(&mut this.snapshot).open(enabled)?;
            Ok(snapshot.start(this.assemble(enabled)))
        }
        #[cfg(not(feature = "snapshot"))]
        Ok(Cache::from_parts(self.assemble(enabled)))
    }

    /// Every check [`try_build`](Self::try_build) documents; assembling then cannot fail.
    fn validate(&self) -> Result<(), Error> {
        if let Some(n) = self.shards.filter(|&n| n == 0 || n > MAX_SHARDS) {
            return Err(Error::config(format!(
                "shards must be between 1 and {MAX_SHARDS}, got {n}"
            )));
        }
        for (setting, value) in [
            ("time_to_live", self.time_to_live),
            ("ttl_jitter", self.ttl_jitter),
            ("time_to_idle", self.time_to_idle),
            ("negative_ttl", self.negative_ttl),
            ("stale_while_revalidate", self.stale_while_revalidate),
        ] {
            if let Some(d) = value.filter(|d| *d > MAX_DURATION) {
                return Err(Error::config(format!(
                    "{setting} must be at most 100 years, got {d:?}"
                )));
            }
        }
        if self.ttl_jitter.is_some() && self.time_to_live.is_none() {
            return Err(Error::config("ttl_jitter requires time_to_live to be set"));
        }
        if self.weigher.is_some() && self.max_capacity.is_none() {
            return Err(Error::config(
                "a weigher requires max_capacity (the total weight to bound)",
            ));
        }
        if let Some(beta) = self.refresh_ahead.filter(|b| !(b.is_finite() && *b > 0.0)) {
            return Err(Error::config(format!(
                "refresh_ahead must be finite and above 0, got {beta}"
            )));
        }
        if self.revalidates() && self.spawner.is_none() && default_spawner().is_none() {
            return Err(Error::config(
                "stale_while_revalidate and refresh_ahead need a spawner (or the tokio feature)",
            ));
        }
        Ok(())
    }

    /// Whether background refreshes are on.
    fn revalidates(&self) -> bool {
        self.stale_while_revalidate.is_some() || self.refresh_ahead.is_some()
    }

    /// The cache of these (validated) settings, but for its snapshot settings. A disabled
    /// cache is one of capacity 0 that keeps nothing (no negative entries, no stale values,
    /// no listener) and still shares its loads.
    fn assemble(self, enabled: bool) -> Inner<K, V, S> {
        let revalidates = self.revalidates() && enabled;
        let revalidation = (self.spawner.or_else(default_spawner))
            .filter(|_| revalidates)
            .map(|spawner| Revalidation::new(spawner, self.refresh_ahead));
        let capacity = self.max_capacity.unwrap_or(u64::MAX);
        let weighted = self.weigher.is_some();
        let shards = shard_count(self.shards, capacity, weighted);
        // A weighted capacity counts units of weight, not entries: negative entries, which
        // weigh nothing, get a bound of their own.
        let negative_cap = if weighted {
            capacity.min(MAX_WEIGHTED_NEGATIVE_ENTRIES)
        } else {
            capacity
        };
        let settings = Settings {
            hasher: self.hasher,
            policy: self.policy,
            weigher: self.weigher.filter(|_| enabled),
            time_to_live: self.time_to_live.map(saturating_nanos),
            jitter: self.ttl_jitter.map_or(0, saturating_nanos),
            time_to_idle: self.time_to_idle.map(saturating_nanos),
            grace: (self.stale_while_revalidate.filter(|_| enabled)).map_or(0, saturating_nanos),
            // Hits on expiring entries read the ticker's recent time (ADR 0012).
            clock: if enabled && (self.time_to_live.is_some() || self.time_to_idle.is_some()) {
                self.clock.unwrap_or_default().for_expiring_cache()
            } else {
                self.clock.unwrap_or_default()
            },
            listener: self.listener.filter(|_| enabled),
        };
        let negative_ttl = self.negative_ttl.filter(|_| enabled).map(saturating_nanos);
        // Disabled: no room, so that a lookup misses with no check of its own.
        let engine_capacity = if enabled { capacity } else { 0 };
        let engine = Engine::new(engine_capacity, shards, settings);
        Inner {
            engine: if enabled { engine } else { engine.disabled() },
            loads: Loads::new(
                negative_ttl,
                shards,
                negative_cap,
                !enabled,
                CacheName::new(self.name.as_deref()),
            )
            .with_hooks(self.hooks),
            revalidation,
            name: self.name,
            #[cfg(feature = "snapshot")]
            autosave: None,
        }
    }
}

/// The most negative entries a weighted cache keeps.
const MAX_WEIGHTED_NEGATIVE_ENTRIES: u64 = 65_536;

#[cfg(feature = "tokio")]
fn default_spawner() -> Option<Arc<dyn Spawner>> {
    Some(Arc::new(crate::spawn::TokioSpawner))
}

#[cfg(not(feature = "tokio"))]
fn default_spawner() -> Option<Arc<dyn Spawner>> {
    None
}

impl<K, V, S> fmt::Debug for CacheBuilder<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("CacheBuilder");
        f.field("max_capacity", &self.max_capacity)
            .field("weigher", &self.weigher.is_some())
            .field("policy", &self.policy)
            .field("time_to_live", &self.time_to_live)
            .field("ttl_jitter", &self.ttl_jitter)
            .field("time_to_idle", &self.time_to_idle)
            .field("negative_ttl", &self.negative_ttl)
            .field("stale_while_revalidate", &self.stale_while_revalidate)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("spawner", &self.spawner.is_some())
            .field("eviction_listener", &self.listener.is_some())
            .field("name", &self.name)
            .field("shards", &self.shards)
            .field("enabled", &self.enabled);
        #[cfg(feature = "snapshot")]
        {
            let (restores, autosave) = self.snapshot.describe();
            f.field("restore_from", &restores);
            f.field("autosave", &autosave);
        }
        f.finish_non_exhaustive()
    }
}
