//! Invariants of the engine's private structures, checked after random operations.
// A std Mutex collects listener calls here; it is test scaffolding, not the cache's concurrency.
#![allow(clippy::disallowed_types)]

use std::time::Duration;

use crate::{Cache, Clock, Policy, RemovalCause, Ttl};

/// A tiny deterministic generator, so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn churn(policy: Policy, shards: usize, weighted: bool, tti: bool) {
    let (clock, mock) = Clock::mock();
    let mut builder = Cache::builder()
        .max_capacity(64)
        .policy(policy)
        .shards(shards)
        .clock(clock)
        .time_to_live(Duration::from_secs(50));
    if tti {
        builder = builder.time_to_idle(Duration::from_secs(20));
    }
    if weighted {
        builder = builder.weigher(|_k: &u64, v: &u64| (*v % 7) as u32);
    }
    let cache = builder.build();
    let mut rng = Rng(0x5EED ^ shards as u64);
    for _ in 0..20_000 {
        let k = rng.below(200);
        match rng.below(14) {
            0..=3 => {
                cache.get(&k);
            }
            4..=6 => cache.insert(k, rng.below(1000)),
            7 => cache.insert_with_ttl(k, rng.below(1000), Duration::from_secs(rng.below(30))),
            8 => {
                cache.remove(&k);
            }
            10 => {
                cache
                    .entry(k)
                    .and_compute_with(|v| crate::Op::Put(v.map_or(1, |v| v + 1)));
            }
            11 => {
                cache.entry(k).and_compute_with(|_| crate::Op::Remove);
            }
            12 => {
                cache.expire(&k, Duration::from_secs(rng.below(30)));
            }
            13 => {
                let value = rng.below(1000);
                cache.entry(k).or_insert_with(|| value);
            }
            _ => mock.advance(Duration::from_secs(rng.below(3))),
        }
        cache.engine().check_invariants();
    }
    cache.invalidate_if(|k, _| k % 3 == 0);
    cache.engine().check_invariants();
    mock.advance(Duration::from_secs(100));
    assert_eq!(cache.len(), 0, "everything expired and was reclaimed");
    cache.engine().check_invariants();
}

#[test]
fn invariants_hold_under_random_operations() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        for shards in [1, 4] {
            for weighted in [false, true] {
                churn(policy, shards, weighted, false);
            }
        }
        churn(policy, 2, false, true);
    }
}

#[test]
fn s3fifo_keeps_twice_asked_keys_through_a_scan() {
    // Capacity 10. Keys asked for twice outrank one-hit wonders at the frequency door, so a
    // scan of fresh keys passes through the small queue without displacing them. A fixed
    // hasher keeps the sketch's collisions, and so the outcome, the same on every run.
    type Fixed = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
    let cache: Cache<u64, u64, Fixed> = Cache::builder()
        .max_capacity(10)
        .hasher(Fixed::default())
        .build();
    for k in 0..10u64 {
        cache.insert(k, k);
    }
    for k in 100..110u64 {
        cache.insert(k, k); // pushes 0..10 out of the small queue
    }
    for k in 0..5u64 {
        cache.insert(k, k); // asked for again
    }
    for k in 200..260u64 {
        cache.insert(k, k); // a scan
    }
    let survivors = (0..5u64).filter(|k| cache.contains_key(k)).count();
    assert_eq!(survivors, 5, "twice-asked keys outlive a one-hit scan");
    cache.engine().check_invariants();
}

#[test]
fn rewriting_a_key_does_not_pile_up_timers() {
    let (clock, _mock) = Clock::mock();
    let cache = Cache::builder().clock(clock).build();
    for v in 0..10_000u64 {
        cache.insert_with_ttl(1, v, Duration::from_secs(3600));
    }
    cache.engine().check_invariants();
    assert!(cache.engine().timer_count() <= 2 + 64);
}

