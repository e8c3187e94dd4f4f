//! The `Cache` API: insert, get, remove, `contains_key`, `invalidate_if`, clear, sizes, stats,
//! the eviction listener, `iter`, handles and the builder's errors (FEATURES.md §2 #60, #62).

use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use larder::{Cache, CacheBuilder, Clock, ErrorKind, Policy, RemovalCause, Stats, Ttl};

type Event = (u32, String, RemovalCause);

/// A cache whose eviction listener reports into the returned channel.
fn with_listener(
    builder: CacheBuilder<u32, String>,
) -> (Cache<u32, String>, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel();
    let cache = builder
        .eviction_listener(move |k, v, cause| {
            tx.send((k, v, cause)).expect("the test holds the receiver")
        })
        .build();
    (cache, rx)
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn insert_then_get_returns_the_latest_value() {
    let cache = Cache::new(10);
    assert_eq!(cache.get(&1), None);
    cache.insert(1, s("a"));
    assert_eq!(cache.get(&1), Some(s("a")));
    cache.insert(1, s("b"));
    assert_eq!(cache.get(&1), Some(s("b")));
    assert_eq!(cache.len(), 1);
}

#[test]
fn remove_returns_the_value_once() {
    let cache = Cache::new(10);
    cache.insert(1, s("a"));
    cache.insert(2, s("b"));
    assert_eq!(cache.remove(&1), Some(s("a")));
    assert_eq!(cache.remove(&1), None);
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&2), Some(s("b")));
}

// #62: invalidating a key before any call -> false; after a call -> true, and the size
// drops by one.
#[test]
fn remove_reports_whether_the_key_was_there() {
    let cache: Cache<u32, u32> = Cache::new(10);
    assert_eq!(cache.remove(&1), None);
    cache.insert(1, 10);
    cache.insert(2, 20);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.remove(&1), Some(10));
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.stats().size, 1);
}

// #60: removing a missing key is silent; the stats of an empty cache are all zero.
#[test]
fn an_empty_cache_is_quiet_and_counts_nothing() {
    let (cache, events) = with_listener(Cache::builder().max_capacity(10));
    assert_eq!(cache.remove(&7), None);
    cache.invalidate_if(|_, _| true);
    cache.clear();
    assert!(events.try_iter().next().is_none());
    let stats = cache.stats();
    assert_eq!(stats, Stats::default());
    assert_eq!((stats.hits, stats.misses, stats.size), (0, 0, 0));
    assert_eq!(stats.hit_rate(), 0.0);
    assert!(cache.is_empty());
    assert_eq!(cache.weighted_size(), 0);
}

#[test]
fn contains_key_changes_no_counters() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        let cache: Cache<u32, u32> = Cache::builder().max_capacity(10).policy(policy).build();
        cache.insert(1, 1);
        cache.get(&1);
        cache.get(&2);
        let before = cache.stats();
        assert!(cache.contains_key(&1));
        assert!(!cache.contains_key(&2));
        assert_eq!(cache.stats(), before, "{policy:?}");
    }
}

#[test]
fn contains_key_does_not_refresh_lru_order() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(2).policy(Policy::Lru).build();
    cache.insert(1, 1);
    cache.insert(2, 2);
    assert!(cache.contains_key(&1));
    cache.insert(3, 3);
    assert!(!cache.contains_key(&1));
    assert!(cache.contains_key(&2) && cache.contains_key(&3));
}

#[test]
fn invalidate_if_removes_exactly_the_matching_entries() {
    let (cache, events) = with_listener(Cache::builder().max_capacity(100));
    for k in 0..10 {
        cache.insert(k, format!("v{k}"));
    }
    cache.invalidate_if(|k, v| k % 3 == 0 || v == "v5");
    let mut left: Vec<u32> = cache.iter().map(|(k, _)| k).collect();
    left.sort_unstable();
    assert_eq!(left, [1, 2, 4, 7, 8]);
    assert_eq!(cache.len(), 5);
    let mut removed: Vec<Event> = events.try_iter().collect();
    removed.sort_unstable_by_key(|e| e.0);
    let expected: Vec<Event> = [0, 3, 5, 6, 9]
        .into_iter()
        .map(|k| (k, format!("v{k}"), RemovalCause::Explicit))
        .collect();
    assert_eq!(removed, expected);
    assert_eq!(cache.stats().evictions, 0);
}

