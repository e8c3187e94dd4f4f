//! Multi-threaded stress: four threads run a random mix of operations on one sharded cache.
//! Every value carries its key, so a read can tell whether it got another key's value; at the
//! end the cache must be within its capacity, its sizes consistent and its counters exact.

use std::time::Duration;

use larder::{Cache, Clock, MockClock, Policy, RemovalCause};

const THREADS: u64 = 4;
const CAPACITY: u64 = 1_000;
const KEY_SPACE: u64 = 4_000;
/// Values are `key << KEY_SHIFT | generation`.
const KEY_SHIFT: u32 = 32;

fn key_of(value: u64) -> u64 {
    value >> KEY_SHIFT
}

/// xorshift64*: a small deterministic generator, one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Skewed towards small keys, so some keys are hot.
    fn key(&mut self) -> u64 {
        let r = self.below(KEY_SPACE);
        if self.below(2) == 0 { r % 200 } else { r }
    }
}

#[derive(Debug, Default)]
struct Tally {
    gets: u64,
    hits: u64,
}

fn worker(cache: &Cache<u64, u64>, mock: &MockClock, id: u64, ops: u64) -> Tally {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut tally = Tally::default();
    for generation in 0..ops {
        let k = rng.key();
        match rng.below(1_000) {
            0..600 => {
                tally.gets += 1;
                if let Some(v) = cache.get(&k) {
                    tally.hits += 1;
                    assert_eq!(key_of(v), k, "get({k}) returned another key's value");
                }
            }
            600..850 => cache.insert(k, k << KEY_SHIFT | generation),
            850..900 => {
                let ttl = Duration::from_millis(rng.below(50));
                cache.insert_with_ttl(k, k << KEY_SHIFT | generation, ttl);
            }
            900..950 => {
                if let Some(v) = cache.remove(&k) {
                    assert_eq!(key_of(v), k, "remove({k}) returned another key's value");
                }
            }
            950..990 => {
                cache.contains_key(&k);
            }
            990..999 => {
                if id == 0 {
                    mock.advance(Duration::from_millis(1));
                }
                assert!(cache.len() <= CAPACITY as usize);
            }
            _ => {
                if rng.below(20) == 0 {
                    let r = rng.below(7);
                    cache.invalidate_if(|k, v| {
                        assert_eq!(key_of(*v), *k, "a predicate saw a mismatched entry");
                        k % 7 == r
                    });
                } else if rng.below(200) == 0 {
                    cache.clear();
                } else {
                    for (k, v) in cache.iter().take(10) {
                        assert_eq!(key_of(v), k, "iter() paired {k} with another key's value");
                    }
                }
            }
        }
    }
    tally
}

fn stress(policy: Policy, ops_per_thread: u64) {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(CAPACITY)
        .shards(4)
        .policy(policy)
        .time_to_live(Duration::from_millis(200))
        .clock(clock)
        .eviction_listener(|k: u64, v: u64, _cause: RemovalCause| {
            assert_eq!(
                key_of(v),
                k,
                "the listener got {k} with another key's value"
            );
        })
        .build();

    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|id| {
                let (cache, mock) = (&cache, &mock);
                scope.spawn(move || worker(cache, mock, id, ops_per_thread))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .collect()
    });

    let gets: u64 = tallies.iter().map(|t| t.gets).sum();
    let hits: u64 = tallies.iter().map(|t| t.hits).sum();
    let stats = cache.stats();
    assert_eq!(
        stats.hits + stats.misses,
        gets,
        "{policy:?}: every get counted once"
    );
    assert_eq!(stats.hits, hits, "{policy:?}: hits");
    assert!(
        hits > 0 && hits < gets,
        "{policy:?}: a mix of hits and misses"
    );

    let len = cache.len();
    assert!(len <= CAPACITY as usize, "{policy:?}: {len} entries");
    assert_eq!(cache.weighted_size(), len as u64, "{policy:?}");
    assert_eq!((stats.size, stats.weighted_size), (len as u64, len as u64));
    let snapshot: Vec<(u64, u64)> = cache.iter().collect();
    assert_eq!(snapshot.len(), len, "{policy:?}: iter() against len()");
    assert!(snapshot.iter().all(|&(k, v)| key_of(v) == k));
    assert!(stats.evictions > 0, "{policy:?}: the capacity was reached");

    // Still a working cache, and it honours the TTL after all this.
    cache.insert(1, 1 << KEY_SHIFT);
    assert_eq!(cache.get(&1), Some(1 << KEY_SHIFT));
    mock.advance(Duration::from_millis(200));
    assert!(cache.is_empty(), "{policy:?}: everything had a 200 ms TTL");
}

#[test]
fn s3fifo_under_four_threads() {
    stress(Policy::S3Fifo, 200_000);
}

#[test]
fn lru_under_four_threads() {
    stress(Policy::Lru, 100_000);
}
