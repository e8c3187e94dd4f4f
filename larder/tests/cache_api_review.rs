//! An adversarial review of the API issue 17 §6 added to `Cache`: the entry API, `peek`,
//! `ttl`, `expire`, `insert_many`, `KeyRef`, the lazy `iter` and the borrowing loaders, under
//! races, panics, odd durations, the kill switch and closed caches.
#![allow(clippy::unwrap_used)] // a failed operation fails the test
#![allow(clippy::disallowed_types)] // a std Mutex records what the listeners see

use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use larder::{Cache, Clock, CloseMode, Computed, KeyRef, Op, RemovalCause, Ttl};

/// A load of `key` led on a thread of its own: `started` fires once its loader runs, and it
/// finishes (with `value`) when `go` fires; `done` fires once `get_with` has returned.
struct LoadOnThread {
    go: tokio::sync::oneshot::Sender<()>,
    done: mpsc::Receiver<u32>,
    thread: std::thread::JoinHandle<()>,
}

fn load_on_thread(cache: &Cache<u32, u32>, key: u32, value: u32) -> LoadOnThread {
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<u32>();
    let cache = cache.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(cache.get_with(key, async move {
            started_tx.send(()).unwrap();
            wait.await.unwrap();
            value
        }));
        done_tx.send(got).unwrap();
    });
    started.recv().unwrap();
    LoadOnThread { go, done, thread }
}

/// `and_compute_with`'s `Op::Remove` promises what `remove` does: a load in flight stores
/// nothing afterwards. The load here finishes in the window between the removal and the
/// invalidation of its flight (the listener, told of the removal, lets it finish): it must
/// not bring the removed key back.
#[test]
fn compute_remove_keeps_a_load_finishing_right_after_it_out() {
    type Slot = Arc<Mutex<Option<(tokio::sync::oneshot::Sender<()>, mpsc::Receiver<u32>)>>>;
    let slot: Slot = Arc::default();
    let cache: Cache<u32, u32> = {
        let slot = Arc::clone(&slot);
        Cache::builder()
            .max_capacity(10)
            .eviction_listener(move |_k, _v, cause| {
                if cause == RemovalCause::Explicit
                    && let Some((go, done)) = slot.lock().unwrap().take()
                {
                    go.send(()).unwrap();
                    // Bounded: a load that cannot finish here fails the test, not hangs it.
                    done.recv_timeout(Duration::from_secs(30)).unwrap();
                }
            })
            .build()
    };
    let load = load_on_thread(&cache, 1, 5);
    cache.insert(1, 0);
    *slot.lock().unwrap() = Some((load.go, load.done));
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Remove),
        Computed::Removed(0)
    );
    load.thread.join().unwrap();
    assert_eq!(cache.get(&1), None, "the load stored after Op::Remove");
}

/// `Op::Remove` on an absent key stops a load in flight too, as `remove` does.
#[test]
fn compute_remove_of_an_absent_key_stops_a_load_in_flight() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let load = load_on_thread(&cache, 1, 5);
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Remove),
        Computed::StillAbsent
    );
    load.go.send(()).unwrap();
    assert_eq!(load.done.recv().unwrap(), 5);
    load.thread.join().unwrap();
    assert_eq!(cache.get(&1), None);
}

/// Documented: a `Put` does not stop a load in flight (as `insert`), so the load's value,
/// stored after it, wins.
#[test]
fn compute_put_does_not_stop_a_load_in_flight() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let load = load_on_thread(&cache, 1, 5);
    cache
        .entry(1)
        .and_compute_with(|n| Op::Put(n.map_or(1, |n| n + 1)));
    load.go.send(()).unwrap();
    assert_eq!(load.done.recv().unwrap(), 5);
    load.thread.join().unwrap();
    assert_eq!(cache.get(&1), Some(5));
}

