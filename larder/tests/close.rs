//! `Cache::close`: async-lru's `cache_close(wait)` scenarios (FEATURES #64, #65) and what a
//! closed cache answers. Time is tokio's paused clock: the loaders' sleeps advance it
//! instantly, and `timeout` turns a hang into a failure.

mod common;

use common::{LOAD, NO_HANG};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::spawn::{BackgroundTask, Spawner};
use larder::{Cache, Clock, CloseMode, ErrorKind};
use tokio::time::{sleep, timeout};

/// Counts loader runs and loader futures dropped before they finished.
#[derive(Default)]
struct Probe {
    calls: AtomicUsize,
    dropped_early: AtomicUsize,
}

struct DropGuard(Arc<Probe>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.dropped_early.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A loader that takes `LOAD` to produce `value`, reporting to `probe`.
fn loader(probe: &Arc<Probe>, value: u64) -> impl Future<Output = u64> + Send + 'static {
    let probe = Arc::clone(probe);
    async move {
        probe.calls.fetch_add(1, Ordering::SeqCst);
        let mut guard = DropGuard(probe, false);
        sleep(LOAD).await;
        guard.1 = true;
        value
    }
}

fn fallible(
    probe: &Arc<Probe>,
    value: u64,
) -> impl Future<Output = Result<u64, String>> + Send + 'static {
    let load = loader(probe, value);
    async move { Ok(load.await) }
}

#[tokio::test(start_paused = true)]
async fn close_cancel_fails_the_loads_in_flight_and_every_later_load() {
    // FEATURES #64: 5 in-flight calls, close() -> they fail (async-lru: CancelledError),
    // nothing is stored, closed is true; a second close is a no-op; a later call fails.
    let cache: Cache<u8, u64> = Cache::new(10);
    let probe = Arc::new(Probe::default());
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (cache, init) = (cache.clone(), fallible(&probe, 1));
            tokio::spawn(async move { cache.try_get_with(0, init).await })
        })
        .collect();
    sleep(Duration::from_millis(1)).await; // the load is running
    timeout(NO_HANG, cache.close(CloseMode::Cancel))
        .await
        .unwrap();
    for call in calls {
        let err = timeout(NO_HANG, call).await.unwrap().unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
    }
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        probe.dropped_early.load(Ordering::SeqCst),
        1,
        "the loader is dropped"
    );
    assert_eq!(cache.len(), 0);
    assert!(cache.is_closed());
    timeout(NO_HANG, cache.close(CloseMode::Cancel))
        .await
        .unwrap(); // a no-op
    let later = cache.try_get_with(0, fallible(&probe, 2)).await;
    assert_eq!(later.unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(
        probe.calls.load(Ordering::SeqCst),
        1,
        "nothing loads once closed"
    );
}

#[tokio::test(start_paused = true)]
async fn close_wait_lets_the_loads_in_flight_finish_and_store() {
    // FEATURES #65: close(wait=True) with 3 in-flight calls -> all 3 results, 3 stored.
    let cache: Cache<u8, u64> = Cache::new(10);
    let probe = Arc::new(Probe::default());
    let calls: Vec<_> = (0..3u8)
        .map(|k| {
            let (cache, init) = (cache.clone(), fallible(&probe, u64::from(k) * 10));
            tokio::spawn(async move { cache.try_get_with(k, init).await })
        })
        .collect();
    sleep(Duration::from_millis(1)).await;
    let started = tokio::time::Instant::now();
    timeout(NO_HANG, cache.close(CloseMode::Wait))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= LOAD - Duration::from_millis(1),
        "close waited for the loads"
    );
    for (k, call) in calls.into_iter().enumerate() {
        let value = timeout(NO_HANG, call).await.unwrap().unwrap().unwrap();
        assert_eq!(value, k as u64 * 10);
    }
    assert_eq!(cache.len(), 3);
    assert!(cache.is_closed());
    assert_eq!(probe.dropped_early.load(Ordering::SeqCst), 0);
    // Stored values are still served; a missing key is not loaded into the cache.
    assert_eq!(
        cache.try_get_with(1, fallible(&probe, 0)).await.unwrap(),
        10
    );
    let err = cache
        .try_get_with(9, fallible(&probe, 0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test(start_paused = true)]
async fn infallible_calls_run_their_own_loader_once_closed() {
    // get_with cannot return an error: its callers finish with their own loader, uncached.
    let cache: Cache<u8, u64> = Cache::new(10);
    let probe = Arc::new(Probe::default());
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let (cache, init) = (cache.clone(), loader(&probe, i));
            tokio::spawn(async move { cache.get_with(0, init).await })
        })
        .collect();
    sleep(Duration::from_millis(1)).await;
    cache.close(CloseMode::Cancel).await;
    let mut got: Vec<u64> = Vec::new();
    for call in calls {
        got.push(timeout(NO_HANG, call).await.unwrap().unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2], "each caller got its own loader's value");
    // The leader's loader ran on for its caller; each waiter ran its own.
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3);
    assert_eq!(probe.dropped_early.load(Ordering::SeqCst), 0);
    assert_eq!(cache.len(), 0, "nothing is stored once closed");
    assert_eq!(cache.get_with(5, loader(&probe, 5)).await, 5);
    assert_eq!(
        cache.optionally_get_with(6, async { Some(6) }).await,
        Some(6)
    );
    assert_eq!(cache.refresh(7, async { 7 }).await, 7);
    assert_eq!(cache.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_closed_cache_still_answers_from_what_it_holds() {
    let cache: Cache<u8, u64> = Cache::new(10);
    cache.insert(1, 100);
    cache.close(CloseMode::Wait).await;
    assert_eq!(cache.get(&1), Some(100));
    assert_eq!(cache.get_with(1, async { unreachable!() }).await, 100);
    cache.insert(2, 200);
    assert_eq!(cache.remove(&2), Some(200));
    let report = cache.warmup([(3, async { Ok::<u64, String>(3) })]).await;
    assert_eq!(report.loaded, 0);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].1.kind(), ErrorKind::Closed);
}

