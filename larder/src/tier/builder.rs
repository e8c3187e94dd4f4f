//! [`TieredBuilder`]: a tier's parts and settings, checked once.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::breaker::Breaker;
use super::codec::ValueCodec;
use super::key::{KeyLayout, TierKey};
use super::l2::{DynStore, L2};
use super::stats::Counters;
use super::tiered::{Inner, Settings, Tiered};
use super::write_behind::WriteBehind;
use crate::codec::{Codec, Postcard};
use crate::observe::CacheName;
use crate::store::Store;
use crate::{Cache, Error, ErrorKind};

/// The largest write-behind queue: tokio's bounded channel refuses (panics) above it.
const MAX_WRITE_BEHIND: usize = usize::MAX >> 3;

/// Builds a [`Tiered`] cache: [`Tiered::builder`], settings, then [`build`](Self::build).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use larder::store::MemoryStore;
/// use larder::tier::Tiered;
/// use std::time::Duration;
///
/// let l1 = Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(5)).build();
/// let tiered: Tiered<String, Vec<u8>> = Tiered::builder(l1, MemoryStore::new("pages"))
///     .version(2)
///     .l2_ttl(Duration::from_secs(300))
///     .l2_timeout(Duration::from_millis(100))
///     .circuit_breaker(5, Duration::from_secs(2))
///     .build();
/// # let _ = tiered;
/// # }
/// ```
pub struct TieredBuilder<K, V> {
    l1: Cache<K, V>,
    store: Arc<dyn DynStore>,
    codec: ValueCodec<V>,
    version: u32,
    scope: Option<String>,
    l2_ttl: Option<Duration>,
    l2_timeout: Duration,
    breaker: (u32, Duration),
    write_behind: Option<usize>,
    lease: Option<Duration>,
    lease_poll: Duration,
    watch: bool,
}

impl<K, V> std::fmt::Debug for TieredBuilder<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredBuilder")
            .field("version", &self.version)
            .field("scope", &self.scope)
            .field("l2_ttl", &self.l2_ttl)
            .field("l2_timeout", &self.l2_timeout)
            .field("breaker", &self.breaker)
            .field("write_behind", &self.write_behind)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl<K, V> Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// A builder of a tier with `l1` over `store`, values in [`Postcard`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(100), MemoryStore::new("t")).build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn builder(l1: Cache<K, V>, store: impl Store) -> TieredBuilder<K, V> {
        TieredBuilder {
            l1,
            store: Arc::new(store),
            codec: ValueCodec::new(Postcard),
            version: 1,
            scope: None,
            l2_ttl: None,
            l2_timeout: Duration::from_millis(250),
            breaker: (5, Duration::from_secs(1)),
            write_behind: None,
            lease: None,
            lease_poll: Duration::from_millis(5),
            watch: true,
        }
    }
}

