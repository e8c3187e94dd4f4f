//! [`MemcachedStore`]: the type, connecting, its settings, and what its operations share:
//! the namespace generation, where each key lives, and running under the store's timeout.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;

use super::generation::{self, Generation, Lookup};
use super::key;
use super::pool::Pool;
use super::route::Ring;
use super::ttl::{self, Exptime};
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::store::coalesce::Coalescer;
use crate::store::meter::Meter;
use crate::store::remote::Remote;
use crate::sync::Arc;

/// This store's name in errors.
pub(super) const BACKEND: &str = "Memcached";
/// How long a store trusts the namespace generation it read by default.
const DEFAULT_GENERATION_REFRESH: Duration = Duration::from_secs(1);
/// The oldest Memcached with meta commands.
const MIN_VERSION: (u32, u32) = (1, 6);
/// The most single gets read together (split per server, and in rounds of 256 keys, by
/// the multi-get they share).
const MAX_COALESCED: usize = 1_000;

/// A [`Store`](crate::store::Store) on one or more Memcached servers, version 1.6 or later.
/// Keys spread over the servers by rendezvous hashing, each server has a pool of connections,
/// and `clear` works by namespace generations, never by `flush_all`.
///
/// # Servers
///
/// Each key belongs to one server, chosen by rendezvous, or highest-random-weight, hashing with
/// XXH3, an algorithm that is the same in every process and on every Rust version: instances
/// given the same addresses, spelled the same, in any order, agree on where each key lives.
/// Adding or removing a server moves only the keys it gains or loses. A server that is down
/// fails the operations on its keys with [`ErrorKind::Backend`] or [`ErrorKind::Timeout`];
/// its keys do not move to the others.
///
/// `get_many` and `set_many` group their keys by server and ask the servers concurrently, one
/// pipelined round trip each, with up to 256 keys per round trip for gets. A server that fails
/// fails the call; `set_many` may then have stored the other servers' values.
///
/// Each server has a pool of up to 16 connections, opened as needed. A connection that broke
/// is dropped, together with the server's idle ones, and the next operation opens a new one,
/// so a restarted server is used again. Operations are not retried: the one that finds a
/// connection broken fails. After a restart, that is the first operation on that server, and
/// those running with it.
///
/// # Keys
///
/// Keys are stored as `namespace:generation:key`. Some keys Memcached cannot take as they
/// are: those over 250 bytes in all, those with a space, a control or a non-ASCII character,
/// and those starting with `#`. Such a key is stored as `namespace:generation:#` and the 64
/// hex digits of its SHA-256, so any key works. The namespace is 1 to 128 printable ASCII
/// characters without spaces or `:`.
///
/// # TTLs
///
/// Memcached counts whole seconds: a TTL with a fraction of a second is rounded up, so 1 ms
/// is 1 s. TTLs up to 30 days are sent as seconds. Longer ones are sent as a unix time from
/// this machine's clock, which should agree with the server's. That time is at most
/// 2038-01-19, the latest Memcached parses; when that date is less than 30 days away, or
/// past, 30 days are sent instead. A zero TTL deletes; [`Ttl::Never`] never expires;
/// [`Ttl::Default`] is the store's default, set with
/// [`with_default_ttl`](Self::with_default_ttl), and without one it never expires.
///
/// # `clear` and other instances
///
/// `clear` moves the namespace's generation on with an atomic increment of the key
/// `namespace:gen`: every key written before is out of reach at once, and Memcached's LRU
/// reclaims their memory. Each store reads the generation again at most every second, as set
/// by [`with_generation_refresh`](Self::with_generation_refresh): **another instance sees a
/// `clear` within that long**, and may meanwhile read and write the old generation.
///
/// While the server holding the generation is unreachable, the last one read is used, except
/// with a zero refresh, which then fails. The one operation per refresh that tries to read it
/// again fails if that read does, by its timeout. If Memcached loses the generation, because
/// it was evicted or its server restarted, the next one is taken from this machine's clock in
/// microseconds, above any this process saw: that too empties the namespace. Every instance
/// uses the generation Memcached holds, even one lower than it used before, such as one made
/// again by an instance whose clock is behind. That way they keep sharing one namespace.
///
/// # No watching
///
/// Memcached cannot tell a client of other clients' writes, so
/// [`watch`](crate::store::Store::watch) returns `None`. A copy of a value kept in memory
/// above this store (the L1 of a tiered cache) may be served stale after another instance
/// writes or deletes the key, for as long as that copy lives: **staleness is bounded only by
/// the L1's own TTL**.
///
/// # Counters
///
/// [`increment`](crate::store::Store::increment) keeps signed decimal counters, as the other
/// stores do. It is atomic. When it adds a positive amount, or 0, to a counter that is not
/// negative, it never changes an existing counter's TTL: that is one Memcached `incr`, the
/// meta command `ma`, which keeps the TTL.
///
/// Memcached's arithmetic is unsigned, so a decrement, or a change to a negative counter,
/// reads the counter with its CAS token and writes the result back only if nothing changed
/// meanwhile, trying again up to 64 times. That write gives the counter the whole seconds it
/// had left: one that spans a tick of the server's clock keeps it up to a second longer. A new
/// counter gets the default TTL. On a server without compare-and-set, started with
/// `memcached -C`, counters can only go up from 0, and the rest fails with
/// [`ErrorKind::Backend`].
///
/// Memcached reads a counter as its own `incr` does, so a value like `"7 apples"` counts as 7
/// where another store would refuse it. It writes a number shorter than the one before padded
/// with spaces, which `get` returns, as in `"8       "`. An increment that would overflow is
/// added and taken back, and fails with [`ErrorKind::Codec`]: the number is as it was, though
/// it may be padded that way. The take-back happens even if the caller's timeout fires or its
/// future is dropped in between: see Cancel safety.
///
/// # Leases
///
/// [`lease`](crate::store::Store::lease) is an `add` whose TTL is rounded up to whole seconds
/// **plus one**: Memcached's clock ticks once a second, so an item stored for `n` seconds
/// lives between `n - 1` and `n` seconds, and a lease must last at least its TTL. A lease of
/// 100 ms thus lasts between 1 and 2 s, and one of 5 s between 5 and 6 s.
/// [`release`](crate::store::Store::release) reads the lease with its CAS token and deletes
/// it only if the token is unchanged (`mg` with `v c`, then `md` with `C<cas>`), so a lease
/// that expired and was taken again in between is left alone. A server started with `-C`
/// has no CAS tokens: there the delete follows the comparison unconditionally, with the race
/// described at [`release`](crate::store::Store::release).
///
/// A lease lives in the namespace's generation like any key: after a `clear` it is out of
/// reach, and for up to the generation refresh (see above) an instance that has not seen the
/// `clear` yet can take a lease the others no longer see. Memcached may evict a lease under
/// memory pressure before its end.
///
/// # Values
///
/// Values are limited by the server's item size, set with `memcached -I`. It is 1 MiB by
/// default, including the key and about 50 bytes of overhead: start Memcached with `-I 2m` to
/// store values of 1 MiB. A larger value fails with [`ErrorKind::Backend`], and is not
/// stored; Memcached also drops the key's old value then. A value over 1 GiB, more than any
/// Memcached item holds, fails the same way without being sent.
///
/// # Cancel safety
///
/// Dropping an operation, or its timeout firing, leaves the store usable: a connection cut
/// short is closed, never reused. Whether a write cut short took effect is unknown.
///
/// [`increment`](crate::store::Store::increment) is the exception: once it has a connection,
/// it runs to its end in a task of its own, even if its caller goes, so that a counter is
/// never left past `i64::MAX` by an overflowing addition not yet taken back. It holds that
/// connection until the server answers. Only a server or network failure between the two
/// commands can still leave the counter past `i64::MAX`, which then reads as not a counter
/// until it is set again.
///
/// # Closing
///
/// [`close`](crate::store::Store::close) closes every handle on the same connections: clones,
/// and the handles made by the `with_` methods, before or after. The idle connections are closed
/// at once, the others when the operations using them end; operations waiting for a
/// connection fail with [`ErrorKind::Closed`].
///
/// # Background work
///
/// One tokio task, the flusher, per burst of concurrent `get`s. It reads them together as one
/// multi-get per server, and ends when no `get` waits. Flushers run on the runtime the `get`s
/// are first polled on, and read only that runtime's `get`s, so a runtime that stops being
/// driven, such as a current-thread runtime between `block_on`s, never holds another's. One
/// tokio task per `increment`, which the increment awaits, and which ends with the increment
/// even if its caller went first.
///
/// `Debug`, `Display` and errors show server addresses and the namespace, never keys or
/// values.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{MemcachedStore, Store};
/// use std::time::Duration;
///
/// let store = MemcachedStore::connect(&["127.0.0.1:11211", "127.0.0.1:11212"], "users").await?;
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemcachedStore {
    pub(super) inner: Arc<Inner>,
}

