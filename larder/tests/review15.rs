//! Issue 15's adversarial review: defects found in the operations features, each pinned by a
//! test (store URLs, `AnyStore`, configuration, the kill switch, hooks).

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use larder::ErrorKind;
use larder::store::{AnyStore, MemoryStore, Store, from_url};

/// `AnyStore` hands `store_stats` to the store inside, as every other method: a store from
/// `from_url` counts like the store it is.
#[tokio::test]
async fn any_store_forwards_store_stats() {
    let store = from_url("memory://?namespace=review").await.unwrap();
    assert_eq!(store.get("absent").await.unwrap(), None);
    let stats = store.store_stats().expect("the memory store inside counts");
    assert_eq!((stats.backend, stats.gets, stats.misses), ("memory", 1, 1));

    let wrapped = AnyStore::from(MemoryStore::new("review"));
    assert!(wrapped.store_stats().is_some());
}

/// A password with a `?` in it (not %-encoded) cuts the URL short: what follows is read as
/// the query, and the error for that "option" must not quote the password's tail.
#[tokio::test]
async fn a_password_with_a_question_mark_is_not_echoed() {
    for url in [
        "redis://:hunt?er2secret@127.0.0.1:6379",
        "redis://user:pa?ss&er2secret@127.0.0.1:6379/0",
        "rediss+cluster://:x?er2secret@a:1,b:2",
        "memcached://u:pw?er2secret@a",
    ] {
        let err = from_url(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("er2secret"), "{url}: {shown}");
    }
    // An '@' in an option's value is still one, %-encoded.
    let store = from_url("memory://?namespace=a%40b").await.unwrap();
    assert!(store.store_stats().is_some());
}

/// A tier that configuration built (its L2 an `AnyStore` from the `l2.url`) reports its L2's
/// counters, as a tier over the store itself does.
#[cfg(all(feature = "tier", feature = "toml"))]
#[tokio::test]
async fn a_tier_built_from_config_reports_its_l2_stats() {
    use larder::config::CacheConfig;
    let config = CacheConfig::from_toml(
        r#"
        capacity = 10
        [l2]
        url = "memory://?namespace=review-tier"
    "#,
    )
    .unwrap();
    let tier = config.build_tiered::<String, u32>().await.unwrap();
    assert_eq!(tier.get(&"absent".to_string()).await, None);
    let l2 = tier.l2_stats().expect("the L2 counts");
    assert_eq!((l2.backend, l2.misses), ("memory", 1));
}

/// A write-behind capacity too large for a queue is a `Config` error from `try_build` (and
/// `build_tiered`), not a panic inside tokio's channel.
#[cfg(all(feature = "tier", feature = "toml"))]
#[tokio::test]
async fn a_huge_write_behind_capacity_is_a_config_error_not_a_panic() {
    use larder::config::CacheConfig;
    let config = CacheConfig::from_toml(
        r#"
        capacity = 10
        [l2]
        url = "memory://"
        write_behind = 9223372036854775807
    "#,
    )
    .unwrap();
    let built = config.build_tiered::<String, u32>().await;
    assert_eq!(built.err().map(|e| e.kind()), Some(ErrorKind::Config));
}

