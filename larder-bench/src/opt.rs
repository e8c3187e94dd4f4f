//! Bélády's OPT: the hit ratio of the offline optimal cache, the ceiling the traces scenario
//! reports every cache against.
//!
//! On a miss with the cache full, OPT evicts the entry whose next use is farthest in the
//! future, and does not admit the requested key at all when that key's own next use is
//! farther still (the caches it bounds may refuse an insert too: moka's admission does). Each
//! access's next use is found once per trace ([`next_uses`]); a replay then keeps the resident
//! entries as an ordered set of their next-use positions, O(n log c) for n requests and c
//! entries.

use std::collections::{BTreeSet, HashMap};

/// For each request `i`, the position of the next request for the same key, or `None` when
/// the key is never requested again.
pub(crate) fn next_uses(keys: &[u64]) -> Vec<Option<usize>> {
    let mut next = vec![None; keys.len()];
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (i, &key) in keys.iter().enumerate().rev() {
        next[i] = seen.insert(key, i);
    }
    next
}

/// OPT's hit ratio on `keys` with room for `capacity` entries; `next` is [`next_uses`]`(keys)`.
pub(crate) fn hit_ratio(keys: &[u64], next: &[Option<usize>], capacity: u64) -> f64 {
    debug_assert_eq!(keys.len(), next.len());
    let n = keys.len();
    let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
    // Each resident entry is held as the position of its key's next request: position `i` is
    // in the set exactly when the key of request `i` is resident, so request `i` hits iff
    // `i` is in the set. A key never requested again gets `n + i`, past every real position
    // and distinct from the others.
    let mut resident: BTreeSet<usize> = BTreeSet::new();
    let mut hits = 0u64;
    for (i, next) in next.iter().enumerate() {
        let next = next.unwrap_or(n + i);
        if resident.remove(&i) {
            hits += 1;
            resident.insert(next);
        } else if resident.len() < capacity {
            resident.insert(next);
        } else if resident.last().is_some_and(|&farthest| farthest > next) {
            resident.pop_last();
            resident.insert(next);
        }
    }
    hits as f64 / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(keys: &[u64], capacity: u64) -> f64 {
        hit_ratio(keys, &next_uses(keys), capacity)
    }

    #[test]
    fn next_uses_point_at_the_next_request_of_the_key() {
        assert_eq!(
            next_uses(&[1, 2, 1, 3, 2, 1]),
            vec![Some(2), Some(4), Some(5), None, None, None]
        );
    }

    #[test]
    fn a_loop_one_larger_than_the_cache() {
        // 0 1 2 0 1 2 ... (4 rounds) with 2 slots: LRU never hits. OPT keeps 0 and 1 and
        // never admits 2 (its next use is always the farthest): every request of 0 and 1
        // after the first round hits, 3 rounds × 2.
        let keys: Vec<u64> = (0..12).map(|i| i % 3).collect();
        let hits = (opt(&keys, 2) * 12.0).round() as u64;
        assert_eq!(hits, 6);
    }

    #[test]
    fn everything_fits() {
        let keys = [5, 6, 5, 6, 7, 5];
        // Misses: the first request of 5, 6 and 7.
        assert!((opt(&keys, 3) - 3.0 / 6.0).abs() < 1e-12);
        assert!((opt(&keys, 100) - 3.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn no_room_no_hits() {
        assert_eq!(opt(&[1, 1, 1], 0), 0.0);
        assert_eq!(opt(&[], 4), 0.0);
    }

    #[test]
    fn one_shot_keys_are_not_admitted_over_useful_ones() {
        // 1 is reused after a scan of keys seen once: OPT keeps 1.
        let keys = [1, 10, 11, 12, 13, 1];
        assert!((opt(&keys, 1) - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn at_least_any_online_cache_on_a_mixed_trace() {
        // A small LRU for comparison: OPT never does worse.
        let keys: Vec<u64> = (0..2_000u64)
            .map(|i| (i * 7919 % 61) ^ ((i % 5) * (i % 13)))
            .collect();
        for capacity in [1u64, 4, 16, 40] {
            let mut lru: Vec<u64> = Vec::new();
            let mut hits = 0;
            for &k in &keys {
                if let Some(p) = lru.iter().position(|&x| x == k) {
                    hits += 1;
                    lru.remove(p);
                } else if lru.len() == capacity as usize {
                    lru.remove(0);
                }
                lru.push(k);
            }
            let lru_ratio = hits as f64 / keys.len() as f64;
            assert!(opt(&keys, capacity) >= lru_ratio, "capacity {capacity}");
        }
    }
}