#[test]
fn invalidate_if_covers_every_shard() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(100_000).shards(16).build();
    for k in 0..2_000 {
        cache.insert(k, k);
    }
    cache.invalidate_if(|k, _| k % 2 == 1);
    assert_eq!(cache.len(), 1_000);
    assert!(cache.iter().all(|(k, v)| k % 2 == 0 && k == v));
}

#[test]
fn clear_empties_the_cache_and_keeps_the_counters() {
    let (cache, events) = with_listener(Cache::builder().max_capacity(100));
    for k in 0..3 {
        cache.insert(k, format!("v{k}"));
    }
    cache.get(&0);
    cache.get(&9);
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.get(&0), None);
    let mut removed: Vec<Event> = events.try_iter().collect();
    removed.sort_unstable_by_key(|e| e.0);
    let expected: Vec<Event> = (0..3)
        .map(|k| (k, format!("v{k}"), RemovalCause::Explicit))
        .collect();
    assert_eq!(removed, expected);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.size), (1, 2, 0));
    // Still a working cache.
    cache.insert(5, s("five"));
    assert_eq!(cache.get(&5), Some(s("five")));
}

#[test]
fn reset_stats_zeroes_the_counters_and_keeps_the_entries() {
    let cache = Cache::new(1);
    cache.insert(1, 1);
    cache.insert(2, 2); // evicts 1
    cache.get(&2);
    cache.get(&1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.evictions), (1, 1, 1));
    cache.reset_stats();
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.evictions), (0, 0, 0));
    assert_eq!(stats.hit_rate(), 0.0);
    assert_eq!((stats.size, stats.weighted_size), (1, 1));
    assert_eq!(cache.get(&2), Some(2));
}

#[test]
fn stats_count_hits_misses_and_the_hit_rate() {
    let cache = Cache::new(10);
    assert_eq!(cache.stats().hit_rate(), 0.0);
    cache.insert(1, 1);
    for _ in 0..3 {
        cache.get(&1);
    }
    cache.get(&2);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (3, 1));
    assert_eq!(stats.hit_rate(), 0.75);
    assert_eq!((stats.size, stats.weighted_size), (1, 1));
    assert_eq!((stats.evictions, stats.expirations), (0, 0));
    assert_eq!((stats.loads, stats.load_errors, stats.coalesced), (0, 0, 0));
}

#[test]
fn stats_count_evictions() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        let cache: Cache<u32, u32> = Cache::builder().max_capacity(5).policy(policy).build();
        for k in 0..12 {
            cache.insert(k, k);
        }
        assert_eq!(cache.stats().evictions, 7, "{policy:?}");
        assert_eq!(cache.stats().size, 5, "{policy:?}");
    }
}

#[test]
fn len_is_empty_and_weighted_size() {
    let cache: Cache<u32, String> = Cache::builder()
        .max_capacity(100)
        .weigher(|_k: &u32, v: &String| v.len() as u32)
        .build();
    assert!(cache.is_empty());
    cache.insert(1, s("abc"));
    cache.insert(2, s("de"));
    assert_eq!((cache.len(), cache.weighted_size()), (2, 5));
    assert!(!cache.is_empty());
    cache.insert(1, s("abcdefgh")); // re-weighed in place
    assert_eq!((cache.len(), cache.weighted_size()), (2, 10));
    assert_eq!(cache.stats().weighted_size, 10);
    cache.remove(&2);
    assert_eq!((cache.len(), cache.weighted_size()), (1, 8));

    let unweighted = Cache::new(100);
    unweighted.insert(1, s("a long value"));
    assert_eq!(unweighted.weighted_size(), 1);
}

