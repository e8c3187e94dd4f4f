//! One stored entry and the per-entry bookkeeping the policies and expiry share.
//!
//! Kept small on purpose: hits on a large cache are bound by cache misses, so every byte
//! here costs throughput as well as memory. For `u64` keys and values an entry is 40 bytes.
//! Bookkeeping that only some caches need lives beside the slab instead: idle timestamps
//! (time-to-idle caches, see `engine/shard.rs`) and exact use counts (LFU, see
//! `policy/lfu.rs`).

use crate::sync::{AtomicU8, Ordering};

/// A slot index in the shard's slab; `NIL` is "none" in the intrusive lists.
pub(crate) type Idx = u32;
pub(crate) const NIL: Idx = u32::MAX;

/// Which policy list an entry is on (S3-FIFO has two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListId {
    Small,
    Main,
}

#[derive(Debug)]
pub(crate) struct Entry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// When the TTL runs out, in nanoseconds on the cache's clock (`u64::MAX`: never).
    pub(crate) expires_at: u64,
    /// Links of the intrusive doubly linked list the entry is on.
    pub(crate) prev: Idx,
    pub(crate) next: Idx,
    pub(crate) weight: u32,
    /// Bumped whenever the slot's occupant or its deadline changes, so queued timers for an
    /// older occupant are recognised as stale. Wrapping is harmless: a timer is always checked
    /// against the entry's real deadline, so a stale one that matches by chance can only
    /// reschedule itself once more.
    pub(crate) generation: u16,
    /// S3-FIFO's use count, saturating at 3; bumped under the shared lock, so atomic.
    pub(crate) freq: AtomicU8,
    pub(crate) list: ListId,
}

impl<K, V> Entry<K, V> {
    pub(crate) fn new(key: K, value: V, weight: u32, expires_at: u64) -> Self {
        Self {
            key,
            value,
            expires_at,
            prev: NIL,
            next: NIL,
            weight,
            generation: 0,
            freq: AtomicU8::new(0),
            list: ListId::Main,
        }
    }

    #[inline]
    pub(crate) fn freq(&self) -> u8 {
        self.freq.load(Ordering::Relaxed)
    }

    pub(crate) fn set_freq(&self, f: u8) {
        self.freq.store(f, Ordering::Relaxed);
    }

    /// S3-FIFO's hit: count up to `max`. A plain load and store (no read-modify-write), and no
    /// store at all once saturated, so hot keys stop writing to their cache line. A lost
    /// update between racing readers only loses one count, which the policy tolerates.
    #[inline]
    pub(crate) fn bump_saturating(&self, max: u8) {
        let f = self.freq.load(Ordering::Relaxed);
        if f < max {
            self.freq.store(f + 1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_entry_of_two_u64_is_40_bytes() {
        assert_eq!(std::mem::size_of::<super::Entry<u64, u64>>(), 40);
    }
}
