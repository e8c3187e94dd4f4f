//! Background refreshes: stale-while-revalidate and refresh-ahead. The cache's time is a mock
//! clock advanced by hand; the loaders' sleeps run on tokio's paused clock, so "returns at
//! once" is checked as "returns before a loader could have finished".

mod common;

use common::{LOAD, counted};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::spawn::{BackgroundTask, Spawner};
use larder::{Cache, Clock, ErrorKind, MockClock};
use tokio::time::{sleep, timeout};

/// Shorter than `LOAD`: a call that finishes within it did not wait for a loader.
const AT_ONCE: Duration = Duration::from_millis(1);
const TTL: Duration = Duration::from_secs(10);
const GRACE: Duration = Duration::from_secs(5);

fn swr_cache() -> (Cache<u8, u64>, MockClock) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(100)
        .time_to_live(TTL)
        .stale_while_revalidate(GRACE)
        .clock(clock)
        .build();
    (cache, mock)
}

#[tokio::test(start_paused = true)]
async fn within_the_grace_callers_get_the_stale_value_and_one_refresh_runs() {
    let (cache, mock) = swr_cache();
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(cache.get_with(0, counted(&calls, 1)).await, 1);
    mock.advance(TTL + Duration::from_secs(1)); // stale, within the grace
    for _ in 0..10 {
        let got = timeout(AT_ONCE, cache.get_with(0, counted(&calls, 2))).await;
        assert_eq!(got, Ok(1), "the stale value, at once");
    }
    sleep(LOAD * 2).await; // the refresh runs
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one load, one background refresh"
    );
    let s = cache.stats();
    assert_eq!((s.stale_served, s.refreshes, s.loads), (10, 1, 2));
    assert_eq!(s.hits, 10, "a stale value served is a hit");
    assert_eq!(cache.get(&0), Some(2));
}

#[tokio::test(start_paused = true)]
async fn past_the_grace_callers_wait_as_on_a_miss() {
    let (cache, mock) = swr_cache();
    let calls = Arc::new(AtomicUsize::new(0));
    cache.get_with(0, counted(&calls, 1)).await;
    mock.advance(TTL + GRACE);
    let waited = timeout(AT_ONCE, cache.get_with(0, counted(&calls, 2))).await;
    assert!(waited.is_err(), "no stale value past the grace");
    assert_eq!(cache.get_with(0, counted(&calls, 3)).await, 3);
    assert_eq!(cache.stats().stale_served, 0);
}

#[tokio::test(start_paused = true)]
async fn a_stale_entry_is_not_live_but_takes_its_place() {
    let (cache, mock) = swr_cache();
    cache.insert(0, 1);
    mock.advance(TTL);
    assert_eq!(cache.get(&0), None);
    assert!(!cache.contains_key(&0));
    assert_eq!(cache.iter().count(), 0);
    assert_eq!(cache.len(), 1, "kept for the grace");
    mock.advance(GRACE);
    assert_eq!(cache.len(), 0, "reclaimed when the grace ends");
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_serving_the_stale_value_until_the_grace_ends() {
    let (cache, mock) = swr_cache();
    cache.insert(0, 1);
    mock.advance(TTL);
    let failing = async {
        sleep(LOAD).await;
        Err::<u64, String>("down".into())
    };
    assert_eq!(cache.try_get_with(0, failing).await.unwrap(), 1);
    sleep(LOAD * 2).await;
    assert_eq!(cache.stats().load_errors, 1);
    let again = timeout(
        AT_ONCE,
        cache.try_get_with(0, async { Ok::<u64, String>(5) }),
    )
    .await;
    assert_eq!(
        again.unwrap().unwrap(),
        1,
        "still stale; a new refresh starts"
    );
    sleep(AT_ONCE).await;
    assert_eq!(cache.get(&0), Some(5));
}

#[tokio::test(start_paused = true)]
async fn an_invalidation_during_a_refresh_keeps_its_value_out() {
    let (cache, mock) = swr_cache();
    let calls = Arc::new(AtomicUsize::new(0));
    cache.insert(0, 1);
    mock.advance(TTL);
    assert_eq!(cache.get_with(0, counted(&calls, 2)).await, 1);
    sleep(AT_ONCE).await; // refreshing
    cache.remove(&0);
    sleep(LOAD * 2).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get(&0), None, "the refresh did not store");
}

