//! Time to live, jitter and time to idle, on a mock clock (FEATURES.md §2 #25-#34): when an
//! entry stops being visible, that expired entries are never returned, and that their memory
//! is reclaimed without a read.

use std::sync::mpsc;
use std::time::Duration;

use larder::{Cache, CacheBuilder, Clock, ErrorKind, MockClock, Policy, RemovalCause, Ttl};

const ALL: [Policy; 4] = [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

const NANO: Duration = Duration::from_nanos(1);

fn mocked<K, V>(builder: CacheBuilder<K, V>) -> (Cache<K, V>, MockClock)
where
    K: std::hash::Hash + Eq,
    V: Clone,
{
    let (clock, mock) = Clock::mock();
    (builder.clock(clock).build(), mock)
}

type Events = mpsc::Receiver<(u32, u32, RemovalCause)>;

/// A cache whose eviction listener reports into the returned channel.
fn with_listener(builder: CacheBuilder<u32, u32>) -> (Cache<u32, u32>, MockClock, Events) {
    let (tx, rx) = mpsc::channel();
    let (cache, mock) = mocked(builder.eviction_listener(move |k, v, cause| {
        tx.send((k, v, cause)).expect("the test holds the receiver");
    }));
    (cache, mock, rx)
}

fn drain(events: &Events) -> Vec<(u32, u32, RemovalCause)> {
    let mut all: Vec<_> = events.try_iter().collect();
    all.sort_unstable_by_key(|&(k, v, _)| (k, v));
    all
}

// #25: default TTL 1 s: present at 0, gone at 1.1 s; a 2 s TTL is present at 1.1 s and gone at
// 2.2 s; Ttl::Never is present at 2 s (and long after).
#[test]
fn default_and_per_entry_ttls() {
    let (cache, mock) = mocked(Cache::builder().time_to_live(secs(1)));
    cache.insert("k", 1);
    cache.insert_with_ttl("k2", 2, secs(2));
    cache.insert_with_ttl("k3", 3, Ttl::Never);
    assert_eq!(cache.get("k"), Some(1));

    mock.advance(ms(1100));
    assert_eq!(cache.get("k"), None);
    assert_eq!(cache.get("k2"), Some(2));

    mock.advance(ms(900)); // 2.0 s
    assert_eq!(cache.get("k3"), Some(3));
    mock.advance(ms(200)); // 2.2 s
    assert_eq!(cache.get("k2"), None);
    assert_eq!(cache.get("k3"), Some(3));

    mock.advance(secs(365 * 86_400));
    assert_eq!(cache.get("k3"), Some(3));
    assert_eq!(cache.len(), 1);
}

#[test]
fn an_entry_expires_exactly_at_its_deadline() {
    for policy in ALL {
        let (cache, mock) = mocked(Cache::builder().policy(policy).time_to_live(secs(1)));
        cache.insert(1, 1);
        mock.advance(secs(1) - NANO);
        assert_eq!(cache.get(&1), Some(1), "{policy:?}");
        mock.advance(NANO);
        assert_eq!(cache.get(&1), None, "{policy:?}");
    }
}

#[test]
fn ttl_default_means_the_cache_default_or_never() {
    let (cache, mock) = mocked(Cache::builder().time_to_live(secs(1)));
    cache.insert_with_ttl(1, 1, Ttl::Default);
    mock.advance(secs(1));
    assert_eq!(cache.get(&1), None);

    let (cache, mock) = mocked(Cache::builder());
    cache.insert_with_ttl(1, 1, Ttl::Default);
    mock.advance(secs(1_000_000));
    assert_eq!(cache.get(&1), Some(1));
}

// #27: set(k, v, ttl=0) -> the next get returns None.
#[test]
fn a_zero_ttl_stores_nothing() {
    for policy in ALL {
        let (cache, _mock, events) = with_listener(Cache::builder().policy(policy));
        cache.insert_with_ttl(1, 10, Duration::ZERO);
        assert_eq!(cache.get(&1), None, "{policy:?}");
        assert!(!cache.contains_key(&1), "{policy:?}");
        assert!(cache.is_empty(), "{policy:?}");
        // Whatever the listener is told, it is never told the value was stored and replaced.
        assert!(drain(&events).iter().all(|e| e.2 != RemovalCause::Replaced));
    }
}

#[test]
fn a_zero_ttl_removes_the_previous_value() {
    for policy in ALL {
        let (cache, _mock, events) = with_listener(Cache::builder().policy(policy));
        cache.insert(1, 10);
        cache.insert_with_ttl(1, 11, Duration::ZERO);
        assert_eq!(cache.get(&1), None, "{policy:?}");
        assert_eq!(cache.len(), 0, "{policy:?}");
        let events = drain(&events);
        assert!(
            events.contains(&(1, 10, RemovalCause::Replaced)),
            "{policy:?}: {events:?}"
        );
    }
}

#[test]
fn a_zero_default_ttl_stores_nothing_but_never_still_stores() {
    let (cache, _mock) = mocked(Cache::builder().time_to_live(Duration::ZERO));
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), None);
    cache.insert_with_ttl(2, 2, Ttl::Never);
    assert_eq!(cache.get(&2), Some(2));
}

