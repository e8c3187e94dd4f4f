//! [`from_url`]: a store chosen, connected and set up from one URL.

use super::store::AnyStore;
use super::url::{Backend, Options, StoreUrl};
use crate::error::Error;
use crate::store::MemoryStore;

/// The store `url` names, connected (or opened) and set up: one [`AnyStore`] whatever the
/// backend, so that configuration, not code, picks it.
///
/// | URL | store |
/// |---|---|
/// | `memory://` | a [`MemoryStore`] (unbounded unless `capacity=`) |
/// | `redis://[[user]:password@]host[:port][/db]` | a `RedisStore` (feature `redis`) |
/// | `rediss://…` (same form) | a `RedisStore` over TLS (feature `redis-tls`), trusting the system's roots, or only the CA in the PEM file `ca=` |
/// | `redis+cluster://[[user]:password@]host:port,host:port` | a `RedisStore` on a Redis Cluster (feature `redis-cluster`; `rediss+cluster://` with `redis-tls` too); the credentials are every node's |
/// | `memcached://host[:port],host[:port]` | a `MemcachedStore` (feature `memcached`; port 11211 unless given) |
/// | `file:///absolute/path` | a `DiskStore` in that file (feature `disk`) |
///
/// The query sets options, `?namespace=users&timeout=250ms&ttl=5m`:
///
/// | option | meaning | default |
/// |---|---|---|
/// | `namespace` | the store's namespace: keys live under it, and `clear` clears it | `larder` |
/// | `timeout` | every operation's timeout, connecting included, as `250ms`, `5s`, `1m`; `none` for none (memory does no I/O and ignores it) | 5 s |
/// | `ttl` | the TTL that [`Ttl::Default`](crate::Ttl::Default) means | none: no expiry |
/// | `coalesce` | `false` turns get coalescing off (Redis, Memcached: `with_coalescing`); ignored elsewhere | `true` |
/// | `capacity` | memory only: the most entries kept | unbounded |
/// | `ca` | `rediss://` only: a PEM file of the CAs to trust instead of the system's roots | |
/// | `protocol` | `redis://`, `rediss://` only: `resp2` or `resp3`, passed to the redis crate | |
///
/// Durations take the units `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, and combine (`1h30m`).
/// Values are %-decoded (`file:///my%20cache.redb`).
///
/// # Errors
///
/// [`ErrorKind::Config`](crate::ErrorKind::Config) for a URL that is not one of these forms,
/// naming the part at fault (the scheme, a host, a port, the database, an option or its
/// value) and never quoting the URL, its user or its password; for a scheme whose feature is
/// off; for an option that means nothing to the backend (`capacity` on Redis, a typo), or a
/// namespace the store refuses. Then the errors of the store's own `connect` or `open`:
/// `Backend` when a server cannot be reached, `Timeout` when it does not answer within the
/// timeout, `Config` for refused credentials, an untrusted TLS certificate, or a CA file
/// that cannot be read.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::{ErrorKind, Ttl};
/// use larder::store::{Store, from_url};
///
/// let store = from_url("memory://?namespace=sessions&ttl=30m").await?;
/// store.set("s1", b"alice", Ttl::Default).await?;
/// assert_eq!(store.default_ttl(), Some(std::time::Duration::from_secs(30 * 60)));
///
/// let err = from_url("redis://:hunter2@cache.internal:99999").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.to_string().contains("port"));
/// assert!(!err.to_string().contains("hunter2"));
/// # Ok(()) }
/// ```
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// let store = larder::store::from_url(
///     "rediss://:secret@redis.internal:6380/0?namespace=users&timeout=250ms&ca=/etc/redis/ca.pem",
/// )
/// .await?;
/// # drop(store); Ok(()) }
/// ```
///
/// # Cancel safety
///
/// Dropped before it returns, it leaves nothing behind: a connection half made is closed.
pub async fn from_url(url: &str) -> Result<AnyStore, Error> {
    let StoreUrl { backend, options } = StoreUrl::parse(url)?;
    match backend {
        Backend::Memory => memory(&options),
        Backend::Redis { url, tls } => redis(&url, tls, &options).await,
        Backend::RedisCluster { nodes, tls } => cluster(&nodes, tls, &options).await,
        Backend::Memcached { servers } => memcached(&servers, &options).await,
        Backend::Disk { path } => disk(&path, &options).await,
    }
}

fn memory(options: &Options) -> Result<AnyStore, Error> {
    // A store, not a cache: `LARDER_DISABLE` leaves it alone, as it does `MemoryStore::new`.
    let mut cache = crate::Cache::builder().ignoring_kill_switch();
    if let Some(ttl) = options.ttl {
        cache = cache.time_to_live(ttl);
    }
    if let Some(capacity) = options.capacity {
        cache = cache.max_capacity(capacity);
    }
    let store = MemoryStore::try_with_cache(options.namespace(), cache.try_build()?)?;
    Ok(AnyStore::Memory(store))
}

