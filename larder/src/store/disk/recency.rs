//! Recency for approximate-LRU eviction, kept in memory so that reads never write to disk.
//!
//! Each use of a key (a hit, a write) takes the next tick of a counter; the map from the
//! key's hash to its last tick is bounded: past [`Recency::new`]'s limit, the older half of
//! the stamps is forgotten. A key without a stamp (never used since the file was opened, or
//! forgotten) counts as the least recently used.

use std::hash::BuildHasher;

use hashbrown::HashMap;

use crate::hasher::DefaultHashBuilder;
use crate::sync::Mutex;

/// How many keys' recency is kept by default: about 32 bytes each, so 32 MiB at most.
pub(super) const TRACKED: usize = 1 << 20;

/// The last use of each recently used key.
pub(super) struct Recency {
    hasher: DefaultHashBuilder,
    limit: usize,
    stamps: Mutex<Stamps>,
}

#[derive(Default)]
struct Stamps {
    /// The last tick handed out; 0 means "not used since open".
    tick: u64,
    /// Key hash → tick of its last use.
    last: HashMap<u64, u64>,
}

impl Recency {
    /// Recency for at most `limit` keys (at least 2).
    pub(super) fn new(limit: usize) -> Self {
        Self {
            hasher: DefaultHashBuilder::default(),
            limit: limit.max(2),
            stamps: Mutex::new(Stamps::default()),
        }
    }

    fn hash(&self, namespace: &[u8], key: &[u8]) -> u64 {
        self.hasher.hash_one((namespace, key))
    }

    /// Marks `key` as used now.
    pub(super) fn touch(&self, namespace: &[u8], key: &[u8]) {
        let hash = self.hash(namespace, key);
        let mut stamps = self.stamps.lock();
        stamps.tick += 1;
        let tick = stamps.tick;
        stamps.last.insert(hash, tick);
        if stamps.last.len() > self.limit {
            stamps.forget_older_half();
        }
    }

    /// Forgets `key` (removed from the file).
    pub(super) fn forget(&self, namespace: &[u8], key: &[u8]) {
        let hash = self.hash(namespace, key);
        self.stamps.lock().last.remove(&hash);
    }

    /// Sorts `candidates` from the least recently used (stably: equals keep their order).
    pub(super) fn order(&self, candidates: &mut [(Vec<u8>, Vec<u8>)]) {
        let stamps = self.stamps.lock();
        candidates.sort_by_cached_key(|(namespace, key)| {
            let hash = self.hash(namespace, key);
            stamps.last.get(&hash).copied().unwrap_or(0)
        });
    }

    /// How many keys have a stamp.
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.stamps.lock().last.len()
    }
}

impl Stamps {
    /// Keeps the newer half of the stamps: O(n), once per `limit / 2` new keys.
    fn forget_older_half(&mut self) {
        let mut ticks: Vec<u64> = self.last.values().copied().collect();
        let middle = ticks.len() / 2;
        let (_, cutoff, _) = ticks.select_nth_unstable(middle);
        let cutoff = *cutoff;
        self.last.retain(|_, tick| *tick >= cutoff);
    }
}