// #29: ttl=0.1 s, unbounded: a hit before expiry; 0.2 s later currsize is 0 with no access in
// between, and the next call is a miss (misses 2).
#[test]
fn expired_entries_leave_len_and_size_without_a_read() {
    let (cache, mock) = mocked(Cache::builder().time_to_live(ms(100)));
    let call = |k: u32| {
        cache.get(&k).unwrap_or_else(|| {
            cache.insert(k, k + 1);
            k + 1
        })
    };
    assert_eq!(call(7), 8);
    assert_eq!(call(7), 8);
    assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));

    mock.advance(ms(200));
    assert_eq!(cache.len(), 0);
    assert!(cache.is_empty());
    assert_eq!(cache.stats().size, 0);
    assert_eq!(cache.stats().weighted_size, 0);
    assert_eq!(call(7), 8);
    assert_eq!((cache.stats().hits, cache.stats().misses), (1, 2));
}

// #34: jitter without ttl -> an error naming the setting.
#[test]
fn ttl_jitter_without_time_to_live_is_a_config_error() {
    let err = Cache::<u32, u32>::builder()
        .ttl_jitter(secs(1))
        .try_build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("ttl_jitter"), "{err}");
}

#[test]
#[should_panic(expected = "ttl_jitter requires time_to_live")]
fn ttl_jitter_without_time_to_live_panics_in_build() {
    let _cache: Cache<u32, u32> = Cache::builder().ttl_jitter(secs(1)).build();
}

#[test]
fn a_zero_jitter_is_accepted_and_changes_nothing() {
    let (cache, mock) = mocked(
        Cache::builder()
            .time_to_live(secs(10))
            .ttl_jitter(Duration::ZERO),
    );
    for k in 0..100 {
        cache.insert(k, k);
    }
    mock.advance(secs(10) - NANO);
    assert_eq!(cache.len(), 100);
    mock.advance(NANO);
    assert_eq!(cache.len(), 0);
}

/// 1,000 entries stored at once with TTL 10 s and jitter 5 s each expire at a uniformly drawn
/// moment of [10 s, 15 s]: none before 10 s, all by 15 s, and (with 1,000 draws) some on
/// either side of 12.5 s.
#[test]
fn jitter_spreads_expiry_over_ttl_to_ttl_plus_jitter() {
    for policy in ALL {
        let (cache, mock) = mocked(
            Cache::builder()
                .policy(policy)
                .time_to_live(secs(10))
                .ttl_jitter(secs(5)),
        );
        for k in 0..1_000 {
            cache.insert(k, k);
        }
        mock.advance(secs(10) - NANO);
        assert_eq!(cache.len(), 1_000, "{policy:?}");
        mock.advance(ms(2_500) + NANO);
        let alive = cache.len();
        assert!(
            (1..1_000).contains(&alive),
            "{policy:?}: {alive} alive at 12.5 s"
        );
        assert_eq!(
            cache.iter().count(),
            alive,
            "{policy:?}: iter agrees with len"
        );
        mock.advance(ms(2_500));
        assert_eq!(cache.len(), 0, "{policy:?}: all gone at 15 s");
    }
}

