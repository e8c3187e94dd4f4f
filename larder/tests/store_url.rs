//! `store::from_url` and `AnyStore`: every URL form gives a store that passes the
//! conformance suite (on the gate's servers), options reach the store, bad URLs are `Config`
//! errors that name the part at fault and never quote a password, and a tier over
//! `from_url("redis://…")` is invalidated through the store's watch. Also a `RedisStore`
//! over the user's own `ConnectionManager`, and stores with get coalescing off.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::time::Duration;

// Which tests use these depends on the features.
#[allow(unused_imports)]
use conformance::{Harness, run_all, service, unique};
#[allow(unused_imports)]
use larder::store::AnyStore;
use larder::store::{Store, from_url};
use larder::{ErrorKind, Ttl};

#[tokio::test]
async fn memory_urls_conform_and_take_their_options() {
    let store = from_url("memory://?namespace=a&ttl=5m&capacity=1000&timeout=1s")
        .await
        .unwrap();
    assert_eq!(store.backend(), "memory");
    assert_eq!(store.default_ttl(), Some(Duration::from_secs(300)));
    let sibling = from_url("memory://?namespace=b").await.unwrap();
    assert_eq!(sibling.default_ttl(), None);
    run_all(Harness::new(store, sibling)).await;
}

#[tokio::test]
async fn a_bad_url_is_a_config_error_naming_the_part_and_never_the_password() {
    let cases = [
        ("redis://:hunter2@127.0.0.1:70000", "port"),
        ("redis://admin:hunter2@/0", "host"),
        ("redis://:hunter2@127.0.0.1:6379/db1", "database"),
        ("redis://:hunter2@127.0.0.1?timeout=soon", "timeout"),
        (
            "redis://:hunter2@127.0.0.1?namespace=a&colour=blue",
            "colour",
        ),
        ("redis://:hunter2@127.0.0.1?capacity=10", "capacity"),
        ("redis+cluster://:hunter2@a:7000,:7001", "host"),
        ("memcached://a:11211,b:eleven", "port"),
        ("ftp://:hunter2@host", "scheme"),
        ("redis:hunter2@127.0.0.1", "scheme"),
        ("memory://?namespace=a:b", "namespace"),
        ("file://var/cache", "absolute path"),
    ];
    for (url, part) in cases {
        let err = from_url(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
        let (display, debug) = (err.to_string(), format!("{err:?}"));
        assert!(display.contains(part), "{url}: {display}");
        assert!(
            !display.contains("hunter2") && !debug.contains("hunter2"),
            "{url}: {debug}"
        );
    }
}

#[cfg(feature = "tier")]
#[tokio::test]
async fn a_tier_works_over_any_store() {
    use larder::Cache;
    use larder::tier::Tiered;
    let store = from_url("memory://?namespace=tier").await.unwrap();
    let tiered: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone()).build();
    tiered.insert("k".into(), "v".into()).await;
    assert!(store.exists("v1:k").await.unwrap());
    assert_eq!(tiered.get(&"k".to_string()).await.as_deref(), Some("v"));
}

#[tokio::test]
async fn a_lease_through_any_store_is_the_stores_own() {
    let store = from_url("memory://?namespace=lease").await.unwrap();
    let ttl = Duration::from_secs(5);
    let mine = store.lease("l", ttl).await.unwrap().unwrap();
    assert_eq!(store.lease("l", ttl).await.unwrap(), None);
    assert!(store.release("l", &mine).await.unwrap());
    assert!(!store.release("l", &mine).await.unwrap());
}