/// A panic in `and_compute_with`'s function (it runs under the shard lock) leaves no lock
/// held and the entry as it was; the cache stays usable, for that key and the others.
#[test]
fn a_panicking_compute_leaves_the_cache_usable() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.insert_with_tags(1, 1, ["t"]);
    cache.insert(2, 2);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        cache
            .entry(1)
            .and_compute_with(|_| -> Op<u32> { panic!("user code") })
    }));
    assert!(panicked.is_err());
    assert_eq!(cache.get(&1), Some(1));
    cache.insert(3, 3);
    assert_eq!(
        cache.entry(1).and_compute_with(|n| Op::Put(n.unwrap() + 1)),
        Computed::Replaced(2)
    );
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.iter().count(), 3);
}

/// A panicking `or_insert_with` init stores nothing and leaves no trace.
#[test]
fn a_panicking_or_insert_with_stores_nothing() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        cache.entry(1).or_insert_with(|| panic!("user code"))
    }));
    assert!(panicked.is_err());
    assert!(!cache.contains_key(&1));
    assert!(cache.entry(1).or_insert(7).is_fresh());
    assert_eq!(cache.get(&1), Some(7));
}

/// The listener is told of what compute displaced with no lock held: it may call the cache,
/// even for the very key.
#[test]
fn compute_tells_the_listener_with_no_lock_held() {
    let seen: Arc<Mutex<Vec<(u32, RemovalCause)>>> = Arc::default();
    let cell: Arc<Mutex<Option<Cache<u32, u32>>>> = Arc::default();
    let cache: Cache<u32, u32> = {
        let (seen, cell) = (Arc::clone(&seen), Arc::clone(&cell));
        Cache::builder()
            .max_capacity(1)
            .eviction_listener(move |k, v, cause| {
                seen.lock().unwrap().push((v, cause));
                let cache = cell.lock().unwrap().clone().unwrap();
                // Takes the shard's lock: would deadlock under it.
                cache.entry(k + 100).and_compute_with(|_| Op::<u32>::Nop);
                let _ = cache.get(&k);
            })
            .build()
    };
    *cell.lock().unwrap() = Some(cache.clone());
    cache.entry(1).and_compute_with(|_| Op::Put(1));
    cache.entry(1).and_compute_with(|_| Op::Put(2)); // replaces
    cache.entry(2).and_compute_with(|_| Op::Put(3)); // evicts
    cache.entry(2).and_compute_with(|_| Op::Remove);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (1, RemovalCause::Replaced),
            (2, RemovalCause::Size),
            (3, RemovalCause::Explicit)
        ]
    );
    *cell.lock().unwrap() = None;
}

