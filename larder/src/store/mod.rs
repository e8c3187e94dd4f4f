//! Stores: byte-level, async, TTL-aware key-value backends, the L2 of a tiered cache.
//!
//! The [`Store`] trait has one implementation per backend. [`MemoryStore`] runs on larder's
//! own engine, with no server. The others are each behind their feature: `RedisStore` uses a
//! Redis server or cluster, `MemcachedStore` uses Memcached, and `DiskStore` keeps a file
//! with redb. The stores that do I/O share a timeout, a default TTL and a closed flag, and
//! the remote stores gather concurrent single gets into multi-key reads. `TypedStore` puts
//! serde values on top of any store, through a codec from the `codec` module. Keys are
//! strings, and a store puts its namespace in front of them; values are bytes. Every store
//! can also hold leases ([`Store::lease`], [`LeaseToken`]): a key that one caller takes for a
//! while, so that only it does some work, and that only it can give back.
//!
//! [`from_url`] picks, connects and sets up a store from one URL (`redis://host/?namespace=users`),
//! as one type over every backend, [`AnyStore`].
//!
//! A store may also be watched for writes made by anyone else ([`Store::watch`]): `RedisStore`
//! reports them through Redis's server-assisted client-side caching, so that copies kept in
//! process memory (an L1) can be dropped; the others cannot watch.
//!
//! Every store of larder's counts its operations ([`Store::store_stats`], [`StoreStats`]: keys
//! read and found, keys written, deletes, errors, timeouts and latencies), through one
//! instrumentation layer, `meter.rs`, which with the `tracing` feature also runs each
//! operation in a `DEBUG` span named `larder.store`, with OpenTelemetry's attribute names:
//! `db.system.name` (`memory`, `redis`, `memcached`, `disk`), `db.operation.name` (the `Store`
//! method: `GET`, `GET_MANY`, `SET`, `SET_MANY`, `ADD`, `DELETE`, `EXISTS`, `EXPIRE`,
//! `INCREMENT`, `CLEAR`, `RELEASE`), `server.address` and `server.port` (a store on one
//! server), `db.operation.batch.size`, `db.response.returned_rows` (keys a read found) and
//! `error.type`. A span never holds a key, a value or a URL. [`Hooked`] runs
//! [hooks](crate::hooks) around any store's gets, sets and deletes.

mod any;
mod closed;
#[cfg(any(feature = "redis", feature = "memcached"))]
mod coalesce;
#[cfg(feature = "disk")]
mod disk;
mod hooked;
mod lease;
#[cfg(feature = "memcached")]
mod memcached;
mod memory;
mod meter;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "redis", feature = "memcached", feature = "disk"))]
mod remote;
#[cfg(feature = "tracing")]
mod span;
mod stats;
#[cfg(feature = "codec")]
mod typed;
mod watch;

pub use any::{AnyStore, from_url};
#[cfg(feature = "disk")]
pub use disk::{DiskStats, DiskStore, DiskStoreBuilder};
pub use hooked::Hooked;
pub use lease::LeaseToken;
#[cfg(feature = "memcached")]
pub use memcached::MemcachedStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use stats::{LATENCY_BOUNDS_NANOS, LATENCY_BUCKETS, Latency, StoreStats};
#[cfg(feature = "codec")]
pub use typed::TypedStore;
pub use watch::{Invalidation, InvalidationSink, Watch};

