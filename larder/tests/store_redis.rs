//! `RedisStore`: the conformance suite on the gate's Redis server, and what is particular to
//! Redis (TTLs on the server, coalesced gets, hidden URLs, reconnecting after a restart).

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;
#[path = "faults/proxy.rs"]
mod proxy;
#[path = "faults/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

use conformance::{Harness, assert_unavailable, run_all, service, unique};
use larder::store::{RedisStore, Store};
use larder::{ErrorKind, Ttl};
use proxy::Proxy;
use server::{Scratch, Server, free_port};

#[tokio::test]
async fn redis_store_conforms() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("conform");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    let sibling = RedisStore::connect(&url, &format!("{ns}-other"))
        .await
        .unwrap();
    run_all(Harness::new(store, sibling)).await;
}

#[tokio::test]
async fn redis_ttls_are_set_and_persisted_on_the_server() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("ttl");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    store
        .set("k", b"v", Ttl::After(Duration::from_secs(100)))
        .await
        .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{ns}:k");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((90_000..=100_000).contains(&pttl), "SET PX: {pttl} ms left");
    assert!(store.expire("k", Ttl::Never).await.unwrap());
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(pttl, -1, "persisted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_concurrent_gets_are_coalesced_and_answer_each_key() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = Arc::new(
        RedisStore::connect(&url, &unique("coalesce"))
            .await
            .unwrap(),
    );
    for i in 0..100u32 {
        store
            .set(&i.to_string(), &i.to_le_bytes(), Ttl::Never)
            .await
            .unwrap();
    }
    let before = mget_calls(&url).await;
    let tasks: Vec<_> = (0..1_000u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { (i, store.get(&(i % 150).to_string()).await.unwrap()) })
        })
        .collect();
    for task in tasks {
        let (i, got) = task.await.unwrap();
        let k = i % 150;
        let expected = (k < 100).then(|| k.to_le_bytes().to_vec());
        assert_eq!(got, expected, "key {k}");
    }
    // The server counts MGETs from every test running at once: far fewer than one per get
    // all the same.
    let mgets = mget_calls(&url).await - before;
    assert!(
        mgets < 1_000,
        "{mgets} MGETs for 1,000 gets: nothing coalesced"
    );
}

/// How many `MGET`s the server at `url` has answered.
async fn mget_calls(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_mget:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn redis_errors_hide_the_url_and_name_their_kind() {
    let err = RedisStore::connect("not a url with a secret-password", "ns")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!format!("{err} {err:?}").contains("secret-password"));
    // Nothing listens on port 1: Backend (refused) or Timeout, never a hang or a panic.
    let err = RedisStore::connect("redis://:secret-password@127.0.0.1:1", "ns")
        .await
        .unwrap_err();
    assert_unavailable(&err);
    assert!(!format!("{err} {err:?}").contains("secret-password"));
}

/// Defect: every Redis connect failure was a `Timeout` after 5 s, the connection manager
/// retrying with backoff inside the limit. A server that refuses the credentials (Redis
/// answers `WRONGPASS`, or `NOAUTH` to a client without a password, at once) is a `Config`
/// error, told at once: well within a bound shorter than the store's 5 s timeout. The
/// right password connects.
#[tokio::test]
async fn redis_connect_with_a_wrong_password_is_a_config_error_not_a_timeout() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let server = OwnRedis::start_with(free_port(), &["--requirepass", "right-password"]).await;
    let address = server.address();
    for url in [
        format!("redis://:wrong-password@{address}"),
        format!("redis://{address}"),
    ] {
        let connect = RedisStore::connect(&url, "auth");
        let err = tokio::time::timeout(Duration::from_secs(3), connect)
            .await
            .expect("told at once, not after the store's 5 s timeout")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
        assert!(!format!("{err} {err:?}").contains("wrong-password"));
    }
    let url = format!("redis://:right-password@{address}");
    let store = RedisStore::connect(&url, "auth").await.unwrap();
    store.set("k", b"v", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
}

/// Defect: a refused connection was a `Timeout` after 5 s. It is a `Backend` error, told at
/// once: well within a bound shorter than the store's 5 s timeout.
#[tokio::test]
async fn redis_connect_to_a_refused_port_is_a_backend_error_not_a_timeout() {
    let url = format!("redis://127.0.0.1:{}", free_port()); // nothing listens there
    let connect = RedisStore::connect(&url, "refused");
    let err = tokio::time::timeout(Duration::from_secs(3), connect)
        .await
        .expect("told at once, not after the store's 5 s timeout")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err:?}");
}

