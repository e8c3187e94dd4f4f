//! [`MemoryStore`]: the type and its constructors, and the key and write helpers its
//! operations share.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::store::closed::Closed;
use crate::store::meter::Meter;
use crate::{Cache, Ttl};

/// A [`Store`](crate::store::Store) in this process's memory, on larder's engine: the default
/// L2 when there is no server, and the reference the other stores are tested against.
///
/// Stores created with the same namespace do not share data: each `MemoryStore` is its own
/// map. The namespace scopes `clear` when several stores share one [`Cache`] through
/// [`with_cache`](Self::with_cache). Keys are `namespace:key`, so a namespace cannot hold `:`,
/// as with [`RedisStore`](crate::store::RedisStore): namespace `a` and key `b:c` would be
/// namespace `a:b` and key `c`.
///
/// It does no I/O: no operation waits, so it has no timeout.
///
/// # Concurrency
///
/// `add`, `expire`, `increment` and `release` are atomic against every other write to the
/// same key: each checks and writes under one hold of the key's shard lock (`expire` changes
/// the deadline in place; `increment` retries its compare-and-swap if the value changed
/// under it; `release` compares the lease's token and removes it), so none undoes a
/// concurrent `set` or `delete`. A `lease` is an `add`. Leases expire on the cache's clock,
/// so a cache built with [`Clock::mock`](crate::Clock::mock) lets tests end them at will;
/// a bounded cache may evict a lease before its end. `increment` keeps the counter's
/// remaining TTL, as Redis's `INCRBY` does; a new counter gets the store's default TTL (the
/// cache's `time_to_live`). `get` takes no lock beyond a shard's read lock.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{MemoryStore, Store};
/// use std::time::Duration;
///
/// let store = MemoryStore::new("users");
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(60))).await?;
/// assert!(store.exists("42").await?);
/// assert!(store.delete("42").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    pub(super) namespace: Arc<str>,
    pub(super) cache: Cache<String, Arc<[u8]>>,
    pub(super) closed: Arc<Closed>,
    /// Counts and times the operations (`store/meter.rs`), for every clone.
    pub(super) meter: Meter,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: never the cached bytes.
        f.debug_struct("MemoryStore")
            .field("namespace", &self.namespace)
            .field("len", &self.cache.len())
            .finish()
    }
}

impl MemoryStore {
    /// An unbounded store whose keys live under `namespace`. `LARDER_DISABLE` does not
    /// apply to it: it is a store, not a cache of loads (see
    /// [`CacheBuilder::enabled`](crate::CacheBuilder::enabled)); a store made
    /// [`with_cache`](Self::with_cache) uses that cache as it is.
    ///
    /// # Panics
    ///
    /// When `namespace` holds a `:` (see [`MemoryStore`]); [`try_new`](Self::try_new) is the
    /// twin that returns the error instead, for a namespace from configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = larder::store::MemoryStore::new("sessions");
    /// # drop(store);
    /// ```
    pub fn new(namespace: &str) -> Self {
        Self::with_cache(namespace, Cache::builder().ignoring_kill_switch().build())
    }

    /// An unbounded store whose keys live under `namespace`, or why it cannot be one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `namespace` holds a `:`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::ErrorKind;
    /// use larder::store::MemoryStore;
    /// assert!(MemoryStore::try_new("sessions").is_ok());
    /// let err = MemoryStore::try_new("app:sessions").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// ```
    pub fn try_new(namespace: &str) -> Result<Self, Error> {
        Self::try_with_cache(namespace, Cache::builder().ignoring_kill_switch().build())
    }

    /// A store over a cache you built, for example a bounded one, or one with its own policy
    /// or clock. Several stores may share one cache under different namespaces: each `clear`
    /// removes its own keys.
    ///
    /// # Panics
    ///
    /// When `namespace` holds a `:` (see [`MemoryStore`]); [`try_with_cache`](Self::try_with_cache)
    /// is the twin that returns the error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// let shared = Cache::new(10_000);
    /// let (a, b) = (MemoryStore::with_cache("a", shared.clone()), MemoryStore::with_cache("b", shared));
    /// # drop((a, b));
    /// ```
    pub fn with_cache(namespace: &str, cache: Cache<String, Arc<[u8]>>) -> Self {
        match Self::try_with_cache(namespace, cache) {
            Ok(store) => store,
            // A constructor may panic on a setting that cannot mean anything, beside its
            // try_ twin (ADR 0004); a namespace is a setting, not a user's data.
            #[allow(clippy::panic)]
            Err(e) => panic!("{e}"),
        }
    }

    /// A store over a cache you built, or why it cannot be one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `namespace` holds a `:`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, ErrorKind};
    /// use larder::store::MemoryStore;
    /// let err = MemoryStore::try_with_cache("a:b", Cache::new(10)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// ```
    pub fn try_with_cache(namespace: &str, cache: Cache<String, Arc<[u8]>>) -> Result<Self, Error> {
        if namespace.contains(':') {
            return Err(Error::config(
                "a MemoryStore namespace cannot hold ':' (keys are namespace:key)",
            ));
        }
        Ok(Self {
            namespace: Arc::from(namespace),
            cache,
            closed: Arc::new(Closed::new()),
            meter: Meter::new("memory"),
        })
    }

    pub(super) fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.namespace.len() + 1 + key.len());
        full.push_str(&self.namespace);
        full.push(':');
        full.push_str(key);
        full
    }

    pub(super) fn meter(&self) -> &Meter {
        &self.meter
    }

    pub(super) fn open(&self) -> Result<(), Error> {
        self.closed.check()
    }

    pub(super) fn put(&self, key: String, value: &[u8], ttl: Ttl) {
        self.cache.insert_with_ttl(key, Arc::from(value), ttl);
    }
}
