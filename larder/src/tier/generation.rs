//! Write generations of a tier's keys in this process, so that a load does not write its
//! value to L2 over a newer write or an invalidation that happened while it ran (the L1 side
//! of that rule is L1's own load protocol).
//!
//! Keys share 64 counters by hash: a write to one key can make a concurrent load of another
//! skip its L2 write, which costs a later miss, never a stale value.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

const SLOTS: usize = 64;

#[derive(Debug)]
pub(super) struct Generations {
    slots: [AtomicU64; SLOTS],
    hasher: std::collections::hash_map::RandomState,
}

impl Default for Generations {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
            hasher: Default::default(),
        }
    }
}

impl Generations {
    fn slot(&self, entry: &str) -> &AtomicU64 {
        &self.slots[(self.hasher.hash_one(entry) % SLOTS as u64) as usize]
    }

    /// The generation of `entry` now.
    pub(super) fn current(&self, entry: &str) -> u64 {
        self.slot(entry).load(Ordering::Acquire)
    }

    /// `entry` was written or invalidated: loads of it that began before must not write L2.
    pub(super) fn bump(&self, entry: &str) {
        self.slot(entry).fetch_add(1, Ordering::AcqRel);
    }

    /// Every key was invalidated (a clear, a tag, a reconnect).
    pub(super) fn bump_all(&self) {
        for slot in &self.slots {
            slot.fetch_add(1, Ordering::AcqRel);
        }
    }
}
