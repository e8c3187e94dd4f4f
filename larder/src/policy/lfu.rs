//! Exact LFU: evict the least frequently used entry; among equals, the least recently used.
//!
//! Entries sit in one list per use count, most recent at the back; the counts are kept in a
//! `BTreeMap` so the smallest is found in O(log distinct counts).

use std::collections::BTreeMap;

use super::list::List;
use super::Victim;
use crate::engine::{Idx, ListId, Slab};

#[derive(Debug, Default)]
pub(crate) struct Lfu {
    buckets: BTreeMap<u32, List>,
}

impl Lfu {
    pub(crate) fn admit<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        slab.get(idx).set_freq(1);
        self.bucket(1).push_back(slab, idx);
    }

    /// A read or a re-insert counts as one use.
    pub(crate) fn on_access<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let f = slab.get(idx).freq();
        self.unlink(slab, idx);
        let f = f.saturating_add(1);
        slab.get(idx).set_freq(f);
        self.bucket(f).push_back(slab, idx);
    }

    pub(crate) fn reweigh<K, V>(&mut self, slab: &Slab<K, V>, idx: Idx, old: u32, new: u32) {
        let f = slab.get(idx).freq();
        self.bucket(f).reweigh(old, new);
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        let f = slab.get(idx).freq();
        let bucket = self.bucket(f);
        bucket.unlink(slab, idx);
        if bucket.is_empty() {
            self.buckets.remove(&f);
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
    }

    fn bucket(&mut self, freq: u32) -> &mut List {
        self.buckets
            .entry(freq)
            .or_insert_with(|| List::new(ListId::Main))
    }
}
