//! `RedisStore`: the conformance suite on the gate's Redis server, and what is particular to
//! Redis (TTLs on the server, coalesced gets, hidden URLs, reconnecting after a restart).

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::sync::Arc;
use std::time::Duration;

use conformance::{Harness, conformance, service, unique};
use larder::{ErrorKind, RedisStore, Store, Ttl};

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
    conformance(Harness {
        store,
        sibling,
        advance: None,
    })
    .await;
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
    assert!(matches!(
        err.kind(),
        ErrorKind::Backend | ErrorKind::Timeout
    ));
    assert!(!format!("{err} {err:?}").contains("secret-password"));
}

/// A Redis server of the test's own, restartable, persisting every write (appendfsync
/// always), on a loopback port.
struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let dir = std::env::temp_dir().join(unique("larder-redis"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        self.child = Some(child);
        // Until it listens (a setup wait, bounded; not a test of timing).
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reconnects_after_a_restart_and_loses_no_acknowledged_write() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let mut server = OwnRedis::start(16390);
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "reconnect")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(500)));
    store.set("before", b"1", Ttl::Never).await.unwrap();

    server.stop();
    // While it is down: a typed error within the timeout, not a hang.
    let down = tokio::time::timeout(Duration::from_secs(5), store.get("before")).await;
    let err = down.expect("answers within its timeout").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Backend | ErrorKind::Timeout),
        "{err:?}"
    );

    server.spawn();
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
    conformance(Harness {
        store,
        sibling,
        advance: None,
    })
    .await;
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
    let server = OwnRedis::start(16391);
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
