//! [`CachedFn`]: the cache behind a `#[larder::cached]` function. What the generated code
//! calls is in `__private.rs`.

use std::any::Any;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

use crate::{Cache, Stats};

/// The cache behind a `#[larder::cached]` function, created on its first call. The macro
/// gives each cached function `fn <name>_cache() -> &'static CachedFn` to reach it.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// #[larder::cached(max_capacity = 100)]
/// async fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// assert_eq!(square_cache().len(), 0);
/// assert_eq!(square(4).await, 16);
/// assert_eq!(square(4).await, 16); // a hit
/// assert_eq!(square_cache().stats().hits, 1);
/// square_cache().clear();
/// assert!(square_cache().is_empty());
/// # }
/// ```
pub struct CachedFn {
    name: &'static str,
    /// The cache of the first key and value types the function was called with: every
    /// call of a non-generic function.
    cache: OnceLock<Handles>,
    /// Caches for other types: a method of a generic `impl<T>` block has one per `T`. Rare,
    /// so a lock is fine here; the handles are leaked, as a `static` would hold them anyway.
    // A process-global registry outside any cache's concurrency (like `thread_slot.rs`).
    #[allow(clippy::disallowed_types)]
    others: std::sync::Mutex<Vec<&'static Handles>>,
}

/// Two handles on one cache (a `Cache` is an `Arc`): one to downcast on every call (a single
/// virtual call), one for the type-free operations.
struct Handles {
    typed: Box<dyn Any + Send + Sync>,
    erased: Box<dyn Erased>,
}

impl Handles {
    fn new<K, V>(cache: Cache<K, V>) -> Self
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        Self {
            erased: Box::new(cache.clone()),
            typed: Box::new(cache),
        }
    }
}

/// What a `CachedFn` needs of its cache without knowing its types.
trait Erased: Send + Sync {
    fn stats(&self) -> Stats;
    fn reset_stats(&self);
    fn clear(&self);
    fn len(&self) -> usize;
}

impl<K, V, S> Erased for Cache<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    fn stats(&self) -> Stats {
        Cache::stats(self)
    }
    fn reset_stats(&self) {
        Cache::reset_stats(self);
    }
    fn clear(&self) {
        Cache::clear(self);
    }
    fn len(&self) -> usize {
        Cache::len(self)
    }
}

impl CachedFn {
    #[allow(clippy::disallowed_types)] // see `others`
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            cache: OnceLock::new(),
            others: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The cache, built by `build` on first use.
    pub(crate) fn get_or_init<K, V>(&self, build: impl FnOnce() -> Cache<K, V>) -> &Cache<K, V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let mut build = Some(build);
        let first = self.cache.get_or_init(|| match build.take() {
            Some(build) => Handles::new(build()),
            None => unreachable!("get_or_init runs its initialiser once"),
        });
        if let Some(cache) = first.typed.downcast_ref() {
            return cache;
        }
        // Another instantiation's cache came first.
        let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cache) = others.iter().find_map(|h| h.typed.downcast_ref()) {
            return cache;
        }
        let Some(build) = build else {
            unreachable!("the first cache has another type, so this call did not build it")
        };
        let handles: &'static Handles = Box::leak(Box::new(Handles::new(build())));
        others.push(handles);
        match handles.typed.downcast_ref() {
            Some(cache) => cache,
            None => unreachable!("just built with these types"),
        }
    }

    /// The cache, if it was built (the function was called).
    pub(crate) fn get<K, V>(&self) -> Option<&Cache<K, V>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.downcast()
    }

    fn downcast<K, V>(&self) -> Option<&Cache<K, V>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let first = self.cache.get()?;
        if let Some(cache) = first.typed.downcast_ref() {
            return Some(cache);
        }
        let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        others.iter().find_map(|h| h.typed.downcast_ref())
    }

    /// Runs `f` on every cache built.
    fn each(&self, mut f: impl FnMut(&dyn Erased)) {
        if let Some(first) = self.cache.get() {
            f(&*first.erased);
            let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
            others.iter().for_each(|h| f(&*h.erased));
        }
    }

    /// The function's name, which is also the cache's name in stats, and later in metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// assert_eq!(answer_cache().name(), "answer");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The cache's stats; all zero before the first call.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// assert_eq!(answer_cache().stats().misses, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        self.each(|c| stats.accumulate(&c.stats()));
        stats
    }

    /// Zeroes the stats' counters.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// answer_cache().reset_stats();
    /// ```
    pub fn reset_stats(&self) {
        self.each(|c| c.reset_stats());
    }

    /// Empties the cache.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// answer_cache().clear();
    /// ```
    pub fn clear(&self) {
        self.each(|c| c.clear());
    }

    /// Live entries.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// assert_eq!(answer_cache().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        let mut len = 0;
        self.each(|c| len += c.len());
        len
    }

    /// Whether no entry is live.
    ///
    /// # Examples
    ///
    /// ```
    /// #[larder::cached]
    /// async fn answer() -> u8 { 42 }
    /// assert!(answer_cache().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for CachedFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedFn")
            .field("name", &self.name)
            .field("len", &self.len())
            .finish()
    }
}