/// `or_insert_with` counts one lookup (a miss, then a hit); `and_compute_with`, `peek`,
/// `ttl`, `expire` and `iter` count none.
#[test]
fn the_entry_api_and_inspection_count_lookups_as_documented() {
    let cache: Cache<u32, u32> = Cache::new(10);
    assert!(cache.entry(1).or_insert(1).is_fresh());
    assert!(!cache.entry(1).or_insert(2).is_fresh());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
    cache.entry(1).and_compute_with(|n| Op::Put(n.unwrap() + 1));
    cache.entry(9).and_compute_with(|_| Op::<u32>::Nop);
    assert_eq!(cache.peek(&1), Some(2));
    assert_eq!(cache.peek(&9), None);
    assert_eq!(cache.ttl(&1), Some(Duration::MAX));
    assert!(cache.expire(&1, Duration::from_secs(5)));
    assert!(!cache.expire(&9, Duration::from_secs(5)));
    assert_eq!(cache.iter().count(), 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

/// `expire` and `ttl` at the edges: zero, `Duration::MAX` (no overflow), an expired entry, a
/// cache of capacity 0, time-to-idle.
#[test]
fn expire_and_ttl_at_the_edges() {
    let (clock, mock) = Clock::mock();
    let removed: Arc<Mutex<Vec<RemovalCause>>> = Arc::default();
    let cache: Cache<u32, u32> = {
        let removed = Arc::clone(&removed);
        Cache::builder()
            .clock(clock.clone())
            .eviction_listener(move |_k, _v, cause| removed.lock().unwrap().push(cause))
            .build()
    };
    cache.insert(1, 1);
    assert!(cache.expire(&1, Duration::MAX));
    let left = cache.ttl(&1).unwrap();
    assert!(left > Duration::from_secs(100 * 365 * 24 * 3600));
    mock.advance(Duration::from_secs(1_000_000));
    assert_eq!(cache.get(&1), Some(1));
    assert!(cache.expire(&1, Duration::ZERO));
    assert_eq!(cache.get(&1), None);
    assert_eq!(*removed.lock().unwrap(), [RemovalCause::Expired]);

    cache.insert_with_ttl(2, 2, Duration::from_secs(1));
    mock.advance(Duration::from_secs(2));
    assert!(
        !cache.expire(&2, Duration::from_secs(60)),
        "expired: not live"
    );
    assert_eq!(cache.ttl(&2), None);
    assert_eq!(cache.get(&2), None);

    let none: Cache<u32, u32> = Cache::new(0);
    none.insert(1, 1);
    assert!(!none.expire(&1, Duration::from_secs(1)));
    assert_eq!(none.ttl(&1), None);
    assert_eq!(none.peek(&1), None);

    let idle: Cache<u32, u32> = Cache::builder()
        .clock(clock)
        .time_to_idle(Duration::from_secs(10))
        .build();
    idle.insert(1, 1);
    assert!(idle.expire(&1, Ttl::Never));
    assert_eq!(idle.ttl(&1), Some(Duration::from_secs(10)));
    assert!(idle.expire(&1, Duration::from_secs(3)));
    assert_eq!(idle.ttl(&1), Some(Duration::from_secs(3)));
    mock.advance(Duration::from_secs(4));
    assert_eq!(idle.get(&1), None);
}

/// `expire` on an entry past its TTL but within the stale grace: not live (`false`), yet the
/// stale value is what the grace exists to serve while it is revalidated, so `expire` should
/// leave it for the loading calls rather than reclaim it early.
#[tokio::test(start_paused = true)]
async fn expire_leaves_a_stale_entry_to_stale_while_revalidate() {
    let (cache, mock) = swr_cache();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(11));
    assert!(!cache.expire(&1, Duration::from_secs(100)));
    // Within the grace: served stale, revalidated in the background.
    assert_eq!(cache.get_with(1, async { 2 }).await, 1);
}

fn swr_cache() -> (Cache<u32, u32>, larder::MockClock) {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(10))
        .stale_while_revalidate(Duration::from_secs(60))
        .build();
    (cache, mock)
}

/// `Op::Remove` on an entry past its TTL but within the stale grace (not live, so the
/// function sees `None`) must still take it away, as `remove` does: a loading call must not
/// serve, stale, a value the caller removed.
#[tokio::test(start_paused = true)]
async fn compute_remove_of_a_stale_entry_is_not_served_stale_afterwards() {
    let (cache, mock) = swr_cache();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(11));
    assert_eq!(
        cache.entry(1).and_compute_with(|live| {
            assert_eq!(live, None);
            Op::Remove
        }),
        Computed::StillAbsent
    );
    assert_eq!(
        cache.get_with(1, async { 2 }).await,
        2,
        "served the removed value stale"
    );

    // `remove`, for comparison.
    cache.insert(3, 3);
    mock.advance(Duration::from_secs(11));
    assert_eq!(cache.remove(&3), None);
    assert_eq!(cache.get_with(3, async { 4 }).await, 4);
}

/// The kill switch with the entry API: nothing is stored, every call is fresh, `Put`s are
/// reported as done, lookups count as misses.
#[test]
fn the_entry_api_on_a_disabled_cache() {
    let cache: Cache<u32, u32> = Cache::builder().enabled(false).build();
    let a = cache.entry(1).or_insert_with(|| 1);
    let b = cache.entry(1).or_insert_with(|| 2);
    assert!(a.is_fresh() && b.is_fresh());
    assert_eq!(b.into_value(), 2);
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Put(3)),
        Computed::Inserted(3)
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::<u32>::Remove),
        Computed::StillAbsent
    );
    assert!(!cache.expire(&1, Duration::from_secs(1)));
    assert!(cache.is_empty());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.evictions), (0, 2, 0));
}

