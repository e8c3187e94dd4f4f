//! Interleavings of the shard core under shuttle's randomised scheduler.
//!
//! Run with `RUSTFLAGS="--cfg larder_shuttle" cargo test -p larder --lib --release shuttle`.
//! `SHUTTLE_ITERATIONS` sets how many schedules each test explores; a failure prints a seed.

use std::time::Duration;

use shuttle::thread;

use crate::sync::Arc;
use crate::{Cache, Clock, Policy};

fn iterations() -> usize {
    std::env::var("SHUTTLE_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// Values carry their key, so a reader can tell a value that belongs to another key.
fn value(key: u64, version: u64) -> u64 {
    key * 1_000 + version
}

fn readers_and_writers(policy: Policy) {
    let cache = Arc::new(
        Cache::builder()
            .max_capacity(3)
            .policy(policy)
            .shards(2)
            .build(),
    );
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let cache = Arc::clone(&cache);
            thread::spawn(move || {
                for i in 0..4u64 {
                    let k = (t + i) % 4;
                    cache.insert(k, value(k, t * 10 + i));
                    if i == 2 {
                        cache.remove(&((k + 1) % 4));
                    }
                }
            })
        })
        .collect();
    let reader = {
        let cache = Arc::clone(&cache);
        thread::spawn(move || {
            for k in 0..4u64 {
                if let Some(v) = cache.get(&k) {
                    assert_eq!(v / 1_000, k, "a value read under another key");
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    cache.engine().check_invariants();
    assert!(cache.len() <= 3);
}

#[test]
fn shuttle_s3fifo_readers_and_writers() {
    shuttle::check_random(|| readers_and_writers(Policy::S3Fifo), iterations());
}

#[test]
fn shuttle_lru_readers_and_writers() {
    shuttle::check_random(|| readers_and_writers(Policy::Lru), iterations());
}

/// Expiry reclaimed by one thread's write while another reads and a third clears.
#[test]
fn shuttle_expiry_clear_and_reads() {
    shuttle::check_random(
        || {
            let (clock, mock) = Clock::mock();
            let cache = Arc::new(
                Cache::builder()
                    .max_capacity(8)
                    .time_to_live(Duration::from_secs(1))
                    .clock(clock)
                    .build(),
            );
            for k in 0..4u64 {
                cache.insert(k, value(k, 0));
            }
            let a = {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    mock.advance(Duration::from_secs(2));
                    cache.insert(9, value(9, 1));
                })
            };
            let b = {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    for k in 0..4u64 {
                        if let Some(v) = cache.get(&k) {
                            assert_eq!(v, value(k, 0));
                        }
                    }
                })
            };
            let c = {
                let cache = Arc::clone(&cache);
                thread::spawn(move || cache.invalidate_if(|k, _| k % 2 == 0))
            };
            for t in [a, b, c] {
                t.join().unwrap();
            }
            cache.engine().check_invariants();
            assert!(cache.len() <= 1, "the four TTL'd entries are gone");
        },
        iterations(),
    );
}
