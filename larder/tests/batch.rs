//! Batching: `BatchLoader`, `Cache::get_many_with` and `DataLoader`, with FEATURES.md's
//! batching scenarios (#15-#24) and the fixes over the seeds. Time is tokio's paused clock.

#![allow(clippy::disallowed_types)] // a std Mutex records the batch calls in these tests

mod common;

use common::NO_HANG;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use larder::batch::DataLoader;
use larder::{Cache, ErrorKind};
use tokio::time::{Instant, sleep, timeout};

const BATCH_TIME: Duration = Duration::from_millis(50);

/// Each batch call: when it started, and its keys.
type Calls = Arc<Mutex<Vec<(Instant, Vec<u64>)>>>;
type BatchFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<HashMap<u64, u64>, String>> + Send>>;

/// Records every batch call's keys (and when it started), answers `key * 10` for the keys
/// not in `missing`, after `BATCH_TIME`.
#[derive(Clone, Default)]
struct Backend {
    calls: Calls,
    missing: Arc<Vec<u64>>,
}

impl Backend {
    fn missing(keys: &[u64]) -> Self {
        Self {
            missing: Arc::new(keys.to_vec()),
            ..Self::default()
        }
    }

    fn batch_fn(&self) -> impl Fn(Vec<u64>) -> BatchFuture + Send + Sync + 'static {
        let this = self.clone();
        move |keys: Vec<u64>| {
            let this = this.clone();
            Box::pin(async move {
                this.calls
                    .lock()
                    .expect("not poisoned")
                    .push((Instant::now(), keys.clone()));
                sleep(BATCH_TIME).await;
                Ok(keys
                    .into_iter()
                    .filter(|k| !this.missing.contains(k))
                    .map(|k| (k, k * 10))
                    .collect())
            })
        }
    }

    fn batches(&self) -> Vec<Vec<u64>> {
        self.calls
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(_, k)| k.clone())
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_loads_make_one_batch_in_call_order() {
    // FEATURES #15 and #18: 3 concurrent loads, window 10 ms, max 5 -> one batch call with
    // the keys in call order; values mapped by key.
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let loader = cache
        .batch_loader(backend.batch_fn())
        .window(Duration::from_millis(10))
        .max_batch_size(5)
        .build();
    let (a, b, c) = tokio::join!(loader.load(3), loader.load(1), loader.load(2));
    assert_eq!((a, b, c), (Ok(Some(30)), Ok(Some(10)), Ok(Some(20))));
    assert_eq!(backend.batches(), [vec![3, 1, 2]]);
    assert_eq!(cache.len(), 3);
    let s = cache.stats();
    assert_eq!((s.batches, s.batched_keys, s.loads), (1, 3, 1));
    // Cached now: no further batch.
    assert_eq!(loader.load(1).await, Ok(Some(10)));
    assert_eq!(backend.batches().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_goes_at_once_and_the_rest_waits_for_its_window() {
    // FEATURES #16: window 100 ms, max 3, 7 concurrent loads -> batches of 3, 3, 1.
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let loader = cache
        .batch_loader(backend.batch_fn())
        .window(Duration::from_millis(100))
        .max_batch_size(3)
        .build();
    let start = Instant::now();
    let got = loader.load_many(0..7).await.unwrap();
    assert_eq!(got, (0..7).map(|k| Some(k * 10)).collect::<Vec<_>>());
    let calls = backend.calls.lock().expect("not poisoned").clone();
    let sizes: Vec<usize> = calls.iter().map(|(_, k)| k.len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(calls[0].0, start, "full batches do not wait for the window");
    assert_eq!(calls[2].0 - start, Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn keys_are_deduplicated_and_a_missing_key_is_none_and_not_cached() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::missing(&[2]);
    let loader = cache.batch_loader(backend.batch_fn()).build();
    let got = loader.load_many([1, 2, 1, 3, 2]).await.unwrap();
    assert_eq!(got, [Some(10), None, Some(10), Some(30), None]);
    assert_eq!(backend.batches(), [vec![1, 2, 3]]);
    assert!(!cache.contains_key(&2), "None is not cached");
    assert_eq!(loader.load(2).await, Ok(None));
    assert_eq!(backend.batches().len(), 2, "a missing key is asked again");
}

#[tokio::test(start_paused = true)]
async fn a_batch_error_reaches_every_waiter_and_nothing_is_cached() {
    // FEATURES #20: the batch function fails -> all 3 waiters get the error.
    let cache: Cache<u64, u64> = Cache::new(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let loader = cache
        .batch_loader(move |_keys: Vec<u64>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err::<HashMap<u64, u64>, _>("db down".to_string()) }
        })
        .build();
    let (a, b, c) = tokio::join!(loader.load(1), loader.load(2), loader.load(3));
    let errors: Vec<_> = [a, b, c]
        .into_iter()
        .map(|r| r.unwrap_err().into_loader_error().unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .all(|e| Arc::ptr_eq(e, &errors[0]) && **e == "db down")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.len(), 0);
    assert_eq!(cache.stats().load_errors, 1);
    let _ = loader.load(1).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "errors are not cached");
}

#[tokio::test(start_paused = true)]
async fn a_vec_of_the_wrong_length_is_an_error_for_every_waiter() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let loader = cache
        .batch_loader(|keys: Vec<u64>| async move {
            Ok::<_, String>(keys.iter().skip(1).copied().collect::<Vec<u64>>())
        })
        .build();
    let (a, b) = tokio::join!(loader.load(1), loader.load(2));
    for result in [a, b] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::BatchShape);
    }
    assert_eq!(cache.len(), 0, "no value is matched with the wrong key");
    // An aligned Vec of the right length is matched key by key.
    let aligned = cache
        .batch_loader(|keys: Vec<u64>| async move {
            Ok::<_, String>(keys.iter().map(|k| k + 1).collect::<Vec<_>>())
        })
        .build();
    assert_eq!(aligned.load_many([5, 9]).await, Ok(vec![Some(6), Some(10)]));
}

