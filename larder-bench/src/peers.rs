//! The caches under test behind one small trait, [`Bench`]: one impl per peer and one
//! (parameterised by policy) for larder. Every cache is built with its own defaults (hasher,
//! shard count) and a `u64 -> u64` map, so each is measured as a user gets it out of the box.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::OnceLock;

use larder::Policy;
use mini_moka::sync::ConcurrentCacheExt;

/// One cache under test, keyed and valued by `u64`.
pub(crate) trait Bench: Sync + Sized {
    /// A fresh cache of `kind` holding at most `capacity` entries.
    fn build(kind: Kind, capacity: u64) -> Self;
    /// The cache's label in tables.
    fn name(&self) -> &'static str;
    /// A lookup that counts as a use of the entry, as each cache's ordinary `get` does.
    fn get(&self, key: u64) -> Option<u64>;
    /// Stores `value` under `key`, evicting as the cache's policy decides.
    fn insert(&self, key: u64, value: u64);
    /// Brings lazy caches (moka, mini-moka) up to date: applies buffered reads and writes and
    /// evicts down to capacity. A no-op for the others.
    fn maintain(&self) {}
    /// Entries held now (after [`maintain`](Self::maintain) for the lazy caches). Used by the
    /// `memory` scenario, which only the `count-alloc` feature builds.
    #[cfg_attr(not(feature = "count-alloc"), allow(dead_code))]
    fn len(&self) -> u64;
}

/// Which cache: a larder policy or a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `larder::Cache` with the given policy.
    Larder(Policy),
    /// `moka::sync::Cache` 0.12 (TinyLFU admission, LRU eviction).
    Moka,
    /// `quick_cache::sync::Cache` 0.7 (its own S3-FIFO variant).
    QuickCache,
    /// `mini_moka::sync::Cache` 0.10.
    MiniMoka,
    /// `parking_lot::Mutex<lru::LruCache>`: the plain baseline.
    Lru,
}

impl Kind {
    /// larder's two main policies and every peer: the columns of the throughput and memory
    /// scenarios.
    pub(crate) const HEAD_TO_HEAD: [Kind; 6] = [
        Kind::S3FIFO,
        Kind::LARDER_LRU,
        Kind::Moka,
        Kind::QuickCache,
        Kind::MiniMoka,
        Kind::Lru,
    ];

    /// larder's default policy.
    pub(crate) const S3FIFO: Self = Self::Larder(Policy::S3Fifo);
    /// larder's LRU.
    pub(crate) const LARDER_LRU: Self = Self::Larder(Policy::Lru);
    /// The four larder policies, default first.
    pub(crate) const LARDER_ALL: [Self; 4] = [
        Self::S3FIFO,
        Self::LARDER_LRU,
        Self::Larder(Policy::Lfu),
        Self::Larder(Policy::Fifo),
    ];
    /// The peers, in table order.
    pub(crate) const PEERS: [Self; 4] = [Self::Moka, Self::QuickCache, Self::MiniMoka, Self::Lru];

    /// The label used in tables.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Larder(Policy::S3Fifo) => "larder S3-FIFO",
            Self::Larder(Policy::Lru) => "larder LRU",
            Self::Larder(Policy::Lfu) => "larder LFU",
            Self::Larder(Policy::Fifo) => "larder FIFO",
            Self::Larder(_) => "larder (other)",
            Self::Moka => "moka",
            Self::QuickCache => "quick_cache",
            Self::MiniMoka => "mini-moka",
            Self::Lru => "Mutex<lru>",
        }
    }
}

/// A measurement generic over the cache type, so each cache's calls are monomorphised (no
/// dynamic dispatch in the timed loops).
pub(crate) trait Visit {
    /// What the measurement returns.
    type Output;
    /// Runs the measurement on caches of type `B`, built with `B::build(kind, ..)`.
    fn visit<B: Bench>(self, kind: Kind) -> Self::Output;
}

/// Runs `visit` with the concrete cache type for `kind`.
pub(crate) fn dispatch<V: Visit>(kind: Kind, visit: V) -> V::Output {
    match kind {
        Kind::Larder(_) => visit.visit::<LarderBench>(kind),
        Kind::Moka => visit.visit::<MokaBench>(kind),
        Kind::QuickCache => visit.visit::<QuickBench>(kind),
        Kind::MiniMoka => visit.visit::<MiniMokaBench>(kind),
        Kind::Lru => visit.visit::<LruBench>(kind),
    }
}

