//! Interleavings of the flight core under shuttle: leaders and waiters cancelled at random
//! points. Shuttle fails the test on a deadlock (a waiter nobody will wake) or a panic.
//!
//! Run with `RUSTFLAGS="--cfg larder_shuttle" cargo test -p larder --lib --release shuttle`.

use shuttle::future::{block_on, spawn, yield_now};

use crate::Cache;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering};

fn iterations() -> usize {
    std::env::var("SHUTTLE_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// A loader that counts its runs and yields twice (so others interleave) before returning
/// `value`.
async fn load(calls: Arc<AtomicUsize>, value: u64) -> u64 {
    calls.fetch_add(1, Ordering::SeqCst);
    yield_now().await;
    yield_now().await;
    value
}

#[test]
fn shuttle_callers_cancelled_at_random_points() {
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let calls = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..3u64)
                    .map(|i| {
                        let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                        spawn(async move { cache.get_with(0, load(calls, i)).await })
                    })
                    .collect();
                yield_now().await;
                tasks[0].abort(); // the leader, a waiter, or a caller yet to start
                let mut values = Vec::new();
                for (i, task) in tasks.into_iter().enumerate() {
                    match task.await {
                        Ok(v) => values.push(v),
                        Err(_) => assert_eq!(i, 0, "only the aborted task may fail"),
                    }
                }
                assert!(values.len() >= 2);
                let runs = calls.load(Ordering::SeqCst);
                assert!((1..=3).contains(&runs), "{runs} loads");
                // Whatever happened, nothing is left in flight and the cache is consistent.
                assert_eq!(cache.loads_in_flight(), 0);
                if let Some(v) = cache.get(&0) {
                    assert!(values.contains(&v) || v == 0);
                }
                cache.engine().check_invariants();
            });
        },
        iterations(),
    );
}

#[test]
fn shuttle_an_invalidation_races_a_load() {
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let calls = Arc::new(AtomicUsize::new(0));
                let loader = {
                    let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                    spawn(async move { cache.get_with(0, load(calls, 7)).await })
                };
                let remover = {
                    let cache = cache.clone();
                    spawn(async move { cache.remove(&0) })
                };
                let removed = remover.await.expect("not aborted");
                assert_eq!(loader.await.expect("not aborted"), 7);
                // Three orders are possible: the remove before the load began (the load then
                // stores), during it (nothing is stored), after the store (the remove takes
                // the value out). In none does a value the remove took out come back.
                if removed.is_some() {
                    assert_eq!(removed, Some(7));
                    assert!(!cache.contains_key(&0), "a removed value came back");
                }
                assert_eq!(calls.load(Ordering::SeqCst), 1);
                assert_eq!(cache.loads_in_flight(), 0);
            });
        },
        iterations(),
    );
}

/// A loader that yields, then panics if `panics`, else returns `value`.
async fn load_or_panic(calls: Arc<AtomicUsize>, value: u64, panics: bool) -> u64 {
    calls.fetch_add(1, Ordering::SeqCst);
    yield_now().await;
    assert!(!panics, "loader panicked (on purpose)");
    value
}

#[test]
fn shuttle_a_panicking_leader_hands_over() {
    use futures_util::FutureExt;
    use std::panic::AssertUnwindSafe;

    // The panics are caught in their task; keep them out of the test's output.
    std::panic::set_hook(Box::new(|_| {}));
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let calls = Arc::new(AtomicUsize::new(0));
                // Caller 0's loader panics; the others' succeed. Whoever leads first, every
                // caller but the panicking one gets a value, and nothing is poisoned.
                let tasks: Vec<_> = (0..3u64)
                    .map(|i| {
                        let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                        spawn(async move {
                            let get = cache.get_with(0, load_or_panic(calls, i, i == 0));
                            AssertUnwindSafe(get).catch_unwind().await
                        })
                    })
                    .collect();
                let mut values = Vec::new();
                for (i, task) in tasks.into_iter().enumerate() {
                    match task.await.expect("not aborted") {
                        Ok(v) => values.push(v),
                        Err(_) => assert_eq!(i, 0, "only the panicking caller fails"),
                    }
                }
                assert!(values.len() >= 2);
                assert!(values.iter().all(|&v| v == 1 || v == 2));
                assert_eq!(cache.loads_in_flight(), 0);
                // The next call loads afresh or finds the stored value; never a hang.
                let next = cache.get_with(0, load_or_panic(Arc::clone(&calls), 9, false));
                assert!([1, 2].contains(&next.await));
                cache.engine().check_invariants();
            });
        },
        iterations(),
    );
    drop(std::panic::take_hook());
}

