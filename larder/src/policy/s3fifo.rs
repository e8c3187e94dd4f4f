//! S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023), with
//! a frequency door in front of the main queue.
//!
//! New keys enter a small FIFO queue holding 3% of the capacity (the paper's 10%, and 5%,
//! measured worse on our traces once the door below guards main: ADR 0013); keys read again while
//! there move on to the main FIFO queue, the rest are evicted and their fingerprints kept in
//! a ghost queue. Main is a FIFO with a second chance: an entry with a use count above zero
//! is put back with its count decremented. A hit only bumps a saturating counter, so reads
//! need no exclusive lock.
//!
//! The door: in the paper, a key that returns while its fingerprint is in the ghost goes
//! straight to main. Under loops and scans larger than the cache that churns main, and every
//! key misses. Here a returning key enters main only if a count-min sketch of requests
//! estimates it more frequent than main's next victim (TinyLFU's admission test, Einziger et
//! al. 2017); otherwise it starts over in the small queue. Unread keys leaving the small
//! queue fill main while it is below its share, and past that face the same test instead of
//! being evicted outright. Main then keeps a stable, useful set where plain S3-FIFO and LRU
//! would hit nothing. The sketch is fed on the write path only (see `sketch.rs`), so the hit
//! path is unchanged. Measurements and the alternatives tried: `docs/adr/0005-*.md`.
//!
//! Both tests demand a margin: the newcomer must be estimated at least [`DOOR_MARGIN`] + 1
//! above the resident. Main's next victim is the resident not read since the last rotation,
//! whose latest read the sketch has not been told of yet, while the newcomer was counted the
//! moment it missed; on loops and zig-zags, where every key is as frequent as the next, a
//! bare "strictly more" therefore kept swapping residents for newcomers (`docs/adr/0013-*.md`).

use super::Victim;
use super::ghost::Ghost;
use super::sketch::Sketch;
use crate::slab::{Idx, List, ListId, Slab};

/// Use counts saturate here (two bits, as in the paper).
pub(crate) const MAX_FREQ: u8 = 3;

/// A small-queue entry moves to main when it was read more than this many times while there.
const PROMOTE_ABOVE: u8 = 0;

/// The small queue's share of the capacity, in percent (tuned on `../shared/traces` with the
/// door's margin in place, `docs/adr/0013-*.md`: loops want it small, sprite larger).
const SMALL_PERCENT: u64 = 3;

/// How much more often than main's next victim a newcomer must be estimated to be asked for
/// to take its place (see the module docs; measured in `docs/adr/0013-*.md`).
const DOOR_MARGIN: u8 = 1;

/// Unless told how many entries to expect, the sketch starts sized for this many and grows
/// with the shard.
const SKETCH_START: u64 = 1024;

#[derive(Debug)]
pub(crate) struct S3Fifo {
    small: List,
    main: List,
    ghost: Ghost,
    /// None for an unbounded cache, which never evicts.
    sketch: Option<Sketch>,
    sketch_entries: u64,
    capacity: u64,
    small_target: u64,
}

impl S3Fifo {
    /// `expected`: how many entries the shard will hold, when known (a shard that counts
    /// entries), so the sketch is sized for them now rather than grown, and rebuilt, as the
    /// shard fills.
    pub(crate) fn new(capacity: u64, expected: Option<u64>) -> Self {
        let sketch_entries = expected.unwrap_or(SKETCH_START).min(capacity);
        Self {
            small: List::new(ListId::Small),
            main: List::new(ListId::Main),
            ghost: Ghost::default(),
            sketch: (capacity != u64::MAX).then(|| Sketch::new(sketch_entries)),
            sketch_entries,
            capacity,
            small_target: (capacity / 100 * SMALL_PERCENT + capacity % 100 * SMALL_PERCENT / 100)
                .max(1),
        }
    }

    pub(crate) fn remembers(&self, hash: u64) -> bool {
        self.ghost.contains(hash)
    }