/// A `BatchResult` of the user's own that yields fewer values than keys.
struct FirstOnly(Vec<u64>);

impl larder::batch::BatchResult<u64, u64> for FirstOnly {
    fn into_aligned(self, _keys: &[u64]) -> Result<Vec<Option<u64>>, larder::Error> {
        Ok(self.0.into_iter().take(1).map(Some).collect())
    }
}

#[tokio::test(start_paused = true)]
async fn a_short_custom_batch_result_is_a_batch_shape_error_not_an_endless_retry() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let loader = cache
        .batch_loader(move |keys: Vec<u64>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(FirstOnly(keys)) }
        })
        .build();
    let all = timeout(NO_HANG, loader.load_many([1, 2, 3])).await;
    let err = all.expect("load_many returns").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BatchShape);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one call, no retries");
    assert_eq!(cache.len(), 0, "nothing is matched with the wrong key");
    // get_many_with checks the length the same way.
    let many = cache
        .get_many_with([4, 5], |keys: Vec<u64>| async move {
            Ok::<_, String>(FirstOnly(keys))
        })
        .await;
    assert_eq!(many.unwrap_err().kind(), ErrorKind::BatchShape);
}

#[tokio::test(start_paused = true)]
async fn nobody_waits_behind_a_running_batch() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let window = Duration::from_millis(5);
    let loader = cache
        .batch_loader(backend.batch_fn())
        .window(window)
        .build();
    let first = tokio::spawn({
        let loader = loader.clone();
        async move { loader.load(1).await }
    });
    sleep(window + Duration::from_millis(1)).await; // batch 1 is running (50 ms)
    let start = Instant::now();
    assert_eq!(
        timeout(NO_HANG, loader.load(2)).await.unwrap(),
        Ok(Some(20))
    );
    assert_eq!(
        start.elapsed(),
        window + BATCH_TIME,
        "its own window and batch, not batch 1's remainder"
    );
    assert_eq!(first.await.unwrap(), Ok(Some(10)));
    assert_eq!(backend.batches(), [vec![1], vec![2]]);
}

#[tokio::test(start_paused = true)]
async fn keys_nobody_waits_for_are_not_requested() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let loader = cache.batch_loader(backend.batch_fn()).build();
    let dropped = timeout(Duration::from_millis(1), loader.load(1)).await;
    assert!(dropped.is_err(), "gave up before the 5 ms window ended");
    let kept = tokio::spawn({
        let loader = loader.clone();
        async move { loader.load(2).await }
    });
    assert_eq!(kept.await.unwrap(), Ok(Some(20)));
    assert_eq!(backend.batches(), [vec![2]], "key 1 was not requested");
    // Dropping one waiter of a key leaves the others served.
    let a = tokio::spawn({
        let loader = loader.clone();
        async move { loader.load(3).await }
    });
    let b = timeout(Duration::from_millis(1), loader.load(3)).await;
    assert!(b.is_err());
    assert_eq!(a.await.unwrap(), Ok(Some(30)));
}