#[test]
fn a_weighted_cache_stays_within_its_total_weight() {
    let cache: Cache<u32, String> = Cache::builder()
        .max_capacity(20)
        .weigher(|_k: &u32, v: &String| v.len() as u32)
        .build();
    for k in 0..200 {
        cache.insert(k, "x".repeat((k % 7) as usize + 1));
        assert!(cache.weighted_size() <= 20);
    }
    let total: usize = cache.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(total as u64, cache.weighted_size());
}

#[test]
fn a_too_heavy_reinsert_removes_the_previous_value() {
    let (cache, events) = with_listener(
        Cache::builder()
            .max_capacity(10)
            .weigher(|_k: &u32, v: &String| v.len() as u32),
    );
    cache.insert(1, s("abc"));
    cache.insert(1, "x".repeat(20));
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.weighted_size(), 0);
    assert_eq!(
        events.try_iter().collect::<Vec<_>>(),
        [
            (1, s("abc"), RemovalCause::Replaced),
            (1, "x".repeat(20), RemovalCause::Size),
        ]
    );
}

#[test]
fn the_listener_is_told_why_each_entry_left() {
    let (clock, mock) = Clock::mock();
    let (cache, events) = with_listener(
        Cache::builder()
            .max_capacity(2)
            .policy(Policy::Lru)
            .clock(clock),
    );
    cache.insert(1, s("a"));
    cache.insert(1, s("a2"));
    cache.insert(2, s("b"));
    cache.insert(3, s("c")); // evicts 1
    cache.remove(&2);
    cache.insert_with_ttl(4, s("d"), Duration::from_secs(1));
    mock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&4), None);
    cache.invalidate_if(|k, _| *k == 3);
    assert_eq!(
        events.try_iter().collect::<Vec<_>>(),
        [
            (1, s("a"), RemovalCause::Replaced),
            (1, s("a2"), RemovalCause::Size),
            (2, s("b"), RemovalCause::Explicit),
            (4, s("d"), RemovalCause::Expired),
            (3, s("c"), RemovalCause::Explicit),
        ]
    );
    assert!(RemovalCause::Size.was_evicted() && RemovalCause::Expired.was_evicted());
    assert!(!RemovalCause::Replaced.was_evicted() && !RemovalCause::Explicit.was_evicted());
}

/// Runs `f` on its own thread and fails if it does not finish in time, so that a deadlock
/// fails the test instead of hanging the run.
fn within_deadline(f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        done_tx.send(()).expect("the test waits for this");
    });
    match done_rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => worker.join().expect("finished without panicking"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: surface its panic.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: the call did not return"),
    }
}

