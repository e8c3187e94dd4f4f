//! The kill switch set on the builder, `CacheBuilder::enabled(false)`: every cache a
//! pass-through (loads run, nothing stored, single-flight kept, stats counted), for `Cache`,
//! `Tiered` over a disabled L1, and `#[cached]` over a disabled cache. The environment
//! variable `LARDER_DISABLE` is tested in `kill_switch_env.rs`, in processes of its own.

#![cfg(all(feature = "macros", feature = "tier"))]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use larder::store::{MemoryStore, Store};
use larder::tier::Tiered;
use larder::{Cache, Ttl};

fn disabled() -> Cache<u64, String> {
    Cache::builder().max_capacity(100).enabled(false).build()
}

/// Yields to the runtime until `done` holds, at most 10,000 times.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the condition never held");
}

#[tokio::test]
async fn a_disabled_cache_stores_nothing_and_counts_every_lookup_as_a_miss() {
    let cache = disabled();
    assert!(!cache.is_enabled());
    cache.insert(1, "one".into());
    cache.insert_with_ttl(2, "two".into(), Ttl::Never);
    cache.insert_with_tags(3, "three".into(), ["t"]);
    assert_eq!(cache.get(&1), None);
    assert!(!cache.contains_key(&2));
    assert_eq!(cache.get_many([&1, &2, &3]), [None, None, None]);
    assert_eq!((cache.len(), cache.weighted_size()), (0, 0));
    assert_eq!(cache.iter().count(), 0);
    assert_eq!(cache.invalidate_tag("t"), 0);
    assert_eq!(cache.remove(&1), None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, 4));
}

#[tokio::test]
async fn an_enabled_cache_is_one_by_default_and_by_the_builder() {
    let default: Cache<u64, u64> = Cache::builder().build();
    let on: Cache<u64, u64> = Cache::builder().enabled(true).build();
    for cache in [default, on] {
        assert!(cache.is_enabled());
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), Some(1));
    }
}

#[tokio::test]
async fn every_loading_call_runs_its_loader_and_returns_its_value() {
    let cache = disabled();
    for i in 0..3 {
        let v = cache.get_with(1, async move { format!("load {i}") }).await;
        assert_eq!(v, format!("load {i}"));
    }
    let v = cache.try_get_with(1, async { Ok::<_, ()>("fallible".to_string()) });
    assert_eq!(v.await.unwrap(), "fallible");
    let v = cache.optionally_get_with(1, async { Some("optional".to_string()) });
    assert_eq!(v.await.as_deref(), Some("optional"));
    let v = cache.get_with_ttl(1, async { ("ttl".to_string(), Ttl::Never) });
    assert_eq!(v.await, "ttl");
    let v = cache.get_with_tags(1, async { ("tagged".to_string(), vec!["t".into()]) });
    assert_eq!(v.await, "tagged");
    assert_eq!(
        cache.refresh(1, async { "refreshed".to_string() }).await,
        "refreshed"
    );
    assert_eq!(cache.get(&1), None);
    assert!(cache.is_empty());
    let stats = cache.stats();
    assert_eq!(stats.loads, 8);
    assert_eq!(stats.hits, 0);
    assert!(stats.misses >= 8, "{stats:?}");
}

#[tokio::test]
async fn failures_and_none_are_not_kept_even_with_a_negative_ttl() {
    let cache: Cache<u64, String> = Cache::builder()
        .negative_ttl(Duration::from_secs(60))
        .enabled(false)
        .build();
    let failed = cache
        .try_get_with(1, async { Err::<String, _>("down") })
        .await;
    assert!(failed.is_err());
    let v = cache.try_get_with(1, async { Ok::<_, &str>("up".to_string()) });
    assert_eq!(v.await.unwrap(), "up", "the failure was not kept");
    assert_eq!(cache.optionally_get_with(2, async { None }).await, None);
    let v = cache.optionally_get_with(2, async { Some("found".to_string()) });
    assert_eq!(v.await.as_deref(), Some("found"), "the None was not kept");
}

#[tokio::test]
async fn concurrent_loads_of_a_key_still_share_one_load() {
    let cache = disabled();
    let calls = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let leader = {
        let (cache, calls) = (cache.clone(), calls.clone());
        tokio::spawn(async move {
            cache
                .get_with(7, async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    released.await.unwrap();
                    "shared".to_string()
                })
                .await
        })
    };
    until(|| calls.load(Ordering::SeqCst) == 1).await;
    let waiter = {
        let (cache, calls) = (cache.clone(), calls.clone());
        tokio::spawn(async move {
            cache
                .get_with(7, async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    "own".to_string()
                })
                .await
        })
    };
    until(|| cache.stats().coalesced == 1).await;
    release.send(()).unwrap();
    assert_eq!(leader.await.unwrap(), "shared");
    assert_eq!(waiter.await.unwrap(), "shared");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The load is over: the next call loads again.
    assert_eq!(
        cache.get_with(7, async { "next".to_string() }).await,
        "next"
    );
    assert_eq!(cache.stats().loads, 2);
}