/// One handle's settings, over connections shared with the handles made from it.
pub(super) struct Inner {
    shared: Arc<Shared>,
    /// Single gets waiting to be read together (`store/coalesce.rs`).
    pub(super) gets: Coalescer,
    /// The timeout, the default TTL, and the closed flag every handle made from one
    /// `connect` shares.
    pub(super) remote: Remote,
    generation_refresh: Duration,
    /// Whether single gets are coalesced into multi-gets (the default), or each read alone.
    pub(super) coalesce: bool,
}

/// What every handle made from one `connect` shares.
struct Shared {
    namespace: String,
    pools: Vec<Pool>,
    ring: Ring,
    generation: Generation,
}

impl fmt::Debug for MemcachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Addresses are not secret; keys and values never appear.
        let shared = &self.inner.shared;
        f.debug_struct("MemcachedStore")
            .field("servers", &shared.pools)
            .field("namespace", &shared.namespace)
            .field("timeout", &self.inner.remote.timeout)
            .field("coalesce", &self.inner.coalesce)
            .finish_non_exhaustive()
    }
}

impl MemcachedStore {
    /// Connects to the Memcached servers at `servers`, keeping keys under `namespace`. Each
    /// server is a `host:port`, with an IPv4 address or a host name. Every server must answer:
    /// one connection to each is opened, and its version checked.
    ///
    /// Instances that share keys must list the same addresses, spelled the same; their order
    /// does not matter. For a comma-separated list, split it:
    /// `MemcachedStore::connect(&list.split(',').collect::<Vec<_>>(), ns)`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for no server, an empty or repeated address, an address that is
    /// not one, a namespace that is not 1 to 128 printable ASCII characters without spaces
    /// or `:`, or a Memcached older than 1.6; [`ErrorKind::Backend`] when a server cannot be
    /// reached; [`ErrorKind::Timeout`] after 5 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::store::MemcachedStore::connect(&["127.0.0.1:11211"], "sessions").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn connect<S: AsRef<str>>(servers: &[S], namespace: &str) -> Result<Self, Error> {
        key::check_namespace(namespace)?;
        let addresses = addresses(servers)?;
        let pools: Vec<Pool> = addresses.iter().map(|a| Pool::new(a)).collect();
        let ring = Ring::new(&addresses);
        let remote = Remote::new(BACKEND).with_meter(meter(&addresses));
        remote
            .within(try_join_all(pools.iter().map(check_server)))
            .await?;
        let generation_key = key::generation_key(namespace);
        let generation_server = ring.owner(&generation_key);
        Ok(Self {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    namespace: namespace.to_string(),
                    pools,
                    ring,
                    generation: Generation::new(generation_key, generation_server),
                }),
                gets: Coalescer::new(MAX_COALESCED, remote.timeout),
                remote,
                generation_refresh: DEFAULT_GENERATION_REFRESH,
                coalesce: true,
            }),
        })
    }

    /// This store with another timeout for every operation; `None` means no timeout, and the
    /// default is 5 s. The handle shares the connections, so it also gives one call a timeout
    /// of its own: `store.with_timeout(Some(d)).get(key)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::store::MemcachedStore::connect(&["127.0.0.1:11211"], "ns").await?
    ///     .with_timeout(Some(Duration::from_millis(200)));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.reconfigure(|inner| inner.remote.timeout = timeout)
    }

    /// This store with a TTL for values set with [`Ttl::Default`], and for counters
    /// [`increment`](crate::store::Store::increment) creates. There is none by default.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::store::MemcachedStore::connect(&["127.0.0.1:11211"], "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(self, ttl: Duration) -> Self {
        self.reconfigure(|inner| inner.remote.default_ttl = Some(ttl))
    }

    /// This store reading the namespace generation again after `refresh`, 1 s by default:
    /// the longest it takes to see a [`clear`](crate::store::Store::clear) made by another
    /// instance. `Duration::ZERO` sees it at once, for one more round trip per operation.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::store::MemcachedStore::connect(&["127.0.0.1:11211"], "ns").await?
    ///     .with_generation_refresh(Duration::from_millis(100));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_generation_refresh(self, refresh: Duration) -> Self {
        self.reconfigure(|inner| inner.generation_refresh = refresh)
    }

    /// This store with single `get`s coalesced into multi-gets (`true`, the default) or each
    /// read on its own (`false`). Coalescing gives many tasks doing single gets pipelined
    /// throughput, at the price of a task per burst of gets and a hop through it; turn it
    /// off for a store read by few tasks, where a lone read is the shorter path. The handle
    /// shares the connections.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::store::MemcachedStore::connect(&["127.0.0.1:11211"], "ns").await?
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
            shared: Arc::clone(&i.shared),
            gets: Coalescer::new(MAX_COALESCED, None), // set below, once the timeout is known
            remote: i.remote.clone(),
            generation_refresh: i.generation_refresh,
            coalesce: i.coalesce,
        };
        change(&mut inner);
        // Its own queue of gets, whose deadlines follow its timeout.
        inner.gets = Coalescer::new(MAX_COALESCED, inner.remote.timeout);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// What counts and times the store's operations.
    pub(super) fn meter(&self) -> &Meter {
        &self.inner.remote.meter
    }

    /// `Ok` while the store is open, else the `Closed` error.
    pub(super) fn open(&self) -> Result<(), Error> {
        self.inner.remote.check_open()
    }

    /// Runs `op` if the store is open, under its timeout.
    pub(super) async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.inner.remote.run(op).await
    }

    pub(super) fn pool(&self, server: usize) -> Result<&Pool, Error> {
        self.inner
            .shared
            .pools
            .get(server)
            .ok_or_else(|| Error::new(ErrorKind::Backend, "no such Memcached server"))
    }

    pub(super) fn exptime(&self, ttl: Ttl) -> Exptime {
        ttl::exptime(ttl, self.inner.remote.default_ttl, ttl::now())
    }

    /// The namespace's generation: the one seen last if recent, else read from its server.
    async fn generation(&self) -> Result<u64, Error> {
        let generation = &self.inner.shared.generation;
        let (fallback, ticket) =
            match generation.lookup(self.inner.generation_refresh, Instant::now()) {
                Lookup::Fresh(value) => return Ok(value),
                Lookup::Refresh { fallback, ticket } => (fallback, ticket),
            };
        let pool = self.pool(generation.server())?;
        match generation::read(pool, generation.key(), generation.highest()).await {
            Ok(value) => Ok(generation.update(value, ticket, Instant::now())),
            Err(error) => fallback.ok_or(error),
        }
    }

    /// Moves the namespace's generation on: [`clear`](crate::store::Store::clear).
    pub(super) async fn next_generation(&self) -> Result<(), Error> {
        let generation = &self.inner.shared.generation;
        let pool = self.pool(generation.server())?;
        let next = generation::bump(pool, generation.key(), generation.highest()).await?;
        // Ended: reads begun before it may answer with the generation before.
        generation.update(next, generation.ticket(), Instant::now());
        Ok(())
    }

    /// Closes every handle on these connections, and the idle connections.
    pub(super) fn mark_closed(&self) {
        self.inner.remote.closed().close();
        for pool in &self.inner.shared.pools {
            pool.close();
        }
    }

    /// Which server owns each key.
    pub(super) fn ring(&self) -> &Ring {
        &self.inner.shared.ring
    }

    /// The server and Memcached key of each of `keys`, in order.
    pub(super) async fn locate_many(&self, keys: &[&str]) -> Result<Vec<(usize, String)>, Error> {
        let generation = self.generation().await?;
        let shared = &self.inner.shared;
        Ok(shared.ring.locate(&shared.namespace, generation, keys))
    }

    pub(super) async fn locate(&self, key: &str) -> Result<(usize, String), Error> {
        let mut located = self.locate_many(&[key]).await?;
        located
            .pop()
            .ok_or_else(|| Error::new(ErrorKind::Backend, "no key located"))
    }
}

