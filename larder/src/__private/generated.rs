//! The cache `#[cached]` builds itself when given no `cache = ..` nor `store = ..`: a
//! `static` [`CachedFn`], built on the first call, and the sync companions that use it
//! before it exists. And [`now`], which lets `#[invalidates]` on a function that is not
//! async call only sync companions.

use std::hash::{BuildHasher, Hash};

use crate::{Cache, CachedFn};

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

/// What a sync companion returns: done when the call returns. The companions of a function
/// with `cache = ..` or `store = ..` are async, and are not `Immediate`.
#[diagnostic::on_unimplemented(
    message = "#[invalidates] on a function that is not `async` cannot await this invalidation",
    label = "its #[cached] function has `cache = ..` or `store = ..`: its companions are async",
    note = "make this function `async`: #[invalidates] then awaits the invalidation"
)]
pub trait Immediate {}

impl Immediate for bool {}
impl Immediate for () {}

/// A sync companion's result, in `#[invalidates]` on a function that is not async: a compile
/// error for an async one, which would otherwise be dropped unawaited.
pub fn now<T: Immediate>(done: T) -> T {
    done
}
