//! `Store::store_stats`: every store of larder's counts keys read and found, keys written,
//! deletes, failures and latencies the same way, at the `Store` methods' boundary.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

#[cfg(any(feature = "redis", feature = "memcached"))]
use conformance::{service, unique};
use larder::store::{LATENCY_BUCKETS, MemoryStore, Store, StoreStats};
use larder::{ErrorKind, Ttl};

/// Runs one of each counted operation on `store` (in a namespace of its own), and checks the
/// counts against `before`.
async fn counts_every_operation<S: Store>(store: &S, backend: &str) {
    let before = store.store_stats().unwrap();
    assert_eq!(before.backend, backend);
    store.set("a", b"1", Ttl::Never).await.unwrap();
    store
        .set_many(&[("b", b"2"), ("c", b"3")], Ttl::Never)
        .await
        .unwrap();
    assert!(store.get("a").await.unwrap().is_some());
    assert!(store.get("z").await.unwrap().is_none());
    let many = store.get_many(&["a", "b", "y"]).await.unwrap();
    assert_eq!(many.iter().filter(|v| v.is_some()).count(), 2);
    assert!(store.delete("a").await.unwrap());
    assert!(store.exists("b").await.unwrap());
    assert_eq!(store.increment("n", 1).await.unwrap(), 1);
    store.clear().await.unwrap();

    let after = store.store_stats().unwrap();
    let delta = |f: fn(&StoreStats) -> u64| f(&after) - f(&before);
    assert_eq!(delta(|s| s.gets), 5, "{after:?}");
    assert_eq!(delta(|s| s.hits), 3);
    assert_eq!(delta(|s| s.misses), 2);
    assert_eq!(delta(|s| s.sets), 3);
    assert_eq!(delta(|s| s.deletes), 1);
    assert_eq!(delta(|s| s.errors) + delta(|s| s.timeouts), 0);
    // get, get, get_many, exists; set, set_many, increment; delete, clear.
    assert_eq!(delta(|s| s.reads.count), 4);
    assert_eq!(delta(|s| s.writes.count), 3);
    assert_eq!(delta(|s| s.removals.count), 2);
    for latency in [after.reads, after.writes, after.removals] {
        assert_eq!(latency.buckets.len(), LATENCY_BUCKETS);
        assert_eq!(latency.buckets.iter().sum::<u64>(), latency.count);
        assert!(latency.mean().is_some());
    }
}

#[tokio::test]
async fn a_memory_store_counts_every_operation() {
    counts_every_operation(&MemoryStore::new("stats"), "memory").await;
}

#[tokio::test]
async fn handles_of_one_store_share_its_counts_and_failures_count_as_errors() {
    let store = MemoryStore::new("shared");
    let clone = store.clone();
    clone.get("k").await.unwrap();
    store.close().await.unwrap();
    let err = clone.set("k", b"v", Ttl::Never).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    let stats = store.store_stats().unwrap();
    assert_eq!((stats.gets, stats.misses, stats.sets), (1, 1, 1));
    assert_eq!((stats.errors, stats.timeouts), (1, 0));
    // A failed read counts the keys asked for, not a miss.
    assert!(store.get("k").await.is_err());
    let stats = store.store_stats().unwrap();
    assert_eq!((stats.gets, stats.misses, stats.errors), (2, 1, 2));
}

#[cfg(feature = "disk")]
#[tokio::test]
async fn a_disk_store_counts_every_operation_for_every_namespace_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = larder::store::DiskStore::open(dir.path().join("stats.redb"), "stats")
        .await
        .unwrap();
    counts_every_operation(&store, "disk").await;
    let other = store.with_namespace("other");
    other.get("k").await.unwrap();
    assert_eq!(store.store_stats().unwrap().gets, 6);
    store.close().await.unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_redis_store_counts_every_operation() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = larder::store::RedisStore::connect(&url, &unique("stats"))
        .await
        .unwrap();
    counts_every_operation(&store, "redis").await;
    // A handle with another timeout shares the counts.
    let quick = store
        .clone()
        .with_timeout(Some(std::time::Duration::from_secs(1)));
    quick.get("k").await.unwrap();
    assert_eq!(store.store_stats().unwrap().gets, 6);
}

#[cfg(feature = "redis-cluster")]
#[tokio::test]
async fn a_redis_cluster_store_counts_every_operation() {
    let Some(nodes) = service("LARDER_REDIS_CLUSTER_NODES") else {
        return;
    };
    let nodes: Vec<&str> = nodes.split(',').collect();
    let store = larder::store::RedisStore::connect_cluster(&nodes, &unique("stats"))
        .await
        .unwrap();
    counts_every_operation(&store, "redis").await;
}

#[cfg(feature = "memcached")]
#[tokio::test]
async fn a_memcached_store_counts_every_operation() {
    let Some(servers) = service("LARDER_MEMCACHED_ADDRS") else {
        return;
    };
    let servers: Vec<&str> = servers.split(',').collect();
    let store = larder::store::MemcachedStore::connect(&servers, &unique("stats"))
        .await
        .unwrap();
    counts_every_operation(&store, "memcached").await;
}
