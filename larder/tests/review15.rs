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