/// A Redis server of the test's own, restartable, persisting every write (appendfsync
/// always) in a directory of its own, on a loopback port.
struct OwnRedis {
    // Dropped in this order: the server stops before its directory goes.
    server: Server,
    _dir: Scratch,
}

impl OwnRedis {
    async fn start(port: u16) -> Self {
        Self::start_with(port, &[]).await
    }

    /// With more `redis-server` arguments (`--cluster-enabled yes`).
    async fn start_with(port: u16, extra: &[&str]) -> Self {
        let dir = Scratch::new("larder-redis");
        let server = server::redis(port, Some(&dir), extra)
            .await
            .expect("redis-server (scripts/services.sh installs it)");
        Self { server, _dir: dir }
    }
}

impl std::ops::Deref for OwnRedis {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for OwnRedis {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reconnects_after_a_restart_and_loses_no_acknowledged_write() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let mut server = OwnRedis::start(16390).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "reconnect")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(500)));
    store.set("before", b"1", Ttl::Never).await.unwrap();

    server.kill();
    // While it is down: a typed error within the timeout, not a hang.
    let down = tokio::time::timeout(Duration::from_secs(5), store.get("before")).await;
    let err = down.expect("answers within its timeout").unwrap_err();
    assert_unavailable(&err);

    assert!(server.spawn().await, "the server starts again");
    // The connection manager reconnects by itself; the first calls may still fail.
    let mut back = None;
    for _ in 0..100 {
        if let Ok(value) = store.get("before").await {
            back = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        back.expect("reconnected").as_deref(),
        Some(&b"1"[..]),
        "the write acknowledged before the restart survived it"
    );
    store.set("after", b"2", Ttl::Never).await.unwrap();
    assert_eq!(
        store.get("after").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );
}

/// The gate's Redis Cluster (three primaries on loopback ports), as node URLs.
#[cfg(feature = "redis-cluster")]
fn cluster_nodes() -> Option<Vec<String>> {
    let nodes = service("LARDER_REDIS_CLUSTER_NODES")?;
    Some(nodes.split(',').map(str::to_string).collect())
}

#[cfg(feature = "redis-cluster")]
async fn cluster_store(ns: &str) -> Option<RedisStore> {
    let nodes = cluster_nodes()?;
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    Some(RedisStore::connect_cluster(&nodes, ns).await.unwrap())
}

#[cfg(feature = "redis-cluster")]
#[tokio::test]
async fn redis_cluster_store_conforms() {
    let ns = unique("cluster-conform");
    let Some(store) = cluster_store(&ns).await else {
        return;
    };
    let sibling = cluster_store(&format!("{ns}-other")).await.unwrap();
    run_all(Harness::new(store, sibling)).await;
}

/// How many keys of `ns` each node of the cluster holds, asked of each node directly.
#[cfg(feature = "redis-cluster")]
async fn keys_per_node(ns: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for url in cluster_nodes().unwrap() {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        let mut cursor: u64 = 0;
        let mut count = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{ns}:*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut raw)
                .await
                .unwrap();
            count += keys.len();
            if next == 0 {
                break;
            }
            cursor = next;
        }
        counts.push(count);
    }
    counts
}

#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_spreads_keys_over_the_nodes_and_clears_them_all() {
    let ns = unique("cluster-spread");
    let Some(store) = cluster_store(&ns).await else {
        return;
    };
    let store = Arc::new(store);
    let entries: Vec<(String, Vec<u8>)> = (0..300u32)
        .map(|i| (format!("k{i}"), i.to_le_bytes().to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    store.set_many(&refs, Ttl::Never).await.unwrap();
    let counts = keys_per_node(&ns).await;
    assert_eq!(counts.iter().sum::<usize>(), 300, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n > 0),
        "every primary holds some keys: {counts:?}"
    );
    // Concurrent single gets, coalesced into MGETs that span slots, each answered right.
    let tasks: Vec<_> = (0..300u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { (i, store.get(&format!("k{i}")).await.unwrap()) })
        })
        .collect();
    for task in tasks {
        let (i, got) = task.await.unwrap();
        assert_eq!(got, Some(i.to_le_bytes().to_vec()), "key k{i}");
    }
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(store.get_many(&keys).await.unwrap().len(), 300);
    // clear visits every primary, and only this namespace.
    let other = cluster_store(&format!("{ns}-kept")).await.unwrap();
    other.set("k1", b"kept", Ttl::Never).await.unwrap();
    store.clear().await.unwrap();
    assert_eq!(keys_per_node(&ns).await, [0, 0, 0]);
    assert_eq!(
        other.get("k1").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

#[cfg(feature = "redis-cluster")]
#[tokio::test]
async fn redis_cluster_needs_a_node_and_hides_its_password() {
    let err = RedisStore::connect_cluster(&[], "ns").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = RedisStore::connect_cluster(&["not a url secret-password"], "ns")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!format!("{err} {err:?}").contains("secret-password"));
}

