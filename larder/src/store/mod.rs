//! Stores: byte-level, async, TTL-aware key-value backends, the L2 of a tiered cache.
//!
//! The [`Store`] trait has one implementation per backend. [`MemoryStore`] runs on larder's
//! own engine, with no server. The others are each behind their feature: `RedisStore` uses a
//! Redis server or cluster, `MemcachedStore` uses Memcached, and `DiskStore` keeps a file
//! with redb. The stores that do I/O share a timeout, a default TTL and a closed flag, and
//! the remote stores gather concurrent single gets into multi-key reads. `TypedStore` puts
//! serde values on top of any store, through a codec from the `codec` module. Keys are
//! strings, and a store puts its namespace in front of them; values are bytes.
//!
//! A store may also be watched for writes made by anyone else ([`Store::watch`]): `RedisStore`
//! reports them through Redis's server-assisted client-side caching, so that copies kept in
//! process memory (an L1) can be dropped; the others cannot watch.

mod closed;
#[cfg(any(feature = "redis", feature = "memcached"))]
mod coalesce;
#[cfg(feature = "disk")]
mod disk;
#[cfg(feature = "memcached")]
mod memcached;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "redis", feature = "memcached", feature = "disk"))]
mod remote;
#[cfg(feature = "codec")]
mod typed;
mod watch;

#[cfg(feature = "disk")]
pub use disk::{DiskStats, DiskStore, DiskStoreBuilder};
#[cfg(feature = "memcached")]
pub use memcached::MemcachedStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "codec")]
pub use typed::TypedStore;
pub use watch::{Invalidation, InvalidationSink, Watch};

use std::future::Future;

use crate::{Error, Ttl};

/// A byte-level key-value store with TTLs: the same API over memory, Redis, Memcached and
/// disk. Keys are the caller's, and a store adds its namespace; values are opaque bytes.
///
/// Every operation fails with an [`Error`] of kind `Backend`, `Timeout`, `Codec`, `Config` or
/// `Closed`, never a panic. `Config` means a setting or call the store cannot serve, such as
/// a disk, Redis or Memcached store used outside a tokio runtime.
///
/// # Timeouts
///
/// Every operation of a store that does I/O gives up with
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after 5 s by default. Each such store
/// has `with_timeout(Option<Duration>)`, where `None` means no timeout. It returns a handle
/// sharing the store's connections or file, and sets the timeout for the store, or for one
/// call: `store.with_timeout(Some(d)).get(key)`. [`MemoryStore`] does no I/O and has no
/// timeout.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{MemoryStore, Store};
///
/// let store = MemoryStore::new("sessions");
/// store.set("s1", b"alice", Ttl::Never).await?;
/// assert_eq!(store.get("s1").await?.as_deref(), Some(&b"alice"[..]));
/// assert!(!store.add("s1", b"bob", Ttl::Never).await?); // present: not stored
/// assert_eq!(store.increment("visits", 2).await?, 2);
/// # Ok(()) }
/// ```
pub trait Store: Send + Sync + 'static {
    /// The value of `key`, if present and not expired.
    ///
    /// # Errors
    ///
    /// The store's failure, as the trait's docs describe.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, Error>> + Send;

    /// The values of `keys`, in their order.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn get_many(
        &self,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, Error>> + Send;

    /// Stores `value` under `key` for `ttl`; `Ttl::Default` means the store's default TTL.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Ttl,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Stores every `(key, value)` for `ttl`.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn set_many(
        &self,
        entries: &[(&str, &[u8])],
        ttl: Ttl,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Stores `value` only if `key` is absent; whether it stored.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn add(
        &self,
        key: &str,
        value: &[u8],
        ttl: Ttl,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Removes `key`; whether it was there.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn delete(&self, key: &str) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Whether `key` is present and not expired.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Gives `key` a new TTL, and returns whether it was there. `Ttl::Never` persists it.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn expire(&self, key: &str, ttl: Ttl) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Adds `by` to the integer counter at `key`, and returns the new value. A missing key
    /// counts from 0.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) when the value is not an integer in
    /// decimal ASCII, the form Redis and Memcached keep counters in, or when it would
    /// overflow; else the store's failure.
    fn increment(&self, key: &str, by: i64) -> impl Future<Output = Result<i64, Error>> + Send;

    /// Removes every key of this store's namespace, and nothing else.
    ///
    /// # Errors
    ///
    /// The store's failure.
    fn clear(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Watches this store's keys that start with `prefix` (after the namespace, as every key
    /// this store's methods take), and reports every write, delete, expiry or eviction of
    /// one, by any client, to `sink`, as long as the returned [`Watch`] is kept. `Ok(None)`
    /// when this store cannot watch: then nothing tells this process of other processes'
    /// writes, and a copy of a value kept in memory is stale for as long as it is kept (an
    /// L1 over such a store is bounded only by its own TTL).
    ///
    /// Which stores watch, and how: `RedisStore` does (its docs say how soon), through
    /// Redis's server-assisted client-side caching (`CLIENT TRACKING` in broadcast mode for
    /// the namespace and prefix), on connections of its own. [`MemoryStore`] (one process's
    /// own map: nobody else writes to it), `MemcachedStore` (Memcached has nothing to report
    /// writes with) and `DiskStore` return `None`: this default.
    ///
    /// What a watch reports, and what it promises while connected or not, is on
    /// [`Invalidation`] and [`Watch`]; the store's docs say how soon.
    ///
    /// # Errors
    ///
    /// A store that watches fails as its docs say: when the store was closed
    /// ([`ErrorKind::Closed`](crate::ErrorKind::Closed)), or when the watch cannot be set up
    /// on every server it needs. The default never fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use std::sync::Arc;
    /// use larder::store::{MemoryStore, Store};
    ///
    /// let store = MemoryStore::new("users");
    /// let watch = store.watch("v1:", Arc::new(|_| {})).await?;
    /// assert!(watch.is_none(), "a store in this process's memory has nobody to watch");
    /// # Ok(()) }
    /// ```
    fn watch(
        &self,
        prefix: &str,
        sink: InvalidationSink,
    ) -> impl Future<Output = Result<Option<Watch>, Error>> + Send {
        let _ = (prefix, sink);
        std::future::ready(Ok(None))
    }

    /// Closes the store: later operations fail with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed). Closing twice is harmless.
    ///
    /// # Errors
    ///
    /// The store's failure while closing.
    fn close(&self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// An integer counter's value as stored: decimal ASCII.
pub(crate) fn parse_counter(bytes: &[u8]) -> Result<i64, Error> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Codec,
                "the value is not an integer counter (decimal ASCII)",
            )
        })
}
