//! Negative entries: recent load errors and "no value" findings, kept for the cache's
//! `negative_ttl` so that a failing or empty backend is not asked again at once.
//!
//! Bounded and swept in amortised O(1): entries expire in the order they were kept (one TTL
//! for the whole cache, on a clock that never goes back), so a FIFO of their stamps finds
//! the expired ones at its front; past the cap, the oldest goes first. A stamp whose entry
//! was replaced or removed meanwhile is skipped when it reaches the front, and the FIFO is
//! compacted when such stale stamps outnumber the live entries.

use std::any::Any;
use std::collections::VecDeque;

use hashbrown::HashTable;

use crate::equivalent::Equivalent;
use crate::expiry::Nanos;
use crate::sync::Arc;

/// A load's error, or its finding that the key has no value, kept until `until`.
#[derive(Clone)]
pub(crate) struct Kept {
    /// `None`: the load found no value (`None` from a loader, a key missing from a batch).
    pub(crate) error: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) until: Nanos,
}

struct Entry<K> {
    hash: u64,
    /// Which keeping this is: the FIFO's record of it carries the same stamp.
    stamp: u64,
    key: K,
    kept: Kept,
}

/// One registry shard's negative entries, at most `cap` of them.
pub(crate) struct NegativeEntries<K> {
    table: HashTable<Entry<K>>,
    /// `(hash, stamp)` of each keeping, oldest first; some may be stale.
    order: VecDeque<(u64, u64)>,
    next_stamp: u64,
    cap: usize,
}

impl<K> NegativeEntries<K> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            table: HashTable::new(),
            order: VecDeque::new(),
            next_stamp: 0,
            cap: cap.max(1),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.table = HashTable::new();
        self.order = VecDeque::new();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

impl<K: Eq> NegativeEntries<K> {
    /// What is kept for `key`, if it has not expired by `now` (an expired one is dropped).
    pub(crate) fn get<Q>(&mut self, hash: u64, key: &Q, now: Nanos) -> Option<&Kept>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let Ok(found) = self.table.find_entry(hash, |e| key.equivalent(&e.key)) else {
            return None;
        };
        if now >= found.get().kept.until {
            found.remove();
            return None;
        }
        self.table
            .find(hash, |e| key.equivalent(&e.key))
            .map(|e| &e.kept)
    }

    /// Forgets `key` (invalidated, or loaded with a value).
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q)
    where
        Q: Equivalent<K> + ?Sized,
    {
        if let Ok(found) = self.table.find_entry(hash, |e| key.equivalent(&e.key)) {
            found.remove();
        }
    }

    /// Keeps `kept` for `key` (replacing what was kept), first dropping what expired by
    /// `now`, then the oldest entries past the cap.
    pub(crate) fn insert(&mut self, hash: u64, key: K, kept: Kept, now: Nanos) {
        self.drop_expired(now);
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        match self.table.find_entry(hash, |e| e.key == key) {
            Ok(mut found) => {
                let entry = found.get_mut();
                entry.stamp = stamp;
                entry.kept = kept;
            }
            Err(absent) => {
                let table = absent.into_table();
                table.insert_unique(
                    hash,
                    Entry {
                        hash,
                        stamp,
                        key,
                        kept,
                    },
                    |e| e.hash,
                );
            }
        }
        self.order.push_back((hash, stamp));
        while self.table.len() > self.cap {
            self.pop_oldest(None);
        }
        if self.order.len() > 2 * self.table.len() + 16 {
            self.compact();
        }
    }

    /// Drops the entries at the front of the FIFO that expired by `now`.
    fn drop_expired(&mut self, now: Nanos) {
        while !self.order.is_empty() {
            if !self.pop_oldest(Some(now)) {
                break;
            }
        }
    }

    /// Pops the FIFO's front: a stale record, or the oldest live entry (with `expired_by`,
    /// only if it expired by then). Whether something was popped.
    fn pop_oldest(&mut self, expired_by: Option<Nanos>) -> bool {
        let Some(&(hash, stamp)) = self.order.front() else {
            return false;
        };
        if let Ok(found) = self.table.find_entry(hash, |e| e.stamp == stamp) {
            if expired_by.is_some_and(|now| now < found.get().kept.until) {
                return false;
            }
            found.remove();
        }
        self.order.pop_front();
        true
    }

    /// Drops the FIFO's stale records, keeping the live ones in order.
    fn compact(&mut self) {
        let table = &self.table;
        self.order
            .retain(|&(hash, stamp)| table.find(hash, |e| e.stamp == stamp).is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::{Kept, NegativeEntries};

    fn absent(until: u64) -> Kept {
        Kept { error: None, until }
    }

    #[test]
    fn entries_expire_and_the_oldest_go_past_the_cap() {
        let mut n = NegativeEntries::new(3);
        for k in 0..3u64 {
            n.insert(k, k, absent(100 + k), 0);
        }
        assert!(n.get(0, &0, 50).is_some());
        n.insert(3, 3, absent(200), 0); // over the cap: 0, the oldest, goes
        assert_eq!(n.len(), 3);
        assert!(n.get(0, &0, 50).is_none());
        // At 102, 1 and 2 have expired: the next insert drops them from the front.
        n.insert(4, 4, absent(300), 102);
        assert_eq!(n.len(), 2);
        assert!(n.get(4, &4, 102).is_some() && n.get(3, &3, 102).is_some());
    }

    #[test]
    fn a_replaced_or_removed_entry_leaves_no_live_trace_and_the_fifo_stays_small() {
        let mut n = NegativeEntries::new(1_000);
        for round in 0..10_000u64 {
            n.insert(7, 7u64, absent(round + 1_000_000), round);
            if round % 2 == 0 {
                n.remove(7, &7);
            }
        }
        assert!(n.len() <= 1);
        assert!(
            n.order.len() <= 2 * n.len() + 17,
            "{} stamps",
            n.order.len()
        );
        // An expired entry is never returned.
        n.insert(1, 1, absent(10), 0);
        assert!(n.get(1, &1, 10).is_none());
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_within_the_cap() {
        let mut n = NegativeEntries::new(100);
        for k in 0..200_000u64 {
            n.insert(
                k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                k,
                absent(u64::MAX),
                k,
            );
        }
        assert_eq!(n.len(), 100);
        assert!(n.order.len() <= 2 * 100 + 17);
    }
}