#[tokio::test]
async fn redis_close_closes_every_handle_on_the_connection() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("close")).await.unwrap();
    let quick = store.clone().with_timeout(Some(Duration::from_secs(1)));
    quick.close().await.unwrap();
    let later = store.clone().with_default_ttl(Duration::from_secs(5));
    for handle in [&store, &quick, &later] {
        let err = handle.get("k").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed, "{handle:?}");
    }
}

/// A server that stops answering (`CLIENT PAUSE`): every call, coalesced gets included,
/// ends in the store's timeout with a `Timeout` error instead of waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_paused_server_gives_timeouts_for_every_call_not_hangs() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let server = OwnRedis::start(16391).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "paused")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(200)));
    store.set("a", b"1", Ttl::Never).await.unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(30_000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let (a, b, c) = tokio::time::timeout(NO_HANG, async {
        tokio::join!(
            store.get("a"),
            store.get("b"),
            store.set("c", b"1", Ttl::Never)
        )
    })
    .await
    .expect("every call ends in its timeout, long before the pause does");
    for err in [a.unwrap_err(), b.unwrap_err(), c.unwrap_err()] {
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    }
}

/// Far longer than any timeout in these tests and far shorter than the 30 s pause.
const NO_HANG: Duration = Duration::from_secs(10);

/// Defect: a black-holed connection (the path drops every packet and nothing reports an
/// error) was replaced only when the kernel gave up on it, after about 15 minutes; every call
/// timed out until then. After a short run of timeouts the store replaces its connection:
/// for coalesced gets, and for commands of their own (a `set`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_replaces_a_black_holed_connection_after_a_run_of_timeouts() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let server = OwnRedis::start(free_port()).await;
    let proxy = Proxy::start(server.address()).await.unwrap();
    let store = RedisStore::connect(&url(&proxy), "black-hole")
        .await
        .unwrap()
        .with_timeout(Some(BLACK_HOLE_TIMEOUT));
    recovers_from_black_holes(&store, &proxy).await;
}

/// The same on a cluster (of one node, which announces the proxy's port as its own, so
/// that the cluster connection goes through the proxy): the whole cluster connection is
/// replaced.
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_replaces_a_black_holed_connection_after_a_run_of_timeouts() {
    if service("LARDER_REDIS_CLUSTER_NODES").is_none() {
        return;
    }
    let port = 16395;
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let announced = proxy.address().port().to_string();
    let server = own_cluster_node_with(port, &["--cluster-announce-port", &announced]).await;
    let store = RedisStore::connect_cluster(&[url(&proxy).as_str()], "black-hole")
        .await
        .unwrap()
        .with_timeout(Some(BLACK_HOLE_TIMEOUT));
    recovers_from_black_holes(&store, &proxy).await;
    drop(server);
}

/// The URL of a Redis server behind `proxy`.
fn url(proxy: &Proxy) -> String {
    format!("redis://{}", proxy.address())
}

/// The timeout of the stores the black-hole tests use.
const BLACK_HOLE_TIMEOUT: Duration = Duration::from_millis(200);