/// The addresses in `servers`, trimmed, checked non-empty and distinct.
fn addresses<S: AsRef<str>>(servers: &[S]) -> Result<Vec<String>, Error> {
    if servers.is_empty() {
        return Err(Error::config("no Memcached server address was given"));
    }
    let mut out: Vec<String> = Vec::with_capacity(servers.len());
    for server in servers {
        let address = server.as_ref().trim();
        if address.is_empty() {
            return Err(Error::config("an empty Memcached server address"));
        }
        if out.iter().any(|a| a == address) {
            return Err(Error::config(format!(
                "the Memcached server {address} is listed twice"
            )));
        }
        out.push(address.to_string());
    }
    Ok(out)
}

/// Opens a first connection to `pool`'s server (kept in the pool) and checks its version.
async fn check_server(pool: &Pool) -> Result<(), Error> {
    let mut conn = pool.conn().await?;
    let version = conn.version().await?;
    let mut parts = version.trim().split('.').map(str::parse::<u32>);
    // A version that does not read as one (a proxy's) is let through.
    if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next())
        && (major, minor) < MIN_VERSION
    {
        return Err(Error::config(format!(
            "Memcached at {} is {}, older than 1.6 (meta commands)",
            pool.address(),
            version.trim()
        )));
    }
    Ok(())
}

/// The meter of a store on `addresses`: with the server's host and port when there is one.
fn meter(addresses: &[String]) -> Meter {
    let one = match addresses {
        [address] => address.rsplit_once(':'),
        _ => None,
    };
    match one.map(|(host, port)| (host, port.parse::<u16>())) {
        Some((host, Ok(port))) => Meter::at("memcached", host.trim_matches(['[', ']']), port),
        _ => Meter::new("memcached"),
    }
}