/// The listener calls back into the cache it listens to, on every path that notifies it
/// (eviction on insert, replace, remove, predicate, clear, expiry on a read and on `len`).
/// It must run after the cache's locks are released, or this deadlocks.
#[test]
fn the_listener_may_call_back_into_the_cache() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        within_deadline(move || {
            let (clock, mock) = Clock::mock();
            let slot: Arc<OnceLock<Cache<u32, u32>>> = Arc::new(OnceLock::new());
            let (tx, rx) = mpsc::channel();
            let handle = Arc::clone(&slot);
            let cache = Cache::builder()
                .max_capacity(2)
                .policy(policy)
                .clock(clock)
                .eviction_listener(move |k: u32, _v: u32, cause| {
                    let cache = handle.get().unwrap();
                    // The entry is gone by the time the listener hears of it (except a
                    // replaced one, whose key holds the new value).
                    let visible = cache.get(&k).is_some();
                    cache.contains_key(&k);
                    let len = cache.len();
                    cache.iter().count();
                    cache.stats();
                    if k < 100 && cause != RemovalCause::Replaced {
                        cache.remove(&(k + 100)); // a write, on a missing key
                    }
                    tx.send((k, cause, visible, len)).unwrap();
                })
                .build();
            assert!(slot.set(cache.clone()).is_ok());

            cache.insert(1, 1);
            cache.insert(1, 2); // Replaced
            cache.insert(2, 2);
            cache.insert(3, 3); // Size
            cache.remove(&3); // Explicit
            cache.insert(4, 4);
            cache.invalidate_if(|k, _| *k == 4); // Explicit
            cache.insert_with_ttl(5, 5, Duration::from_secs(1));
            mock.advance(Duration::from_secs(1));
            assert_eq!(cache.get(&5), None); // Expired (reclaimed now or at the next write)
            cache.insert_with_ttl(6, 6, Duration::from_secs(1));
            mock.advance(Duration::from_secs(1));
            assert_eq!(cache.len(), 1); // Expired, reclaimed by len
            cache.clear(); // Explicit

            let events: Vec<_> = rx.try_iter().collect();
            let causes: Vec<_> = events.iter().map(|e| (e.0, e.1)).collect();
            for expected in [
                (1, RemovalCause::Replaced),
                (3, RemovalCause::Explicit),
                (4, RemovalCause::Explicit),
                (5, RemovalCause::Expired),
                (6, RemovalCause::Expired),
            ] {
                assert!(causes.contains(&expected), "{policy:?}: {causes:?}");
            }
            assert!(
                causes.iter().any(|e| e.1 == RemovalCause::Size),
                "{policy:?}: {causes:?}"
            );
            for (k, cause, visible, _len) in events {
                if cause != RemovalCause::Replaced {
                    assert!(!visible, "{policy:?}: {k} still visible after {cause:?}");
                }
            }
            assert!(cache.is_empty());
        });
    }
}

#[test]
fn iter_reads_each_shard_when_it_reaches_it() {
    let cache = Cache::new(100); // one shard
    for k in 0..5u32 {
        cache.insert(k, k * 10);
    }
    let mut iter = cache.iter();
    assert_eq!(iter.size_hint(), (0, None)); // nothing read yet
    let first = iter.next().unwrap();
    assert_eq!(iter.size_hint(), (4, Some(4))); // the only shard, read
    // The shard was read whole at the first `next`: later writes do not show.
    cache.insert(99, 990);
    cache.remove(&0);
    let mut seen: Vec<(u32, u32)> = iter.collect();
    seen.push(first);
    seen.sort_unstable();
    assert_eq!(seen, [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)]);
    assert_eq!(cache.stats().hits + cache.stats().misses, 0);
}

#[test]
fn iter_does_not_refresh_lru_order() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(2).policy(Policy::Lru).build();
    cache.insert(1, 1);
    cache.insert(2, 2);
    assert_eq!(cache.iter().count(), 2);
    cache.insert(3, 3);
    assert!(!cache.contains_key(&1));
}

#[test]
fn clones_share_one_cache() {
    let a: Cache<String, u32> = Cache::builder().max_capacity(10).name("shared").build();
    let b = a.clone();
    a.insert(s("x"), 1);
    assert_eq!(b.get("x"), Some(1));
    b.insert(s("x"), 2);
    assert_eq!(a.get("x"), Some(2));
    b.remove("x");
    assert!(a.is_empty());
    assert_eq!(a.stats().hits, 2);
    assert_eq!(b.name(), Some("shared"));
    drop(a);
    b.insert(s("y"), 3);
    assert_eq!(b.get("y"), Some(3));
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let cache: Cache<String, u32> = Cache::new(10);
    cache.insert(s("alice"), 1);
    assert_eq!(cache.get("alice"), Some(1));
    assert!(cache.contains_key("alice"));
    assert!(!cache.contains_key("bob"));
    assert_eq!(cache.remove("alice"), Some(1));
    assert_eq!(cache.get("alice"), None);
}