impl<K, V> TieredBuilder<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// The codec of values in L2 (default [`Postcard`]). Every instance sharing the store
    /// must use the same.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::codec::Postcard;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .codec(Postcard)
    ///     .build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn codec(mut self, codec: impl Codec) -> Self {
        self.codec = ValueCodec::new(codec);
        self
    }

    /// The key layout's version (default 1): entries are `v{version}:{key}`. Bump it when a
    /// deploy changes `V`'s layout, so that new instances do not read old entries.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::{MemoryStore, Store};
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("t");
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), store.clone()).version(2).build();
    /// tiered.insert(1, 10).await;
    /// assert!(store.exists("v2:1").await.unwrap());
    /// # }
    /// ```
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Puts every key of this tier under `scope` in the store: entries become
    /// `{scope}/v{version}:{key}` (the scope's `%`, `:` and `!` escaped as `%25`, `%3A`,
    /// `%21`), so that several tiers share one store, each reading only its own keys. Tiers
    /// with the same scope, version and key encoding share entries. `#[cached(store = ..)]`
    /// scopes each function's tier by the function's name.
    ///
    /// The scope does not narrow [`Tiered::clear`], which empties the store's namespace: a
    /// store shared by scopes is cleared for all of them.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::{MemoryStore, Store};
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("app");
    /// let users: Tiered<u32, String> =
    ///     Tiered::builder(Cache::new(10), store.clone()).scope("users").build();
    /// let teams: Tiered<u32, String> =
    ///     Tiered::builder(Cache::new(10), store.clone()).scope("teams").build();
    /// users.insert(1, "ada".to_string()).await;
    /// teams.insert(1, "core".to_string()).await;
    /// assert!(store.exists("users/v1:1").await.unwrap());
    /// assert_eq!(teams.get(&1).await.as_deref(), Some("core"));
    /// # }
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The TTL of L2 entries written without one of their own (default: the store's
    /// default TTL). L1 keeps an entry no longer than it has left in L2.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::time::Duration;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .l2_ttl(Duration::from_secs(600))
    ///     .build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn l2_ttl(mut self, ttl: Duration) -> Self {
        self.l2_ttl = Some(ttl);
        self
    }

    /// How long one L2 call may take before it counts as a failure (default 250 ms). Its
    /// caller then carries on as on a miss.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::time::Duration;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .l2_timeout(Duration::from_millis(50))
    ///     .build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn l2_timeout(mut self, timeout: Duration) -> Self {
        self.l2_timeout = timeout;
        self
    }

    /// The circuit breaker (default: 5 failures, 1 s): after `failures` consecutive L2
    /// failures, L2 is skipped for `cooldown`, then one call probes it; its success closes
    /// the breaker. `failures = 0` turns it off.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::time::Duration;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .circuit_breaker(3, Duration::from_millis(500))
    ///     .build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn circuit_breaker(mut self, failures: u32, cooldown: Duration) -> Self {
        self.breaker = (failures, cooldown);
        self
    }

    /// Writes L2 behind: value writes go to a queue of `capacity` and are applied in order
    /// by a background task; a full queue drops the write (counted in
    /// [`TierStats::write_behind_drops`](super::TierStats::write_behind_drops)) and never
    /// blocks. Removals and clears go through the queue too, in order, and wait for it (up
    /// to the L2 timeout, then directly). [`Tiered::close`] with
    /// [`CloseMode::Wait`](crate::CloseMode::Wait) drains it. Needs a tokio runtime when
    /// built.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .write_behind(10_000)
    ///     .build();
    /// tiered.insert(1, 10).await; // returns before L2 has it
    /// # }
    /// ```
    pub fn write_behind(mut self, capacity: usize) -> Self {
        self.write_behind = Some(capacity);
        self
    }

    /// One load across processes: the first process to miss a key in both tiers takes a
    /// lease of `lease` in L2 and loads; the others wait for the value to appear in L2, up to
    /// `lease`, then load themselves. A holder that dies lets its lease expire.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::time::Duration;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .distributed_lock(Duration::from_secs(2))
    ///     .build();
    /// assert_eq!(tiered.get_with(1, async { 10 }).await, 10);
    /// # }
    /// ```
    pub fn distributed_lock(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Whether the tier watches its keys in the store for writes by anyone else (default:
    /// yes, where the store can: Redis). A watched tier drops its L1 copy of a key another
    /// instance or program writes, within one invalidation message's delivery; while the
    /// watch is disconnected, L1 serves within its TTL, and is cleared when the watch
    /// reconnects. Unwatched, or over a store that cannot watch (Memcached), L1's TTL alone
    /// bounds how long another instance's write goes unseen. Watching starts in the
    /// background when the tier is built inside a tokio runtime; see
    /// [`Tiered::is_watching`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .watch(false)
    ///     .build();
    /// assert!(!tiered.is_watching());
    /// # }
    /// ```
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Builds the tier.
    ///
    /// # Panics
    ///
    /// On a setting [`try_build`](Self::try_build) rejects.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// # let _ = tiered;
    /// # }
    /// ```
    pub fn build(self) -> Tiered<K, V> {
        match self.try_build() {
            Ok(tiered) => tiered,
            // A builder may panic on a setting that cannot mean anything; try_build is the
            // non-panicking twin.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error}"),
        }
    }

    /// Builds the tier, or says which setting is wrong.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`]: a zero L2 timeout, a write-behind capacity of zero or above
    /// `usize::MAX >> 3`, a zero lease, or write-behind without a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// // No runtime here: write-behind cannot start its task.
    /// let built = Tiered::<u32, u32>::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .write_behind(100)
    ///     .try_build();
    /// assert!(built.is_err());
    /// ```
    pub fn try_build(self) -> Result<Tiered<K, V>, Error> {
        let config = |m: &str| Err(Error::new(ErrorKind::Config, m.to_string()));
        if self.l2_timeout.is_zero() {
            return config("the L2 timeout must be above zero");
        }
        if self.write_behind == Some(0) {
            return config("the write-behind queue needs room for at least one write");
        }
        if self.write_behind.is_some_and(|c| c > MAX_WRITE_BEHIND) {
            return config("the write-behind queue can hold at most usize::MAX >> 3 writes");
        }
        if self.lease.is_some_and(|l| l.is_zero()) {
            return config("a distributed lock's lease must be above zero");
        }
        if self.write_behind.is_some() && tokio::runtime::Handle::try_current().is_err() {
            return config("write-behind starts a task: build the tier inside a tokio runtime");
        }
        // A tier over a disabled L1 is disabled: no lease, no queue, no watch, and no value
        // read or written in L2 (see `Tiered`).
        let enabled = self.l1.is_enabled();
        let (clock, l1_ttl) = self.l1.clock_and_ttl();
        let counters = Arc::new(Counters::default());
        let breaker = Breaker::new(clock.clone(), self.breaker.0, self.breaker.1);
        let l2 = Arc::new(L2::new(
            self.store,
            self.l2_timeout,
            breaker,
            counters.clone(),
            CacheName::new(self.l1.name()),
        ));
        let write_behind = (self.write_behind.filter(|_| enabled))
            .map(|capacity| WriteBehind::start(l2.clone(), capacity, self.l2_timeout));
        let store_ttl = l2.store.default_ttl();
        let inner = Inner {
            l1: self.l1,
            enabled,
            l2,
            layout: match &self.scope {
                Some(scope) => KeyLayout::scoped(scope, self.version),
                None => KeyLayout::new(self.version),
            },
            codec: self.codec,
            settings: Settings {
                // Ttl::Default is the store's default TTL when the tier has none: resolved
                // here, so that entry headers say when L2 drops them.
                l2_ttl: self.l2_ttl.or(store_ttl),
                l1_ttl,
                lease: self.lease.filter(|_| enabled),
                lease_poll: self.lease_poll,
            },
            write_behind,
            clock,
            counters,
            pending: Default::default(),
            generations: Default::default(),
            watch: Default::default(),
            written: Default::default(),
        };
        let inner = Arc::new(inner);
        if self.watch && enabled {
            super::watch::start(&inner);
        }
        Ok(Tiered { inner })
    }
}
