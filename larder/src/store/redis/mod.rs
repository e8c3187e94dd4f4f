//! [`RedisStore`]: a [`Store`](crate::Store) on Redis, through the redis crate's
//! `ConnectionManager` (one multiplexed connection that reconnects by itself), or on a Redis
//! Cluster (feature `redis-cluster`) through the same type.
//!
//! This file: the type, connecting, settings, keys and TTLs. `ops.rs`: the `Store`
//! operations. `connection.rs`: one server or a cluster behind one connection type.
//! Concurrent `get`s are coalesced into `MGET`s (`store/coalesce.rs`), so many tasks doing
//! single-key reads get pipelined throughput.

mod connection;
mod ops;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use self::connection::Connection;
use super::coalesce::Coalescer;
use super::within;
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::sync::{Arc, AtomicBool, Ordering};

/// The default timeout of every operation.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most keys in one `MGET`.
const MAX_MGET: usize = 1_000;
/// Keys `clear` asks `SCAN` for at a time.
const SCAN_COUNT: usize = 1_000;
/// The longest TTL sent, in ms (about 146 million years): Redis refuses one that overflows
/// when added to its clock.
const MAX_TTL_MS: u64 = i64::MAX as u64 / 2;

/// A [`Store`](crate::Store) on a Redis server or a Redis Cluster: namespaced keys (`namespace:key`; a
/// namespace cannot hold `:`, so that none shares another's keys), `SET PX` TTLs (a TTL too
/// long for Redis's clock is cut to about 146 million years), `clear` by `SCAN` + `UNLINK`
/// over the namespace only (never `KEYS` or `FLUSHDB`), and concurrent `get`s coalesced into
/// `MGET`s.
///
/// Neither the URL nor its password appears in `Debug`, `Display` or errors.
///
/// # Timeouts
///
/// Every command fails with [`ErrorKind::Timeout`] after 5 s without an answer; the store's
/// timeout is the only one (the redis crate's own response timeout is off). Change it for
/// the store with [`with_timeout`](Self::with_timeout), or for one call on a handle:
/// `store.with_timeout(Some(d)).get(key)` (the handle shares the connection). A `get` waits
/// for its coalesced read within its timeout. Operations of several commands (`get_many`
/// over 1,000 keys, `increment`'s, `clear`'s pages) give each command the timeout. A
/// command that timed out may still have reached the server.
///
/// # Runtime
///
/// Operations run on tokio: called outside a tokio runtime they fail with
/// [`ErrorKind::Config`]. Timeouts are tokio timers, so in a runtime built without
/// `enable_time` an operation with a timeout panics, as [`tokio::time::timeout`] does; a
/// `get`, whose read runs on a task of the store's, fails instead with
/// [`ErrorKind::Backend`] ("the store's reader stopped"), the task having panicked.
///
/// # Cancel safety
///
/// Dropping an operation leaves the store usable; whether a write cut short took effect is
/// unknown. A dropped `get`'s key is still read with the others in its batch.
///
/// # On a cluster
///
/// [`connect_cluster`](Self::connect_cluster) (feature `redis-cluster`): keys spread over the
/// primaries by slot; `MGET`s and `UNLINK`s across slots are split by node, `set_many` sends
/// one `SET` per key (a pipeline may not span slots), and `clear` scans every primary that
/// `CLUSTER SLOTS` names (asked of every primary). A key that moves from a primary not yet
/// scanned to one already scanned while `clear` runs (resharding) survives it.
///
/// # Background work
///
/// A tokio task per burst of concurrent `get`s (the flusher), ending when no `get` waits.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use larder::{RedisStore, Store, Ttl};
/// use std::time::Duration;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", "users").await?;
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Connection,
    namespace: String,
    timeout: Option<Duration>,
    default_ttl: Option<Duration>,
    /// Shared by every handle on this connection: closing one closes them all.
    closed: Arc<AtomicBool>,
    gets: Coalescer,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No URL, no password, no bytes.
        f.debug_struct("RedisStore")
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .field("cluster", &self.inner.conn.is_cluster())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[:password@]host:port[/db]`), keeping
    /// keys under `namespace`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a URL that is not one, a `namespace` with a `:` (see
    /// [`RedisStore`]), or outside a tokio runtime; [`ErrorKind::Backend`] when the server
    /// cannot be reached; [`ErrorKind::Timeout`] after 5 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "sessions").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, Error> {
        check_namespace(namespace)?;
        // The redis crate's parse error may quote the URL: report without it.
        let client = redis::Client::open(url)
            .map_err(|_| Error::config("not a Redis URL (redis://[:password@]host:port[/db])"))?;
        // The store's timeout is the only response timeout (the crate's default is 500 ms,
        // which would cut short any call given longer, or `None`).
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(Some(DEFAULT_TIMEOUT));
        let connect = ConnectionManager::new_with_config(client, config);
        let conn = with_timeout(Some(DEFAULT_TIMEOUT), connect).await?;
        Ok(Self::with_connection(Connection::Server(conn), namespace))
    }

    /// Connects to the Redis Cluster that `nodes` belong to (`redis://[:password@]host:port`
    /// each; one reachable node is enough, the others are found from it), keeping keys
    /// under `namespace`. Keys spread over the cluster's primaries by slot.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for no node, a URL that is not one, a `namespace` with a `:`,
    /// or outside a tokio runtime; [`ErrorKind::Backend`] when no node can be reached or the
    /// servers are not a cluster; [`ErrorKind::Timeout`] after 5 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use larder::{RedisStore, Store, Ttl};
    ///
    /// let nodes = ["redis://127.0.0.1:7000", "redis://127.0.0.1:7001", "redis://127.0.0.1:7002"];
    /// let store = RedisStore::connect_cluster(&nodes, "users").await?;
    /// store.set("42", b"ada", Ttl::Never).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub async fn connect_cluster(nodes: &[&str], namespace: &str) -> Result<Self, Error> {
        check_namespace(namespace)?;
        if nodes.is_empty() {
            return Err(Error::config("a Redis Cluster needs at least one node URL"));
        }
        // The redis crate's parse error may quote the URL: report without it. No response
        // timeout of the crate's: the store's is the only one.
        let client = redis::cluster::ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|_| {
                Error::config("not a list of Redis URLs (redis://[:password@]host:port)")
            })?;
        let conn = with_timeout(Some(DEFAULT_TIMEOUT), client.get_async_connection()).await?;
        Ok(Self::with_connection(Connection::Cluster(conn), namespace))
    }

    fn with_connection(conn: Connection, namespace: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                conn,
                namespace: namespace.to_string(),
                timeout: Some(DEFAULT_TIMEOUT),
                default_ttl: None,
                closed: Arc::new(AtomicBool::new(false)),
                gets: Coalescer::new(MAX_MGET, Some(DEFAULT_TIMEOUT)),
            }),
        }
    }

    /// This store with another timeout for every operation (`None`: no timeout). The handle
    /// shares the connection (and closing either closes both), so it also gives one call a
    /// timeout of its own: `store.with_timeout(Some(d)).get(key)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_timeout(Some(Duration::from_millis(200)));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.reconfigure(|inner| inner.timeout = timeout)
    }

    /// This store with a TTL for values set with [`Ttl::Default`] (none by default).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(self, ttl: Duration) -> Self {
        self.reconfigure(|inner| inner.default_ttl = Some(ttl))
    }

    fn reconfigure(self, change: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            conn: i.conn.clone(),
            namespace: i.namespace.clone(),
            timeout: i.timeout,
            default_ttl: i.default_ttl,
            closed: Arc::clone(&i.closed),
            gets: Coalescer::new(MAX_MGET, None), // set below, once the timeout is known
        };
        change(&mut inner);
        // Its own queue of gets, whose deadlines follow its timeout.
        inner.gets = Coalescer::new(MAX_MGET, inner.timeout);
        Self {
            inner: Arc::new(inner),
        }
    }

    fn key(&self, key: &str) -> String {
        let namespace = &self.inner.namespace;
        let mut full = String::with_capacity(namespace.len() + 1 + key.len());
        full.push_str(namespace);
        full.push(':');
        full.push_str(key);
        full
    }

    fn open(&self) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the store was closed"));
        }
        Ok(())
    }

    /// Runs a command with this store's timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        self.open()?;
        let mut conn = self.inner.conn.clone();
        with_timeout(self.inner.timeout, cmd.query_async(&mut conn)).await
    }

    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, Error> {
        self.open()?;
        let mut conn = self.inner.conn.clone();
        with_timeout(self.inner.timeout, pipe.query_async(&mut conn)).await
    }

    /// The TTL a value is stored with: `None` for no expiry, `Some(0)` for already expired.
    fn millis(&self, ttl: Ttl) -> Option<u64> {
        ttl_millis(ttl, self.inner.default_ttl)
    }

    fn set_cmd(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ms) = ttl_ms {
            cmd.arg("PX").arg(ms);
        }
        cmd
    }
}