#[test]
fn jitter_applies_to_per_entry_ttls_but_not_to_never() {
    let (cache, mock) = mocked(Cache::builder().time_to_live(secs(100)).ttl_jitter(secs(4)));
    for k in 0..1_000 {
        cache.insert_with_ttl(k, k, secs(1));
    }
    cache.insert_with_ttl(5_000, 0, Ttl::Never);
    mock.advance(secs(1) - NANO);
    assert_eq!(cache.len(), 1_001);
    mock.advance(secs(2) + NANO);
    let alive = cache.len();
    assert!((2..1_001).contains(&alive), "{alive} alive at 3 s");
    mock.advance(secs(2));
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.get(&5_000), Some(0));
}

#[test]
fn time_to_idle_is_extended_by_reads() {
    for policy in ALL {
        let (cache, mock) = mocked(Cache::builder().policy(policy).time_to_idle(secs(10)));
        cache.insert(1, 1);
        for _ in 0..5 {
            mock.advance(secs(9));
            assert_eq!(cache.get(&1), Some(1), "{policy:?}");
        }
        mock.advance(secs(10));
        assert_eq!(cache.get(&1), None, "{policy:?}");
    }
}

#[test]
fn time_to_idle_is_not_extended_by_contains_key() {
    for policy in ALL {
        let (cache, mock) = mocked(Cache::builder().policy(policy).time_to_idle(secs(10)));
        cache.insert(1, 1);
        mock.advance(secs(9));
        assert!(cache.contains_key(&1), "{policy:?}");
        mock.advance(secs(1));
        assert!(!cache.contains_key(&1), "{policy:?}");
        assert_eq!(cache.get(&1), None, "{policy:?}");
    }
}

#[test]
fn time_to_idle_is_extended_by_writes() {
    let (cache, mock) = mocked(Cache::builder().time_to_idle(secs(10)));
    cache.insert(1, 1);
    mock.advance(secs(9));
    cache.insert(1, 2);
    mock.advance(secs(9));
    assert_eq!(cache.get(&1), Some(2));
}

#[test]
fn time_to_live_caps_time_to_idle() {
    let (cache, mock) = mocked(
        Cache::builder()
            .time_to_live(secs(15))
            .time_to_idle(secs(10)),
    );
    cache.insert(1, 1);
    for _ in 0..2 {
        mock.advance(secs(7)); // 7 s, 14 s
        assert_eq!(cache.get(&1), Some(1));
    }
    mock.advance(secs(1)); // 15 s: read 1 s ago, but its TTL is up
    assert_eq!(cache.get(&1), None);
}

#[test]
fn an_idle_entry_is_reclaimed_without_a_read() {
    let (cache, mock, events) = with_listener(Cache::builder().time_to_idle(secs(10)));
    cache.insert(1, 1);
    cache.insert(2, 2);
    mock.advance(secs(5));
    assert_eq!(cache.get(&2), Some(2));
    mock.advance(secs(5));
    assert_eq!(cache.len(), 1);
    assert_eq!(drain(&events), [(1, 1, RemovalCause::Expired)]);
    mock.advance(secs(5));
    assert_eq!(cache.len(), 0);
    assert_eq!(drain(&events), [(2, 2, RemovalCause::Expired)]);
}