#[test]
fn insert_with_ttl_accepts_durations_and_ttls() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.insert_with_ttl(1, 1, Duration::from_secs(60));
    cache.insert_with_ttl(2, 2, Ttl::Never);
    cache.insert_with_ttl(3, 3, Ttl::Default);
    cache.insert_with_ttl(4, 4, Ttl::After(Duration::from_secs(60)));
    assert_eq!(cache.len(), 4);
    assert_eq!(
        Ttl::from(Duration::from_secs(1)),
        Ttl::After(Duration::from_secs(1))
    );
    assert_eq!(Ttl::default(), Ttl::Default);
}

#[test]
fn new_is_a_bounded_s3fifo_cache() {
    let cache: Cache<u32, u32> = Cache::new(3);
    for k in 0..10 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.policy(), Policy::S3Fifo);
    assert_eq!(cache.name(), None);
}

#[test]
fn an_unbounded_cache_keeps_everything() {
    let cache: Cache<u32, u32> = Cache::builder().build();
    for k in 0..5_000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 5_000);
    assert_eq!(cache.stats().evictions, 0);
}

#[test]
fn debug_output_never_shows_values() {
    let cache: Cache<String, String> = Cache::builder().name("secrets").build();
    cache.insert(s("token"), s("hunter2"));
    let debug = format!("{cache:?}");
    assert!(debug.contains("secrets"), "{debug}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("token"),
        "{debug}"
    );
}

fn config_error<K, V>(builder: CacheBuilder<K, V>, setting: &str)
where
    K: std::hash::Hash + Eq,
    V: Clone,
{
    let err = builder
        .try_build()
        .expect_err("the setting should be rejected");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(setting), "{setting}: {err}");
}

const TWO_CENTURIES: Duration = Duration::from_secs(200 * 365 * 86_400);
const ONE_CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

#[test]
fn try_build_names_the_bad_setting() {
    config_error(Cache::<u32, u32>::builder().shards(0), "shards");
    config_error(Cache::<u32, u32>::builder().shards(4097), "shards");
    config_error(Cache::<u32, u32>::builder().weigher(|_, _| 1), "weigher");
    config_error(
        Cache::<u32, u32>::builder().time_to_live(TWO_CENTURIES),
        "time_to_live",
    );
    config_error(
        Cache::<u32, u32>::builder()
            .time_to_live(Duration::from_secs(1))
            .ttl_jitter(TWO_CENTURIES),
        "ttl_jitter",
    );
    config_error(
        Cache::<u32, u32>::builder().time_to_idle(TWO_CENTURIES),
        "time_to_idle",
    );
}

#[test]
fn the_limits_themselves_are_accepted() {
    let built = Cache::<u32, u32>::builder()
        .shards(4096)
        .max_capacity(0)
        .time_to_live(ONE_CENTURY)
        .ttl_jitter(ONE_CENTURY)
        .time_to_idle(ONE_CENTURY)
        .try_build();
    assert!(built.is_ok(), "{built:?}");
    let odd_shards = Cache::<u32, u32>::builder()
        .shards(3)
        .max_capacity(8)
        .try_build();
    assert!(odd_shards.is_ok(), "{odd_shards:?}");
}

#[test]
#[should_panic(expected = "shards must be between 1 and 4096, got 0")]
fn build_panics_on_zero_shards() {
    let _cache: Cache<u32, u32> = Cache::builder().shards(0).build();
}

#[test]
#[should_panic(expected = "a weigher requires max_capacity")]
fn build_panics_on_a_weigher_without_capacity() {
    let _cache: Cache<u32, u32> = Cache::builder().weigher(|_, _| 1).build();
}

#[test]
#[should_panic(expected = "time_to_live must be at most 100 years")]
fn build_panics_on_a_two_century_ttl() {
    let _cache: Cache<u32, u32> = Cache::builder().time_to_live(TWO_CENTURIES).build();
}