#[test]
fn timers_for_replaced_entries_go_stale() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder().clock(clock).build();
    cache.insert_with_ttl(1, 1, Duration::from_secs(100));
    cache.insert_with_ttl(1, 2, Duration::from_secs(5));
    mock.advance(Duration::from_secs(6));
    assert_eq!(
        cache.len(),
        0,
        "the earlier deadline of the re-insert is honoured"
    );
    cache.insert_with_ttl(2, 2, Ttl::Never);
    mock.advance(Duration::from_secs(200));
    assert_eq!(cache.len(), 1, "the stale 100 s timer does not touch key 2");
}

#[test]
fn removals_are_reported_once_each() {
    use std::sync::{Arc, Mutex};
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .max_capacity(2)
        .policy(Policy::Fifo)
        .clock(clock)
        .eviction_listener(move |k: u8, v: u8, cause| sink.lock().unwrap().push((k, v, cause)))
        .build();
    cache.insert(1, 10);
    cache.insert(2, 20);
    cache.insert(3, 30); // evicts 1
    cache.insert(2, 21); // replaces 20
    cache.insert_with_ttl(4, 40, Duration::from_secs(1)); // evicts 3
    mock.advance(Duration::from_secs(1));
    assert_eq!(cache.len(), 1); // reclaims 4
    cache.remove(&2);
    assert_eq!(
        *log.lock().unwrap(),
        [
            (1, 10, RemovalCause::Size),
            (2, 20, RemovalCause::Replaced),
            (3, 30, RemovalCause::Size),
            (4, 40, RemovalCause::Expired),
            (2, 21, RemovalCause::Explicit),
        ]
    );
    let stats = cache.stats();
    assert_eq!((stats.evictions, stats.expirations), (2, 1));
}

#[test]
fn a_replaced_value_is_never_its_own_victim() {
    // The reviewer's cases: a re-insert that grows an entry must evict others, not itself.
    for policy in [Policy::S3Fifo, Policy::Lfu, Policy::Lru, Policy::Fifo] {
        let cache = Cache::builder()
            .max_capacity(100)
            .policy(policy)
            .weigher(|_k: &u8, v: &u32| *v)
            .build();
        cache.insert(0, 40);
        cache.insert(1, 40);
        cache.insert(1, 50);
        cache.insert(0, 60);
        assert_eq!(cache.get(&0), Some(60), "{policy:?}");
        cache.engine().check_invariants();

        let cache = Cache::builder()
            .max_capacity(10)
            .policy(policy)
            .weigher(|_k: &char, v: &u32| *v)
            .build();
        for k in ['a', 'b'] {
            cache.insert(k, 1);
            for _ in 0..5 {
                cache.get(&k);
            }
        }
        cache.insert('e', 1);
        cache.insert('e', 9);
        assert_eq!(cache.get(&'e'), Some(9), "{policy:?}");
        cache.engine().check_invariants();
    }
}

#[test]
fn a_weigher_may_call_the_cache() {
    use std::sync::{Arc, OnceLock};
    let me: Arc<OnceLock<Cache<u8, u32>>> = Arc::new(OnceLock::new());
    let weigher_view = Arc::clone(&me);
    let cache = Cache::builder()
        .max_capacity(100)
        .weigher(move |k: &u8, _v: &u32| {
            // Runs before the shard lock is taken, so this cannot deadlock.
            u32::from(weigher_view.get().is_some_and(|c| c.contains_key(k))) + 1
        })
        .build();
    let _ = me.set(cache.clone());
    cache.insert(1, 1);
    cache.insert(1, 2);
    assert_eq!(cache.weighted_size(), 2);
}

#[test]
fn a_panicking_listener_leaves_clear_complete() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let panicked = std::sync::Arc::new(AtomicBool::new(false));
    let once = std::sync::Arc::clone(&panicked);
    let cache = Cache::builder()
        .max_capacity(10_000)
        .shards(4)
        .eviction_listener(move |_k: u32, _v: u32, _c| {
            assert!(
                once.swap(true, Ordering::Relaxed),
                "the listener panics once"
            );
        })
        .build();
    for k in 0..1000 {
        cache.insert(k, k);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.clear()));
    assert!(result.is_err() && panicked.load(Ordering::Relaxed));
    assert_eq!(
        cache.len(),
        0,
        "every shard was cleared before the listener ran"
    );
    cache.engine().check_invariants();
}

