//! Single-flight loading: one load per key, and nothing a caller does (dropping its future,
//! panicking, invalidating) hangs, poisons or corrupts the others. Time is tokio's paused
//! clock: the loaders' sleeps advance it instantly.

mod common;

use common::{LOAD, NO_HANG, counted};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::Cache;
use tokio::time::{sleep, timeout};

#[tokio::test(start_paused = true)]
async fn a_herd_of_100_calls_loads_once() {
    // FEATURES #1 and #5: 100 concurrent get(k, loader) -> one call, all the same value. The
    // stats follow DESIGN's convention: joiners count as misses and as coalesced (async-lru
    // counts them as hits); the 101st call is a hit.
    let cache: Cache<&str, u64> = Cache::new(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, init) = (cache.clone(), counted(&calls, 7));
            tokio::spawn(async move { cache.get_with("k", init).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(timeout(NO_HANG, t).await.unwrap().unwrap(), 7);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let s = cache.stats();
    assert_eq!(
        (s.hits, s.misses, s.coalesced, s.loads, s.size),
        (0, 100, 99, 1, 1)
    );
    assert_eq!(cache.get_with("k", async { unreachable!() }).await, 7);
    assert_eq!(cache.stats().hits, 1);
}

#[tokio::test(start_paused = true)]
async fn different_keys_load_concurrently_once_each() {
    // FEATURES #4.
    let cache: Cache<u32, u64> = Cache::new(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..30u32)
        .map(|i| {
            let (cache, init) = (cache.clone(), counted(&calls, u64::from(i % 3)));
            tokio::spawn(async move { cache.get_with(i % 3, init).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), (i % 3) as u64);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_leader_hands_the_load_to_a_waiter() {
    // FEATURES #7, with the leader cancelled: the waiters neither hang nor fail.
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let leader = {
        let (cache, init) = (cache.clone(), counted(&calls, 1));
        tokio::spawn(async move { cache.get_with(0, init).await })
    };
    sleep(Duration::from_millis(1)).await; // the leader is loading
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (cache, init) = (cache.clone(), counted(&calls, 2));
            tokio::spawn(async move { cache.get_with(0, init).await })
        })
        .collect();
    sleep(Duration::from_millis(1)).await; // they are waiting
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    for w in waiters {
        assert_eq!(timeout(NO_HANG, w).await.unwrap().unwrap(), 2);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the leader's, then one waiter's"
    );
    assert_eq!(cache.get(&0), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_affects_nobody() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let leader = {
        let (cache, init) = (cache.clone(), counted(&calls, 1));
        tokio::spawn(async move { cache.get_with(0, init).await })
    };
    sleep(Duration::from_millis(1)).await;
    let waiter = {
        let (cache, init) = (cache.clone(), counted(&calls, 2));
        tokio::spawn(async move { cache.get_with(0, init).await })
    };
    sleep(Duration::from_millis(1)).await;
    waiter.abort();
    assert_eq!(timeout(NO_HANG, leader).await.unwrap().unwrap(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Sets its flag when dropped: tells whether a loader future was dropped.
struct DropFlag(Arc<AtomicUsize>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_every_caller_drops_the_load() {
    // FEATURES #8: all callers cancelled -> the load is dropped, nothing is left in flight.
    let cache: Cache<u8, u64> = Cache::new(10);
    let dropped = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let cache = cache.clone();
            let flag = DropFlag(Arc::clone(&dropped));
            tokio::spawn(async move {
                cache
                    .get_with(0, async move {
                        let _flag = flag;
                        sleep(Duration::from_secs(3600)).await;
                        0
                    })
                    .await
            })
        })
        .collect();
    sleep(Duration::from_millis(1)).await;
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        assert!(t.await.unwrap_err().is_cancelled());
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        3,
        "every loader future was dropped"
    );
    assert!(!cache.contains_key(&0));
    // Nothing is left in flight: a new call loads afresh at once.
    let v = timeout(NO_HANG, cache.get_with(0, async { 9 }))
        .await
        .unwrap();
    assert_eq!(v, 9);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_loader_poisons_nothing() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let leader = {
        let cache = cache.clone();
        let calls = Arc::clone(&calls);
        tokio::spawn(async move {
            cache
                .get_with(0, async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    sleep(LOAD).await;
                    panic!("the backend exploded")
                })
                .await
        })
    };
    sleep(Duration::from_millis(1)).await;
    let waiter = {
        let (cache, init) = (cache.clone(), counted(&calls, 5));
        tokio::spawn(async move { cache.get_with(0, init).await })
    };
    assert!(leader.await.unwrap_err().is_panic());
    assert_eq!(timeout(NO_HANG, waiter).await.unwrap().unwrap(), 5);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.get_with(0, async { unreachable!() }).await, 5);
}

#[tokio::test(start_paused = true)]
async fn an_error_reaches_every_waiter_and_is_not_cached() {
    // FEATURES #3 and #6: one call, the same error object for all, nothing cached, retry.
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let cache = cache.clone();
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                cache
                    .try_get_with(0, async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        sleep(LOAD).await;
                        Err::<u64, String>("boom".into())
                    })
                    .await
            })
        })
        .collect();
    let mut errors = Vec::new();
    for t in tasks {
        let error = t.await.unwrap().unwrap_err();
        errors.push(error.into_loader_error().expect("the loader's error"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        errors
            .iter()
            .all(|e| Arc::ptr_eq(e, &errors[0]) && **e == "boom")
    );
    assert_eq!(cache.len(), 0);
    let s = cache.stats();
    assert_eq!((s.loads, s.load_errors, s.coalesced), (1, 1, 4));
    let ok = cache.try_get_with(0, async { Ok::<_, String>(3) }).await;
    assert_eq!(ok.unwrap(), 3);
    assert_eq!(cache.stats().loads, 2);
}

#[tokio::test(start_paused = true)]
async fn none_is_returned_and_not_cached() {
    let cache: Cache<u8, u64> = Cache::new(10);
    assert_eq!(cache.optionally_get_with(1, async { None }).await, None);
    assert!(!cache.contains_key(&1));
    assert_eq!(
        cache.optionally_get_with(1, async { Some(4) }).await,
        Some(4)
    );
    assert_eq!(cache.get(&1), Some(4));
}

#[tokio::test(start_paused = true)]
async fn an_invalidation_during_a_load_keeps_its_result_out_of_the_cache() {
    for invalidate in ["remove", "clear", "invalidate_if"] {
        let cache: Cache<u8, u64> = Cache::new(10);
        let calls = Arc::new(AtomicUsize::new(0));
        let loading = {
            let (cache, init) = (cache.clone(), counted(&calls, 1));
            tokio::spawn(async move { cache.get_with(0, init).await })
        };
        sleep(Duration::from_millis(1)).await;
        match invalidate {
            "remove" => drop(cache.remove(&0)),
            "clear" => cache.clear(),
            _ => cache.invalidate_if(|_, _| true),
        }
        assert_eq!(
            loading.await.unwrap(),
            1,
            "{invalidate}: the caller gets its value"
        );
        assert!(
            !cache.contains_key(&0),
            "{invalidate}: but it is not stored"
        );
        // The next load stores normally.
        assert_eq!(cache.get_with(0, async { 2 }).await, 2);
        assert_eq!(cache.get(&0), Some(2), "{invalidate}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_zero_capacity_cache_shares_and_stores_nothing() {
    let cache: Cache<u8, u64> = Cache::new(0);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (cache, init) = (cache.clone(), counted(&calls, 1));
            tokio::spawn(async move { cache.get_with(0, init).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 1);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(cache.is_empty());
}

#[test]
fn a_cache_shared_by_two_runtimes_loads_once() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Barrier::new(2));
    let runtimes: Vec<_> = (0..2)
        .map(|_| {
            let (cache, calls, gate, tx) = (
                cache.clone(),
                Arc::clone(&calls),
                Arc::clone(&gate),
                tx.clone(),
            );
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_time()
                    .build()
                    .unwrap();
                let v = rt.block_on(async move {
                    gate.wait();
                    let joined = cache.clone();
                    cache
                        .get_with(0, async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            // Hold the load open until the other runtime's caller has joined
                            // it (a condition, not a guess at timing).
                            while joined.stats().coalesced < 1 {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                            11
                        })
                        .await
                });
                tx.send(()).unwrap();
                v
            })
        })
        .collect();
    drop(tx);
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("no runtime hangs");
    }
    for t in runtimes {
        assert_eq!(t.join().unwrap(), 11);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// 10,000 tasks on 100 keys on a multi-threaded runtime, a third of them dropped at random
/// moments (timeouts of 0-3 ms against loads of 1-4 ms). Every key is loaded to completion
/// exactly once (nothing invalidates it), and every caller that finishes gets that load's
/// value. Which callers are dropped depends on timing; the assertions hold for any of them.
#[test]
fn a_stress_of_10_000_tasks_loads_each_key_once() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let cache: Cache<u64, (u64, usize)> = Cache::new(1_000);
    let completed: Arc<Vec<AtomicUsize>> =
        Arc::new((0..100).map(|_| AtomicUsize::new(0)).collect());
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..10_000u64)
            .map(|i| {
                let (cache, completed) = (cache.clone(), Arc::clone(&completed));
                let r = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
                let key = r % 100;
                tokio::spawn(async move {
                    let load = cache.get_with(key, async move {
                        tokio::time::sleep(Duration::from_millis(1 + r % 4)).await;
                        // Counted only when the load completes (a dropped one never gets here).
                        let n = completed[key as usize].fetch_add(1, Ordering::SeqCst) + 1;
                        (key, n)
                    });
                    if r % 3 == 0 {
                        timeout(Duration::from_millis(r % 4), load).await.ok()
                    } else {
                        Some(load.await)
                    }
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        results
    });
    let finished: Vec<_> = results.into_iter().flatten().collect();
    assert!(
        finished.len() >= 6_000,
        "only {} callers finished",
        finished.len()
    );
    for (key, n) in &finished {
        assert_eq!(*n, 1, "key {key}: a caller saw load number {n}");
    }
    for (key, count) in completed.iter().enumerate() {
        assert!(
            count.load(Ordering::SeqCst) <= 1,
            "key {key} loaded to completion twice"
        );
    }
    let stats = cache.stats();
    assert!(stats.loads >= 100 && stats.coalesced > 0);
}

#[tokio::test(start_paused = true)]
async fn refresh_reloads_a_cached_value_and_gets_keep_serving_the_old_one() {
    // FEATURES #61: use_cache=False re-executes and stores.
    let cache: Cache<u8, u64> = Cache::new(10);
    cache.insert(0, 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let refreshing = {
        let (cache, init) = (cache.clone(), counted(&calls, 2));
        tokio::spawn(async move { cache.refresh(0, init).await })
    };
    sleep(Duration::from_millis(1)).await;
    // While it runs, a get_with finds the old value cached and does not wait.
    assert_eq!(cache.get_with(0, async { unreachable!() }).await, 1);
    assert_eq!(refreshing.await.unwrap(), 2);
    assert_eq!(cache.get(&0), Some(2));
    assert_eq!((cache.stats().refreshes, cache.stats().loads), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn concurrent_refreshes_and_missing_gets_share_one_load() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (cache, init) = (cache.clone(), counted(&calls, 5));
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                cache.refresh(0, init).await
            } else {
                cache.get_with(0, init).await
            }
        }));
    }
    for t in tasks {
        assert_eq!(timeout(NO_HANG, t).await.unwrap().unwrap(), 5);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_loader_can_set_its_own_ttl() {
    // The cache reads its own (mock) clock; the default TTL of an hour is overridden.
    let (clock, mock) = larder::Clock::mock();
    let timed: Cache<u8, u64> = Cache::builder()
        .max_capacity(10)
        .time_to_live(Duration::from_secs(3600))
        .clock(clock)
        .build();
    timed
        .get_with_ttl(0, async { (4, larder::Ttl::After(Duration::from_secs(2))) })
        .await;
    mock.advance(Duration::from_secs(1));
    assert_eq!(timed.get(&0), Some(4));
    mock.advance(Duration::from_secs(1));
    assert_eq!(timed.get(&0), None);
    assert_eq!(
        timed
            .get_with_ttl(0, async { (5, larder::Ttl::Never) })
            .await,
        5
    );
    mock.advance(Duration::from_secs(1_000_000));
    assert_eq!(timed.get(&0), Some(5));
}

#[tokio::test(start_paused = true)]
async fn warmup_loads_concurrently_with_a_bound_skips_cached_keys_and_reports_failures() {
    let cache: Cache<u64, u64> = Cache::new(1_000);
    cache.insert(0, 100);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let entries = (0..50u64).map(|k| {
        let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
        (k, async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            sleep(LOAD).await;
            running.fetch_sub(1, Ordering::SeqCst);
            if k % 10 == 7 {
                Err(format!("key {k} failed"))
            } else {
                Ok(k * 2)
            }
        })
    });
    let report = timeout(NO_HANG, cache.warmup(entries)).await.unwrap();
    assert_eq!(report.skipped, 1, "key 0 was cached");
    let mut failed: Vec<u64> = report.failed.iter().map(|(k, _)| *k).collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        [7, 17, 27, 37, 47],
        "one failure does not stop the rest"
    );
    assert!(
        report
            .failed
            .iter()
            .all(|(k, e)| **e.loader_error().unwrap() == format!("key {k} failed"))
    );
    assert_eq!(report.loaded, 44);
    assert_eq!(cache.get(&0), Some(100), "a cached key is not reloaded");
    assert_eq!(cache.get(&1), Some(2));
    assert!(!cache.contains_key(&7));
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        peak > 1 && peak <= 16, // warmup runs at most 16 loads at once
        "peak concurrency {peak}"
    );
}