#[test]
fn an_explicit_max_capacity_of_u64_max_is_unbounded() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(u64::MAX).build();
    for k in 0..3_000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.len(), 3_000);
    assert_eq!(cache.stats().evictions, 0);
}

/// With more shards than entries of capacity, some shards get a share of 0 and the keys that
/// hash to them can never be stored, although the cache is nearly empty.
#[test]
fn every_key_fits_a_cache_with_more_shards_than_capacity() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(4).shards(8).build();
    let unstorable: Vec<u32> = (0..64)
        .filter(|&k| {
            cache.clear();
            cache.insert(k, k);
            cache.get(&k).is_none()
        })
        .collect();
    assert!(
        unstorable.is_empty(),
        "{} of 64 keys cannot be stored in an empty cache of capacity 4: {unstorable:?}",
        unstorable.len()
    );
}

#[test]
fn a_panicking_listener_leaves_the_cache_usable() {
    within_deadline(|| {
        let cache: Cache<u32, u32> = Cache::builder()
            .max_capacity(1)
            .policy(Policy::Lru)
            .eviction_listener(|k, _v, _cause| assert!(k != 1, "listener refuses key 1"))
            .build();
        cache.insert(1, 1);
        let evicting = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.insert(2, 2);
        }));
        assert!(evicting.is_err(), "the listener's panic reaches the caller");
        assert_eq!(cache.get(&2), Some(2));
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.stats().evictions, 1);
        cache.insert(3, 3);
        assert_eq!(cache.get(&3), Some(3));
    });
}

#[test]
fn a_panicking_weigher_leaves_the_cache_usable() {
    within_deadline(|| {
        let cache: Cache<u32, String> = Cache::builder()
            .max_capacity(10)
            .weigher(|_k: &u32, v: &String| {
                assert!(v != "boom", "weigher refuses boom");
                v.len() as u32
            })
            .build();
        cache.insert(1, s("abc"));
        let inserting = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.insert(1, s("boom"));
        }));
        assert!(inserting.is_err());
        assert_eq!(cache.get(&1), Some(s("abc")));
        assert_eq!(cache.weighted_size(), 3);
        cache.insert(2, s("de"));
        assert_eq!(cache.weighted_size(), 5);
    });
}

#[test]
fn a_panicking_predicate_removes_nothing_and_releases_the_cache() {
    within_deadline(|| {
        let cache: Cache<u32, u32> = Cache::new(10);
        for k in 0..5 {
            cache.insert(k, k);
        }
        let invalidating = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.invalidate_if(|k, _| {
                assert!(*k != 3, "predicate refuses 3");
                true
            });
        }));
        assert!(invalidating.is_err());
        cache.insert(9, 9);
        assert!(cache.contains_key(&9));
        assert_eq!(cache.len(), 6, "nothing was removed");
    });
}

/// The eviction listener's calls are not serialised, not even for one key (its docs say so):
/// four threads replacing one key, with a slow listener, may be in it at once. None of their
/// removals is lost or told twice: each insert after the first replaces exactly one value.
#[test]
fn listener_calls_for_one_key_may_overlap_but_every_removal_is_told_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const THREADS: usize = 4;
    const INSERTS: usize = 2_000;
    let replaced = Arc::new(AtomicUsize::new(0));
    let cache: Cache<u8, usize> = {
        let replaced = Arc::clone(&replaced);
        Cache::builder()
            .max_capacity(10)
            .eviction_listener(move |_k: u8, _v: usize, cause| {
                std::thread::yield_now(); // a slow listener, so that calls can overlap
                if cause == RemovalCause::Replaced {
                    replaced.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let cache = cache.clone();
            s.spawn(move || {
                for i in 0..INSERTS {
                    cache.insert(7, t * INSERTS + i);
                }
            });
        }
    });
    assert_eq!(replaced.load(Ordering::SeqCst), THREADS * INSERTS - 1);
    assert_eq!(cache.len(), 1);
}