/// A server that accepts connections and never answers: a connect to it waits for ever,
/// unless the URL's timeout bounds it. Paused time: the timeout fires as soon as everything
/// waits, without a real wait.
#[cfg(all(feature = "redis", feature = "memcached"))]
#[tokio::test(start_paused = true)]
async fn the_urls_timeout_bounds_connecting_too() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket); // kept open, never read or written
        }
    });
    for url in [
        format!("redis://127.0.0.1:{port}?timeout=100ms"),
        format!("memcached://127.0.0.1:{port}?timeout=100ms"),
    ] {
        let start = tokio::time::Instant::now();
        let error = from_url(&url).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{url}: {error}");
        // The URL's 100 ms, not the store's own 5 s connect timeout (virtual time: exact).
        assert_eq!(start.elapsed(), Duration::from_millis(100), "{url}");
    }
    held.abort();
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use larder::store::RedisStore;

    #[tokio::test]
    async fn redis_urls_conform_with_and_without_coalescing() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        for coalesce in [true, false] {
            let ns = unique("url");
            let store = from_url(&format!(
                "{url}/0?namespace={ns}&timeout=2s&ttl=1h&coalesce={coalesce}"
            ))
            .await
            .unwrap();
            assert_eq!(store.backend(), "redis");
            assert_eq!(store.default_ttl(), Some(Duration::from_secs(3600)));
            let debug = format!("{store:?}");
            assert!(debug.contains(&format!("coalesce: {coalesce}")), "{debug}");
            let sibling = from_url(&format!("{url}?namespace={ns}-other"))
                .await
                .unwrap();
            run_all(Harness::new(store, sibling)).await;
        }
    }

    #[tokio::test]
    async fn a_store_over_the_users_connection_manager_conforms_and_does_not_watch() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        let manager = || async {
            let client = ::redis::Client::open(url.as_str()).unwrap();
            let config = ::redis::aio::ConnectionManagerConfig::new().set_response_timeout(None);
            ::redis::aio::ConnectionManager::new_with_config(client, config)
                .await
                .unwrap()
        };
        let ns = unique("manager");
        let store = RedisStore::from_connection_manager(manager().await, &ns).unwrap();
        let watch = store.watch("", std::sync::Arc::new(|_| {})).await.unwrap();
        assert!(watch.is_none());
        let sibling = RedisStore::from_connection_manager(manager().await, &format!("{ns}-o"))
            .unwrap()
            .with_coalescing(false);
        run_all(Harness::new(store, sibling)).await;
        let err = RedisStore::from_connection_manager(manager().await, "a:b").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[tokio::test]
    async fn the_password_of_a_refused_connection_is_never_shown() {
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        // The gate's server has no password: a wrong one is refused.
        let with_password = url.replacen("redis://", "redis://larder:hunter2@", 1);
        let err = from_url(&with_password).await.unwrap_err();
        assert!(!err.to_string().contains("hunter2") && !format!("{err:?}").contains("hunter2"));
    }

    #[cfg(feature = "tier")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tier_over_from_url_redis_drops_l1_when_another_instance_writes() {
        use larder::Cache;
        use larder::tier::Tiered;
        let Some(url) = service("LARDER_REDIS_URL") else {
            return;
        };
        let ns = unique("url-tier");
        let instance = || async {
            let store = from_url(&format!("{url}?namespace={ns}")).await.unwrap();
            let tiered: Tiered<String, String> = Tiered::builder(Cache::new(100), store).build();
            until("the watch connects", || tiered.is_watching()).await;
            tiered
        };
        let (a, b) = (instance().await, instance().await);
        let key = "user:1".to_string();
        a.insert(key.clone(), "ada".into()).await;
        until("b hears of the write", || {
            b.stats().invalidations_received >= 2
        })
        .await;
        assert_eq!(b.get(&key).await.as_deref(), Some("ada"));
        assert!(b.l1().contains_key(&key));
        a.insert(key.clone(), "grace".into()).await;
        until("b drops its copy", || !b.l1().contains_key(&key)).await;
        assert_eq!(b.get(&key).await.as_deref(), Some("grace"));
        // A lease through AnyStore is Redis's own (SET NX PX, released by script).
        let store = from_url(&format!("{url}?namespace={ns}")).await.unwrap();
        let token = store
            .lease("lock", Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert!(store.release("lock", &token).await.unwrap());
        store.clear().await.unwrap();
    }

    /// Waits, yielding, until `done` holds; fails after 5 s.
    #[cfg(feature = "tier")]
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

#[cfg(feature = "redis-cluster")]
#[tokio::test]
async fn redis_cluster_urls_conform() {
    let Some(nodes) = service("LARDER_REDIS_CLUSTER_NODES") else {
        return;
    };
    let hosts: Vec<&str> = nodes
        .split(',')
        .map(|n| n.trim_start_matches("redis://"))
        .collect();
    let base = format!("redis+cluster://{}", hosts.join(","));
    let ns = unique("url-cluster");
    let store = from_url(&format!("{base}?namespace={ns}")).await.unwrap();
    let sibling = from_url(&format!("{base}?namespace={ns}-other&coalesce=false"))
        .await
        .unwrap();
    assert!(matches!(store, AnyStore::Redis(_)));
    run_all(Harness::new(store, sibling)).await;
}

#[cfg(feature = "memcached")]
#[tokio::test]
async fn memcached_urls_conform_with_and_without_coalescing() {
    let Some(addrs) = service("LARDER_MEMCACHED_ADDRS") else {
        return;
    };
    let ns = unique("url-mc");
    let store = from_url(&format!("memcached://{addrs}?namespace={ns}&ttl=1h"))
        .await
        .unwrap();
    assert_eq!(store.backend(), "memcached");
    assert_eq!(store.default_ttl(), Some(Duration::from_secs(3600)));
    let sibling = from_url(&format!(
        "memcached://{addrs}?namespace={ns}-o&coalesce=false"
    ))
    .await
    .unwrap();
    assert!(format!("{sibling:?}").contains("coalesce: false"));
    run_all(Harness::new(store, sibling)).await;
}

#[cfg(feature = "disk")]
#[tokio::test]
async fn file_urls_conform() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache file.redb");
    let url = format!(
        "file://{}?namespace=a&ttl=10m&timeout=3s",
        path.display().to_string().replace(' ', "%20")
    );
    let store = from_url(&url).await.unwrap();
    assert_eq!(store.default_ttl(), Some(Duration::from_secs(600)));
    let AnyStore::Disk(disk) = &store else {
        panic!("not a disk store: {store:?}");
    };
    let sibling = AnyStore::from(disk.with_namespace("b"));
    run_all(Harness::new(store, sibling)).await;
    assert!(path.exists());
}

#[tokio::test]
async fn a_set_with_the_default_ttl_uses_the_urls() {
    let store = from_url("memory://?ttl=1h").await.unwrap();
    store.set("k", b"v", Ttl::Default).await.unwrap();
    assert!(store.exists("k").await.unwrap());
}
