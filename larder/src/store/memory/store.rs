//! [`MemoryStore`]: the type and its constructors, and the key and write helpers its
//! operations share.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::store::closed::Closed;
use crate::sync::Mutex;
use crate::{Cache, Ttl};

/// A [`Store`](crate::store::Store) in this process's memory, on larder's engine: the default
/// L2 when there is no server, and the reference the other stores are tested against.
///
/// Stores created with the same namespace do not share data: each `MemoryStore` is its own
/// map. The namespace scopes `clear` when several stores share one [`Cache`] through
/// [`with_cache`](Self::with_cache).
///
/// It does no I/O: no operation waits, so it has no timeout.
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
    /// Serialises the read-modify-writes (`add`, `expire`, `increment`) against each other.
    pub(super) writes: Arc<Mutex<()>>,
    pub(super) closed: Arc<Closed>,
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
    /// An unbounded store whose keys live under `namespace`.
    ///
    /// # Examples
    ///
    /// ```
    /// let store = larder::store::MemoryStore::new("sessions");
    /// # drop(store);
    /// ```
    pub fn new(namespace: &str) -> Self {
        Self::with_cache(namespace, Cache::builder().build())
    }

    /// A store over a cache you built, for example a bounded one, or one with its own policy
    /// or clock. Several stores may share one cache under different namespaces: each `clear`
    /// removes its own keys.
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
        Self {
            namespace: Arc::from(namespace),
            cache,
            writes: Arc::new(Mutex::new(())),
            closed: Arc::new(Closed::new()),
        }
    }

    pub(super) fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.namespace.len() + 1 + key.len());
        full.push_str(&self.namespace);
        full.push(':');
        full.push_str(key);
        full
    }

    pub(super) fn open(&self) -> Result<(), Error> {
        self.closed.check()
    }

    pub(super) fn put(&self, key: String, value: &[u8], ttl: Ttl) {
        self.cache.insert_with_ttl(key, Arc::from(value), ttl);
    }
}