#[tokio::test]
async fn batch_loaders_and_get_many_with_call_the_batch_function_every_time() {
    let cache = disabled();
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let counted = calls.clone();
        let got = cache
            .get_many_with([1, 2], move |keys: Vec<u64>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert_eq!(keys, [1, 2]);
                    Ok::<_, String>(
                        keys.iter()
                            .map(|k| (*k, format!("v{k}")))
                            .collect::<HashMap<_, _>>(),
                    )
                }
            })
            .await
            .unwrap();
        assert_eq!(got, [Some("v1".into()), Some("v2".into())]);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let counted = calls.clone();
    let loader = cache
        .batch_loader(move |keys: Vec<u64>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(keys.iter().map(|k| format!("b{k}")).collect::<Vec<_>>()) }
        })
        .build();
    assert_eq!(loader.load(3).await.unwrap().as_deref(), Some("b3"));
    assert_eq!(loader.load(3).await.unwrap().as_deref(), Some("b3"));
    assert_eq!(calls.load(Ordering::SeqCst), 4, "two more batches");
    assert!(cache.is_empty());
}

#[tokio::test]
async fn the_listener_is_never_called_and_weigher_settings_are_still_checked() {
    let told = Arc::new(AtomicUsize::new(0));
    let counted = told.clone();
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(1)
        .eviction_listener(move |_k: u64, _v: u64, _cause| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .enabled(false)
        .build();
    for i in 0..10 {
        cache.insert(i, i);
    }
    cache.get_with(20, async { 20 }).await;
    cache.clear();
    assert_eq!(told.load(Ordering::SeqCst), 0);
    // A setting rejected when enabled is rejected when disabled.
    let err = Cache::<u8, u8>::builder()
        .weigher(|_, _| 1)
        .enabled(false)
        .try_build()
        .unwrap_err();
    assert_eq!(err.kind(), larder::ErrorKind::Config);
}

#[tokio::test]
async fn a_tier_over_a_disabled_l1_stores_in_neither_tier_and_always_loads() {
    let store = MemoryStore::new("kill");
    let tiered: Tiered<u64, String> =
        Tiered::builder(Cache::builder().enabled(false).build(), store.clone())
            .distributed_lock(Duration::from_secs(5))
            .build();
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..3 {
        let counted = calls.clone();
        let v = tiered
            .get_with(1, async move {
                counted.fetch_add(1, Ordering::SeqCst);
                format!("load {i}")
            })
            .await;
        assert_eq!(v, format!("load {i}"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    tiered.insert(2, "two".into()).await;
    tiered.insert_with_tags(3, "three".into(), ["t"]).await;
    assert_eq!(tiered.get(&2).await, None);
    assert!(!tiered.contains_key(&2).await);
    let counted = calls.clone();
    let got = tiered
        .get_many_with([1, 2], move |keys: Vec<u64>| {
            counted.fetch_add(keys.len(), Ordering::SeqCst);
            async move { Ok::<_, String>(keys.iter().map(|k| format!("m{k}")).collect::<Vec<_>>()) }
        })
        .await
        .unwrap();
    assert_eq!(got, [Some("m1".into()), Some("m2".into())]);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    // Nothing reached the store: no entry, no lease.
    for key in ["v1:1", "v1:2", "v1:3", "v1!lease:1"] {
        assert!(!store.exists(key).await.unwrap(), "{key}");
    }
    assert!(tiered.l1().is_empty());
    let stats = tiered.stats();
    assert_eq!((stats.l2_hits, stats.l2_misses), (0, 0), "L2 was not read");
}

#[tokio::test]
async fn a_disabled_tier_does_not_read_l2_but_still_sends_its_invalidations() {
    let store = MemoryStore::new("kill-inval");
    let on: Tiered<u64, String> = Tiered::builder(Cache::new(10), store.clone()).build();
    let off: Tiered<u64, String> =
        Tiered::builder(Cache::builder().enabled(false).build(), store.clone()).build();
    on.insert(1, "from on".into()).await;
    // The disabled tier does not read what the enabled one wrote.
    assert_eq!(off.get(&1).await, None);
    assert_eq!(
        off.get_with(1, async { "loaded".to_string() }).await,
        "loaded"
    );
    // Its removal reaches L2: the enabled instances must not serve what it invalidated.
    assert!(store.exists("v1:1").await.unwrap());
    off.remove(&1).await;
    assert!(!store.exists("v1:1").await.unwrap());
}

static OFF: LazyLock<Cache<u64, u64>> = LazyLock::new(|| Cache::builder().enabled(false).build());
static BODY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(cache = OFF)]
async fn doubled(n: u64) -> u64 {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    n * 2
}

#[tokio::test]
async fn a_cached_function_over_a_disabled_cache_runs_its_body_every_call() {
    assert_eq!(doubled(2).await, 4);
    assert_eq!(doubled(2).await, 4);
    assert_eq!(doubled(2).await, 4);
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 3);
    assert_eq!(OFF.stats().hits, 0);
}

#[cfg(feature = "snapshot")]
#[tokio::test]
async fn a_disabled_cache_neither_restores_nor_autosaves_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.snapshot");
    // Not a snapshot: an enabled cache refuses it, a disabled one does not read it.
    std::fs::write(&path, b"the last good snapshot, say").unwrap();
    assert!(
        Cache::<u64, String>::builder()
            .restore_from(&path)
            .try_build()
            .is_err()
    );
    let cache: Cache<u64, String> = Cache::builder()
        .restore_from(&path)
        .autosave(&path, Duration::from_secs(1))
        .enabled(false)
        .try_build()
        .unwrap();
    cache.insert(1, "one".into());
    cache.close(larder::CloseMode::Wait).await; // an enabled cache saves once more here
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"the last good snapshot, say"
    );
    // Its settings are still checked.
    let err = Cache::<u64, String>::builder()
        .autosave(&path, Duration::ZERO)
        .enabled(false)
        .try_build()
        .unwrap_err();
    assert_eq!(err.kind(), larder::ErrorKind::Config);
}
