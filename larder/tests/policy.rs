//! Eviction order of each policy on the capacity scenarios of FEATURES.md §2 (#40-#50), and
//! the rules the policy docs state: what a read, a re-insert or `contains_key` does to an
//! entry's standing. The caches here are small, so they have one shard and evict exactly.

use std::cell::Cell;

use larder::{Cache, Policy};

fn cache(policy: Policy, capacity: u64) -> Cache<u32, u32> {
    Cache::builder()
        .max_capacity(capacity)
        .policy(policy)
        .build()
}

/// A "decorated function": get, and compute and insert on a miss. Counts computations.
struct Memo {
    cache: Cache<u32, u32>,
    runs: Cell<u32>,
}

impl Memo {
    fn new(cache: Cache<u32, u32>) -> Self {
        Self {
            cache,
            runs: Cell::new(0),
        }
    }

    fn call(&self, k: u32) -> u32 {
        if let Some(v) = self.cache.get(&k) {
            return v;
        }
        self.runs.set(self.runs.get() + 1);
        let v = k * 10;
        self.cache.insert(k, v);
        v
    }
}

fn sorted_keys<V>(cache: &Cache<u32, V>) -> Vec<u32>
where
    V: Clone,
{
    let mut keys: Vec<u32> = cache.iter().map(|(k, _)| k).collect();
    keys.sort_unstable();
    keys
}

// #40: maxsize=3: set a,b,c; get a; set d -> b is evicted; a, c, d present.
#[test]
fn lru_read_protects_a_key_from_eviction() {
    let c = cache(Policy::Lru, 3);
    c.insert(1, 1); // a
    c.insert(2, 2); // b
    c.insert(3, 3); // c
    assert_eq!(c.get(&1), Some(1));
    c.insert(4, 4); // d
    assert_eq!(sorted_keys(&c), [1, 3, 4]);
    assert_eq!(c.stats().evictions, 1);
}

// #40 under the default policy: the key read once survives; one of the unread keys goes
// (which one is the frequency door's choice: here the newest, as main still had room for 2).
#[test]
fn s3fifo_read_protects_a_key_from_eviction() {
    let c = cache(Policy::S3Fifo, 3);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(3, 3);
    assert_eq!(c.get(&1), Some(1));
    c.insert(4, 4);
    let keys = sorted_keys(&c);
    assert_eq!(keys.len(), 3);
    assert!(keys.contains(&1) && keys.contains(&4), "{keys:?}");
    assert_eq!(c.stats().evictions, 1);
}

// #40 under FIFO: the read changes nothing, the oldest goes.
#[test]
fn fifo_read_does_not_protect_a_key() {
    let c = cache(Policy::Fifo, 3);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(3, 3);
    for _ in 0..3 {
        assert_eq!(c.get(&1), Some(1));
    }
    c.insert(4, 4);
    assert_eq!(sorted_keys(&c), [2, 3, 4]);
}

// #44: maxsize=3, calls 3,4,5 then 3,2,1 -> contents {3,2,1} in recency order 3,2,1;
// hits 1, misses 5.
#[test]
fn lru_memoised_calls_keep_the_most_recent_keys() {
    let memo = Memo::new(cache(Policy::Lru, 3));
    for k in [3, 4, 5, 3, 2, 1] {
        assert_eq!(memo.call(k), k * 10);
    }
    assert_eq!(sorted_keys(&memo.cache), [1, 2, 3]);
    let stats = memo.cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 5));
    assert_eq!(memo.runs.get(), 5);

    // The recency order is 3 (oldest), 2, 1: new keys push them out in that order.
    memo.cache.insert(100, 0);
    assert_eq!(sorted_keys(&memo.cache), [1, 2, 100]);
    memo.cache.insert(101, 0);
    assert_eq!(sorted_keys(&memo.cache), [1, 100, 101]);
}

// #47: maxsize=2: calls 1, 2; contains(1); call 3 -> 1 is evicted.
#[test]
fn lru_contains_key_does_not_touch_recency() {
    let memo = Memo::new(cache(Policy::Lru, 2));
    memo.call(1);
    memo.call(2);
    assert!(memo.cache.contains_key(&1));
    memo.call(3);
    assert_eq!(sorted_keys(&memo.cache), [2, 3]);
}

// The control for #47: a get in the same place does protect 1.
#[test]
fn lru_get_in_place_of_contains_key_protects_the_key() {
    let memo = Memo::new(cache(Policy::Lru, 2));
    memo.call(1);
    memo.call(2);
    assert_eq!(memo.cache.get(&1), Some(10));
    memo.call(3);
    assert_eq!(sorted_keys(&memo.cache), [1, 3]);
}

