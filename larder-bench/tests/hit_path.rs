//! A cache hit allocates nothing, under every policy, with and without TTLs.
//!
//! This binary installs a counting global allocator (the `cap` crate: larder forbids the
//! `unsafe` a hand-written one needs). The allocator counts the whole process, and the test
//! harness may allocate a few hundred bytes on its own thread while a measurement runs (seen
//! once, under load), so the test does not demand exactly zero: it demands fewer bytes than
//! one per 64 hits over a million hits. A hit path that allocated would allocate on every hit
//! (a cloned key, a boxed future, a grown buffer), at least a million bytes.

use std::time::Duration;

use larder::{Cache, Policy};

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

const HITS: usize = 1_000_000;

/// Bytes the process allocated while `cache` served `HITS` hits.
fn hits_allocate(cache: &Cache<u64, u64>) -> usize {
    for k in 0..1_000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.get(&0), Some(0)); // the thread's first lookup registers its counter slot
    let before = ALLOCATOR.total_allocated();
    let mut sum = 0;
    for round in 0..(HITS / 1_000) as u64 {
        for k in 0..1_000 {
            sum += cache.get(&((k * 7 + round) % 1_000)).unwrap_or(0);
        }
    }
    let allocated = ALLOCATOR.total_allocated() - before;
    assert!(sum > 0);
    allocated
}

#[test]
fn a_hit_allocates_nothing() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        let plain = Cache::builder().max_capacity(2_000).policy(policy).build();
        let bytes = hits_allocate(&plain);
        assert!(
            bytes < HITS / 64,
            "{policy:?}: {bytes} bytes over {HITS} hits"
        );
        let timed = Cache::builder()
            .max_capacity(2_000)
            .policy(policy)
            .time_to_live(Duration::from_secs(3600))
            .time_to_idle(Duration::from_secs(600))
            .build();
        let bytes = hits_allocate(&timed);
        assert!(
            bytes < HITS / 64,
            "{policy:?} with TTL and TTI: {bytes} bytes"
        );
    }
}