    /// Puts a new entry on a queue: main if it returns from the ghost and passes the door,
    /// small otherwise. `hash_of` rehashes stored keys (for the sketch).
    pub(crate) fn admit<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        idx: Idx,
        hash: u64,
        seen_recently: bool,
        hash_of: &impl Fn(&K) -> u64,
    ) {
        self.fit_sketch(slab.len() as u64);
        let estimate = self.sketch.as_mut().map(|sketch| sketch.increment(hash));
        slab.get(idx).set_freq(0);
        if seen_recently && self.door_admits(slab, idx, estimate, hash_of) {
            self.main.push_back(slab, idx);
        } else {
            self.small.push_back(slab, idx);
        }
    }

    /// Whether the returning key at `idx` may enter main: freely while main is below its
    /// share, else only if it is asked for more often than main's next victim. `estimate`:
    /// the sketch's, for the key at `idx`, just after its count.
    fn door_admits<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        idx: Idx,
        estimate: Option<u8>,
        hash_of: &impl Fn(&K) -> u64,
    ) -> bool {
        let main_share = self.capacity.saturating_sub(self.small_target);
        if self.main.weight() + u64::from(slab.get(idx).weight) <= main_share {
            return true;
        }
        let Some(victim) = self.next_main_victim(slab, hash_of) else {
            return true;
        };
        let Some(sketch) = &self.sketch else {
            return true;
        };
        // By a margin: on a tie or near it the resident stays, which keeps main stable under
        // loops.
        estimate.unwrap_or(0)
            > sketch
                .estimate(hash_of(&slab.get(victim).key))
                .saturating_add(DOOR_MARGIN)
    }

    /// Main's next victim (with its key's hash), if the entry at `idx` (off every list, its
    /// key's hash `hash`) is estimated more frequent.
    fn door_prefers<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash: u64,
        hash_of: &impl Fn(&K) -> u64,
    ) -> Option<(Idx, u64)> {
        let candidate = self.sketch.as_ref()?.estimate(hash);
        // A key asked for once (this time) is presumed to lose: the common case of a
        // one-hit wonder then costs no search for main's victim.
        if candidate <= 1 {
            return None;
        }
        let victim = self.next_main_victim(slab, hash_of)?;
        let victim_hash = hash_of(&slab.get(victim).key);
        let resident = self.sketch.as_ref()?.estimate(victim_hash);
        (candidate > resident.saturating_add(DOOR_MARGIN)).then_some((victim, victim_hash))
    }

    /// Gives second chances at main's front (as eviction would) until the front is an entry
    /// with no uses left, and returns it without removing it.
    fn next_main_victim<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash_of: &impl Fn(&K) -> u64,
    ) -> Option<Idx> {
        // Every turn decrements a count, so this ends within MAX_FREQ passes over main.
        loop {
            let idx = self.main.front()?;
            let entry = slab.get(idx);
            let f = entry.freq();
            if f == 0 {
                return Some(idx);
            }
            entry.set_freq(f - 1);
            if let Some(sketch) = &mut self.sketch {
                sketch.increment(hash_of(&entry.key)); // the hit it had, counted now
            }
            self.main.move_to_back(slab, idx);
        }
    }

    /// A re-insert counts as a use; the entry goes back to the end of the queue it was on.
    pub(crate) fn relink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let entry = slab.get(idx);
        entry.bump_saturating(MAX_FREQ);
        let list = entry.list;
        self.list(list).push_back(slab, idx);
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let list = slab.get(idx).list;
        self.list(list).unlink(slab, idx);
    }

    /// Picks the next entry to evict, moving entries between the queues on the way.
    pub(crate) fn evict<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash_of: &impl Fn(&K) -> u64,
    ) -> Option<Victim> {
        loop {
            if self.small.weight() >= self.small_target || self.main.is_empty() {
                let Some(idx) = self.small.pop_front(slab) else {
                    break;
                };
                let entry = slab.get(idx);
                let f = entry.freq();
                if f > PROMOTE_ABOVE {
                    if let Some(sketch) = &mut self.sketch {
                        let hash = hash_of(&entry.key);
                        for _ in 0..f {
                            sketch.increment(hash);
                        }
                    }
                    entry.set_freq(0);
                    self.main.push_back(slab, idx);
                    continue;
                }
                // While main is below its share it takes unread newcomers too, so a workload
                // with no re-reads inside the window (a loop) still fills it; past that, the
                // door again: an unread newcomer displaces main's next victim only if it is
                // asked for more often (a key that misses on every turn of a loop).
                let main_share = self.capacity.saturating_sub(self.small_target);
                if self.sketch.is_some()
                    && self.main.weight() + u64::from(entry.weight) <= main_share
                {
                    self.main.push_back(slab, idx);
                    continue;
                }
                let hash = hash_of(&entry.key);
                if let Some((victim, victim_hash)) = self.door_prefers(slab, hash, hash_of) {
                    self.main.unlink(slab, victim);
                    self.main.push_back(slab, idx);
                    return Some(Victim {
                        hash: Some(victim_hash),
                        ..Victim::plain(victim)
                    });
                }
                return Some(Victim {
                    idx,
                    to_ghost: true,
                    hash: Some(hash),
                });
            }
            break;
        }
        let idx = self.next_main_victim(slab, hash_of)?;
        self.main.unlink(slab, idx);
        Some(Victim::plain(idx))
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
        if let Some(sketch) = &mut self.sketch {
            sketch.clear();
        }
    }

    /// Doubles the sketch (starting afresh) when the shard outgrows it: weighted caches do
    /// not know their entry count in advance.
    fn fit_sketch(&mut self, entries: u64) {
        if self.sketch.is_some() && entries > self.sketch_entries {
            self.sketch_entries = (self.sketch_entries * 2)
                .max(entries)
                .min(self.capacity.max(entries));
            self.sketch = Some(Sketch::new(self.sketch_entries));
        }
    }

    fn list(&mut self, id: ListId) -> &mut List {
        match id {
            ListId::Small => &mut self.small,
            ListId::Main => &mut self.main,
        }
    }
}