/// `connect` bounded by the URL's timeout as well: the stores' own connects wait up to 5 s,
/// and a URL that asks for `timeout=250ms` means it for reaching the server too.
#[cfg(any(feature = "redis", feature = "memcached"))]
async fn connecting<T>(
    options: &Options,
    connect: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match options.timeout {
        Some(Some(timeout)) => tokio::time::timeout(timeout, connect)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    crate::ErrorKind::Timeout,
                    format!("no connection within the URL's timeout ({timeout:?})"),
                ))
            }),
        _ => connect.await,
    }
}

/// The error of a URL whose backend's feature is off.
#[allow(dead_code)] // unused when every backend's feature is on
fn needs(feature: &str, scheme: &str) -> Error {
    Error::config(format!("{scheme} needs larder's {feature} feature"))
}

#[cfg(feature = "redis")]
async fn redis(url: &str, tls: bool, options: &Options) -> Result<AnyStore, Error> {
    use crate::store::RedisStore;
    let namespace = options.namespace();
    let store = match &options.ca {
        Some(ca) => {
            #[cfg(feature = "redis-tls")]
            {
                let pem = read_ca(ca).await?;
                connecting(options, RedisStore::connect_tls(url, namespace, &pem)).await?
            }
            #[cfg(not(feature = "redis-tls"))]
            {
                let _ = ca;
                return Err(needs("redis-tls", "rediss://"));
            }
        }
        None if tls && !cfg!(feature = "redis-tls") => {
            return Err(needs("redis-tls", "rediss://"));
        }
        None => connecting(options, RedisStore::connect(url, namespace)).await?,
    };
    Ok(AnyStore::Redis(set_up_redis(store, options)))
}

#[cfg(not(feature = "redis"))]
async fn redis(_: &str, tls: bool, _: &Options) -> Result<AnyStore, Error> {
    Err(if tls {
        needs("redis-tls", "rediss://")
    } else {
        needs("redis", "redis://")
    })
}

#[cfg(feature = "redis")]
fn set_up_redis(
    mut store: crate::store::RedisStore,
    options: &Options,
) -> crate::store::RedisStore {
    if let Some(timeout) = options.timeout {
        store = store.with_timeout(timeout);
    }
    if let Some(ttl) = options.ttl {
        store = store.with_default_ttl(ttl);
    }
    if let Some(coalesce) = options.coalesce {
        store = store.with_coalescing(coalesce);
    }
    store
}

/// The CA file's bytes, read on tokio's blocking threads.
#[cfg(feature = "redis-tls")]
async fn read_ca(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    let path = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read {
        Ok(Ok(pem)) => Ok(pem),
        Ok(Err(error)) => Err(Error::with_source(
            crate::ErrorKind::Config,
            "cannot read the CA file of the option \"ca\"",
            error,
        )),
        Err(_) => Err(Error::new(
            crate::ErrorKind::Backend,
            "the CA file's read did not finish",
        )),
    }
}

#[cfg(feature = "redis-cluster")]
async fn cluster(nodes: &[String], tls: bool, options: &Options) -> Result<AnyStore, Error> {
    use crate::store::RedisStore;
    if tls && !cfg!(feature = "redis-tls") {
        return Err(needs("redis-tls", "rediss+cluster://"));
    }
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let store = connecting(
        options,
        RedisStore::connect_cluster(&nodes, options.namespace()),
    )
    .await?;
    Ok(AnyStore::Redis(set_up_redis(store, options)))
}

#[cfg(not(feature = "redis-cluster"))]
async fn cluster(_: &[String], _: bool, _: &Options) -> Result<AnyStore, Error> {
    Err(needs("redis-cluster", "redis+cluster://"))
}

#[cfg(feature = "memcached")]
async fn memcached(servers: &[String], options: &Options) -> Result<AnyStore, Error> {
    let mut store = connecting(
        options,
        crate::store::MemcachedStore::connect(servers, options.namespace()),
    )
    .await?;
    if let Some(timeout) = options.timeout {
        store = store.with_timeout(timeout);
    }
    if let Some(ttl) = options.ttl {
        store = store.with_default_ttl(ttl);
    }
    if let Some(coalesce) = options.coalesce {
        store = store.with_coalescing(coalesce);
    }
    Ok(AnyStore::Memcached(store))
}

#[cfg(not(feature = "memcached"))]
async fn memcached(_: &[String], _: &Options) -> Result<AnyStore, Error> {
    Err(needs("memcached", "memcached://"))
}

#[cfg(feature = "disk")]
async fn disk(path: &std::path::Path, options: &Options) -> Result<AnyStore, Error> {
    let mut builder = crate::store::DiskStore::builder();
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(ttl) = options.ttl {
        builder = builder.default_ttl(ttl);
    }
    let store = builder.open(path, options.namespace()).await?;
    Ok(AnyStore::Disk(store))
}

#[cfg(not(feature = "disk"))]
async fn disk(_: &std::path::Path, _: &Options) -> Result<AnyStore, Error> {
    Err(needs("disk", "file://"))
}
