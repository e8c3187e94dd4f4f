//! [`RedisStore`]: the type, connecting (to a server or a cluster), its settings, and the
//! helpers its operations share: namespaced keys, commands run under the store's timeout.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::{Cmd, FromRedisValue, Pipeline};

use super::connection::{Connection, Connector};
use super::link::Link;
use super::tracking::Closing;
use super::wire::{mapped, ttl_millis};
use crate::Ttl;
use crate::error::Error;
use crate::store::coalesce::Coalescer;
use crate::store::meter::Meter;
use crate::store::remote::{DEFAULT_TIMEOUT, Remote};
use crate::sync::Arc;

/// The most keys in one `MGET`.
pub(super) const MAX_MGET: usize = 1_000;
/// This store's name in errors.
pub(super) const BACKEND: &str = "Redis";

/// A [`Store`](crate::store::Store) on a Redis server or a Redis Cluster.
///
/// Keys are namespaced as `namespace:key`. A namespace cannot hold `:`, so that no namespace
/// shares another's keys. TTLs are set with `SET PX`; a TTL too long for Redis's clock is cut
/// to about 146 million years. `clear` runs `SCAN` and `UNLINK` over the namespace only, never
/// `KEYS` or `FLUSHDB`. Concurrent `get`s are coalesced into `MGET`s, unless
/// [`with_coalescing(false)`](Self::with_coalescing) sends each as a `GET`. `rediss://` URLs
/// connect over TLS under the feature `redis-tls` ([`connect_tls`](Self::connect_tls) for a
/// private CA); [`from_connection_manager`](Self::from_connection_manager) takes a
/// connection you made.
///
/// Neither the URL nor its password appears in `Debug`, `Display` or errors.
///
/// # Timeouts
///
/// Every command fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after 5 s
/// without an answer. The store's timeout is the only one: the redis crate's own response
/// timeout is off. Change it for the store with [`with_timeout`](Self::with_timeout), or for
/// one call on a handle, which shares the connection: `store.with_timeout(Some(d)).get(key)`.
/// A `get` waits for its coalesced read within its timeout. Operations made of several
/// commands give each command the timeout: `get_many` over 1,000 keys, `increment`, and the
/// pages of `clear`. A command that timed out may still have reached the server.
///
/// # Failures
///
/// The connection reconnects by itself (with backoff) when it reports an error: a server
/// that restarts, a connection reset. A connection that reports nothing and answers nothing,
/// such as one black-holed by the network (every packet silently dropped), would time out
/// every call until the kernel gives up on it, after about 15 minutes. So after three calls
/// in a row time out on the store's connection, the store makes a new one (through the same
/// checks as [`connect`](Self::connect)) on a task of its own and swaps it in; calls made
/// meanwhile still use the old one and nobody waits for the connect, so a few more calls may
/// time out first. Any answer resets the count. Every handle sharing the connection counts,
/// whatever its timeout, and a coalesced `get`'s read counts as one call; calls under way on
/// a connection already replaced do not count against the new one. A handle without a
/// timeout (`with_timeout(None)`) never counts one, and waits as long as the connection does.
/// If the new connection cannot be made within 5 s, the old one stays, and the next timeout
/// tries again; one connect runs at a time. On a cluster the whole cluster connection is
/// replaced, the same way; but a node black-holed while the others answer may never cost
/// three timeouts in a row, since the other nodes' answers reset the count.
///
/// # Runtime
///
/// Operations run on tokio: called outside a tokio runtime they fail with
/// [`ErrorKind::Config`](crate::ErrorKind::Config). Timeouts are tokio timers, so in a runtime
/// built without `enable_time` an operation with a timeout panics, as [`tokio::time::timeout`]
/// does. A `get`, whose read runs on a task of the store's, fails instead with
/// [`ErrorKind::Backend`](crate::ErrorKind::Backend) and the message "the store's reader
/// stopped", because that task panicked.
///
/// # Cancel safety
///
/// Dropping an operation leaves the store usable; whether a write cut short took effect is
/// unknown. A dropped `get`'s key is still read with the others in its batch.
///
/// # On a cluster
///
/// With [`connect_cluster`](Self::connect_cluster), under the feature `redis-cluster`, keys
/// spread over the primaries by slot. `MGET`s and `UNLINK`s across slots are split by node.
/// `set_many` sends one `SET` per key, because a pipeline may not span slots. `clear` asks
/// every primary for `CLUSTER SLOTS` and scans every primary named there. A key that moves
/// during resharding, from a primary not yet scanned to one already scanned while `clear`
/// runs, survives it.
///
/// # Leases
///
/// [`lease`](crate::store::Store::lease) is `SET key token NX PX ms`, the TTL rounded up to
/// the millisecond. [`release`](crate::store::Store::release) runs a Lua script that deletes
/// the key only if it still holds the token, atomically on the server; it is sent with
/// `EVALSHA` and loaded with `SCRIPT LOAD` when the server answers `NOSCRIPT` (on a cluster,
/// to every node). A lease lives on the server's clock; on a cluster, on its key's primary.
///
/// # Watching for writes by others
///
/// [`watch`](crate::store::Store::watch) reports every change to the keys under a prefix,
/// by any client, through Redis's server-assisted client-side caching: `CLIENT TRACKING ON
/// BCAST PREFIX <namespace>:<prefix>` on a RESP3 connection of the watch's own, whose
/// invalidation pushes are passed on without the namespace. On a cluster there is one such
/// connection per primary (tracking is per node), and the primaries are asked for every 5 s
/// and after any loss, so that a new one is covered;
/// [`Invalidation::All`](crate::store::Invalidation::All) is reported then, as first, after
/// every reconnect, and on `FLUSHALL`/`FLUSHDB`. The server must speak RESP3: Redis 6 or later.
///
/// A watch never uses the store's data connection. It reconnects by itself: at once when its
/// connection fails loudly (a reset, a server restarting), then with backoff from 50 ms up to
/// 2 s (with jitter); a connection that goes silent is caught by a `PING` every second, given
/// 2 s. [`Watch::is_connected`](crate::store::Watch::is_connected) is `false` from the moment
/// a loss is noticed until every node is tracked again and the `All` that follows has been
/// reported. `watch` itself connects within the handle's timeout, and fails rather than start
/// disconnected; it stops when its [`Watch`](crate::store::Watch) is dropped or the store is
/// closed.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use std::sync::Arc;
/// use larder::store::{Invalidation, RedisStore, Store};
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", "users").await?;
/// let watch = store
///     .watch("v1:", Arc::new(|invalidation| match invalidation {
///         Invalidation::Keys(keys) => println!("changed: {keys:?}"), // e.g. ["v1:42"]
///         _ => println!("drop everything"),
///     }))
///     .await?
///     .expect("Redis can watch");
/// // Another process runs `SET users:v1:42 …`: this one prints `changed: ["v1:42"]`.
/// # drop(watch); Ok(()) }
/// ```
///
/// # Background work
///
/// One tokio task, the flusher, per burst of concurrent `get`s (none with coalescing off); it
/// ends when no `get` waits.
/// Flushers run on the runtime the `get`s are first polled on, and read only that runtime's
/// `get`s, so a runtime that stops being driven, such as a current-thread runtime between
/// `block_on`s, never holds another's. After a run of timeouts (see
/// [Failures](#failures)), one tokio task connects anew; it ends once the new connection is
/// in place, or after 5 s. Each [watch](#watching-for-writes-by-others) runs two tasks, one
/// that keeps its connections up and one that calls its sink, until it stops.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{RedisStore, Store};
/// use std::time::Duration;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", "users").await?;
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<Inner>,
}