/// A node `SCAN` must visit: `None` for the one server, a primary's `(host, port)` on a
/// cluster.
type Node = Option<(String, u16)>;

impl RedisStore {
    /// The nodes holding keys: the server, or every primary of the cluster.
    async fn scan_nodes(&self) -> Result<Vec<Node>, Error> {
        match &self.inner.conn {
            Connection::Server(_) => Ok(vec![None]),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(conn) => {
                use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
                // Asked of every primary, so that each answer comes with the address of the
                // node that gave it: what an empty or NULL host in it stands for.
                self.open()?;
                let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let mut conn = conn.clone();
                let ask = conn.route_command(redis::cmd("CLUSTER").arg("SLOTS").clone(), routing);
                let answers = with_timeout(self.inner.timeout, ask).await?;
                let primaries = connection::primaries(&answers).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Backend,
                        "CLUSTER SLOTS answered in an unknown shape",
                    )
                })?;
                Ok(primaries.into_iter().map(Some).collect())
            }
        }
    }

    /// One `SCAN` page of `node`: the next cursor and the keys matching `pattern` (as bytes:
    /// another client may have written one that is not UTF-8).
    async fn scan_page(
        &self,
        node: Option<&(String, u16)>,
        cursor: u64,
        pattern: &str,
    ) -> Result<(u64, Vec<Vec<u8>>), Error> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        match (&self.inner.conn, node) {
            #[cfg(feature = "redis-cluster")]
            (Connection::Cluster(conn), Some((host, port))) => {
                use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                self.open()?;
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let mut conn = conn.clone();
                let page =
                    with_timeout(self.inner.timeout, conn.route_command(cmd, routing)).await?;
                redis::from_redis_value(page).map_err(|e| {
                    Error::with_source(ErrorKind::Backend, "SCAN answered in an unknown shape", e)
                })
            }
            _ => self.query(&cmd).await,
        }
    }
}

