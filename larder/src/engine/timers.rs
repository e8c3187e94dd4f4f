//! Each shard's expiry queue: a min-heap of (deadline, slot, generation).
//!
//! Write operations pop the due timers, so expired entries are reclaimed even if nobody reads
//! them. Timers are never cancelled: one whose slot was freed or re-filled is recognised as
//! stale by its generation and skipped. A time-to-idle entry that was read since its timer was
//! set is simply rescheduled when the timer comes due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::expiry::{NEVER, Nanos};
use crate::slab::Idx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Nanos,
    idx: Idx,
    generation: u16,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Nanos, idx: Idx, generation: u16) {
        if at != NEVER {
            self.heap.push(Reverse(Timer {
                at,
                idx,
                generation,
            }));
        }
    }

    /// The earliest deadline queued, or `NEVER`.
    pub(crate) fn next(&self) -> Nanos {
        self.heap.peek().map_or(NEVER, |t| t.0.at)
    }

    /// The next timer due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Nanos) -> Option<(Idx, u16)> {
        if self.next() > now {
            return None;
        }
        self.heap.pop().map(|Reverse(t)| (t.idx, t.generation))
    }

    /// Keeps only the timers for which `live` holds.
    pub(crate) fn retain(&mut self, mut live: impl FnMut(Idx, u16) -> bool) {
        self.heap.retain(|Reverse(t)| live(t.idx, t.generation));
    }

    pub(crate) fn clear(&mut self) {
        self.heap = BinaryHeap::new();
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Idx, u16)> + '_ {
        self.heap.iter().map(|Reverse(t)| (t.idx, t.generation))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