/// A closed cache still stores what the entry API writes: closing stops loads only.
#[tokio::test]
async fn the_entry_api_on_a_closed_cache_still_stores() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.close(CloseMode::Cancel).await;
    assert!(cache.entry(1).or_insert(1).is_fresh());
    cache.entry(2).and_compute_with(|_| Op::Put(2));
    assert_eq!((cache.get(&1), cache.get(&2)), (Some(1), Some(2)));
}

/// A hasher that records every call, so that `KeyRef` is seen to feed it exactly what the
/// owned key does, whatever the hasher.
#[derive(Default)]
struct Recording(Vec<u8>);

impl Hasher for Recording {
    fn finish(&self) -> u64 {
        // FNV-1a over the record.
        self.0.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        })
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.push(0xff);
        self.0.extend_from_slice(bytes);
    }
    fn write_u8(&mut self, i: u8) {
        self.0.extend_from_slice(&[1, i]);
    }
    fn write_usize(&mut self, i: usize) {
        self.0.push(2);
        self.0.extend_from_slice(&i.to_le_bytes());
    }
}

#[test]
fn key_ref_hashes_as_the_owned_key_under_a_custom_hasher() {
    let build = BuildHasherDefault::<Recording>::default();
    let owned = (String::from("acme"), 7u32, vec![1u8, 2]);
    assert_eq!(
        build.hash_one(&owned),
        build.hash_one(KeyRef(("acme", &7u32, &[1u8, 2][..])))
    );
    let cache: Cache<(String, u32, Vec<u8>), u8, _> =
        Cache::builder().max_capacity(10).hasher(build).build();
    cache.insert(owned, 1);
    let probe = KeyRef(("acme", &7u32, &[1u8, 2][..]));
    assert_eq!(cache.get(&probe), Some(1));
    assert_eq!(cache.peek(&probe), Some(1));
    assert!(cache.expire(&probe, Duration::from_secs(5)));
    assert_eq!(cache.remove(&probe), Some(1));
    fn hashes<T: Hash>(_: &T) {}
    hashes(&probe);
}

/// The lazy iterator, held across writes of the same thread (no lock between `next`s) and
/// read while other threads write: no deadlock, no panic, no key twice.
#[test]
fn iter_under_writes_neither_deadlocks_nor_repeats() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(20_000).shards(8).build();
    cache.insert_many((0..5_000).map(|k| (k, k)));
    let mut it = cache.iter();
    let first = it.next().unwrap();
    cache.insert(first.0, 1); // same shard as the one just read
    cache.entry(first.0).and_compute_with(|_| Op::Put(2));
    cache.remove(&first.0);
    assert!(cache.expire(&1, Duration::from_secs(1)) || first.0 == 1);
    let mut keys: Vec<u32> = std::iter::once(first.0).chain(it.map(|(k, _)| k)).collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n);

    std::thread::scope(|s| {
        for t in 0..2u32 {
            let cache = &cache;
            s.spawn(move || {
                for i in 0..20_000u32 {
                    let k = (i * 7 + t) % 8_000;
                    match i % 4 {
                        0 => cache.insert(k, i),
                        1 => {
                            cache.entry(k).and_compute_with(|_| Op::<u32>::Remove);
                        }
                        2 => {
                            cache.expire(&k, Duration::from_secs(60));
                        }
                        _ => {
                            cache.entry(k).or_insert(i);
                        }
                    }
                }
            });
        }
        for _ in 0..20 {
            let mut keys: Vec<u32> = cache.iter().map(|(k, _)| k).collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), n, "a key came twice");
        }
    });
}

