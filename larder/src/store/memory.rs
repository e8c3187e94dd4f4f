//! [`MemoryStore`]: the embedded store, on larder's own engine; no server.

use std::fmt;
use std::sync::Arc;

use super::{Store, parse_counter};
use crate::error::{Error, ErrorKind};
use crate::sync::{AtomicBool, Mutex, Ordering};
use crate::{Cache, Ttl};

/// A [`Store`] in this process's memory, on larder's engine: the default L2 when there is no
/// server, and the reference the other stores are tested against.
///
/// Stores created with the same namespace do not share data: each `MemoryStore` is its own
/// map; the namespace scopes `clear` when several stores share one [`Cache`] (see
/// [`with_cache`](Self::with_cache)).
///
/// It does no I/O: no operation waits, so it has no timeout.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::{MemoryStore, Store, Ttl};
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
    namespace: Arc<str>,
    cache: Cache<String, Arc<[u8]>>,
    /// Serialises the read-modify-writes (`add`, `expire`, `increment`) against each other.
    writes: Arc<Mutex<()>>,
    closed: Arc<AtomicBool>,
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
    /// let store = larder::MemoryStore::new("sessions");
    /// # drop(store);
    /// ```
    pub fn new(namespace: &str) -> Self {
        Self::with_cache(namespace, Cache::builder().build())
    }

    /// A store over a cache you built (bounded, with a policy, a clock…). Several stores
    /// may share one cache under different namespaces: each `clear` removes its own keys.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, MemoryStore};
    /// let shared = Cache::new(10_000);
    /// let (a, b) = (MemoryStore::with_cache("a", shared.clone()), MemoryStore::with_cache("b", shared));
    /// # drop((a, b));
    /// ```
    pub fn with_cache(namespace: &str, cache: Cache<String, Arc<[u8]>>) -> Self {
        Self {
            namespace: Arc::from(namespace),
            cache,
            writes: Arc::new(Mutex::new(())),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.namespace.len() + 1 + key.len());
        full.push_str(&self.namespace);
        full.push(':');
        full.push_str(key);
        full
    }

    fn open(&self) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the store was closed"));
        }
        Ok(())
    }

    fn put(&self, key: String, value: &[u8], ttl: Ttl) {
        self.cache.insert_with_ttl(key, Arc::from(value), ttl);
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.open()?;
        Ok(self.cache.get(&self.key(key)).map(|v| v.to_vec()))
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.open()?;
        Ok(keys
            .iter()
            .map(|k| self.cache.get(&self.key(k)).map(|v| v.to_vec()))
            .collect())
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        self.open()?;
        self.put(self.key(key), value, ttl);
        Ok(())
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        self.open()?;
        for (key, value) in entries {
            self.put(self.key(key), value, ttl);
        }
        Ok(())
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        if self.cache.contains_key(&key) {
            return Ok(false);
        }
        self.put(key, value, ttl);
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.open()?;
        Ok(self.cache.remove(&self.key(key)).is_some())
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.open()?;
        Ok(self.cache.contains_key(&self.key(key)))
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        match self.cache.get(&key) {
            Some(value) => {
                self.cache.insert_with_ttl(key, value, ttl);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        let current = match self.cache.get(&key) {
            Some(bytes) => parse_counter(&bytes)?,
            None => 0,
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| Error::new(ErrorKind::Codec, "the counter would overflow"))?;
        // A counter keeps no TTL of its own unless `expire` gives it one (as Redis's INCRBY
        // keeps the key's TTL; here the default TTL applies on creation).
        self.cache
            .insert(key, Arc::from(next.to_string().into_bytes().as_slice()));
        Ok(next)
    }

    async fn clear(&self) -> Result<(), Error> {
        self.open()?;
        let prefix = format!("{}:", self.namespace);
        self.cache.invalidate_if(|k, _| k.starts_with(&prefix));
        Ok(())
    }

    async fn close(&self) -> Result<(), Error> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}
