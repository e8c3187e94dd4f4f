//! [`CachedFn`]: the cache behind a `#[larder::cached]` function. What the generated code
//! calls is in `__private`.

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
    caches: TypeSlots<dyn Erased>,
}

/// One value per type, built on first use, each also held as an `E` for the operations that
/// need no types: the caches (or tiers) of one `#[cached]` function. A non-generic function
/// has one; a method of a generic `impl<T>` block one per `T`.
pub(crate) struct TypeSlots<E: ?Sized + 'static> {
    /// The value of the first type the function was called with: every call of a
    /// non-generic function.
    first: OnceLock<Slot<E>>,
    /// Values of other types. Rare, so a lock is fine here; the slots are leaked, as a
    /// `static` would hold them anyway.
    // A process-global registry outside any cache's concurrency (like `thread_slot.rs`).
    #[allow(clippy::disallowed_types)]
    others: std::sync::Mutex<Vec<&'static Slot<E>>>,
}

/// Two handles on one value (a `Cache` is an `Arc`): one to downcast on every call (a single
/// virtual call), one for the type-free operations.
struct Slot<E: ?Sized> {
    typed: Box<dyn Any + Send + Sync>,
    erased: Box<E>,
}

impl<E: ?Sized + 'static> TypeSlots<E> {
    #[allow(clippy::disallowed_types)] // see `others`
    pub(crate) const fn new() -> Self {
        Self {
            first: OnceLock::new(),
            others: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The value of type `T`, built by `build` on first use; `erase` gives its type-free
    /// handle.
    pub(crate) fn get_or_init<T: Any + Send + Sync>(
        &self,
        build: impl FnOnce() -> T,
        erase: fn(&T) -> Box<E>,
    ) -> &T {
        let slot = |value: T| Slot {
            erased: erase(&value),
            typed: Box::new(value),
        };
        let mut build = Some(build);
        let first = self.first.get_or_init(|| match build.take() {
            Some(build) => slot(build()),
            None => unreachable!("get_or_init runs its initialiser once"),
        });
        if let Some(value) = first.typed.downcast_ref() {
            return value;
        }
        // Another instantiation's value came first.
        let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = others.iter().find_map(|s| s.typed.downcast_ref()) {
            return value;
        }
        let Some(build) = build else {
            unreachable!("the first value has another type, so this call did not build it")
        };
        let leaked: &'static Slot<E> = Box::leak(Box::new(slot(build())));
        others.push(leaked);
        match leaked.typed.downcast_ref() {
            Some(value) => value,
            None => unreachable!("just built with this type"),
        }
    }

    /// The value of type `T`, if it was built.
    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        let first = self.first.get()?;
        if let Some(value) = first.typed.downcast_ref() {
            return Some(value);
        }
        let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        others.iter().find_map(|s| s.typed.downcast_ref())
    }

    /// Whether any value was built.
    #[cfg(feature = "tier")]
    pub(crate) fn is_built(&self) -> bool {
        self.first.get().is_some()
    }

    /// Runs `f` on every value built.
    pub(crate) fn each<'a>(&'a self, mut f: impl FnMut(&'a E)) {
        if let Some(first) = self.first.get() {
            f(&*first.erased);
            let others = self.others.lock().unwrap_or_else(|e| e.into_inner());
            for slot in others.iter().copied() {
                f(&*slot.erased);
            }
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
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            caches: TypeSlots::new(),
        }
    }

    /// The cache, built by `build` on first use.
    pub(crate) fn get_or_init<K, V>(&self, build: impl FnOnce() -> Cache<K, V>) -> &Cache<K, V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.caches
            .get_or_init(build, |cache| Box::new(cache.clone()) as Box<dyn Erased>)
    }

    /// The cache, if it was built (the function was called).
    pub(crate) fn get<K, V>(&self) -> Option<&Cache<K, V>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.caches.get()
    }

    fn each(&self, f: impl FnMut(&(dyn Erased + 'static))) {
        self.caches.each(f);
    }

    /// The function's name, which is also its caches' name in stats and in `larder::metrics`.
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
