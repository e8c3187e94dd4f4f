//! Interleavings of the flight core under shuttle: leaders and waiters cancelled at random
//! points. Shuttle fails the test on a deadlock (a waiter nobody will wake) or a panic.
//!
//! Run with `RUSTFLAGS="--cfg larder_shuttle" cargo test -p larder --lib --release shuttle`.

use shuttle::future::{block_on, spawn, yield_now};

use crate::Cache;
use crate::sync::{Arc, AtomicUsize, Ordering};

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
