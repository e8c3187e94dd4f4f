//! Leases (`Store::lease`, `Store::release`): one suite over every store (memory, disk, Redis,
//! a Redis Cluster, Memcached, and a store with only the default methods), and where each
//! backend keeps a lease's TTL. Server tests read the gate's addresses from the environment,
//! as the other store tests do; none waits out a TTL.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;
#[cfg(feature = "memcached")]
#[path = "faults/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

#[cfg(any(feature = "redis", feature = "memcached"))]
use conformance::{service, unique};
use larder::store::{LeaseToken, MemoryStore, Store};
use larder::{Cache, Clock, ErrorKind, Ttl};

/// Long enough that no lease of the suite ends while it runs, on a server's own clock.
const TTL: Duration = Duration::from_secs(60);
/// Callers racing for one lease.
const HERD: usize = 32;

/// What every store does with leases. `advance` moves the store's clock on (`None`: a
/// server's own clock, which tests do not wait out; each server's test checks the TTL the
/// server holds instead).
async fn leases<S: Store>(store: S, sibling: S, advance: Option<&dyn Fn(Duration)>) {
    // One holder at a time.
    let mine = store
        .lease("job", TTL)
        .await
        .unwrap()
        .expect("a free lease");
    assert_eq!(store.lease("job", TTL).await.unwrap(), None, "held");
    // The lease is an entry of the namespace, holding the token.
    assert_eq!(
        store.get("job").await.unwrap().as_deref(),
        Some(mine.as_bytes())
    );
    // Another namespace has leases of its own.
    let theirs = sibling.lease("job", TTL).await.unwrap().expect("apart");
    assert_ne!(theirs, mine);
    // The wrong token gives nothing back, and the lease stays.
    assert!(!store.release("job", &LeaseToken::random()).await.unwrap());
    assert!(!store.release("job", &theirs).await.unwrap());
    assert_eq!(store.lease("job", TTL).await.unwrap(), None, "still held");
    assert_eq!(
        store.get("job").await.unwrap().as_deref(),
        Some(mine.as_bytes())
    );
    // The right token gives it back, once, and a new holder can take it.
    assert!(store.release("job", &mine).await.unwrap());
    assert!(!store.exists("job").await.unwrap());
    assert!(
        !store.release("job", &mine).await.unwrap(),
        "given back already"
    );
    let next = store.lease("job", TTL).await.unwrap().expect("free again");
    assert_ne!(next, mine, "a new token for each lease");
    assert!(store.release("job", &next).await.unwrap());
    assert!(sibling.release("job", &theirs).await.unwrap(), "left alone");
    // Nothing to give back: no key, or a key holding something else, which stays.
    assert!(!store.release("never", &mine).await.unwrap());
    store.set("value", b"data", Ttl::Never).await.unwrap();
    assert!(!store.release("value", &mine).await.unwrap());
    assert_eq!(
        store.get("value").await.unwrap().as_deref(),
        Some(&b"data"[..])
    );
    // A lease needs a TTL.
    let err = store.lease("zero", Duration::ZERO).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!store.exists("zero").await.unwrap());

    if let Some(advance) = advance {
        expiry(&store, advance).await;
    }

    // Racing callers: exactly one takes each lease, round after round.
    let store = Arc::new(store);
    for round in 0..3 {
        let holders = herd(&store, "herd").await;
        assert_eq!(holders.len(), 1, "round {round}: {holders:?}");
        assert!(store.release("herd", &holders[0]).await.unwrap());
    }

    // A closed store takes and gives back nothing.
    store.close().await.unwrap();
    let err = store.lease("job", TTL).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    let err = store.release("job", &mine).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
}

/// A lease ends by itself at its TTL, on the store's clock, and not before; one under a
/// millisecond is still held until the clock moves.
async fn expiry<S: Store>(store: &S, advance: &dyn Fn(Duration)) {
    let ten = Duration::from_secs(10);
    let old = store.lease("short", ten).await.unwrap().unwrap();
    advance(ten - Duration::from_millis(1));
    assert_eq!(store.lease("short", ten).await.unwrap(), None, "not yet");
    advance(Duration::from_millis(1));
    let new = store.lease("short", ten).await.unwrap().expect("expired");
    // The expired lease's token gives back nothing: the new holder keeps it.
    assert!(!store.release("short", &old).await.unwrap());
    assert_eq!(
        store.get("short").await.unwrap().as_deref(),
        Some(new.as_bytes())
    );
    assert!(store.release("short", &new).await.unwrap());

    let tiny = store
        .lease("tiny", Duration::from_nanos(1))
        .await
        .unwrap()
        .expect("taken");
    assert_eq!(
        store.lease("tiny", ten).await.unwrap(),
        None,
        "a TTL under a millisecond is not zero"
    );
    advance(Duration::from_millis(1));
    assert!(!store.release("tiny", &tiny).await.unwrap(), "ended");
}