#[tokio::test(start_paused = true)]
async fn batch_loads_join_get_with_loads_and_the_other_way_round() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let loader = cache.batch_loader(backend.batch_fn()).build();
    let slow = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache
                .get_with(1, async {
                    sleep(Duration::from_millis(20)).await;
                    100
                })
                .await
        }
    });
    sleep(Duration::from_millis(1)).await;
    // Key 1 is in flight: joined, not batched.
    assert_eq!(
        loader.load_many([1, 2]).await,
        Ok(vec![Some(100), Some(20)])
    );
    assert_eq!(backend.batches(), [vec![2]]);
    assert_eq!(slow.await.unwrap(), 100);
    // A get_with of a key in an open batch joins the batch's load.
    let batched = tokio::spawn({
        let loader = loader.clone();
        async move { loader.load(3).await }
    });
    sleep(Duration::from_millis(1)).await;
    assert_eq!(cache.get_with(3, async { unreachable!() }).await, 30);
    assert_eq!(batched.await.unwrap(), Ok(Some(30)));
}

#[tokio::test(start_paused = true)]
async fn max_concurrent_batches_holds_back_dispatch_not_gathering() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let loader = cache
        .batch_loader(backend.batch_fn())
        .max_batch_size(2)
        .max_concurrent_batches(1)
        .build();
    let start = Instant::now();
    assert!(loader.load_many(0..4).await.is_ok());
    let calls = backend.calls.lock().expect("not poisoned").clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0 - start, Duration::ZERO);
    assert_eq!(
        calls[1].0 - start,
        BATCH_TIME,
        "the second waited for the first"
    );
}

#[tokio::test(start_paused = true)]
async fn abandoned_keys_of_a_batch_queued_behind_a_hung_one_are_released_at_once() {
    let cache: Cache<u64, u64> = Cache::new(10_000);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    // One batch at a time, one key per batch; the batch function never returns.
    let loader = cache
        .batch_loader(move |keys: Vec<u64>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                std::future::pending::<()>().await;
                Ok::<_, String>(keys)
            }
        })
        .max_batch_size(1)
        .max_concurrent_batches(1)
        .build();
    // Key 0's batch runs and hangs; keys 1..=1000 queue behind it, and their callers give up.
    for key in 0..=1_000 {
        let gave_up = timeout(Duration::from_millis(1), loader.load(key)).await;
        assert!(gave_up.is_err());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "only the first batch ran");
    // A plain get_with of a key whose callers left leads its own load: it does not join the
    // queued batch, which nobody waits for.
    let own = timeout(NO_HANG, cache.get_with(500, async { 7 })).await;
    assert_eq!(own, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn batches_queued_behind_a_hung_one_are_bounded_and_the_rest_refused_at_once() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let loader = cache
        .batch_loader(|keys: Vec<u64>| async move {
            std::future::pending::<()>().await;
            Ok::<_, String>(keys)
        })
        .max_batch_size(1)
        .max_concurrent_batches(1)
        .max_queued_batches(2)
        .build();
    // Key 0's batch runs and hangs; keys 1 and 2 queue; key 3 finds the queue full.
    let waiting: Vec<_> = (0..3)
        .map(|key| {
            let loader = loader.clone();
            tokio::spawn(async move { loader.load(key).await })
        })
        .collect();
    tokio::task::yield_now().await;
    let refused = timeout(NO_HANG, loader.load(3))
        .await
        .expect("refused at once");
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Overloaded);
    // The queued ones still wait; a place frees when one of them goes.
    waiting[2].abort();
    tokio::task::yield_now().await;
    let queued = timeout(Duration::from_millis(1), loader.load(4)).await;
    assert!(queued.is_err(), "key 4 took key 2's place in the queue");
    for task in waiting {
        task.abort();
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_batch_function_fails_its_waiters_and_poisons_nothing() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let loader = cache
        .batch_loader(move |keys: Vec<u64>| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n > 0, "the first batch panics (on purpose)");
                Ok::<_, String>(keys)
            }
        })
        .build();
    let (a, b) = tokio::join!(loader.load(1), loader.load(2));
    for result in [a, b] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Loader);
    }
    assert_eq!(timeout(NO_HANG, loader.load(1)).await.unwrap(), Ok(Some(1)));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn get_many_with_asks_only_for_the_misses() {
    // FEATURES #23: multi_cached: [a, b] -> f([a, b]); then [a, b, c] -> f([c]).
    let cache: Cache<u64, u64> = Cache::new(100);
    let backend = Backend::default();
    let f = backend.batch_fn();
    assert_eq!(
        cache.get_many_with([1, 2], &f).await,
        Ok(vec![Some(10), Some(20)])
    );
    assert_eq!(
        cache.get_many_with([1, 2, 3], &f).await,
        Ok(vec![Some(10), Some(20), Some(30)])
    );
    assert_eq!(backend.batches(), [vec![1, 2], vec![3]]);
    assert_eq!(cache.get_many(&[1, 3, 4]), [Some(10), Some(30), None]);
}