/// A `get_with_local` leader cancelled mid-load (its future dropped) hands the load over: the
/// waiter leads with its own loader, and nothing hangs.
#[tokio::test]
async fn a_cancelled_local_leader_hands_the_load_to_a_waiter() {
    let cache: Cache<u32, String> = Cache::new(10);
    let local = String::from("from the waiter");
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let leader = cache.get_with_local(1, async {
        started_tx.send(()).unwrap();
        std::future::pending::<String>().await
    });
    let waiter = cache.get_with_local(1, async { local.clone() });
    let mut leader = Box::pin(leader);
    let mut waiter = Box::pin(waiter);
    tokio::select! {
        biased;
        _ = &mut leader => unreachable!(),
        _ = started => {}
    }
    // The waiter joins the leader's flight, then the leader goes away.
    assert!(futures_poll_once(waiter.as_mut()).await.is_none());
    drop(leader);
    assert_eq!(waiter.await, "from the waiter");
    assert_eq!(cache.get(&1).as_deref(), Some("from the waiter"));
    assert_eq!(cache.stats().coalesced, 1);
}

/// Polls `f` once: `Some` if it finished.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
    let mut f = f;
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// A panicking `get_with_local` loader releases the waiters, which lead in its place.
#[tokio::test]
async fn a_panicking_local_loader_releases_its_waiters() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let leader = cache.get_with_local(1, async {
        tokio::task::yield_now().await;
        panic!("loader");
    });
    let mut leader = Box::pin(leader);
    assert!(futures_poll_once(leader.as_mut()).await.is_none());
    let mut waiter = Box::pin(cache.get_with_local(1, async { 9 }));
    assert!(futures_poll_once(waiter.as_mut()).await.is_none());
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let _ = leader.as_mut().poll(&mut cx);
    }));
    assert!(panicked.is_err());
    drop(leader);
    assert_eq!(waiter.await, 9);
    assert_eq!(cache.get(&1), Some(9));
}

use std::future::Future as _;

/// A write first reclaims its shard's expired entries. When `and_compute_with`'s function
/// panics, those reclaimed entries must still be counted, told to the listener and untagged,
/// as any other write's are, before the panic goes on to the caller.
#[test]
fn a_panicking_compute_still_reports_what_its_write_reclaimed() {
    let (clock, mock) = Clock::mock();
    let expired: Arc<Mutex<Vec<u32>>> = Arc::default();
    let cache: Cache<u32, u32> = {
        let expired = Arc::clone(&expired);
        Cache::builder()
            .clock(clock)
            .max_capacity(10)
            .eviction_listener(move |k, _v, cause| {
                if cause == RemovalCause::Expired {
                    expired.lock().unwrap().push(k);
                }
            })
            .build()
    };
    cache.insert_with_tags(1, 1, ["t"]);
    assert!(cache.expire(&1, Duration::from_secs(1)));
    mock.advance(Duration::from_secs(2));
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        cache
            .entry(2)
            .and_compute_with(|_| -> Op<u32> { panic!("user code") })
    }));
    assert!(panicked.is_err());
    assert_eq!(
        *expired.lock().unwrap(),
        [1],
        "the listener missed an expiration"
    );
    assert_eq!(cache.stats().expirations, 1);
    assert_eq!(cache.invalidate_tag("t"), 0);
}

/// `expire` to zero removes the entry with its tags; `expire` to a longer TTL keeps them.
#[test]
fn expire_keeps_tags_and_expire_zero_drops_them() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.insert_with_tags(1, 1, ["t"]);
    cache.insert_with_tags(2, 2, ["t"]);
    assert!(cache.expire(&1, Duration::from_secs(60)));
    assert!(cache.expire(&2, Duration::ZERO));
    assert_eq!(cache.invalidate_tag("t"), 1);
    assert!(cache.is_empty());
}

/// `Entry`'s `Debug`, as `Cache`'s and `Iter`'s, shows no key and no value.
#[test]
fn an_entrys_debug_shows_neither_key_nor_value() {
    let cache: Cache<String, String> = Cache::new(10);
    let entry = cache
        .entry("user:ada".to_string())
        .or_insert_with(|| "hunter2".to_string());
    let shown = format!("{entry:?}");
    assert!(
        !shown.contains("ada") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("fresh: true"), "{shown}");
}
