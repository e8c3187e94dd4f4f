//! [`AnyStore`]'s [`Store`] implementation: every method, defaults included, handed to the
//! store inside, so that each backend's own `watch`, `lease`, `release` and `store_stats` are
//! the ones run.

use std::time::Duration;

use super::store::AnyStore;
use crate::Ttl;
use crate::error::Error;
use crate::store::{InvalidationSink, LeaseToken, Store, StoreStats, Watch};

/// `$call` on the store inside `$any`, bound as `$s`. Only a dispatch in method bodies: it
/// declares nothing.
macro_rules! on_inner {
    ($any:expr, $s:ident => $call:expr) => {
        match $any {
            AnyStore::Memory($s) => $call,
            #[cfg(feature = "redis")]
            AnyStore::Redis($s) => $call,
            #[cfg(feature = "memcached")]
            AnyStore::Memcached($s) => $call,
            #[cfg(feature = "disk")]
            AnyStore::Disk($s) => $call,
        }
    };
}

impl Store for AnyStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        on_inner!(self, s => s.get(key).await)
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        on_inner!(self, s => s.get_many(keys).await)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        on_inner!(self, s => s.set(key, value, ttl).await)
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        on_inner!(self, s => s.set_many(entries, ttl).await)
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        on_inner!(self, s => s.add(key, value, ttl).await)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        on_inner!(self, s => s.delete(key).await)
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        on_inner!(self, s => s.exists(key).await)
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        on_inner!(self, s => s.expire(key, ttl).await)
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        on_inner!(self, s => s.increment(key, by).await)
    }

    async fn clear(&self) -> Result<(), Error> {
        on_inner!(self, s => s.clear().await)
    }

    async fn watch(&self, prefix: &str, sink: InvalidationSink) -> Result<Option<Watch>, Error> {
        on_inner!(self, s => s.watch(prefix, sink).await)
    }

    fn default_ttl(&self) -> Option<Duration> {
        on_inner!(self, s => s.default_ttl())
    }

    fn store_stats(&self) -> Option<StoreStats> {
        on_inner!(self, s => s.store_stats())
    }

    async fn close(&self) -> Result<(), Error> {
        on_inner!(self, s => s.close().await)
    }

    async fn lease(&self, key: &str, ttl: Duration) -> Result<Option<LeaseToken>, Error> {
        on_inner!(self, s => s.lease(key, ttl).await)
    }

    async fn release(&self, key: &str, token: &LeaseToken) -> Result<bool, Error> {
        on_inner!(self, s => s.release(key, token).await)
    }
}