#[tokio::test(start_paused = true)]
async fn a_foreground_miss_joins_the_background_refresh() {
    let (cache, mock) = swr_cache();
    let calls = Arc::new(AtomicUsize::new(0));
    cache.insert(0, 1);
    mock.advance(TTL);
    assert_eq!(cache.get_with(0, counted(&calls, 2)).await, 1);
    sleep(AT_ONCE).await;
    // A refresh joins the load in flight rather than starting another.
    assert_eq!(cache.refresh(0, counted(&calls, 3)).await, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A spawner that cannot run anything.
struct Nowhere;

impl Spawner for Nowhere {
    fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
        Err(task)
    }
}

/// A cache whose spawner refuses every task, holding key 0 (value 1) just past its TTL.
fn stale_behind_a_refusing_spawner() -> Cache<u8, u64> {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .time_to_live(TTL)
        .stale_while_revalidate(GRACE)
        .spawner(Nowhere)
        .clock(clock)
        .build();
    cache.insert(0, 1);
    mock.advance(TTL);
    cache
}

#[tokio::test(start_paused = true)]
async fn a_refused_spawn_skips_the_refresh_and_leaves_nothing_behind() {
    let cache = stale_behind_a_refusing_spawner();
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(cache.get_with(0, counted(&calls, 2)).await, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // No flight was left registered: a forced refresh loads at once.
    assert_eq!(
        timeout(LOAD * 2, cache.refresh(0, counted(&calls, 3))).await,
        Ok(3)
    );
}

#[test]
fn a_refresh_outside_a_tokio_runtime_is_skipped() {
    // The default spawner needs a tokio runtime; without one the stale value is served.
    let (clock, mock) = Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .time_to_live(TTL)
        .stale_while_revalidate(GRACE)
        .clock(clock)
        .build();
    cache.insert(0, 1);
    mock.advance(TTL);
    let got = poll_once(cache.get_with(0, async { 2 }));
    assert_eq!(got, 1);
    assert_eq!(cache.get(&0), None);
}

/// Polls `future` once, on no runtime at all.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the stale value comes back without waiting"),
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_ahead_keeps_a_hot_key_from_ever_expiring() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .time_to_live(TTL)
        .refresh_ahead(1.0)
        .clock(clock)
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    // Each load takes 1 s of the cache's clock: refresh-ahead's `delta`.
    let load = |value: u64| {
        let (calls, mock) = (Arc::clone(&calls), mock.clone());
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            mock.advance(Duration::from_secs(1));
            value
        }
    };
    cache.get_with(0, load(0)).await;
    // A minute of traffic, a request every 10 ms: the key never expires.
    for i in 1..=6_000u64 {
        mock.advance(Duration::from_millis(10));
        let got = timeout(AT_ONCE, cache.get_with(0, load(i))).await;
        assert!(got.is_ok(), "request {i} waited for a load");
        tokio::task::yield_now().await; // let a background refresh run
    }
    let s = cache.stats();
    assert_eq!(s.misses, 1, "only the first request missed");
    // ~75 s of cache time (60 s of requests, 1 s per load) with a 10 s TTL: at least 7
    // refreshes. XFetch refreshes a key ~ln(rate x delta) load times ahead: at 100 requests a
    // second and 1 s loads, ~4.6 s before expiry, so about one refresh every 6.4 s.
    let refreshes = calls.load(Ordering::SeqCst) - 1;
    assert!((7..=20).contains(&refreshes), "{refreshes} refreshes");
    assert_eq!(s.refreshes as usize, refreshes);
}

#[tokio::test(start_paused = true)]
async fn refresh_ahead_leaves_entries_far_from_expiry_alone() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .time_to_live(Duration::from_secs(3600))
        .refresh_ahead(1.0)
        .clock(clock)
        .build();
    let load = |v| {
        let mock = mock.clone();
        async move {
            mock.advance(Duration::from_millis(10));
            v
        }
    };
    cache.get_with(0, load(0)).await;
    for i in 0..10_000 {
        cache.get_with(0, load(i)).await;
    }
    assert_eq!(cache.stats().refreshes, 0);
}

#[test]
fn bad_revalidation_settings_are_config_errors() {
    for beta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = Cache::<u8, u8>::builder()
            .refresh_ahead(beta)
            .try_build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("refresh_ahead"));
    }
    let err = Cache::<u8, u8>::builder()
        .stale_while_revalidate(Duration::from_secs(200 * 365 * 86_400))
        .try_build()
        .unwrap_err();
    assert!(err.to_string().contains("stale_while_revalidate"));
}

/// With negative caching, a failed background refresh is not retried on every stale hit.
#[tokio::test(start_paused = true)]
async fn negative_ttl_holds_back_background_refreshes() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .time_to_live(TTL)
        .stale_while_revalidate(GRACE)
        .negative_ttl(Duration::from_secs(30))
        .clock(clock)
        .build();
    cache.insert(0, 1);
    mock.advance(TTL);
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let c = Arc::clone(&calls);
        let got = cache
            .try_get_with(0, async move {
                c.fetch_add(1, Ordering::SeqCst);
                Err::<u64, &str>("down")
            })
            .await;
        assert_eq!(got.unwrap(), 1);
        sleep(Duration::from_millis(1)).await; // the refresh runs and fails
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "negative_ttl should hold back refreshes"
    );
}

#[tokio::test(start_paused = true)]
async fn refused_spawns_are_not_counted_as_refreshes() {
    let cache = stale_behind_a_refusing_spawner();
    for _ in 0..5 {
        assert_eq!(cache.get_with(0, async { 2 }).await, 1);
    }
    let s = cache.stats();
    assert_eq!(s.refreshes, 0, "no refresh ran");
}

/// A hit pushes an idle deadline forward: refresh-ahead must judge by the deadline after it.
#[tokio::test(start_paused = true)]
async fn refresh_ahead_leaves_an_entry_kept_alive_by_time_to_idle_alone() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u8, u64> = Cache::builder()
        .time_to_idle(TTL)
        .refresh_ahead(1.0)
        .clock(clock)
        .build();
    let m = mock.clone();
    cache
        .get_with(0, async move {
            m.advance(Duration::from_secs(1));
            0
        })
        .await; // delta = 1 s
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        mock.advance(Duration::from_millis(9_900)); // a hit every 9.9 s: never idle for 10 s
        let c = Arc::clone(&calls);
        cache
            .get_with(0, async move {
                c.fetch_add(1, Ordering::SeqCst);
                1
            })
            .await;
        tokio::task::yield_now().await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
