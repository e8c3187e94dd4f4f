//! S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023).
//!
//! New keys enter a small FIFO queue holding ~10% of the capacity; keys read again while
//! there move on to the main FIFO queue, the rest are evicted and their fingerprints kept in
//! a ghost queue. A key that returns while its fingerprint is in the ghost goes straight to
//! main. Main is a FIFO with a second chance: an entry with a use count above zero is put
//! back with its count decremented. A hit only bumps a saturating counter, so reads need no
//! exclusive lock.

use super::Victim;
use super::ghost::Ghost;
use super::list::List;
use crate::engine::{Idx, ListId, Slab};

/// Use counts saturate here (two bits, as in the paper).
pub(crate) const MAX_FREQ: u8 = 3;

/// A small-queue entry moves to main when it was read more than this many times while there.
const PROMOTE_ABOVE: u8 = 0;

/// The small queue's share of the capacity, in percent.
const SMALL_PERCENT: u64 = 10;

#[derive(Debug)]
pub(crate) struct S3Fifo {
    small: List,
    main: List,
    ghost: Ghost,
    small_target: u64,
}

impl S3Fifo {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            small: List::new(ListId::Small),
            main: List::new(ListId::Main),
            ghost: Ghost::default(),
            small_target: (capacity / 100 * SMALL_PERCENT + capacity % 100 * SMALL_PERCENT / 100)
                .max(1),
        }
    }

    pub(crate) fn remembers(&self, hash: u64) -> bool {
        self.ghost.contains(hash)
    }

    pub(crate) fn admit<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx, seen_recently: bool) {
        slab.get(idx).set_freq(0);
        if seen_recently {
            self.main.push_back(slab, idx);
        } else {
            self.small.push_back(slab, idx);
        }
    }

    pub(crate) fn reweigh<K, V>(&mut self, slab: &Slab<K, V>, idx: Idx, old: u32, new: u32) {
        self.list(slab.get(idx).list).reweigh(old, new);
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let list = slab.get(idx).list;
        self.list(list).unlink(slab, idx);
    }

    /// Picks the next entry to evict, moving entries between the queues on the way.
    pub(crate) fn evict<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<Victim> {
        loop {
            if self.small.weight() >= self.small_target || self.main.is_empty() {
                let Some(idx) = self.small.pop_front(slab) else {
                    return self.evict_main(slab);
                };
                let entry = slab.get(idx);
                if entry.freq() > PROMOTE_ABOVE {
                    entry.set_freq(0);
                    self.main.push_back(slab, idx);
                    continue;
                }
                return Some(Victim {
                    idx,
                    to_ghost: true,
                });
            }
            return self.evict_main(slab);
        }
    }

    fn evict_main<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<Victim> {
        // Every turn decrements a count, so this ends within MAX_FREQ passes over main.
        loop {
            let idx = self.main.pop_front(slab)?;
            let entry = slab.get(idx);
            let f = entry.freq();
            if f == 0 {
                return Some(Victim::plain(idx));
            }
            entry.set_freq(f - 1);
            self.main.push_back(slab, idx);
        }
    }

    /// Remembers an entry evicted from the small queue. The ghost holds about as many
    /// fingerprints as the cache holds entries.
    pub(crate) fn remember(&mut self, hash: u64, entries: usize) {
        self.ghost.insert(hash, entries.max(1));
    }

    pub(crate) fn reset(&mut self) {
        self.small.reset();
        self.main.reset();
        self.ghost.clear();
    }

    fn list(&mut self, id: ListId) -> &mut List {
        match id {
            ListId::Small => &mut self.small,
            ListId::Main => &mut self.main,
        }
    }
}
