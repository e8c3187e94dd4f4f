//! Exact LFU: evict the least frequently used entry; among equals, the least recently used.
//!
//! Entries sit in one list per use count, most recent at the back; the counts are kept in a
//! `BTreeMap` so the smallest is found in O(log distinct counts). The exact counts live here,
//! indexed by slot, rather than in every entry of every cache.

use std::collections::BTreeMap;

use super::Victim;
use crate::slab::{Idx, List, ListId, Slab};

#[derive(Debug, Default)]
pub(crate) struct Lfu {
    buckets: BTreeMap<u32, List>,
    /// Use count by slot index; meaningful only for occupied slots.
    counts: Vec<u32>,
}

impl Lfu {
    pub(crate) fn admit<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let i = idx as usize;
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] = 1;
        self.bucket(1).push_back(slab, idx);
    }

    /// A read or a re-insert counts as one use.
    pub(crate) fn on_access<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        self.unlink(slab, idx);
        let count = &mut self.counts[idx as usize];
        *count = count.saturating_add(1);
        let count = *count;
        self.bucket(count).push_back(slab, idx);
    }

    /// A re-insert counts as one use.
    pub(crate) fn relink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let count = &mut self.counts[idx as usize];
        *count = count.saturating_add(1);
        let count = *count;
        self.bucket(count).push_back(slab, idx);
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let count = self.counts[idx as usize];
        let bucket = self.bucket(count);
        bucket.unlink(slab, idx);
        if bucket.is_empty() {
            self.buckets.remove(&count);
        }
    }

    pub(crate) fn evict<K, V>(&mut self, slab: &mut Slab<K, V>) -> Option<Victim> {
        let mut first = self.buckets.first_entry()?;
        let idx = first.get_mut().pop_front(slab)?;
        if first.get().is_empty() {
            first.remove();
        }
        Some(Victim::plain(idx))
    }

    pub(crate) fn reset(&mut self) {
        self.buckets.clear();
        self.counts = Vec::new();
    }

    fn bucket(&mut self, count: u32) -> &mut List {
        self.buckets
            .entry(count)
            .or_insert_with(|| List::new(ListId::Main))
    }
}