/// The `PX` a value is stored with: `None` for no expiry, `Some(0)` for already expired;
/// whole milliseconds rounded up, so a TTL under a millisecond is one, never zero (which
/// would delete the key), and capped at [`MAX_TTL_MS`].
fn ttl_millis(ttl: Ttl, default: Option<Duration>) -> Option<u64> {
    let d = match ttl {
        Ttl::Default => default?,
        Ttl::Never => return None,
        Ttl::After(d) => d,
    };
    let ms = d.as_nanos().div_ceil(1_000_000);
    Some(u64::try_from(ms).map_or(MAX_TTL_MS, |ms| ms.min(MAX_TTL_MS)))
}

/// Runs `op` under `timeout`, mapping the redis crate's errors to ours.
async fn with_timeout<T>(
    timeout: Option<Duration>,
    op: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Error> {
    within(timeout, "Redis", async { op.await.map_err(backend) }).await
}

fn backend(error: redis::RedisError) -> Error {
    if error.is_timeout() {
        // The crate's own connection timeout.
        return Error::with_source(ErrorKind::Timeout, "Redis did not answer in time", error);
    }
    Error::with_source(ErrorKind::Backend, "Redis failed", error)
}

/// A namespace is anything without a `:`: keys are `namespace:key`, so a namespace `a:b`
/// would share keys with `a` (`a`'s `b:k` is `a:b`'s `k`), and `a`'s `clear` would take them.
fn check_namespace(namespace: &str) -> Result<(), Error> {
    if namespace.contains(':') {
        return Err(Error::config(
            "a Redis namespace cannot hold ':' (keys are namespace:key)",
        ));
    }
    Ok(())
}

/// `namespace` as a literal in a `SCAN MATCH` glob.
fn glob_escape(namespace: &str) -> String {
    let mut out = String::with_capacity(namespace.len());
    for c in namespace.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_become_whole_milliseconds_rounded_up_and_capped() {
        let after = |d| ttl_millis(Ttl::After(d), None);
        assert_eq!(after(Duration::ZERO), Some(0), "already expired");
        assert_eq!(
            after(Duration::from_micros(1)),
            Some(1),
            "never rounded to zero"
        );
        assert_eq!(after(Duration::from_micros(1_500)), Some(2));
        assert_eq!(after(Duration::from_secs(60)), Some(60_000));
        assert_eq!(after(Duration::MAX), Some(MAX_TTL_MS));
        assert_eq!(ttl_millis(Ttl::Never, None), None);
        assert_eq!(
            ttl_millis(Ttl::Default, None),
            None,
            "no default: no expiry"
        );
        let default = Some(Duration::from_secs(2));
        assert_eq!(ttl_millis(Ttl::Default, default), Some(2_000));
    }
}
