//! [`AnyStore`]: one store type over every backend, what [`from_url`](super::from_url)
//! returns.

#[cfg(feature = "disk")]
use crate::store::DiskStore;
#[cfg(feature = "memcached")]
use crate::store::MemcachedStore;
use crate::store::MemoryStore;
#[cfg(feature = "redis")]
use crate::store::RedisStore;

/// Any of larder's stores, as one type: what [`from_url`](super::from_url) returns, usable
/// wherever a [`Store`](crate::store::Store) is (a [`Tiered`](crate::tier::Tiered)'s L2, a
/// [`TypedStore`](crate::store::TypedStore)). Every [`Store`](crate::store::Store) method
/// goes to the store inside, `watch`, `lease`, `release`, `default_ttl` and `store_stats`
/// included, so it behaves exactly as that store does.
///
/// Each variant but [`Memory`](Self::Memory) is behind its backend's feature. Match on it to
/// reach a store's own methods.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{AnyStore, MemoryStore, Store};
///
/// let store: AnyStore = MemoryStore::new("users").into();
/// store.set("42", b"ada", Ttl::Never).await?;
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// assert!(matches!(store, AnyStore::Memory(_)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// A [`MemoryStore`] (`memory://`).
    Memory(MemoryStore),
    /// A [`RedisStore`] on a server or a cluster (`redis://`, `rediss://`,
    /// `redis+cluster://`).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    Redis(RedisStore),
    /// A [`MemcachedStore`] (`memcached://`).
    #[cfg(feature = "memcached")]
    #[cfg_attr(docsrs, doc(cfg(feature = "memcached")))]
    Memcached(MemcachedStore),
    /// A [`DiskStore`] (`file://`).
    #[cfg(feature = "disk")]
    #[cfg_attr(docsrs, doc(cfg(feature = "disk")))]
    Disk(DiskStore),
}

impl AnyStore {
    /// The backend's name: `"memory"`, `"redis"`, `"memcached"` or `"disk"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::store::{AnyStore, MemoryStore};
    /// assert_eq!(AnyStore::from(MemoryStore::new("ns")).backend(), "memory");
    /// ```
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            AnyStore::Redis(_) => "redis",
            #[cfg(feature = "memcached")]
            AnyStore::Memcached(_) => "memcached",
            #[cfg(feature = "disk")]
            AnyStore::Disk(_) => "disk",
        }
    }
}

impl From<MemoryStore> for AnyStore {
    /// # Examples
    ///
    /// ```
    /// use larder::store::{AnyStore, MemoryStore};
    /// let store = AnyStore::from(MemoryStore::new("ns"));
    /// # drop(store);
    /// ```
    fn from(store: MemoryStore) -> Self {
        AnyStore::Memory(store)
    }
}

#[cfg(feature = "redis")]
impl From<RedisStore> for AnyStore {
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{AnyStore, RedisStore};
    /// let store = AnyStore::from(RedisStore::connect("redis://127.0.0.1:6379", "ns").await?);
    /// # drop(store); Ok(()) }
    /// ```
    fn from(store: RedisStore) -> Self {
        AnyStore::Redis(store)
    }
}

#[cfg(feature = "memcached")]
impl From<MemcachedStore> for AnyStore {
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{AnyStore, MemcachedStore};
    /// let store = AnyStore::from(MemcachedStore::connect(&["127.0.0.1:11211"], "ns").await?);
    /// # drop(store); Ok(()) }
    /// ```
    fn from(store: MemcachedStore) -> Self {
        AnyStore::Memcached(store)
    }
}

#[cfg(feature = "disk")]
impl From<DiskStore> for AnyStore {
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::{AnyStore, DiskStore};
    /// let store = AnyStore::from(DiskStore::open("/var/cache/app.redb", "ns").await?);
    /// # drop(store); Ok(()) }
    /// ```
    fn from(store: DiskStore) -> Self {
        AnyStore::Disk(store)
    }
}