/// One handle's settings, over a connection shared with the handles made from it.
pub(super) struct Inner {
    /// The connection, shared by every handle made from the store, and replaced after a run
    /// of timeouts.
    pub(super) link: Arc<Link>,
    pub(super) namespace: String,
    /// The timeout, the default TTL, and the closed flag every handle on this connection
    /// shares.
    pub(super) remote: Remote,
    /// Single gets waiting to be read together (`store/coalesce.rs`).
    pub(super) gets: Coalescer,
    /// Stops the store's watches when it is closed; shared like the closed flag.
    pub(super) closing: Arc<Closing>,
    /// Whether single gets are coalesced into `MGET`s (the default), or each sent as a `GET`.
    pub(super) coalesce: bool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No URL, no password, no bytes.
        f.debug_struct("RedisStore")
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.remote.timeout)
            .field("cluster", &self.inner.link.is_cluster())
            .field("coalesce", &self.inner.coalesce)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[:password@]host:port[/db]`), keeping
    /// keys under `namespace`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a URL that is not one, a `namespace`
    /// with a `:` (see [`RedisStore`]), outside a tokio runtime, or when the server refuses
    /// the credentials (a wrong password or user, or none where one is needed);
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) when the server cannot be reached
    /// (a refused connection, an unknown host); both are reported as soon as they are known.
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the server does not answer
    /// within 5 s. Once connected, the store reconnects by itself (with backoff) if the
    /// connection is lost, and replaces it after a run of timeouts (see
    /// [Failures](RedisStore#failures)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::store::RedisStore::connect("redis://127.0.0.1:6379", "sessions").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, Error> {
        check_namespace(namespace)?;
        Self::connect_client(client_for(url)?, namespace).await
    }

    /// Connects to the Redis server at `url` over TLS (`rediss://[:password@]host:port[/db]`),
    /// trusting the certificate authorities in `root_ca_pem` (PEM, one or more certificates)
    /// instead of the system's roots: for a server whose certificate a private CA signed.
    /// [`connect`](Self::connect) takes `rediss://` URLs too, trusting the system's roots.
    /// Everything else is as with `connect`, watches included (over TLS as well).
    ///
    /// TLS is rustls's, with the crypto provider the program installed as rustls's process
    /// default, or else ring's, which larder then installs as that default.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), and [`ErrorKind::Config`](crate::ErrorKind::Config) for
    /// a URL that is not `rediss://`, for `root_ca_pem` holding no certificate, and when the
    /// server's certificate is not signed by those authorities or does not name the URL's
    /// host (the TLS handshake fails).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/ca.crt")?;
    /// let store = larder::store::RedisStore::connect_tls("rediss://127.0.0.1:6380", "users", &ca).await?;
    /// # drop(store); Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub async fn connect_tls(
        url: &str,
        namespace: &str,
        root_ca_pem: &[u8],
    ) -> Result<Self, Error> {
        check_namespace(namespace)?;
        Self::connect_client(super::tls::client_with_ca(url, root_ca_pem)?, namespace).await
    }

    /// A store over your own `ConnectionManager`, keeping keys under `namespace`: for an
    /// application that already has one, with its own settings (retries, timeouts, a
    /// connection made some way larder does not know). No I/O: the manager is used as it is.
    ///
    /// The store's timeout (5 s by default, [`with_timeout`](Self::with_timeout)) bounds
    /// every call as usual; the manager's own response timeout applies too (the redis
    /// crate's default is 500 ms), so set it to `None` on the manager to leave only the
    /// store's. The manager reconnects by itself; the store cannot make a new connection
    /// after a run of timeouts (see [Failures](RedisStore#failures)), and cannot
    /// [`watch`](crate::store::Store::watch): it returns `Ok(None)`, since larder never sees
    /// the manager's connection details (a tier over it is then bounded by its L1's TTL).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a `namespace` with a `:`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let manager = redis::aio::ConnectionManager::new(client).await?;
    /// let store = larder::store::RedisStore::from_connection_manager(manager, "users")?;
    /// # drop(store); Ok(()) }
    /// ```
    pub fn from_connection_manager(
        manager: redis::aio::ConnectionManager,
        namespace: &str,
    ) -> Result<Self, Error> {
        check_namespace(namespace)?;
        let conn = Connection::Server(manager.clone());
        Ok(Self::with_connection(
            conn,
            Connector::Given(manager),
            namespace,
            Remote::new(BACKEND).with_meter(meter(None)),
        ))
    }

    /// Connects through `client`, checked as [`connect`](Self::connect) says.
    async fn connect_client(client: redis::Client, namespace: &str) -> Result<Self, Error> {
        let remote = Remote::new(BACKEND).with_meter(meter(Some(client.get_connection_info())));
        let connector = Connector::Server {
            client: Box::new(client),
            timeout: DEFAULT_TIMEOUT,
        };
        let conn = remote.within(connector.connect()).await?;
        Ok(Self::with_connection(conn, connector, namespace, remote))
    }

    /// Connects to the Redis Cluster that `nodes` belong to, keeping keys under `namespace`.
    /// Each node is a `redis://[:password@]host:port` URL; one reachable node is enough, and
    /// the others are found from it. Keys spread over the cluster's primaries by slot.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for no node, a URL that is not one, a
    /// `namespace` with a `:`, or outside a tokio runtime;
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) when no node can be reached or the servers
    /// are not a cluster; [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after 5 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use larder::Ttl;
    /// use larder::store::{RedisStore, Store};
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
        #[cfg(feature = "redis-tls")]
        if nodes.iter().any(|node| node.starts_with("rediss://")) {
            super::tls::ensure_provider();
        }
        // The redis crate's parse error may quote the URL: report without it. No response
        // timeout of the crate's: the store's is the only one.
        let not_urls = || Error::config("not a list of Redis URLs (redis://[:password@]host:port)");
        let client = redis::cluster::ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|_| not_urls())?;
        // Kept for watches, which connect to the nodes themselves (`tracking/`).
        let seeds = nodes
            .iter()
            .map(|node| redis::IntoConnectionInfo::into_connection_info(*node))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| not_urls())?;
        let remote = Remote::new(BACKEND).with_meter(meter(None));
        let connector = Connector::Cluster {
            client: Box::new(client),
            seeds,
        };
        let conn = remote.within(connector.connect()).await?;
        Ok(Self::with_connection(conn, connector, namespace, remote))
    }

    fn with_connection(
        conn: Connection,
        connector: Connector,
        namespace: &str,
        remote: Remote,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                link: Arc::new(Link::new(conn, connector, DEFAULT_TIMEOUT)),
                namespace: namespace.to_string(),
                gets: Coalescer::new(MAX_MGET, remote.timeout),
                remote,
                closing: Arc::new(Closing::new()),
                coalesce: true,
            }),
        }
    }

    /// This store with another timeout for every operation; `None` means no timeout. The
    /// handle shares the connection, and closing either closes both, so it also gives one
    /// call a timeout of its own: `store.with_timeout(Some(d)).get(key)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::store::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_timeout(Some(Duration::from_millis(200)));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.reconfigure(|inner| inner.remote.timeout = timeout)
    }

    /// This store with a TTL for values set with [`Ttl::Default`]; there is none by default.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::store::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(self, ttl: Duration) -> Self {
        self.reconfigure(|inner| inner.remote.default_ttl = Some(ttl))
    }

    /// This store with single `get`s coalesced into `MGET`s (`true`, the default) or each
    /// sent as a `GET` of its own (`false`). Coalescing gives many tasks doing single gets
    /// pipelined throughput, at the price of a task per burst of gets and a hop through it;
    /// turn it off for a store read by few tasks, where a `GET` is the shorter path, or to
    /// see each get as its own command on the server (`MONITOR`, latency tracking). The
    /// handle shares the connection; `get_many` is one `MGET` per 1,000 keys either way.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::store::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_coalescing(false);
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_coalescing(self, coalesce: bool) -> Self {
        self.reconfigure(|inner| inner.coalesce = coalesce)
    }

    fn reconfigure(self, change: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            link: Arc::clone(&i.link),
            namespace: i.namespace.clone(),
            remote: i.remote.clone(),
            gets: Coalescer::new(MAX_MGET, None), // set below, once the timeout is known
            closing: Arc::clone(&i.closing),
            coalesce: i.coalesce,
        };
        change(&mut inner);
        // Its own queue of gets, whose deadlines follow its timeout.
        inner.gets = Coalescer::new(MAX_MGET, inner.remote.timeout);
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(super) fn key(&self, key: &str) -> String {
        let namespace = &self.inner.namespace;
        let mut full = String::with_capacity(namespace.len() + 1 + key.len());
        full.push_str(namespace);
        full.push(':');
        full.push_str(key);
        full
    }

    /// `Ok` while the store is open, else the `Closed` error.
    /// What counts and times the store's operations.
    pub(super) fn meter(&self) -> &Meter {
        &self.inner.remote.meter
    }

    pub(super) fn open(&self) -> Result<(), Error> {
        self.inner.remote.check_open()
    }

    /// Runs `op` on the store's connection if the store is open, under its timeout, and
    /// counts a timeout or an answer against that connection (`link.rs`).
    pub(super) async fn on_link<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let lease = self.inner.link.lease();
        let generation = lease.generation();
        let result = self.inner.remote.run(op(lease.conn)).await;
        self.inner.link.settle(generation, &result);
        result
    }

    /// Runs a command with this store's timeout.
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Error> {
        self.on_link(|mut conn| async move { mapped(cmd.query_async(&mut conn)).await })
            .await
    }

    /// Runs a pipeline with this store's timeout.
    pub(super) async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, Error> {
        self.on_link(|mut conn| async move { mapped(pipe.query_async(&mut conn)).await })
            .await
    }

    /// The TTL a value is stored with: `None` for no expiry, `Some(0)` for already expired.
    pub(super) fn millis(&self, ttl: Ttl) -> Option<u64> {
        ttl_millis(ttl, self.inner.remote.default_ttl)
    }

    pub(super) fn set_cmd(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ms) = ttl_ms {
            cmd.arg("PX").arg(ms);
        }
        cmd
    }
}

/// The client for `url`, or a `Config` error that never quotes it (the redis crate's parse
/// error may).
fn client_for(url: &str) -> Result<redis::Client, Error> {
    #[cfg(feature = "redis-tls")]
    if url.starts_with("rediss://") {
        super::tls::ensure_provider();
    }
    if url.starts_with("rediss://") && !cfg!(feature = "redis-tls") {
        return Err(Error::config(
            "rediss:// (Redis over TLS) needs larder's redis-tls feature",
        ));
    }
    redis::Client::open(url)
        .map_err(|_| Error::config("not a Redis URL (redis[s]://[:password@]host:port[/db])"))
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

/// The meter of a store on the server `info` names (host and port only: never a password),
/// or on a cluster (`None`: no one server).
fn meter(info: Option<&redis::ConnectionInfo>) -> Meter {
    match info.map(redis::ConnectionInfo::addr) {
        Some(redis::ConnectionAddr::Tcp(host, port))
        | Some(redis::ConnectionAddr::TcpTls { host, port, .. }) => Meter::at("redis", host, *port),
        _ => Meter::new("redis"),
    }
}
