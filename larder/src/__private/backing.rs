//! [`Backing`]: what a `#[cached]` function needs of its cache, so that one expansion serves
//! a generated `Cache`, a `Cache` the user passes and a `Tiered` (passed, or built over a
//! store), without the macro knowing which it got. Then the loads of the three return shapes.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;
use std::sync::Arc;

use crate::load::LoadOptions;
use crate::{Cache, Equivalent, LoadError, Ttl};

/// How one generated call loads: its kind of call, and whether afresh (the `<name>_refresh`
/// companion, async-cache's `use_cache=False`) or after its lookup missed.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    options: LoadOptions,
    refresh: bool,
}

impl Load {
    fn new(options: LoadOptions, refresh: bool) -> Self {
        Self { options, refresh }
    }

    /// The options of the load protocol: `refreshing` when afresh.
    pub(crate) fn options(self) -> LoadOptions {
        if self.refresh {
            self.options.refreshing()
        } else {
            self.options
        }
    }

    /// Whether the load skips what is cached (a tier then skips L2 too).
    #[cfg(feature = "tier")]
    pub(crate) fn refresh(self) -> bool {
        self.refresh
    }
}

/// A cache a `#[cached]` function can use: [`Cache`], and [`Tiered`](crate::tier::Tiered)
/// with the `tier` feature. Lookups are sync (a tier's is its L1's); loads and the
/// companions' operations are async (a cache's are ready at once), so that one expansion
/// fits both.
///
/// `cache = EXPR` binds `EXPR` by reference and calls [`as_larder_cache`] on it as a method,
/// so that a `LazyLock`, an `Arc` or a reference reaches the cache inside by auto-deref.
///
/// [`as_larder_cache`]: Backing::as_larder_cache
pub trait Backing {
    /// The key type.
    type Key;
    /// The value type.
    type Value;

    /// Itself: called as a method, it auto-derefs the expression of `cache = ..` to the
    /// cache it holds. "No method named `as_larder_cache`" means that expression is neither
    /// a `Cache` nor a `Tiered`.
    fn as_larder_cache(&self) -> &Self {
        self
    }

    /// The cached value of `key`, counted as a hit or a miss (a tier looks at L1 only).
    /// `key` is the owned key or a borrowed form of it (a `&str` for a `String`, a
    /// [`KeyRef`](crate::KeyRef) of the arguments for a tuple), which builds nothing.
    fn lookup<Q>(&self, key: &Q) -> Option<Self::Value>
    where
        Q: Hash + Equivalent<Self::Key> + ?Sized;

    /// Loads `key` with `init` (for a tier: L2 first, unless afresh), shared by concurrent
    /// calls; the caller looked the key up already.
    fn load<E>(
        &self,
        key: Self::Key,
        how: Load,
        init: impl Future<Output = Result<Option<(Self::Value, Ttl)>, E>>,
    ) -> impl Future<Output = Result<Option<Self::Value>, LoadError<E>>>
    where
        E: Send + Sync + 'static;

    /// Removes `key` (from both tiers); whether there was a value (in L1, for a tier).
    fn remove(&self, key: Self::Key) -> impl Future<Output = bool>;

    /// Removes every entry (a tier clears its store's namespace).
    fn clear(&self) -> impl Future<Output = ()>;

    /// Whether `key` is cached (in either tier), without side effects.
    fn contains(&self, key: Self::Key) -> impl Future<Output = bool>;

    /// Stores `value` for `key` (in both tiers).
    fn insert(&self, key: Self::Key, value: Self::Value) -> impl Future<Output = ()>;
}

impl<K, V, S> Backing for Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    type Key = K;
    type Value = V;

    #[inline]
    fn lookup<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.get(key)
    }

    async fn load<E>(
        &self,
        key: K,
        how: Load,
        init: impl Future<Output = Result<Option<(V, Ttl)>, E>>,
    ) -> Result<Option<V>, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        self.load_path().load(key, how.options(), pin!(init)).await
    }

    async fn remove(&self, key: K) -> bool {
        Cache::remove(self, &key).is_some()
    }

    async fn clear(&self) {
        Cache::clear(self);
    }

    async fn contains(&self, key: K) -> bool {
        self.contains_key(&key)
    }

    async fn insert(&self, key: K, value: V) {
        Cache::insert(self, key, value);
    }
}

/// A lookup (counting a hit or a miss), by the owned key or a borrowed form of it: the
/// expansion passes a single argument as itself and two or three as a [`KeyRef`](crate::KeyRef)
/// of them, so a hit builds no owned key.
#[inline]
pub fn hit<C, Q>(cache: &C, key: &Q) -> Option<C::Value>
where
    C: Backing,
    Q: Hash + Equivalent<C::Key> + ?Sized,
{
    cache.lookup(key)
}

/// The value for `key`, loading it with `init` on a miss (a plain return type); with
/// `refresh`, loading it afresh anyway. Concurrent calls share one load.
pub async fn load_plain<C: Backing>(
    cache: &C,
    key: C::Key,
    refresh: bool,
    init: impl Future<Output = C::Value>,
) -> C::Value {
    let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
    let how = Load::new(LoadOptions::VALUE, refresh);
    match cache.load(key, how, init).await {
        Ok(Some(value)) => value,
        Ok(None) | Err(_) => unreachable!("a plain loader yields a value"),
    }
}

/// As [`load_plain`], for `Result<V, E>`: only `Ok` is cached; an error reaches every
/// caller of the load (cloned from the shared one).
pub async fn load_result<C: Backing, E>(
    cache: &C,
    key: C::Key,
    refresh: bool,
    init: impl Future<Output = Result<C::Value, E>>,
) -> Result<C::Value, E>
where
    E: Clone + Send + Sync + 'static,
{
    let init = async { init.await.map(|v| Some((v, Ttl::Default))) };
    let how = Load::new(LoadOptions::VALUE, refresh);
    match cache.load(key, how, init).await {
        Ok(Some(value)) => Ok(value),
        Err(LoadError::Loader(error)) => Err(Arc::unwrap_or_clone(error)),
        Ok(None) | Err(_) => unreachable!("a fallible loader yields a value or its error"),
    }
}

/// As [`load_plain`], for `Option<V>`: only `Some` is cached.
pub async fn load_option<C: Backing>(
    cache: &C,
    key: C::Key,
    refresh: bool,
    init: impl Future<Output = Option<C::Value>>,
) -> Option<C::Value> {
    let init = async { Ok::<_, Infallible>(init.await.map(|v| (v, Ttl::Default))) };
    let how = Load::new(LoadOptions::OPTIONAL, refresh);
    match cache.load(key, how, init).await {
        Ok(value) => value,
        Err(_) => unreachable!("an optional loader has no error"),
    }
}