/// [`HERD`] tasks take the lease on `key` at once; the tokens of those that got it.
async fn herd<S: Store>(store: &Arc<S>, key: &'static str) -> Vec<LeaseToken> {
    let start = Arc::new(tokio::sync::Barrier::new(HERD));
    let tasks: Vec<_> = (0..HERD)
        .map(|_| {
            let (store, start) = (Arc::clone(store), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                store.lease(key, TTL).await.unwrap()
            })
        })
        .collect();
    let mut holders = Vec::new();
    for task in tasks {
        holders.extend(task.await.unwrap());
    }
    holders
}

/// Two memory stores on one cache with a mock clock.
fn memory() -> (MemoryStore, MemoryStore, larder::MockClock) {
    let (clock, mock) = Clock::mock();
    let shared: Cache<String, Arc<[u8]>> = Cache::builder().clock(clock).build();
    (
        MemoryStore::with_cache("ns", shared.clone()),
        MemoryStore::with_cache("other", shared),
        mock,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_leases() {
    let (store, sibling, mock) = memory();
    leases(store, sibling, Some(&|d| mock.advance(d))).await;
}

/// A store with only the methods the trait requires, over a `MemoryStore`: `lease` and
/// `release` are the trait's defaults (`add`; `get`, compare, `delete`).
struct Plain(MemoryStore);

impl Store for Plain {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, larder::Error> {
        self.0.get(key).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, larder::Error> {
        self.0.get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), larder::Error> {
        self.0.set(key, value, ttl).await
    }
    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), larder::Error> {
        self.0.set_many(entries, ttl).await
    }
    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, larder::Error> {
        self.0.add(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, larder::Error> {
        self.0.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, larder::Error> {
        self.0.exists(key).await
    }
    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, larder::Error> {
        self.0.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, by: i64) -> Result<i64, larder::Error> {
        self.0.increment(key, by).await
    }
    async fn clear(&self) -> Result<(), larder::Error> {
        self.0.clear().await
    }
    async fn close(&self) -> Result<(), larder::Error> {
        self.0.close().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_leases_on_add_get_and_delete() {
    let (store, sibling, mock) = memory();
    // A store of one's own counts nothing unless it says so (`Store::store_stats`'s default).
    assert_eq!(Plain(store.clone()).store_stats(), None);
    leases(Plain(store), Plain(sibling), Some(&|d| mock.advance(d))).await;
}

#[cfg(feature = "disk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_store_leases() {
    let dir = tempfile::Builder::new()
        .prefix("larder-lease-")
        .tempdir()
        .unwrap();
    let (clock, mock) = Clock::mock();
    mock.advance(Duration::from_secs(1_700_000_000)); // a plausible "now"
    let store = larder::store::DiskStore::builder()
        .clock(clock)
        .sweep_interval(None)
        .open(dir.path().join("store.redb"), "ns")
        .await
        .unwrap();
    let sibling = store.with_namespace("other");
    leases(store, sibling, Some(&|d| mock.advance(d))).await;
}

#[cfg(feature = "redis")]
mod redis_leases {
    use super::*;
    use larder::store::RedisStore;

    /// The milliseconds `key` has left, asked of the server by a client of our own.
    async fn pttl(url: &str, key: &str) -> i64 {
        let client = redis::Client::open(url).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_store_leases() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        let ns = unique("lease");
        let store = RedisStore::connect(&url, &ns).await.unwrap();
        let sibling = RedisStore::connect(&url, &format!("{ns}-other"))
            .await
            .unwrap();
        leases(store, sibling, None).await;
    }

    /// The server holds the lease for its TTL in milliseconds, rounded up: it ends by itself.
    #[tokio::test]
    async fn redis_lease_ttl_is_held_by_the_server() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        let ns = unique("lease-ttl");
        let store = RedisStore::connect(&url, &ns).await.unwrap();
        let token = store
            .lease("k", Duration::from_millis(1_500))
            .await
            .unwrap()
            .unwrap();
        let left = pttl(&url, &format!("{ns}:k")).await;
        assert!((1..=1_500).contains(&left), "PX: {left} ms left");
        // A fraction of a millisecond is a whole one more, never less.
        store
            .lease("frac", Duration::from_micros(20_000_001))
            .await
            .unwrap()
            .unwrap();
        let left = pttl(&url, &format!("{ns}:frac")).await;
        assert!((1..=20_001).contains(&left), "PX: {left} ms left");
        assert!(store.release("k", &token).await.unwrap());
        assert_eq!(pttl(&url, &format!("{ns}:k")).await, -2, "gone");
    }

    /// A server that lost the release script (restarted, or flushed) gets it again.
    #[tokio::test]
    async fn redis_release_loads_its_script_when_the_server_lacks_it() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        let store = RedisStore::connect(&url, &unique("lease-script"))
            .await
            .unwrap();
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        for _ in 0..2 {
            let () = redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async(&mut raw)
                .await
                .unwrap();
            let token = store.lease("k", TTL).await.unwrap().unwrap();
            assert!(!store.release("k", &LeaseToken::random()).await.unwrap());
            assert!(store.release("k", &token).await.unwrap());
        }
    }

    #[cfg(feature = "redis-cluster")]
    mod cluster {
        use super::*;

        fn nodes() -> Option<Vec<String>> {
            let nodes = service("LARDER_REDIS_CLUSTER_NODES")?;
            Some(nodes.split(',').map(str::to_string).collect())
        }

        async fn cluster_store(nodes: &[String], ns: &str) -> RedisStore {
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            RedisStore::connect_cluster(&nodes, ns).await.unwrap()
        }

        /// Runs `cmd` on every node, each asked directly.
        async fn on_every_node<T: redis::FromRedisValue>(
            nodes: &[String],
            cmd: &redis::Cmd,
        ) -> Vec<T> {
            let mut out = Vec::new();
            for url in nodes {
                let client = redis::Client::open(url.as_str()).unwrap();
                let mut raw = client.get_multiplexed_async_connection().await.unwrap();
                out.push(cmd.query_async(&mut raw).await.unwrap());
            }
            out
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn redis_cluster_store_leases() {
            let Some(nodes) = nodes() else {
                return;
            };
            let ns = unique("cluster-lease");
            let store = cluster_store(&nodes, &ns).await;
            let sibling = cluster_store(&nodes, &format!("{ns}-other")).await;
            leases(store, sibling, None).await;
        }

        /// Leases on keys of every slot range: each release's script goes to its key's
        /// node, which loads it when it lacks it, and the TTL is on that node.
        #[tokio::test]
        async fn redis_cluster_leases_on_every_node() {
            let Some(nodes) = nodes() else {
                return;
            };
            let ns = unique("cluster-lease-nodes");
            let store = cluster_store(&nodes, &ns).await;
            let flushed: Vec<String> =
                on_every_node(&nodes, redis::cmd("SCRIPT").arg("FLUSH")).await;
            assert!(flushed.iter().all(|ok| ok == "OK"), "{flushed:?}");
            let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
            let mut tokens = Vec::new();
            for key in &keys {
                tokens.push(store.lease(key, TTL).await.unwrap().expect("free"));
                assert_eq!(store.lease(key, TTL).await.unwrap(), None);
            }
            // Each lease is on one node, with its TTL.
            let client = redis::cluster::ClusterClient::new(nodes.clone()).unwrap();
            let mut raw = client.get_async_connection().await.unwrap();
            for key in &keys {
                let left: i64 = redis::cmd("PTTL")
                    .arg(format!("{ns}:{key}"))
                    .query_async(&mut raw)
                    .await
                    .unwrap();
                assert!((1..=60_000).contains(&left), "{key}: {left} ms left");
            }
            for (key, token) in keys.iter().zip(&tokens) {
                assert!(!store.release(key, &LeaseToken::random()).await.unwrap());
                assert!(store.release(key, token).await.unwrap(), "{key}");
                assert!(!store.exists(key).await.unwrap());
            }
            // The script was loaded again on every node (SCRIPT LOAD goes to all of them).
            let infos: Vec<String> = on_every_node(&nodes, redis::cmd("INFO").arg("memory")).await;
            for info in infos {
                let scripts: usize = info
                    .lines()
                    .find_map(|l| l.strip_prefix("number_of_cached_scripts:"))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                assert!(scripts > 0, "a node without the script");
            }
        }
    }
}

#[cfg(feature = "memcached")]
mod memcached_leases {
    use super::*;
    use async_memcached::{Client, MetaProtocol};
    use larder::store::MemcachedStore;

    fn servers() -> Option<Vec<String>> {
        let list = service("LARDER_MEMCACHED_ADDRS")?;
        Some(list.split(',').map(str::to_string).collect())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memcached_store_leases() {
        let Some(servers) = servers() else {
            return;
        };
        let ns = unique("lease");
        let store = MemcachedStore::connect(&servers, &ns).await.unwrap();
        let sibling = MemcachedStore::connect(&servers, &format!("{ns}-other"))
            .await
            .unwrap();
        leases(store, sibling, None).await;
    }

    /// Seconds left of the memcached key `key`, from whichever server holds it.
    async fn seconds_left(servers: &[String], key: &str) -> i64 {
        let mut found = Vec::new();
        for address in servers {
            let mut client = Client::new(format!("tcp://{address}")).await.unwrap();
            if let Some(item) = client
                .meta_get(key, false, None, Some(&["t"]))
                .await
                .unwrap()
            {
                found.push(item.ttl_remaining.unwrap());
            }
        }
        assert_eq!(found.len(), 1, "held by exactly one server");
        found[0]
    }

    /// The namespace's generation, from the server that holds it.
    async fn generation(servers: &[String], ns: &str) -> u64 {
        for address in servers {
            let mut client = Client::new(format!("tcp://{address}")).await.unwrap();
            let key = format!("{ns}:gen");
            if let Some(item) = client
                .meta_get(&key, false, None, Some(&["v"]))
                .await
                .unwrap()
            {
                let text = String::from_utf8(item.data.unwrap()).unwrap();
                return text.trim().parse().unwrap();
            }
        }
        panic!("no generation for {ns}")
    }

    /// A lease is sent with its TTL in whole seconds rounded up, plus one, since Memcached's
    /// clock ticks once a second: it lasts at least its TTL, and ends by itself.
    #[tokio::test]
    async fn memcached_lease_ttl_is_rounded_up_plus_a_second() {
        let Some(servers) = servers() else {
            return;
        };
        let ns = unique("lease-ttl");
        let store = MemcachedStore::connect(&servers, &ns).await.unwrap();
        let cases = [
            (Duration::from_millis(100), 1..=2),
            (Duration::from_millis(1_500), 2..=3),
            (Duration::from_secs(5), 5..=6),
        ];
        for (i, (ttl, expected)) in cases.into_iter().enumerate() {
            let key = format!("k{i}");
            store.lease(&key, ttl).await.unwrap().expect("free");
            let full = format!("{ns}:{}:{key}", generation(&servers, &ns).await);
            let left = seconds_left(&servers, &full).await;
            // Just set: the whole rounded TTL plus one, or a second less if the server's
            // clock ticked since.
            assert!(expected.contains(&left), "{ttl:?}: {left} s left");
        }
    }

    /// Long keys are hashed for leases as for every key: taken and given back alike.
    #[tokio::test]
    async fn memcached_leases_on_keys_it_cannot_take_as_they_are() {
        let Some(servers) = servers() else {
            return;
        };
        let store = MemcachedStore::connect(&servers, &unique("lease-keys"))
            .await
            .unwrap();
        for key in [
            "x".repeat(400),
            "with space".to_string(),
            "ключ".to_string(),
        ] {
            let token = store.lease(&key, TTL).await.unwrap().expect("free");
            assert_eq!(store.lease(&key, TTL).await.unwrap(), None);
            assert!(!store.release(&key, &LeaseToken::random()).await.unwrap());
            assert!(store.release(&key, &token).await.unwrap());
            assert!(store.lease(&key, TTL).await.unwrap().is_some());
        }
    }

    /// On a server without compare-and-set (`-C`), release still compares the token, then
    /// deletes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memcached_leases_without_cas() {
        // Only where the gate runs servers (it installed memcached).
        if servers().is_none() {
            return;
        }
        let server = server::memcached(server::free_port(), 16, &["-C"])
            .await
            .expect("memcached (scripts/services.sh installs it)");
        let address = format!("127.0.0.1:{}", server.port);
        let store = MemcachedStore::connect(&[address.as_str()], "lease")
            .await
            .unwrap();
        let sibling = MemcachedStore::connect(&[address.as_str()], "other")
            .await
            .unwrap();
        leases(store, sibling, None).await;
    }
}