#[test]
fn lfu_contains_key_does_not_count_as_a_use() {
    let c = cache(Policy::Lfu, 2);
    c.insert(1, 1);
    c.insert(2, 2);
    for _ in 0..5 {
        assert!(c.contains_key(&1));
    }
    c.insert(3, 3); // 1 and 2 both have one use; 1 is the less recent
    assert_eq!(sorted_keys(&c), [2, 3]);
}

// #48: LRUCache(3) with calls 1,2,3,1,4 -> keys [1,3,4].
#[test]
fn lru_memoised_calls_1_2_3_1_4() {
    let memo = Memo::new(cache(Policy::Lru, 3));
    for k in [1, 2, 3, 1, 4] {
        memo.call(k);
    }
    assert_eq!(sorted_keys(&memo.cache), [1, 3, 4]);
}

// #48: FIFOCache(3) with calls 1,2,3,1,4 -> keys [2,3,4].
#[test]
fn fifo_memoised_calls_1_2_3_1_4() {
    let memo = Memo::new(cache(Policy::Fifo, 3));
    for k in [1, 2, 3, 1, 4] {
        memo.call(k);
    }
    assert_eq!(sorted_keys(&memo.cache), [2, 3, 4]);
    assert_eq!(memo.runs.get(), 4);
}

// #48: LFUCache(3) with calls 1,1,1,2,2,3,4 -> keys [1,2,4].
#[test]
fn lfu_memoised_calls_1_1_1_2_2_3_4() {
    let memo = Memo::new(cache(Policy::Lfu, 3));
    for k in [1, 1, 1, 2, 2, 3, 4] {
        memo.call(k);
    }
    assert_eq!(sorted_keys(&memo.cache), [1, 2, 4]);
    let stats = memo.cache.stats();
    assert_eq!((stats.hits, stats.misses), (3, 4));
}

fn weighted_memo_runs(policy: Policy) {
    let cache: Cache<u32, String> = Cache::builder()
        .max_capacity(10)
        .weigher(|_k: &u32, v: &String| v.len() as u32)
        .policy(policy)
        .build();
    let runs = Cell::new(0);
    let call = |k: u32, len: usize| {
        if let Some(v) = cache.get(&k) {
            return v;
        }
        runs.set(runs.get() + 1);
        let v = "x".repeat(len);
        cache.insert(k, v.clone());
        v
    };

    // A 20-char result is returned but never stored: every call computes it again.
    assert_eq!(call(1, 20).len(), 20);
    assert_eq!(call(1, 20).len(), 20);
    assert_eq!(runs.get(), 2, "{policy:?}");
    assert!(!cache.contains_key(&1), "{policy:?}");
    assert_eq!(cache.weighted_size(), 0, "{policy:?}");

    // A 5-char result is stored and then hit.
    assert_eq!(call(2, 5).len(), 5);
    assert_eq!(call(2, 5).len(), 5);
    assert_eq!(runs.get(), 3, "{policy:?}");
    assert_eq!(cache.weighted_size(), 5, "{policy:?}");
    assert_eq!(cache.len(), 1, "{policy:?}");
}

// #49: LRUCache(maxsize=10, getsizeof=len): a 20-char result is not cached (no error), a
// 5-char result is.
#[test]
fn an_entry_heavier_than_the_capacity_is_not_stored() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::S3Fifo] {
        weighted_memo_runs(policy);
    }
}

#[test]
fn lru_evicts_as_many_entries_as_a_heavy_insert_needs() {
    let cache: Cache<u32, String> = Cache::builder()
        .max_capacity(10)
        .weigher(|_k: &u32, v: &String| v.len() as u32)
        .policy(Policy::Lru)
        .build();
    cache.insert(1, "aaa".into());
    cache.insert(2, "bbb".into());
    cache.insert(3, "ccc".into());
    assert_eq!(cache.get(&1).as_deref(), Some("aaa")); // order now 2, 3, 1
    cache.insert(4, "ddddd".into()); // needs 5 of 10: 2 and 3 go
    assert_eq!(sorted_keys(&cache), [1, 4]);
    assert_eq!(cache.weighted_size(), 8);
    assert_eq!(cache.stats().evictions, 2);
}

// #50: LRUCache(maxsize=0) -> every call re-executes.
#[test]
fn zero_capacity_stores_nothing_under_every_policy() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::S3Fifo] {
        let memo = Memo::new(cache(policy, 0));
        for k in [1, 1, 2, 1] {
            assert_eq!(memo.call(k), k * 10);
        }
        assert_eq!(memo.runs.get(), 4, "{policy:?}");
        assert!(memo.cache.is_empty(), "{policy:?}");
        let stats = memo.cache.stats();
        assert_eq!((stats.hits, stats.misses), (0, 4), "{policy:?}");
    }
}