/// Expired entries are reported and counted when a write to their shard runs maintenance,
/// with no read of them.
#[test]
fn expired_entries_are_reclaimed_by_a_write_to_another_key() {
    for policy in ALL {
        let (cache, mock, events) = with_listener(
            Cache::builder()
                .policy(policy)
                .max_capacity(100)
                .time_to_live(secs(1)),
        );
        for k in 0..5 {
            cache.insert(k, k * 10);
        }
        cache.insert_with_ttl(99, 990, Ttl::Never);
        mock.advance(secs(1));
        cache.insert(50, 500);
        let expected: Vec<_> = (0..5).map(|k| (k, k * 10, RemovalCause::Expired)).collect();
        assert_eq!(drain(&events), expected, "{policy:?}");
        assert_eq!(cache.stats().expirations, 5, "{policy:?}");
        assert_eq!(cache.stats().evictions, 0, "{policy:?}");
        assert_eq!(cache.stats().misses, 0, "{policy:?}");
        assert_eq!(cache.len(), 2, "{policy:?}");
    }
}

#[test]
fn expired_entries_are_reclaimed_by_len_in_every_shard() {
    let (cache, mock, events) = with_listener(
        Cache::builder()
            .max_capacity(4_000)
            .shards(8)
            .time_to_live(secs(1)),
    );
    for k in 0..1_000 {
        cache.insert(k, k);
    }
    mock.advance(secs(1));
    assert!(drain(&events).is_empty(), "nothing ran since the advance");
    assert_eq!(cache.len(), 0);
    let events = drain(&events);
    assert_eq!(events.len(), 1_000);
    assert!(events.iter().all(|e| e.2 == RemovalCause::Expired));
    assert_eq!(cache.stats().expirations, 1_000);
    assert_eq!(cache.weighted_size(), 0);
}

#[test]
fn weighted_size_drops_when_entries_expire() {
    let (cache, mock) = mocked(
        Cache::builder()
            .max_capacity(100)
            .weigher(|_k: &u32, v: &String| v.len() as u32)
            .time_to_live(secs(1)),
    );
    cache.insert(1, "abcd".to_string());
    cache.insert_with_ttl(2, "xy".to_string(), Ttl::Never);
    assert_eq!(cache.weighted_size(), 6);
    mock.advance(secs(1));
    assert_eq!(cache.weighted_size(), 2);
}

#[test]
fn an_expired_entry_is_never_returned() {
    for policy in ALL {
        let (cache, mock, events) = with_listener(
            Cache::builder()
                .policy(policy)
                .max_capacity(10)
                .time_to_live(secs(1)),
        );
        cache.insert(1, 10);
        cache.insert(2, 20);
        mock.advance(secs(1));
        // The read-only calls first: they reclaim nothing, but must not see the entries.
        assert!(!cache.contains_key(&1), "{policy:?}");
        assert_eq!(cache.iter().count(), 0, "{policy:?}");
        assert_eq!(cache.get(&1), None, "{policy:?}");
        assert_eq!(cache.remove(&2), None, "{policy:?}");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (0, 1), "{policy:?}");
        assert!(cache.is_empty(), "{policy:?}");
        // They were reported as expired, not as explicitly removed.
        assert_eq!(
            drain(&events),
            [
                (1, 10, RemovalCause::Expired),
                (2, 20, RemovalCause::Expired)
            ],
            "{policy:?}"
        );
    }
}

#[test]
fn an_expired_entry_is_not_invalidated_by_a_predicate() {
    let (cache, mock, events) = with_listener(Cache::builder().time_to_live(secs(1)));
    cache.insert(1, 10);
    mock.advance(secs(1));
    let mut seen = Vec::new();
    cache.invalidate_if(|k, _| {
        seen.push(*k);
        true
    });
    assert!(seen.is_empty(), "the predicate saw expired keys {seen:?}");
    assert_eq!(drain(&events), [(1, 10, RemovalCause::Expired)]);
}

/// `clear` takes out entries that had already expired but were not yet reclaimed: they should
/// be reported (and counted) as expired, as every other path reports them.
#[test]
fn clear_reports_already_expired_entries_as_expired() {
    let (cache, mock, events) = with_listener(Cache::builder().time_to_live(secs(1)));
    cache.insert(1, 10);
    cache.insert_with_ttl(2, 20, Ttl::Never);
    mock.advance(secs(1));
    cache.clear();
    assert_eq!(
        drain(&events),
        [
            (1, 10, RemovalCause::Expired),
            (2, 20, RemovalCause::Explicit)
        ]
    );
    assert_eq!(cache.stats().expirations, 1);
}