#[tokio::test(start_paused = true)]
async fn get_many_with_stores_only_the_keys_with_values() {
    // FEATURES #24: values [42, None] -> only the first key is stored.
    let cache: Cache<u64, u64> = Cache::new(100);
    let got = cache
        .get_many_with([1, 2], |_keys: Vec<u64>| async {
            Ok::<_, String>(HashMap::from([(1, 42)]))
        })
        .await;
    assert_eq!(got, Ok(vec![Some(42), None]));
    assert!(cache.contains_key(&1) && !cache.contains_key(&2));
}

#[tokio::test(start_paused = true)]
async fn data_loader_memoises_batches_and_primes() {
    let backend = Backend::missing(&[4]);
    let loader = DataLoader::new(backend.batch_fn());
    let (a, b) = tokio::join!(loader.load(1), loader.load(2));
    assert_eq!((a, b), (Ok(Some(10)), Ok(Some(20))));
    loader.prime(3, 33);
    assert_eq!(
        loader.load_many([1, 3, 4]).await,
        Ok(vec![Some(10), Some(33), None])
    );
    assert_eq!(backend.batches(), [vec![1, 2], vec![4]]);
    loader.clear(&1);
    assert_eq!(loader.load(1).await, Ok(Some(10)));
    loader.clear_all();
    assert_eq!(loader.stats().size, 0);
    assert_eq!(backend.batches().len(), 3);
}

#[test]
fn outside_a_runtime_a_miss_is_a_batch_of_one() {
    let cache: Cache<u64, u64> = Cache::new(10);
    let loader = cache
        .batch_loader(|keys: Vec<u64>| async move { Ok::<_, String>(keys) })
        .build();
    let mut load = std::pin::pin!(loader.load(5));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(
        load.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Ok(Some(5)))
    );
}

#[test]
fn bad_batch_settings_are_config_errors() {
    let cache: Cache<u64, u64> = Cache::new(10);
    let f = |keys: Vec<u64>| async move { Ok::<_, String>(keys) };
    for builder in [
        cache.batch_loader(f).max_batch_size(0),
        cache.batch_loader(f).max_concurrent_batches(0),
        cache
            .batch_loader(f)
            .window(Duration::from_secs(200 * 365 * 86_400)),
    ] {
        assert_eq!(builder.try_build().unwrap_err().kind(), ErrorKind::Config);
    }
}

#[tokio::test(start_paused = true)]
async fn with_negative_caching_a_missing_key_is_kept_as_missing() {
    let (clock, mock) = larder::Clock::mock();
    let cache: Cache<u64, u64> = Cache::builder()
        .negative_ttl(Duration::from_secs(5))
        .clock(clock)
        .build();
    let backend = Backend::missing(&[2]);
    let loader = cache.batch_loader(backend.batch_fn()).build();
    assert_eq!(loader.load(2).await, Ok(None));
    assert_eq!(loader.load(2).await, Ok(None));
    assert_eq!(
        cache.get_many_with([2], backend.batch_fn()).await,
        Ok(vec![None])
    );
    assert_eq!(backend.batches().len(), 1, "kept: not asked again");
    assert!(!cache.contains_key(&2), "kept as missing, not as a value");
    mock.advance(Duration::from_secs(5));
    assert_eq!(loader.load(2).await, Ok(None));
    assert_eq!(
        backend.batches().len(),
        2,
        "asked again once the negative TTL ran out"
    );
    cache.remove(&2);
    assert_eq!(loader.load(2).await, Ok(None));
    assert_eq!(backend.batches().len(), 3, "remove forgets it");
    // Without negative caching (the default), a missing key is asked for every time: see
    // keys_are_deduplicated_and_a_missing_key_is_none_and_not_cached.
}

