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
        match rng.below(10) {
            0..=3 => {
                cache.get(&k);
            }
            4..=6 => cache.insert(k, rng.below(1000)),
            7 => cache.insert_with_ttl(k, rng.below(1000), Duration::from_secs(rng.below(30))),
            8 => {
                cache.remove(&k);
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
fn s3fifo_readmits_ghosts_to_main() {
    // Capacity 10: small holds 1. Keys evicted from small unread go to the ghost; when
    // they come back they are admitted to main and survive a scan of one-hit wonders.
    let cache = Cache::builder().max_capacity(10).build();
    for k in 0..10u64 {
        cache.insert(k, k);
    }
    for k in 100..110u64 {
        cache.insert(k, k); // pushes 0..10 through small into the ghost
    }
    for k in 0..5u64 {
        cache.insert(k, k); // ghost hits: straight to main
    }
    for k in 200..260u64 {
        cache.insert(k, k); // a scan
    }
    let survivors = (0..5u64).filter(|k| cache.contains_key(k)).count();
    assert_eq!(survivors, 5, "ghost-admitted keys outlive a one-hit scan");
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