#[test]
fn reinsert_restarts_the_ttl() {
    for policy in ALL {
        let (cache, mock) = mocked(Cache::builder().policy(policy).time_to_live(secs(10)));
        cache.insert(1, 1);
        mock.advance(secs(8));
        cache.insert(1, 2);
        mock.advance(secs(8)); // 16 s: 8 s after the re-insert
        assert_eq!(cache.get(&1), Some(2), "{policy:?}");
        mock.advance(secs(2)); // 10 s after the re-insert
        assert_eq!(cache.get(&1), None, "{policy:?}");
    }
}

#[test]
fn reinsert_replaces_the_deadline_in_both_directions() {
    let (cache, mock) = mocked(Cache::builder());
    cache.insert_with_ttl(1, 1, Ttl::Never);
    cache.insert_with_ttl(1, 2, secs(1)); // Never -> 1 s
    cache.insert_with_ttl(2, 1, secs(1));
    cache.insert_with_ttl(2, 2, Ttl::Never); // 1 s -> Never
    mock.advance(secs(1));
    assert_eq!(cache.get(&1), None);
    mock.advance(secs(100));
    assert_eq!(cache.get(&2), Some(2));
    assert_eq!(cache.len(), 1);
}

#[test]
fn an_expired_key_can_be_stored_again() {
    let (cache, mock) = mocked(Cache::builder().max_capacity(4).time_to_live(secs(1)));
    cache.insert(1, 1);
    mock.advance(secs(2));
    cache.insert(1, 2);
    assert_eq!(cache.get(&1), Some(2));
    mock.advance(ms(999));
    assert_eq!(cache.get(&1), Some(2));
    mock.advance(ms(1));
    assert_eq!(cache.get(&1), None);
}

#[test]
fn a_huge_per_entry_ttl_does_not_overflow() {
    let (cache, mock) = mocked(Cache::builder().time_to_live(secs(1)));
    cache.insert_with_ttl(1, 1, Duration::MAX);
    mock.advance(secs(1));
    assert_eq!(cache.get(&1), Some(1));
    // 500 years: near the end of the clock's range (u64 nanoseconds, ~584 years).
    mock.advance(secs(500 * 365 * 86_400));
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.len(), 1);
}

#[test]
fn expired_entries_free_capacity_for_new_ones() {
    let (cache, mock, events) = with_listener(
        Cache::builder()
            .policy(Policy::Lru)
            .max_capacity(2)
            .time_to_live(secs(1)),
    );
    cache.insert(1, 1);
    cache.insert_with_ttl(2, 2, Ttl::Never);
    mock.advance(secs(1));
    cache.insert(3, 3); // 1 has expired: nothing needs to be evicted
    assert_eq!(cache.get(&2), Some(2));
    assert_eq!(cache.get(&3), Some(3));
    assert_eq!(drain(&events), [(1, 1, RemovalCause::Expired)]);
    assert_eq!(cache.stats().evictions, 0);
}

/// Hits read a coarse time with the system clock (ADR 0012), but a mock's is exact: an idle
/// deadline holds to the nanosecond, and each read restarts it from the read's exact time.
#[test]
fn a_mock_clock_is_exact_on_time_to_idle_hits() {
    for policy in ALL {
        let (clock, mock) = Clock::mock();
        assert_eq!(clock.hit_lag(), Duration::ZERO);
        let cache = Cache::builder()
            .policy(policy)
            .time_to_idle(secs(1))
            .clock(clock)
            .build();
        cache.insert(1, 1);
        mock.advance(secs(1) - NANO);
        assert_eq!(cache.get(&1), Some(1), "{policy:?}");
        mock.advance(secs(1) - NANO);
        assert_eq!(cache.get(&1), Some(1), "{policy:?}");
        mock.advance(secs(1));
        assert_eq!(cache.get(&1), None, "{policy:?}");
    }
}