#[test]
fn a_weigher_that_calls_the_cache_does_not_deadlock_a_load() {
    // The reviewer's case: the weigher is user code; a load's store must not run it under
    // the flight registry's lock. A deadlock would block the thread for good, so the load
    // runs on a thread of its own and a hang becomes a failed receive, not a stuck test.
    let me: Arc<std::sync::OnceLock<Cache<u8, u32>>> = Arc::new(std::sync::OnceLock::new());
    let view = Arc::clone(&me);
    let cache = Cache::builder()
        .max_capacity(100)
        .weigher(move |_k: &u8, v: &u32| {
            if let Some(c) = view.get() {
                c.remove(&99);
            }
            *v
        })
        .build();
    let _ = me.set(cache.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let loader = cache.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _ = tx.send(rt.block_on(loader.get_with(1, async { 1 })));
    });
    let v = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("get_with deadlocked");
    assert_eq!(v, 1);
    assert_eq!(cache.get(&1), Some(1));
}

#[tokio::test(start_paused = true)]
async fn refreshes_count_as_misses_so_joiners_do_too() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (cache, init) = (cache.clone(), counted(&calls, 3));
            tokio::spawn(async move { cache.refresh(0, init).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 3);
    }
    let s = cache.stats();
    assert_eq!((s.loads, s.misses, s.coalesced, s.refreshes), (1, 4, 3, 4));
}

