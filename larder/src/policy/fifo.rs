//! FIFO and LRU: one list, oldest at the front. They differ only in whether an access moves
//! the entry to the back, so they share this type.

use super::Victim;
use crate::slab::{Idx, List, ListId, Slab};

#[derive(Debug)]
pub(crate) struct Queue {
    list: List,
    /// LRU when true (reads and re-inserts refresh recency), FIFO when false.
    refresh_on_access: bool,
}

impl Queue {
    pub(crate) fn fifo() -> Self {
        Self {
            list: List::new(ListId::Main),
            refresh_on_access: false,
        }
    }

    pub(crate) fn lru() -> Self {
        Self {
            list: List::new(ListId::Main),
            refresh_on_access: true,
        }
    }

    pub(crate) fn admit<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        self.list.push_back(slab, idx);
    }

    pub(crate) fn on_read<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        if self.refresh_on_access {
            self.list.move_to_back(slab, idx);
        }
    }

    /// A re-insert moves the key to the back under both (cachetools' LRU and FIFO do).
    pub(crate) fn relink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        self.list.push_back(slab, idx);
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        self.list.unlink(slab, idx);
    }

    pub(crate) fn evict<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<Victim> {
        self.list.pop_front(slab).map(Victim::plain)
    }

    pub(crate) fn reset(&mut self) {
        self.list.reset();
    }
}
