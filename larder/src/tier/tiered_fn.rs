//! [`TieredFn`]: the tier behind a `#[larder::cached(store = ..)]` function.

use std::fmt;
use std::hash::Hash;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::TierKey;
use super::stats::TierStats;
use super::tiered::Tiered;
use crate::cached_fn::TypeSlots;

/// The [`Tiered`] cache behind a `#[larder::cached(store = ..)]` function, built on its
/// first call (or the first call of a companion). The macro gives each such function
/// `fn <name>_cache() -> &'static TieredFn` to reach it.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::store::MemoryStore;
/// use std::sync::LazyLock;
///
/// static STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("app"));
///
/// #[larder::cached(store = STORE.clone())]
/// async fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// assert_eq!(square_cache().name(), "square");
/// assert_eq!(square(4).await, 16); // loaded, written to both tiers
/// assert_eq!(square(4).await, 16); // an L1 hit
/// let stats = square_cache().stats();
/// assert_eq!((stats.l1_hits, stats.l2_misses, stats.l1.loads), (1, 1, 1));
/// # }
/// ```
pub struct TieredFn {
    name: &'static str,
    tiers: TypeSlots<dyn Erased>,
}

/// What a `TieredFn` needs of its tier without knowing its types.
trait Erased: Send + Sync {
    fn stats(&self) -> TierStats;
    fn clear(&self) -> BoxFuture<'_, ()>;
}

impl<K, V> Erased for Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    fn stats(&self) -> TierStats {
        Tiered::stats(self)
    }
    fn clear(&self) -> BoxFuture<'_, ()> {
        Box::pin(Tiered::clear(self))
    }
}

impl TieredFn {
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            tiers: TypeSlots::new(),
        }
    }

    /// The tier, built by `build` on first use.
    pub(crate) fn get_or_init<K, V>(&self, build: impl FnOnce() -> Tiered<K, V>) -> &Tiered<K, V>
    where
        K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        self.tiers
            .get_or_init(build, |tier| Box::new(tier.clone()) as Box<dyn Erased>)
    }

    /// Whether the tier was built (the function or a companion was called).
    pub(crate) fn is_built(&self) -> bool {
        self.tiers.is_built()
    }

    /// The function's name: its L1 cache's name, and its tier's
    /// [`scope`](super::TieredBuilder::scope) in the store, unless `name = ".."` set another.
    ///
    /// # Examples
    ///
    /// ```
    /// # use larder::store::MemoryStore;
    /// #[larder::cached(store = MemoryStore::new("app"), name = "answers")]
    /// async fn answer() -> u8 { 42 }
    /// assert_eq!(answer_cache().name(), "answers");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The tier's stats ([`Tiered::stats`]); all zero before the first call.
    ///
    /// # Examples
    ///
    /// ```
    /// # use larder::store::MemoryStore;
    /// #[larder::cached(store = MemoryStore::new("app"))]
    /// async fn answer() -> u8 { 42 }
    /// assert_eq!(answer_cache().stats().l1_hits, 0);
    /// ```
    pub fn stats(&self) -> TierStats {
        let mut stats = TierStats::zero();
        self.tiers.each(|t| stats.accumulate(&t.stats()));
        stats
    }

    /// Empties the tier, as [`Tiered::clear`] does (L1, and the store's namespace); nothing
    /// if it was not built yet. The companion `<name>_invalidate_all()` does the same, and
    /// builds the tier first, to clear what other processes stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use larder::store::MemoryStore;
    /// #[larder::cached(store = MemoryStore::new("app"))]
    /// async fn answer() -> u8 { 42 }
    /// answer().await;
    /// answer_cache().clear().await;
    /// assert!(!answer_contains().await);
    /// # }
    /// ```
    pub async fn clear(&self) {
        let mut clears = Vec::new();
        self.tiers.each(|t| clears.push(t.clear()));
        for clear in clears {
            clear.await;
        }
    }
}

impl fmt::Debug for TieredFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieredFn")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