#[test]
fn lru_reinsert_refreshes_recency() {
    let c = cache(Policy::Lru, 3);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(3, 3);
    c.insert(1, 11); // 1 is now the most recent
    c.insert(4, 4);
    assert_eq!(sorted_keys(&c), [1, 3, 4]);
    assert_eq!(c.get(&1), Some(11));
}

#[test]
fn fifo_reinsert_moves_the_key_to_the_back() {
    let c = cache(Policy::Fifo, 3);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(3, 3);
    c.insert(1, 11); // queue: 2, 3, 1
    c.insert(4, 4);
    assert_eq!(sorted_keys(&c), [1, 3, 4]);
    c.insert(5, 5);
    assert_eq!(sorted_keys(&c), [1, 4, 5]);
    c.insert(6, 6);
    assert_eq!(sorted_keys(&c), [4, 5, 6]);
}

#[test]
fn lfu_evicts_the_least_used_and_breaks_ties_by_recency() {
    let c = cache(Policy::Lfu, 3);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(3, 3);
    c.insert(4, 4); // all used once: the least recent, 1, goes
    assert_eq!(sorted_keys(&c), [2, 3, 4]);

    c.get(&3);
    c.get(&2); // uses: 2 -> 2, 3 -> 2, 4 -> 1
    c.insert(5, 5); // 4 has the fewest uses
    assert_eq!(sorted_keys(&c), [2, 3, 5]);

    c.get(&5); // all used twice; recency: 3 (oldest), 2, 5
    c.insert(6, 6);
    assert_eq!(sorted_keys(&c), [2, 5, 6]);
}

#[test]
fn lfu_reinsert_counts_as_a_use() {
    let c = cache(Policy::Lfu, 2);
    c.insert(1, 1);
    c.insert(2, 2);
    c.insert(1, 11); // 1: two uses, 2: one use
    c.insert(3, 3);
    assert_eq!(sorted_keys(&c), [1, 3]);
    assert_eq!(c.get(&1), Some(11));
}

/// Reads a working set of 50 keys three times, then scans 1,000 keys that are used once; how
/// many of the working set are still cached afterwards.
fn working_set_survivors(policy: Policy) -> usize {
    let memo = Memo::new(cache(policy, 100));
    for _ in 0..3 {
        for k in 0..50 {
            memo.call(k);
        }
    }
    assert_eq!(memo.cache.stats().hits, 100, "{policy:?}");
    for k in 1_000..2_000 {
        memo.call(k);
    }
    assert!(memo.cache.len() <= 100, "{policy:?}");
    (0..50).filter(|k| memo.cache.contains_key(k)).count()
}

#[test]
fn s3fifo_a_scan_of_one_hit_wonders_does_not_flush_the_working_set() {
    let s3fifo = working_set_survivors(Policy::S3Fifo);
    assert!(s3fifo >= 45, "only {s3fifo} of 50 survived the scan");
    // Under LRU the same scan flushes it completely.
    assert_eq!(working_set_survivors(Policy::Lru), 0);
}

#[test]
fn the_default_policy_is_s3fifo() {
    assert_eq!(Cache::<u8, u8>::new(10).policy(), Policy::S3Fifo);
    assert_eq!(Policy::default(), Policy::S3Fifo);
    let c: Cache<u8, u8> = Cache::builder().max_capacity(10).build();
    assert_eq!(c.policy(), Policy::S3Fifo);
}

#[test]
fn every_policy_respects_the_capacity() {
    for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::S3Fifo] {
        let c = cache(policy, 7);
        for k in 0..100 {
            c.insert(k, k);
            c.get(&(k / 2));
            assert!(c.len() <= 7, "{policy:?}");
        }
        assert_eq!(c.len(), 7, "{policy:?}");
        assert_eq!(c.stats().evictions, 93, "{policy:?}");
    }
}

#[test]
fn a_weigher_returning_zero_still_bounds_the_cache() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        let cache: Cache<u32, String> = Cache::builder()
            .max_capacity(1_000)
            .weigher(|_k: &u32, v: &String| v.len() as u32) // 0 for an empty value
            .policy(policy)
            .build();
        for k in 0..20_000 {
            cache.insert(k, String::new());
        }
        assert_eq!(cache.len(), 1_000, "{policy:?}");
        assert_eq!(cache.weighted_size(), 1_000, "{policy:?}: each counts as 1");
    }
}