#[test]
fn shuttle_close_races_loads() {
    use crate::{CloseMode, ErrorKind};

    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let calls = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..3u64)
                    .map(|i| {
                        let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                        spawn(async move {
                            let init = async move { Ok::<_, ()>(load(calls, i).await) };
                            cache.try_get_with(0, init).await
                        })
                    })
                    .collect();
                let closer = {
                    let cache = cache.clone();
                    spawn(async move { cache.close(CloseMode::Cancel).await })
                };
                closer.await.expect("not aborted");
                let mut loaded = Vec::new();
                for task in tasks {
                    match task.await.expect("not aborted") {
                        Ok(v) => loaded.push(v),
                        Err(e) => assert_eq!(e.kind(), ErrorKind::Closed),
                    }
                }
                // A load that finished before the close stored its value, and its callers got
                // it; one that finished as the close came may reach its leader unstored.
                // Nothing else is ever stored.
                assert!(loaded.windows(2).all(|w| w[0] == w[1]), "one load");
                if let Some(v) = cache.get(&0) {
                    assert_eq!(loaded.first(), Some(&v));
                }
                assert!(calls.load(Ordering::SeqCst) <= 1, "no load after the close");
                assert_eq!(cache.loads_in_flight(), 0);
                assert!(cache.is_closed());
            });
        },
        iterations(),
    );
}

/// A leader whose loader never finishes by itself must still be ended by close(Cancel).
#[test]
fn shuttle_close_cancel_wakes_a_leader_that_would_never_finish() {
    use crate::{CloseMode, ErrorKind};
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let leader = {
                    let cache = cache.clone();
                    spawn(async move {
                        cache
                            .try_get_with(0, std::future::pending::<Result<u64, ()>>())
                            .await
                    })
                };
                let closer = {
                    let cache = cache.clone();
                    spawn(async move { cache.close(CloseMode::Cancel).await })
                };
                closer.await.expect("not aborted");
                // Either the leader never started (Closed at once) or it is cancelled.
                let r = leader.await.expect("not aborted");
                assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
            });
        },
        iterations(),
    );
}

/// Once is_closed() is observed with the key absent, no load may store it.
#[test]
fn shuttle_nothing_is_stored_once_close_cancel_is_seen() {
    use crate::CloseMode;
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let leader = {
                    let cache = cache.clone();
                    spawn(async move {
                        cache
                            .get_with(0, async {
                                yield_now().await;
                                7
                            })
                            .await
                    })
                };
                let closer = {
                    let cache = cache.clone();
                    spawn(async move { cache.close(CloseMode::Cancel).await })
                };
                let seen_absent_after_close = Arc::new(AtomicBool::new(false));
                let observer = {
                    let (cache, seen) = (cache.clone(), Arc::clone(&seen_absent_after_close));
                    spawn(async move {
                        while !cache.is_closed() {
                            yield_now().await;
                        }
                        if !cache.contains_key(&0) {
                            seen.store(true, Ordering::SeqCst);
                        }
                    })
                };
                closer.await.expect("not aborted");
                observer.await.expect("not aborted");
                leader.await.expect("not aborted");
                if seen_absent_after_close.load(Ordering::SeqCst) {
                    assert!(
                        !cache.contains_key(&0),
                        "a load stored after close(Cancel) was observed"
                    );
                }
            });
        },
        iterations(),
    );
}