#[tokio::test(start_paused = true)]
async fn dropping_close_wait_leaves_the_cache_closed() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let probe = Arc::new(Probe::default());
    let call = {
        let (cache, init) = (cache.clone(), loader(&probe, 1));
        tokio::spawn(async move { cache.get_with(0, init).await })
    };
    sleep(Duration::from_millis(1)).await;
    // Give up waiting long before the load ends.
    let gave_up = timeout(Duration::from_millis(1), cache.close(CloseMode::Wait)).await;
    assert!(gave_up.is_err());
    assert!(cache.is_closed());
    assert_eq!(timeout(NO_HANG, call).await.unwrap().unwrap(), 1);
    assert_eq!(cache.get(&0), Some(1), "a load started before close stores");
}

/// Spawns onto the current tokio runtime and counts what it spawned.
#[derive(Clone, Default)]
struct CountingSpawner(Arc<AtomicUsize>);

impl Spawner for CountingSpawner {
    fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(task);
        Ok(())
    }
}

fn revalidating(spawner: CountingSpawner) -> (Cache<u8, u64>, larder::MockClock) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(10)
        .time_to_live(Duration::from_secs(10))
        .stale_while_revalidate(Duration::from_secs(10))
        .spawner(spawner)
        .clock(clock)
        .build();
    (cache, mock)
}

#[tokio::test(start_paused = true)]
async fn close_cancel_stops_a_background_refresh() {
    let spawned = CountingSpawner::default();
    let (cache, mock) = revalidating(spawned.clone());
    let probe = Arc::new(Probe::default());
    cache.insert(0, 1);
    mock.advance(Duration::from_secs(15)); // stale
    assert_eq!(cache.get_with(0, loader(&probe, 2)).await, 1);
    sleep(Duration::from_millis(1)).await; // the refresh is running
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    cache.close(CloseMode::Cancel).await;
    sleep(NO_HANG).await;
    assert_eq!(probe.dropped_early.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(&0), None, "the refresh stored nothing");
    // No new refresh starts once closed: a stale read loads in the foreground, uncached.
    assert_eq!(cache.get_with(0, loader(&probe, 3)).await, 3);
    assert_eq!(spawned.0.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn close_wait_waits_for_a_background_refresh() {
    let (cache, mock) = revalidating(CountingSpawner::default());
    let probe = Arc::new(Probe::default());
    cache.insert(0, 1);
    mock.advance(Duration::from_secs(15));
    assert_eq!(cache.get_with(0, loader(&probe, 2)).await, 1);
    sleep(Duration::from_millis(1)).await;
    timeout(NO_HANG, cache.close(CloseMode::Wait))
        .await
        .unwrap();
    assert_eq!(cache.get(&0), Some(2), "the refresh finished and stored");
}

/// close(Wait): a caller arriving while a load is in flight joins it.
#[tokio::test(start_paused = true)]
async fn close_wait_lets_callers_join_a_load_in_flight() {
    let cache: Cache<u8, u64> = Cache::new(10);
    let c2 = cache.clone();
    let leader = tokio::spawn(async move {
        c2.try_get_with(0, async {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, ()>(7)
        })
        .await
    });
    tokio::task::yield_now().await;
    let c3 = cache.clone();
    let closer = tokio::spawn(async move { c3.close(CloseMode::Wait).await });
    tokio::task::yield_now().await;
    let joiner = cache.try_get_with(0, async { Ok::<_, ()>(8) }).await;
    closer.await.unwrap();
    assert_eq!(leader.await.unwrap().unwrap(), 7);
    assert_eq!(cache.get(&0), Some(7));
    assert_eq!(joiner.unwrap(), 7);
}
