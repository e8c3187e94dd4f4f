//! S3-FIFO's ghost queue: the fingerprints of keys recently evicted from the small queue, so a
//! key that comes back soon after is offered to the main queue.
//!
//! Only 32-bit fingerprints are kept (a false positive merely offers a key to main's door).
//! Instead of a FIFO of fingerprints beside a set, each fingerprint carries the sequence
//! number of its last eviction: it is in the ghost while fewer than `capacity` evictions have
//! happened since. Expired fingerprints are swept out in one pass whenever they could make up
//! half the set, so an eviction costs one probe, amortised.

use hashbrown::HashTable;

#[derive(Debug, Default)]
pub(crate) struct Ghost {
    /// (fingerprint, sequence number of its latest eviction): 8 bytes a member. Sequence
    /// numbers wrap; a member so old that it looks recent again merely offers a key to
    /// main's door once more.
    members: HashTable<(u32, u32)>,
    /// Evictions remembered so far (wrapping).
    sequence: u32,
    /// The capacity the ghost last saw, for `contains`.
    capacity: u32,
}

fn fingerprint(hash: u64) -> u32 {
    // The low bits: the shard index and hashbrown's control byte come from the high ones.
    hash as u32
}

fn spread(fp: u32) -> u64 {
    u64::from(fp).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Ghost {
    pub(crate) fn contains(&self, hash: u64) -> bool {
        let fp = fingerprint(hash);
        self.members
            .find(spread(fp), |&(f, _)| f == fp)
            .is_some_and(|&(_, seq)| self.is_recent(seq))
    }

    fn is_recent(&self, seq: u32) -> bool {
        self.sequence.wrapping_sub(seq) <= self.capacity
    }

    /// Remembers `hash` as the latest of the last `capacity` evictions.
    pub(crate) fn insert(&mut self, hash: u64, capacity: usize) {
        self.capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        if capacity == 0 {
            return;
        }
        self.sequence = self.sequence.wrapping_add(1);
        let (fp, seq) = (fingerprint(hash), self.sequence);
        match self.members.find_mut(spread(fp), |&(f, _)| f == fp) {
            Some(member) => member.1 = seq,
            None => {
                self.members
                    .insert_unique(spread(fp), (fp, seq), |&(f, _)| spread(f));
            }
        }
        if self.members.len() > 2 * capacity {
            let (now, keep) = (self.sequence, self.capacity);
            self.members
                .retain(|&mut (_, s)| now.wrapping_sub(s) <= keep);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.members = HashTable::new();
        self.sequence = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Ghost;

    #[test]
    fn remembers_the_last_capacity_evictions() {
        let mut g = Ghost::default();
        for h in 1..=10u64 {
            g.insert(h, 4);
        }
        assert!((7..=10).all(|h| g.contains(h)));
        assert!((1..=5).all(|h| !g.contains(h)));
        g.insert(3, 4); // evicted again: recent again
        assert!(g.contains(3));
        assert!(g.members.len() <= 8, "old fingerprints are swept");
    }
}