#[tokio::test(start_paused = true)]
async fn negative_caching_keeps_errors_for_their_ttl_only() {
    let (clock, mock) = larder::Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .max_capacity(10)
        .negative_ttl(Duration::from_secs(5))
        .clock(clock)
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    let failing = |calls: &Arc<AtomicUsize>| {
        let calls = Arc::clone(calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<u64, String>("down".into())
        }
    };
    let first = cache.try_get_with(0, failing(&calls)).await.unwrap_err();
    let kept = cache.try_get_with(0, failing(&calls)).await.unwrap_err();
    assert!(
        Arc::ptr_eq(first.loader_error().unwrap(), kept.loader_error().unwrap()),
        "the kept error is served"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Another error type, or an infallible loader, is not answered with it.
    assert_eq!(
        cache
            .try_get_with(0, async { Err::<u64, u8>(1) })
            .await
            .unwrap_err()
            .into_loader_error(),
        Some(Arc::new(1))
    );
    mock.advance(Duration::from_secs(5));
    let _ = cache.try_get_with(0, failing(&calls)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "expired: loads again");
    cache.remove(&0);
    let _ = cache.try_get_with(0, failing(&calls)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "removed: loads again");
    assert_eq!(cache.get_with(0, async { 8 }).await, 8);
    assert_eq!(
        cache.try_get_with(0, failing(&calls)).await.unwrap(),
        8,
        "a success replaces it"
    );
}

#[tokio::test(start_paused = true)]
async fn without_negative_caching_errors_are_never_kept() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let calls = Arc::clone(&calls);
        let _ = cache
            .try_get_with(0, async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<u64, ()>(())
            })
            .await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn with_negative_caching_none_is_kept_for_the_calls_that_can_return_it() {
    let (clock, mock) = larder::Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .negative_ttl(Duration::from_secs(5))
        .clock(clock)
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    let none = |calls: &Arc<AtomicUsize>| {
        let calls = Arc::clone(calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            None
        }
    };
    assert_eq!(cache.optionally_get_with(0, none(&calls)).await, None);
    assert_eq!(cache.optionally_get_with(0, none(&calls)).await, None);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "kept");
    // get_with cannot return None: it loads.
    assert_eq!(cache.get_with(0, async { 7 }).await, 7);
    cache.remove(&0);
    mock.advance(Duration::from_secs(5));
    assert_eq!(cache.optionally_get_with(0, none(&calls)).await, None);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