/// `timeout=0` in a store URL made a store on which every operation timed out at once (for
/// aiocache's users, whom `from_url` courts, 0 means no timeout). It is a `Config` error
/// naming the option, as `ttl=0` is and as the tier's zero L2 timeout is.
#[tokio::test]
async fn a_zero_timeout_in_a_store_url_is_a_config_error() {
    for url in [
        "memory://?timeout=0",
        "memory://?timeout=0s",
        "redis://127.0.0.1:1?timeout=0ms",
        "file:///tmp/review15-never-made.redb?timeout=0",
    ] {
        let err = from_url(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
        assert!(err.to_string().contains("timeout"), "{url}: {err}");
    }
}

/// A server whose certificate the trusted CA signed, but for another name, is refused:
/// `REVIEW15_TLS_WRONG_NAME_URL` (a `rediss://127.0.0.1:port` whose certificate names only
/// `other.example`) and `REVIEW15_TLS_CA`. Skipped without them (not a gate service).
#[cfg(feature = "redis-tls")]
#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let (Ok(url), Ok(ca)) = (
        std::env::var("REVIEW15_TLS_WRONG_NAME_URL"),
        std::env::var("REVIEW15_TLS_CA"),
    ) else {
        return;
    };
    let pem = std::fs::read(&ca).unwrap();
    let err = larder::store::RedisStore::connect_tls(&url, "review", &pem)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let err = from_url(&format!("{url}?ca={ca}")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    // The system's roots do not know the test CA either.
    let err = from_url(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

/// Coalesced single gets (many tasks at once, one `MGET`) are counted one per key, as
/// uncoalesced ones are, and as one read each.
#[cfg(feature = "redis")]
#[tokio::test]
async fn coalesced_redis_gets_are_counted_once_each() {
    let Some(url) = conformance::service("LARDER_REDIS_URL") else {
        return;
    };
    for coalesce in [true, false] {
        let ns = conformance::unique("review-coalesce");
        let store = larder::store::RedisStore::connect(&url, &ns)
            .await
            .unwrap()
            .with_coalescing(coalesce);
        store.set("k0", b"v", larder::Ttl::Never).await.unwrap();
        let before = store.store_stats().unwrap();
        let gets = (0..64).map(|i| {
            let store = store.clone();
            async move { store.get(&format!("k{}", i % 8)).await.unwrap() }
        });
        let found = futures_util::future::join_all(gets).await;
        let after = store.store_stats().unwrap();
        let hits = found.iter().filter(|v| v.is_some()).count() as u64;
        assert_eq!(hits, 8);
        assert_eq!(
            after.gets - before.gets,
            64,
            "coalesce {coalesce}: {after:?}"
        );
        assert_eq!(after.hits - before.hits, hits, "coalesce {coalesce}");
        assert_eq!(
            after.misses - before.misses,
            64 - hits,
            "coalesce {coalesce}"
        );
        assert_eq!(
            after.reads.count - before.reads.count,
            64,
            "coalesce {coalesce}"
        );
        store.clear().await.unwrap();
    }
}

/// The same with Memcached.
#[cfg(feature = "memcached")]
#[tokio::test]
async fn coalesced_memcached_gets_are_counted_once_each() {
    let Some(servers) = conformance::service("LARDER_MEMCACHED_ADDRS") else {
        return;
    };
    let servers: Vec<String> = servers.split(',').map(str::to_string).collect();
    for coalesce in [true, false] {
        let ns = conformance::unique("review-coalesce");
        let store = larder::store::MemcachedStore::connect(&servers, &ns)
            .await
            .unwrap()
            .with_coalescing(coalesce);
        store.set("k0", b"v", larder::Ttl::Never).await.unwrap();
        let before = store.store_stats().unwrap();
        let gets = (0..64).map(|i| {
            let store = store.clone();
            async move { store.get(&format!("k{}", i % 8)).await.unwrap() }
        });
        let found = futures_util::future::join_all(gets).await;
        let after = store.store_stats().unwrap();
        let hits = found.iter().filter(|v| v.is_some()).count() as u64;
        assert_eq!(hits, 8);
        assert_eq!(
            after.gets - before.gets,
            64,
            "coalesce {coalesce}: {after:?}"
        );
        assert_eq!(after.hits - before.hits, hits, "coalesce {coalesce}");
        assert_eq!(
            after.reads.count - before.reads.count,
            64,
            "coalesce {coalesce}"
        );
    }
}

/// A disabled cache keeps nothing and counts no evictions for what it never kept; its
/// tagged inserts and warmup keep nothing either.
#[tokio::test]
async fn a_disabled_cache_counts_no_evictions_and_keeps_no_tags() {
    let cache: larder::Cache<u64, u64> = larder::Cache::builder()
        .max_capacity(100)
        .enabled(false)
        .build();
    for i in 0..50 {
        cache.insert(i, i);
        cache.insert_with_tags(i + 100, i, ["t"]);
    }
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.invalidate_tag("t"), 0);
    let report = cache
        .warmup((0..10u64).map(|i| (i, async move { Ok::<_, std::io::Error>(i) })))
        .await;
    assert!(report.failed.is_empty());
    assert_eq!(cache.len(), 0);
    let stats = cache.stats();
    assert_eq!((stats.size, stats.evictions), (0, 0), "{stats:?}");
}

/// The kill switch's own variable is not a cache setting: with the prefix `LARDER` (the
/// documentation's examples are all `LARDER_…`), an operator's `LARDER_DISABLE=1` made
/// `from_env` fail with "unknown cache setting", so the application would not start.
#[cfg(feature = "serde")]
#[test]
fn the_kill_switch_variable_is_not_an_unknown_setting() {
    use larder::config::CacheConfig;
    let config =
        CacheConfig::from_vars("LARDER", [("LARDER_DISABLE", "1"), ("LARDER_TTL", "5m")]).unwrap();
    assert_eq!(config.ttl, Some(std::time::Duration::from_secs(300)));
}
