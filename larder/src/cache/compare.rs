//! Compare-and-swap writes for read-modify-writes over a cache (`MemoryStore`'s `add`,
//! `expire`, `increment`, and `release`'s compare-and-delete): each checks and writes under one hold of the key's shard lock, so
//! a concurrent `insert` or `remove` is never undone. Crate-internal.

use std::hash::{BuildHasher, Hash};

use super::handle::Cache;
use crate::Ttl;
use crate::equivalent::Equivalent;

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// Stores `value` only if `expected` accepts the key's live value (`None`: absent);
    /// whether it stored. With `keep_deadline` a live entry keeps its deadline, and `ttl`
    /// applies only to a new one. The weigher runs before the lock; `expected` under it.
    pub(crate) fn insert_if(
        &self,
        key: K,
        value: V,
        ttl: Ttl,
        keep_deadline: bool,
        expected: impl FnOnce(Option<&V>) -> bool,
    ) -> bool {
        let engine = &self.inner().engine;
        match engine.store_if(engine.prepare(key, value, ttl), keep_deadline, expected) {
            Ok(stored) => {
                stored.notify();
                true
            }
            Err(_refused) => false,
        }
    }

    /// Removes the live entry for `key` only if `expected` accepts its value (a
    /// compare-and-delete, under the key's shard lock); whether it removed it. Like
    /// `insert_if`, it leaves a load in flight for the key alone.
    pub(crate) fn remove_if<Q>(&self, key: &Q, expected: impl FnOnce(&V) -> bool) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner().engine.remove_if(key, expected)
    }

    /// Gives the live entry for `key` a new TTL in place (a zero TTL removes it); whether
    /// there was one.
    pub(crate) fn retime<Q>(&self, key: &Q, ttl: Ttl) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner().engine.retime(key, ttl)
    }
}
