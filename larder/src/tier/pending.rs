//! Invalidations L2 did not take: a `remove`, `clear` or `invalidate_tag` whose L2 write
//! failed (L2 down, the breaker open). They are kept, bounded, and retried on this tier's
//! next L2 calls; until then they mask L2 for this instance, so that it never reads back a
//! value it removed, even once L2 returns with it.
//!
//! A retried invalidation may also remove what was written since: for a cache, an extra
//! miss, never a stale value.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sync::Mutex;

use crate::Tag;

/// How many failed invalidations are kept; past it they collapse into one `Clear`.
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unsent {
    Delete(String),
    Tag(Tag),
    Clear,
}

#[derive(Debug, Default)]
pub(super) struct Pending {
    ops: Mutex<VecDeque<Unsent>>,
    /// Whether `ops` may be non-empty: the read path checks this and nothing else.
    any: AtomicBool,
}

impl Pending {
    pub(super) fn push(&self, op: Unsent) {
        let mut ops = self.ops.lock();
        if ops.len() >= CAPACITY || op == Unsent::Clear {
            // A clear covers every deletion; past the capacity, one clear stands for them
            // all. It goes first, so that a retry clears before it records the tags again.
            ops.retain(|op| matches!(op, Unsent::Tag(_)));
            ops.push_front(Unsent::Clear);
        } else {
            let covered = matches!(op, Unsent::Delete(_)) && ops.contains(&Unsent::Clear);
            if !covered && !ops.contains(&op) {
                ops.push_back(op);
            }
        }
        self.any.store(true, Ordering::Release);
    }

    pub(super) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    pub(super) fn len(&self) -> usize {
        if self.any() { self.ops.lock().len() } else { 0 }
    }

    /// Whether L2's copy of `entry`, with `tags`, must not be read.
    pub(super) fn masks(&self, entry: &str, tags: &[Tag]) -> bool {
        if !self.any() {
            return false;
        }
        self.ops.lock().iter().any(|op| match op {
            Unsent::Clear => true,
            Unsent::Delete(e) => e == entry,
            Unsent::Tag(t) => tags.contains(t),
        })
    }

    /// Takes every pending invalidation, to retry; failures are pushed back.
    pub(super) fn take(&self) -> Vec<Unsent> {
        let mut ops = self.ops.lock();
        self.any.store(false, Ordering::Release);
        ops.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_what_is_pending_and_collapses_past_its_capacity() {
        let pending = Pending::default();
        assert!(!pending.masks("v1:a", &[]));
        pending.push(Unsent::Delete("v1:a".into()));
        pending.push(Unsent::Tag("red".into()));
        pending.push(Unsent::Delete("v1:a".into()));
        assert_eq!(pending.len(), 2);
        assert!(pending.masks("v1:a", &[]));
        assert!(!pending.masks("v1:b", &[]));
        assert!(pending.masks("v1:b", &["red".into()]));
        for i in 0..CAPACITY {
            pending.push(Unsent::Delete(format!("v1:{i}")));
        }
        // Collapsed into one clear once full; the tag stays; later deletions are covered.
        assert_eq!(pending.take(), [Unsent::Clear, Unsent::Tag("red".into())]);
        assert!(!pending.any());
    }
}