/// With `store` connected through `proxy`: black-holes the store's connection, first for
/// gets, then for sets, and asserts that each time a call is answered again, on a new
/// connection, after a bounded run of timeouts.
async fn recovers_from_black_holes(store: &RedisStore, proxy: &Proxy) {
    let timeout = BLACK_HOLE_TIMEOUT;
    store.set("k", b"v", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    // The most calls that may time out before one is answered: the run that replaces the
    // connection, and those already under way on the old one while the new one connects.
    const MOST_TIMEOUTS: usize = 5;
    for path in ["get", "set"] {
        let connections = proxy.accepted();
        // Every connection open now stops forwarding, silently; new ones forward.
        proxy.black_hole_open();
        let mut timeouts = 0;
        loop {
            let call = async {
                match path {
                    "get" => store.get("k").await.map(|got| {
                        assert_eq!(got.as_deref(), Some(&b"v"[..]));
                    }),
                    _ => store.set("k", b"v", Ttl::Never).await,
                }
            };
            // Each call ends by its own timeout; this bound only turns a hang into a failure.
            let outcome = tokio::time::timeout(10 * timeout, call)
                .await
                .unwrap_or_else(|_| panic!("{path}: a call outlived its {timeout:?} timeout"));
            match outcome {
                Ok(()) => break,
                Err(err) => assert_eq!(err.kind(), ErrorKind::Timeout, "{path}: {err:?}"),
            }
            timeouts += 1;
            assert!(
                timeouts <= MOST_TIMEOUTS,
                "{path}: {timeouts} timeouts in a row and still timing out: the black-holed \
                 connection was not replaced ({} connections through the proxy, {connections} \
                 before the black hole)",
                proxy.accepted()
            );
        }
        assert!(
            proxy.accepted() > connections,
            "{path}: answered on a new connection"
        );
        println!("{path}: answered again after {timeouts} timeouts");
    }
}

/// Pauses every client of the server at `url` for `ms` milliseconds (`CLIENT PAUSE … ALL`):
/// their commands are answered when it ends.
async fn pause(url: &str, ms: u64) {
    let client = redis::Client::open(url).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
}

/// An answer that takes longer than the redis crate's own 500 ms response timeout, but less
/// than the store's, is an answer: the store's timeout is the only one (and `None` is none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_slow_answer_within_the_store_timeout_is_an_answer() {
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let server = OwnRedis::start(16392).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "slow").await.unwrap(); // 5 s
    let unlimited = store.clone().with_timeout(None);
    store.set("a", b"1", Ttl::Never).await.unwrap();
    pause(&url, 1_500).await;
    let (a, b, c) = tokio::join!(
        store.get("a"),
        unlimited.get("a"),
        store.set("b", b"2", Ttl::Never)
    );
    assert_eq!(a.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(b.unwrap().as_deref(), Some(&b"1"[..]));
    c.unwrap();
}

/// Polls `future` to completion on this thread, outside any runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Called outside a tokio runtime (its timeouts are tokio timers, its reconnects tokio
/// tasks), every operation fails with `Config` instead of panicking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outside_a_runtime_calls_fail_with_config_not_a_panic() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("no-runtime"))
        .await
        .unwrap();
    let untimed = store.clone().with_timeout(None);
    let outcome = std::thread::spawn(move || {
        [
            block_on(store.get("k")).map(drop),
            block_on(untimed.get("k")).map(drop),
            block_on(store.set("k", b"v", Ttl::Never)),
            block_on(untimed.clear()),
        ]
    })
    .join()
    .expect("no panic");
    for result in outcome {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Config);
    }
}

#[tokio::test]
async fn redis_an_increment_that_would_overflow_is_a_codec_error() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("overflow"))
        .await
        .unwrap();
    store
        .set("n", i64::MAX.to_string().as_bytes(), Ttl::Never)
        .await
        .unwrap();
    let err = store.increment("n", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec, "{err:?}");
    assert_eq!(store.increment("n", -1).await.unwrap(), i64::MAX - 1);
}

/// A key of the namespace that is not UTF-8 (written by another client) is cleared too,
/// rather than failing every `clear`.
#[tokio::test]
async fn redis_clear_removes_keys_that_are_not_utf8() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("binary-keys");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    store.set("k", b"v", Ttl::Never).await.unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let mut binary = format!("{ns}:").into_bytes();
    binary.extend_from_slice(&[0xff, 0xfe]);
    let _: () = redis::cmd("SET")
        .arg(&binary)
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    store.clear().await.unwrap();
    let left: u64 = redis::cmd("EXISTS")
        .arg(&binary)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(store.get("k").await.unwrap(), None);
}

/// A TTL longer than Redis can count from now is a very long TTL, not a refused write.
#[tokio::test]
async fn redis_a_huge_ttl_is_kept_not_refused() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("huge-ttl"))
        .await
        .unwrap();
    let forever = Ttl::After(Duration::MAX);
    store.set("k", b"v", forever).await.unwrap();
    assert!(store.add("a", b"v", forever).await.unwrap());
    assert!(store.expire("k", forever).await.unwrap());
    store.set_many(&[("m", b"v")], forever).await.unwrap();
    assert_eq!(
        store.get_many(&["k", "a", "m"]).await.unwrap(),
        [
            Some(b"v".to_vec()),
            Some(b"v".to_vec()),
            Some(b"v".to_vec())
        ]
    );
}

