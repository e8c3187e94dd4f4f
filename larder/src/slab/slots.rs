//! The shard's entry storage: a vector of slots with a free list, so entries have stable
//! `u32` indices that the hash table, the policy lists and the timers refer to.

use super::entry::{Entry, Idx, NIL};

#[derive(Debug)]
enum Slot<K, V> {
    Full(Entry<K, V>),
    Empty { next_free: Idx, generation: u16 },
}

#[derive(Debug)]
pub(crate) struct Slab<K, V> {
    slots: Vec<Slot<K, V>>,
    free_head: Idx,
    len: usize,
}

impl<K, V> Slab<K, V> {
    /// A slab with room for `n` entries before it grows.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            slots: Vec::with_capacity(n),
            free_head: NIL,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Stores `entry` and returns its index. Reused slots hand on their generation, bumped, so
    /// a timer left for the slot's previous occupant no longer matches. `limit` is how many
    /// entries the shard can hold: growth stops there rather than doubling past it.
    pub(crate) fn insert(&mut self, mut entry: Entry<K, V>, limit: usize) -> Idx {
        self.len += 1;
        if self.free_head == NIL {
            if self.slots.len() == self.slots.capacity() {
                let room = limit.saturating_sub(self.slots.len());
                let grow = self.slots.len().max(4).min(room).max(1);
                self.slots.reserve_exact(grow);
            }
            let idx = Idx::try_from(self.slots.len()).unwrap_or(NIL);
            assert!(idx != NIL, "a shard holds at most u32::MAX - 1 entries");
            self.slots.push(Slot::Full(entry));
            return idx;
        }
        let idx = self.free_head;
        let slot = &mut self.slots[idx as usize];
        let Slot::Empty {
            next_free,
            generation,
        } = *slot
        else {
            unreachable!("the free list only links empty slots")
        };
        self.free_head = next_free;
        entry.generation = generation.wrapping_add(1);
        *slot = Slot::Full(entry);
        idx
    }

    pub(crate) fn remove(&mut self, idx: Idx) -> Entry<K, V> {
        let slot = &mut self.slots[idx as usize];
        let generation = match slot {
            Slot::Full(e) => e.generation,
            Slot::Empty { .. } => unreachable!("removing an empty slot"),
        };
        let old = std::mem::replace(
            slot,
            Slot::Empty {
                next_free: self.free_head,
                generation,
            },
        );
        self.free_head = idx;
        self.len -= 1;
        match old {
            Slot::Full(e) => e,
            Slot::Empty { .. } => unreachable!("checked above"),
        }
    }

    #[inline]
    pub(crate) fn get(&self, idx: Idx) -> &Entry<K, V> {
        match &self.slots[idx as usize] {
            Slot::Full(e) => e,
            Slot::Empty { .. } => unreachable!("index {idx} points at an empty slot"),
        }
    }

    pub(crate) fn get_mut(&mut self, idx: Idx) -> &mut Entry<K, V> {
        match &mut self.slots[idx as usize] {
            Slot::Full(e) => e,
            Slot::Empty { .. } => unreachable!("index {idx} points at an empty slot"),
        }
    }

    /// The entry at `idx` if the slot is occupied by the given generation.
    pub(crate) fn get_live(&self, idx: Idx, generation: u16) -> Option<&Entry<K, V>> {
        match self.slots.get(idx as usize) {
            Some(Slot::Full(e)) if e.generation == generation => Some(e),
            _ => None,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (Idx, &Entry<K, V>)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Full(e) => Some((i as Idx, e)),
            Slot::Empty { .. } => None,
        })
    }

    /// Takes every entry out, leaving the slab empty, with its memory released and room for
    /// `keep_room` entries allocated anew.
    pub(crate) fn drain(&mut self, keep_room: usize) -> impl Iterator<Item = Entry<K, V>> {
        self.free_head = NIL;
        self.len = 0;
        std::mem::replace(&mut self.slots, Vec::with_capacity(keep_room))
            .into_iter()
            .filter_map(|s| match s {
                Slot::Full(e) => Some(e),
                Slot::Empty { .. } => None,
            })
    }
}
