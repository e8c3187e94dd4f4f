//! What the macros' expansions call. Not a public API: it may change in any release.
//!
//! `#[cached]` writes calls to these functions and nothing else of larder, so that the
//! caching logic stays plain, tested Rust here (and in the load protocol it calls).

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;
use std::sync::Arc;

use crate::load::LoadOptions;
use crate::{LoadError, Ttl};

pub use crate::{Cache, CachedFn};
pub use std::borrow::{Borrow, ToOwned};
pub use std::boxed::Box;
pub use std::clone::Clone;
pub use std::option::Option;
pub use std::result::Result;

/// The `CachedFn` of a generated `static`.
pub const fn cached_fn(name: &'static str) -> CachedFn {
    CachedFn::new(name)
}

/// The generated cache of a function, built by `build` on its first call.
pub fn cache_of<K, V>(cached: &CachedFn, build: impl FnOnce() -> Cache<K, V>) -> &Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cached.get_or_init(build)
}

/// The generated cache of a function, if it was built (the function was called).
pub fn built_cache<K, V>(cached: &CachedFn) -> Option<&Cache<K, V>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    cached.get()
}

/// A cache hit (counting a hit or a miss).
pub fn hit<K, V, S, Q>(cache: &Cache<K, V, S>, key: &Q) -> Option<V>
where
    K: Hash + Eq + Borrow<Q>,
    V: Clone,
    S: BuildHasher,
    Q: Hash + Eq + ?Sized,
{
    cache.get(key)
}

/// Removes `key` from a cache that may not exist yet; whether it was there.
pub fn remove<K, V, S>(cache: Option<&Cache<K, V, S>>, key: K) -> bool
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    cache.is_some_and(|c| c.remove(&key).is_some())
}

/// Whether `key` is cached, in a cache that may not exist yet; no side effects.
pub fn contains<K, V, S>(cache: Option<&Cache<K, V, S>>, key: K) -> bool
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    cache.is_some_and(|c| c.contains_key(&key))
}

/// A builder with the macro's default capacity (async-lru's `maxsize=128`).
pub fn builder<K, V>() -> crate::CacheBuilder<K, V> {
    Cache::builder().max_capacity(128)
}

/// How a generated call loads: after its lookup missed (and counted the miss), or afresh
/// whatever is cached (the `<name>_refresh` companion: async-cache's `use_cache=False`).
fn options(base: LoadOptions, refresh: bool) -> LoadOptions {
    if refresh { base.refreshing() } else { base }
}

/// The value for `key`, loading it with `init` on a miss (a plain return type); with
/// `refresh`, loading it afresh anyway. Concurrent calls share one load.
pub async fn load_plain<K, V, S>(
    cache: &Cache<K, V, S>,
    key: K,
    refresh: bool,
    init: impl Future<Output = V>,
) -> V
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    let init = pin!(async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) });
    let options = options(LoadOptions::VALUE, refresh);
    match cache.load_path().load(key, options, init).await {
        Ok(Some(value)) => value,
        Ok(None) | Err(_) => unreachable!("a plain loader yields a value"),
    }
}

/// As [`load_plain`], for `Result<V, E>`: only `Ok` is cached; an error reaches every
/// caller of the load (cloned from the shared one).
pub async fn load_result<K, V, E, S>(
    cache: &Cache<K, V, S>,
    key: K,
    refresh: bool,
    init: impl Future<Output = Result<V, E>>,
) -> Result<V, E>
where
    K: Hash + Eq + Clone,
    V: Clone,
    E: Clone + Send + Sync + 'static,
    S: BuildHasher,
{
    let init = pin!(async { init.await.map(|v| Some((v, Ttl::Default))) });
    let options = options(LoadOptions::VALUE, refresh);
    match cache.load_path().load(key, options, init).await {
        Ok(Some(value)) => Ok(value),
        Err(LoadError::Loader(error)) => Err(Arc::unwrap_or_clone(error)),
        Ok(None) | Err(_) => unreachable!("a fallible loader yields a value or its error"),
    }
}

/// As [`load_plain`], for `Option<V>`: only `Some` is cached.
pub async fn load_option<K, V, S>(
    cache: &Cache<K, V, S>,
    key: K,
    refresh: bool,
    init: impl Future<Output = Option<V>>,
) -> Option<V>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    let init = pin!(async { Ok::<_, Infallible>(init.await.map(|v| (v, Ttl::Default))) });
    let options = options(LoadOptions::OPTIONAL, refresh);
    match cache.load_path().load(key, options, init).await {
        Ok(value) => value,
        Err(_) => unreachable!("an optional loader has no error"),
    }
}