#[test]
fn a_zero_time_to_idle_stores_nothing() {
    let cache = Cache::builder()
        .max_capacity(2)
        .time_to_idle(Duration::ZERO)
        .build();
    cache.insert(1, 1);
    assert!(cache.is_empty());
    assert_eq!(cache.stats().expirations, 1);
}

#[test]
fn reset_stats_zeroes_every_thread_slot() {
    let cache = Cache::builder().max_capacity(8).build();
    cache.insert(1, 1);
    std::thread::scope(|s| {
        s.spawn(|| {
            cache.get(&1);
            cache.get(&2);
        });
    });
    cache.get(&1);
    assert_eq!((cache.stats().hits, cache.stats().misses), (2, 1));
    cache.reset_stats();
    assert_eq!((cache.stats().hits, cache.stats().misses), (0, 0));
    cache.get(&1);
    assert_eq!(cache.stats().hits, 1);
}

#[test]
fn remove_if_removes_only_what_it_accepts_and_reports_it() {
    use std::sync::{Arc, Mutex};
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .eviction_listener(move |k: u8, v: u8, cause| sink.lock().unwrap().push((k, v, cause)))
        .build();
    cache.insert(1, 10);
    assert!(!cache.remove_if(&1, |v| *v == 11), "refused: kept");
    assert_eq!(cache.get(&1), Some(10));
    assert!(cache.remove_if(&1, |v| *v == 10));
    assert_eq!(cache.get(&1), None);
    assert!(!cache.remove_if(&1, |_| true), "nothing left");
    // An expired entry is not live: nothing to accept.
    cache.insert_with_ttl(2, 20, Duration::from_secs(1));
    mock.advance(Duration::from_secs(1));
    assert!(!cache.remove_if(&2, |_| true));
    assert_eq!(
        *log.lock().unwrap(),
        [
            (1, 10, RemovalCause::Explicit),
            (2, 20, RemovalCause::Expired)
        ]
    );
}

#[test]
fn compute_keeps_the_tag_index_in_step() {
    let cache: Cache<u64, u64> = Cache::new(100);
    cache.insert_with_tags(1, 1, ["a", "b"]);
    cache.insert_with_tags(2, 2, ["a"]);
    assert_eq!(cache.engine().tag_index_len(), (2, 2));
    // A Put drops the key's tags, as an untagged insert does.
    cache
        .entry(1)
        .and_compute_with(|v| crate::Op::Put(v.map_or(0, |v| v + 1)));
    assert_eq!(cache.engine().tag_index_len(), (1, 1));
    // A Nop leaves them; a Remove drops them.
    cache.entry(2).and_compute_with(|_| crate::Op::Nop);
    assert_eq!(cache.engine().tag_index_len(), (1, 1));
    cache.entry(2).and_compute_with(|_| crate::Op::Remove);
    assert_eq!(cache.engine().tag_index_len(), (0, 0));
    assert_eq!(cache.get(&1), Some(2));
    cache.engine().check_invariants();
}

/// A presized cache keeps its first size across `clear`: refilling it (a tier's L1 is
/// cleared whenever its watch reconnects) does not rehash the tables and regrow the slabs
/// from nothing.
#[test]
fn clear_keeps_a_presized_shards_room_for_its_share() {
    let cache: Cache<u64, u64> = Cache::builder().max_capacity(20_000).shards(4).build();
    let built = cache.engine().room();
    assert!(
        built
            .iter()
            .all(|&(table, slab)| table >= 5_000 && slab >= 5_000),
        "presized: {built:?}"
    );
    for k in 0..10_000 {
        cache.insert(k, k);
    }
    cache.clear();
    assert_eq!(cache.engine().room(), built, "cleared");
    for k in 0..10_000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.engine().room(), built, "refilled");
    cache.engine().check_invariants();
}