/// The seed of larder's hasher, when `--seed` fixes it: a replay then repeats exactly, instead
/// of moving by a few tenths of a point with the layout a random seed gives.
static SEED: OnceLock<u64> = OnceLock::new();

/// Fixes the seed of every larder cache built from now on.
pub(crate) fn fix_seed(seed: u64) {
    let _ = SEED.set(seed);
}

/// larder's default hash function (foldhash), seeded by `--seed` or else at random per cache,
/// as `larder::DefaultHashBuilder` seeds it.
fn larder_hasher() -> foldhash::fast::FixedState {
    let seed = match SEED.get() {
        Some(&seed) => seed,
        None => std::hash::RandomState::new().hash_one(0u8),
    };
    foldhash::fast::FixedState::with_seed(seed)
}

/// `larder::Cache<u64, u64>` with one policy.
pub(crate) struct LarderBench {
    cache: larder::Cache<u64, u64, foldhash::fast::FixedState>,
    kind: Kind,
}

impl Bench for LarderBench {
    fn build(kind: Kind, capacity: u64) -> Self {
        let policy = match kind {
            Kind::Larder(policy) => policy,
            _ => Policy::default(),
        };
        let cache = larder::Cache::builder()
            .max_capacity(capacity)
            .policy(policy)
            .hasher(larder_hasher())
            .build();
        Self { cache, kind }
    }
    fn name(&self) -> &'static str {
        self.kind.name()
    }
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.cache.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.cache.insert(key, value);
    }
    fn len(&self) -> u64 {
        self.cache.len() as u64
    }
}

/// `moka::sync::Cache<u64, u64>`.
pub(crate) struct MokaBench(moka::sync::Cache<u64, u64>);

impl Bench for MokaBench {
    fn build(_: Kind, capacity: u64) -> Self {
        Self(moka::sync::Cache::new(capacity))
    }
    fn name(&self) -> &'static str {
        Kind::Moka.name()
    }
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn maintain(&self) {
        self.0.run_pending_tasks();
    }
    fn len(&self) -> u64 {
        self.0.run_pending_tasks();
        self.0.entry_count()
    }
}

/// `quick_cache::sync::Cache<u64, u64>`.
pub(crate) struct QuickBench(quick_cache::sync::Cache<u64, u64>);

impl Bench for QuickBench {
    fn build(_: Kind, capacity: u64) -> Self {
        Self(quick_cache::sync::Cache::new(to_usize(capacity)))
    }
    fn name(&self) -> &'static str {
        Kind::QuickCache.name()
    }
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// `mini_moka::sync::Cache<u64, u64>`.
pub(crate) struct MiniMokaBench(mini_moka::sync::Cache<u64, u64>);

impl Bench for MiniMokaBench {
    fn build(_: Kind, capacity: u64) -> Self {
        Self(mini_moka::sync::Cache::new(capacity))
    }
    fn name(&self) -> &'static str {
        Kind::MiniMoka.name()
    }
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key)
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
    fn maintain(&self) {
        self.0.sync();
    }
    fn len(&self) -> u64 {
        self.0.sync();
        self.0.entry_count()
    }
}

/// The baseline: one `lru::LruCache` behind one lock. The workspace's clippy.toml bans
/// `parking_lot::Mutex` so that larder takes its locks from its shuttle shim; this crate is
/// never shuttle-checked and the lock here is the point of the baseline.
#[allow(clippy::disallowed_types)]
pub(crate) struct LruBench(parking_lot::Mutex<lru::LruCache<u64, u64>>);

#[allow(clippy::disallowed_types)]
impl Bench for LruBench {
    fn build(_: Kind, capacity: u64) -> Self {
        let capacity = NonZeroUsize::new(to_usize(capacity)).unwrap_or(NonZeroUsize::MIN);
        Self(parking_lot::Mutex::new(lru::LruCache::new(capacity)))
    }
    fn name(&self) -> &'static str {
        Kind::Lru.name()
    }
    #[inline]
    fn get(&self, key: u64) -> Option<u64> {
        self.0.lock().get(&key).copied()
    }
    #[inline]
    fn insert(&self, key: u64, value: u64) {
        self.0.lock().put(key, value);
    }
    fn len(&self) -> u64 {
        self.0.lock().len() as u64
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
