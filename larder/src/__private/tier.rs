//! `Tiered` as a `#[cached]` function's cache (passed as `cache = ..`), and the tier
//! `#[cached(store = ..)]` builds over a user's store: a `static` [`TieredFn`], built on the
//! first call of the function or of a companion.

use std::future::Future;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::backing::{Backing, Load};
use crate::store::Store;
use crate::tier::{TierKey, Tiered, TieredBuilder};
use crate::{Cache, Equivalent, LoadError, Ttl};

pub use crate::tier::TieredFn;

impl<K, V> Backing for Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Key = K;
    type Value = V;

    #[inline]
    fn lookup<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.l1_get(key)
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
        self.load_borrowing(key, how.options(), how.refresh(), init)
            .await
    }

    async fn remove(&self, key: K) -> bool {
        Tiered::remove(self, &key).await.is_some()
    }

    async fn clear(&self) {
        Tiered::clear(self).await;
    }

    async fn contains(&self, key: K) -> bool {
        self.contains_key(&key).await
    }

    async fn insert(&self, key: K, value: V) {
        Tiered::insert(self, key, value).await;
    }
}

/// The `TieredFn` of a generated `static`.
pub const fn tiered_fn(name: &'static str) -> TieredFn {
    TieredFn::new(name)
}

/// The tier of a `store = ..` function, built by `build` on first use.
pub fn tier_of<K, V>(tiered: &TieredFn, build: impl FnOnce() -> Tiered<K, V>) -> &Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    tiered.get_or_init(build)
}

/// The builder of a `store = ..` function's tier: `l1` over `store`, its keys under `scope`
/// (the function's name).
pub fn tier_builder<K, V>(l1: Cache<K, V>, store: impl Store, scope: &str) -> TieredBuilder<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    Tiered::builder(l1, store).scope(scope)
}

/// Clears a `store = ..` function's tier, as `Tiered::clear` does; before the tier is built,
/// clears the store itself, for what other processes stored there (a failure, as in
/// `Tiered::clear`, is not the caller's error). `invalidate_all` names no key, so it could
/// not build a tier of the function's key type.
pub async fn clear_tier<S: Store>(tiered: &TieredFn, store: impl FnOnce() -> S) {
    if tiered.is_built() {
        tiered.clear().await;
    } else {
        let _ = store().clear().await;
    }
}
