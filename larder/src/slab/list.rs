//! An intrusive doubly linked list threaded through the slab's entries: O(1) push, unlink
//! and pop with no allocation, since the links live in the entries themselves.

use super::entry::{Idx, ListId, NIL};
use super::slots::Slab;

#[derive(Debug)]
pub(crate) struct List {
    id: ListId,
    head: Idx,
    tail: Idx,
    weight: u64,
}

impl List {
    pub(crate) fn new(id: ListId) -> Self {
        Self {
            id,
            head: NIL,
            tail: NIL,
            weight: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    pub(crate) fn front(&self) -> Option<Idx> {
        (self.head != NIL).then_some(self.head)
    }

    /// Appends `idx`, which must not be on any list.
    pub(crate) fn push_back<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let old_tail = self.tail;
        let entry = slab.get_mut(idx);
        entry.prev = old_tail;
        entry.next = NIL;
        entry.list = self.id;
        self.weight += u64::from(entry.weight);
        if old_tail == NIL {
            self.head = idx;
        } else {
            slab.get_mut(old_tail).next = idx;
        }
        self.tail = idx;
    }

    /// Takes `idx`, which must be on this list, off it.
    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let entry = slab.get_mut(idx);
        debug_assert_eq!(entry.list, self.id);
        let (prev, next) = (entry.prev, entry.next);
        entry.prev = NIL;
        entry.next = NIL;
        self.weight -= u64::from(entry.weight);
        if prev == NIL {
            self.head = next;
        } else {
            slab.get_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            slab.get_mut(next).prev = prev;
        }
    }

    pub(crate) fn pop_front<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<Idx> {
        let idx = self.front()?;
        self.unlink(slab, idx);
        Some(idx)
    }

    /// Moves `idx` (on this list) to the back: the "most recent" end.
    pub(crate) fn move_to_back<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        if self.tail != idx {
            self.unlink(slab, idx);
            self.push_back(slab, idx);
        }
    }

    /// Empties the list without touching the (already drained) entries.
    pub(crate) fn reset(&mut self) {
        *self = Self::new(self.id);
    }
}