/// A cluster of one node of the test's own (all slots, no replicas), up and agreeing.
#[cfg(feature = "redis-cluster")]
async fn own_cluster_node(port: u16) -> OwnRedis {
    own_cluster_node_with(port, &[]).await
}

/// The same, with more `redis-server` arguments.
#[cfg(feature = "redis-cluster")]
async fn own_cluster_node_with(port: u16, extra: &[&str]) -> OwnRedis {
    let mut args = vec![
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
    ];
    args.extend_from_slice(extra);
    let server = OwnRedis::start_with(port, &args).await;
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut admin)
        .await
        .unwrap();
    // Until the node says the cluster is up (a setup wait, bounded; not a test of timing).
    for _ in 0..200 {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut admin)
            .await
            .unwrap();
        if info.contains("cluster_state:ok") {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the one-node cluster on port {port} is not up after 10 s");
}

/// A node that does not know its own address answers `CLUSTER SLOTS` with an empty host (a
/// one-node cluster does), or with NULL (`cluster-preferred-endpoint-type unknown-endpoint`):
/// both stand for the node that answered, and `clear` still scans it.
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_clear_follows_an_empty_or_null_host_to_the_answering_node() {
    if service("LARDER_REDIS_CLUSTER_NODES").is_none() {
        return;
    }
    let server = own_cluster_node(16393).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect_cluster(&[url.as_str()], "one-node")
        .await
        .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    for endpoint in ["ip", "unknown-endpoint"] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("cluster-preferred-endpoint-type")
            .arg(endpoint)
            .query_async(&mut admin)
            .await
            .unwrap();
        store
            .set_many(&[("a", b"1"), ("b", b"2")], Ttl::Never)
            .await
            .unwrap();
        store.clear().await.unwrap();
        assert_eq!(
            store.get_many(&["a", "b"]).await.unwrap(),
            [None, None],
            "{endpoint}"
        );
    }
}

/// On a cluster too the store's timeout is the only one: `None` waits out a 6 s pause (the
/// crate's response timeout was 5 s).
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_a_slow_answer_within_the_store_timeout_is_an_answer() {
    if service("LARDER_REDIS_CLUSTER_NODES").is_none() {
        return;
    }
    let server = own_cluster_node(16394).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect_cluster(&[url.as_str()], "slow")
        .await
        .unwrap()
        .with_timeout(None);
    store.set("a", b"1", Ttl::Never).await.unwrap();
    pause(&url, 6_000).await;
    assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
}

/// Empty batches are answered at once, on a server and on a cluster.
#[tokio::test]
async fn redis_empty_batches_answer_at_once() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("empty")).await.unwrap();
    store.set_many(&[], Ttl::Never).await.unwrap();
    store
        .set_many(&[], Ttl::After(Duration::ZERO))
        .await
        .unwrap();
    assert!(store.get_many(&[]).await.unwrap().is_empty());
    #[cfg(feature = "redis-cluster")]
    {
        let cluster = cluster_store(&unique("empty")).await.unwrap();
        cluster.set_many(&[], Ttl::Never).await.unwrap();
        assert!(cluster.get_many(&[]).await.unwrap().is_empty());
    }
}

/// A namespace never reaches into another: with keys `namespace:key`, a namespace `a:b`
/// would share `a`'s keys (`a`'s key `b:k` is `a:b`'s `k`) and `a`'s `clear`.
#[tokio::test]
async fn redis_no_namespace_holds_another_namespaces_keys() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let outer = unique("outer");
    let inner = format!("{outer}:inner");
    let outer_store = RedisStore::connect(&url, &outer).await.unwrap();
    match RedisStore::connect(&url, &inner).await {
        Err(err) => assert_eq!(err.kind(), ErrorKind::Config),
        Ok(inner_store) => {
            inner_store.set("k", b"inner", Ttl::Never).await.unwrap();
            assert_eq!(outer_store.get("inner:k").await.unwrap(), None);
            outer_store.clear().await.unwrap();
            assert_eq!(
                inner_store.get("k").await.unwrap().as_deref(),
                Some(&b"inner"[..]),
                "{outer}'s clear removed {inner}'s keys"
            );
        }
    }
    #[cfg(feature = "redis-cluster")]
    if let Some(nodes) = cluster_nodes() {
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let err = RedisStore::connect_cluster(&nodes, "a:b")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
