//! A cache hit allocates nothing, under every policy, with and without TTLs.
//!
//! This binary installs a counting global allocator and holds a single test, so nothing else
//! allocates while it measures. (It lives in larder-bench because larder itself forbids the
//! `unsafe` a hand-written allocator needs; the `cap` crate provides one.)

use std::time::Duration;

use larder::{Cache, Policy};

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

fn hits_allocate(cache: &Cache<u64, u64>) -> usize {
    for k in 0..1_000 {
        cache.insert(k, k);
    }
    assert_eq!(cache.get(&0), Some(0)); // the thread's first lookup registers its counter slot
    let before = ALLOCATOR.total_allocated();
    let mut sum = 0;
    for round in 0..100 {
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
        assert_eq!(hits_allocate(&plain), 0, "{policy:?}");
        let timed = Cache::builder()
            .max_capacity(2_000)
            .policy(policy)
            .time_to_live(Duration::from_secs(3600))
            .time_to_idle(Duration::from_secs(600))
            .build();
        assert_eq!(hits_allocate(&timed), 0, "{policy:?} with TTL and TTI");
    }
}