/// Runs `f` on a thread of its own; `None` if it has not finished within 10 s (a hang).
fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10)).ok()
}

fn tens(cache: &Cache<u64, u64>) -> larder::batch::BatchLoader<u64, u64, String> {
    cache
        .batch_loader(|keys: Vec<u64>| async move {
            Ok::<_, String>(keys.iter().map(|k| k * 10).collect::<Vec<_>>())
        })
        .window(Duration::from_millis(20))
        .build()
}

#[test]
fn a_runtime_without_timers_loads_a_batch_of_one() {
    let got = finishes(|| {
        let cache: Cache<u64, u64> = Cache::new(100);
        let loader = tens(&cache);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(loader.load(1))
    });
    assert_eq!(got, Some(Ok(Some(10))), "no hang");
}

#[test]
fn a_runtime_dropped_mid_window_strands_no_key() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let loader = tens(&cache);
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let gave_up = loader.clone();
    first.block_on(async move {
        let _ = timeout(Duration::from_millis(1), gave_up.load(1)).await;
    });
    drop(first); // its window task goes with it
    let got = finishes(move || {
        let second = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        second.block_on(async { (loader.load(2).await, loader.load(1).await) })
    });
    assert_eq!(got, Some((Ok(Some(20)), Ok(Some(10)))), "no hang");
}

#[tokio::test(start_paused = true)]
async fn a_limit_beyond_what_a_semaphore_counts_is_no_limit() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let loader = cache
        .batch_loader(|k: Vec<u64>| async move { Ok::<_, ()>(k) })
        .max_concurrent_batches(usize::MAX)
        .try_build()
        .expect("not an error, and no panic");
    assert_eq!(loader.load(4).await, Ok(Some(4)));
}

#[tokio::test(start_paused = true)]
async fn a_key_asked_twice_in_one_read_is_loaded_once_and_not_coalesced() {
    let cache: Cache<u64, u64> = Cache::new(100);
    let got = cache
        .get_many_with([1, 1, 2], |keys: Vec<u64>| async move {
            assert_eq!(keys, [1, 2]);
            Ok::<_, ()>(keys.iter().map(|k| k * 10).collect::<Vec<_>>())
        })
        .await;
    assert_eq!(got, Ok(vec![Some(10), Some(10), Some(20)]));
    let s = cache.stats();
    assert_eq!(
        (s.batches, s.batched_keys, s.misses, s.coalesced),
        (1, 2, 2, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_primed_value_is_not_overwritten_by_a_load_in_flight() {
    let backend = Backend::default();
    let loader = DataLoader::new(backend.batch_fn());
    let (loaded, ()) = tokio::join!(loader.load(3), async {
        sleep(Duration::from_millis(10)).await; // the batch is running
        loader.prime(3, 99);
    });
    assert_eq!(loaded, Ok(Some(30)), "the load's callers get its value");
    assert_eq!(loader.load(3).await, Ok(Some(99)), "the primed value stays");
}

/// A `BuildHasher` that counts the hashers it builds.
#[derive(Clone, Default)]
struct CountingHasher {
    built: Arc<AtomicUsize>,
}

impl std::hash::BuildHasher for CountingHasher {
    type Hasher = std::collections::hash_map::DefaultHasher;

    fn build_hasher(&self) -> Self::Hasher {
        self.built.fetch_add(1, Ordering::Relaxed);
        std::collections::hash_map::DefaultHasher::new()
    }
}

/// Defect 11 (HashDoS): `get_many_with` de-duplicated the user's keys in a map on
/// hashbrown's default hasher, whatever hasher the cache was built with. It hashes them
/// with the cache's own: every position of a read of one cached key, asked eight times,
/// goes through it.
#[tokio::test(start_paused = true)]
async fn get_many_with_dedups_keys_with_the_cache_hasher() {
    let hasher = CountingHasher::default();
    let cache: Cache<u64, u64, CountingHasher> = Cache::builder().hasher(hasher.clone()).build();
    cache.insert(1, 10);
    hasher.built.store(0, Ordering::Relaxed);
    let got = cache
        .get_many_with(
            [1; 8],
            |keys: Vec<u64>| async move { Ok::<_, ()>(keys.clone()) },
        )
        .await;
    assert_eq!(got, Ok(vec![Some(10); 8]));
    let built = hasher.built.load(Ordering::Relaxed);
    assert!(
        built >= 8,
        "the cache's hasher hashed {built} times for 8 keys"
    );
}