use std::future::Future;
use std::time::Duration;

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

    /// The TTL that `Ttl::Default` means in this store, if it has one (`with_default_ttl`, or
    /// a `MemoryStore`'s cache TTL); `None` for no expiry, and for a store that cannot say.
    /// A tiered cache reads it to keep L1 copies no longer than L2's.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::store::{MemoryStore, Store};
    ///
    /// assert_eq!(MemoryStore::new("ns").default_ttl(), None);
    /// ```
    fn default_ttl(&self) -> Option<std::time::Duration> {
        None
    }

    /// This store's counters: keys read and found, keys written, deletes, failures,
    /// timeouts, and latencies (see [`StoreStats`]); `None` for a store that does not count.
    /// Every store of larder's counts; this default does not.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{MemoryStore, Store};
    ///
    /// let store = MemoryStore::new("ns");
    /// assert_eq!(store.get("absent").await?, None);
    /// let stats = store.store_stats().expect("larder's stores count");
    /// assert_eq!((stats.backend, stats.gets, stats.misses), ("memory", 1, 1));
    /// # Ok(()) }
    /// ```
    fn store_stats(&self) -> Option<StoreStats> {
        None
    }

    /// Closes the store: later operations fail with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed). Closing twice is harmless.
    ///
    /// # Errors
    ///
    /// The store's failure while closing.
    fn close(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Takes the lease on `key` for `ttl` if nobody holds it: `Some(token)` when this caller
    /// now holds it, `None` when someone else does. The holder gives it back with
    /// [`release`](Self::release) and its token; a holder that dies lets it expire, so nobody
    /// waits on it for longer than `ttl`. This is how one instance of a service, among
    /// several sharing a store, loads a cold key while the others wait for its value.
    ///
    /// The lease is an entry like any other: at `key`, under the store's namespace, holding
    /// the token's bytes ([`LeaseToken::as_bytes`]). So `get(key)` reads the token,
    /// `set(key, ..)` or `delete(key)` ends the lease, and [`clear`](Self::clear) removes it.
    /// **Take it on a key of its own**, never on the key of the value it guards: for
    /// example the value's key with a suffix that no value key has.
    ///
    /// A lease lasts at least `ttl`, rounded up to the store's unit (a millisecond on Redis
    /// and disk; on Memcached, whole seconds plus one, as `MemcachedStore`'s docs say),
    /// unless it is released or overwritten first, or evicted: a store that evicts (a
    /// bounded [`MemoryStore`], a `DiskStore` over its size cap, Memcached, Redis under an
    /// `allkeys-*` eviction policy) may drop a lease early and let a second caller take one.
    /// A lease saves loads; it is not a lock to guard correctness with.
    ///
    /// The default is [`add`](Self::add) of a fresh [`LeaseToken::random`] with
    /// `Ttl::After(ttl)`, as atomic as the store's `add`; every store here uses it (on
    /// Redis it is `SET key token NX PX ms`), except Memcached, which adds a second (see
    /// above).
    ///
    /// # Concurrent calls on the same key
    ///
    /// While a lease lasts, exactly one of the calls taking it gets `Some`: the others get
    /// `None`, in this process or in any other sharing the store.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a zero `ttl`; else the store's
    /// failure. A call that failed (a timeout, say) may still have taken the lease: nobody
    /// holds its token then, and it expires with its TTL.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it returns, it may have taken the lease, which then expires with its
    /// TTL, as after an error.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{MemoryStore, Store};
    /// use std::time::Duration;
    ///
    /// let store = MemoryStore::new("app");
    /// let ttl = Duration::from_secs(5);
    /// let mine = store.lease("load:user:42", ttl).await?.expect("nobody holds it yet");
    /// assert_eq!(store.lease("load:user:42", ttl).await?, None, "held: one holder at a time");
    /// assert!(store.release("load:user:42", &mine).await?);
    /// assert!(store.lease("load:user:42", ttl).await?.is_some(), "free again");
    /// # Ok(()) }
    /// ```
    fn lease(
        &self,
        key: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<LeaseToken>, Error>> + Send {
        lease::add_lease(self, key, ttl)
    }

    /// Gives back the lease on `key` if it is still held by `token` (compare-and-delete), and
    /// returns whether it did. `false` when it was released already, expired, or is now held
    /// by another token, or when `key` holds something else: all of which are left alone.
    ///
    /// Every store here compares and deletes atomically: [`MemoryStore`] under the key's
    /// shard lock, `DiskStore` in one write transaction, Redis in a Lua script (run with
    /// `EVALSHA`, loaded on `NOSCRIPT`), Memcached with a compare-and-swap token (`mg` then
    /// `md` with `C<cas>`; a server started with `-C`, without CAS, falls back to the default
    /// below).
    ///
    /// The default, for a store that does not override it, is [`get`](Self::get), a
    /// comparison with `token`, then [`delete`](Self::delete). It is not atomic: if the lease
    /// expires after the `get` saw `token`, and another caller takes it before the `delete`,
    /// the `delete` removes the other caller's lease, and a third caller can take one while
    /// the second still holds its token (its own `release` then returns `false`). Only a
    /// release that comes within one round trip of the lease's end can do this: give leases
    /// a TTL well past the work they guard.
    ///
    /// # Errors
    ///
    /// The store's failure. A call that failed may still have deleted the lease.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it returns, it may or may not have deleted the lease; calling it again
    /// is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{LeaseToken, MemoryStore, Store};
    /// use std::time::Duration;
    ///
    /// let store = MemoryStore::new("app");
    /// let mine = store.lease("load:k", Duration::from_secs(5)).await?.unwrap();
    /// let stranger = LeaseToken::random();
    /// assert!(!store.release("load:k", &stranger).await?, "not its lease: left alone");
    /// assert!(store.exists("load:k").await?);
    /// assert!(store.release("load:k", &mine).await?);
    /// assert!(!store.release("load:k", &mine).await?, "given back already");
    /// # Ok(()) }
    /// ```
    fn release(
        &self,
        key: &str,
        token: &LeaseToken,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        lease::release_by_get(self, key, token)
    }
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
