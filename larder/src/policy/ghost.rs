//! S3-FIFO's ghost queue: the fingerprints of keys recently evicted from the small queue, so a
//! key that comes back soon after is admitted straight into the main queue.
//!
//! Only 32-bit fingerprints are kept (a false positive merely admits a key to the main
//! queue), in FIFO order, with a set for O(1) membership: about 10 bytes a fingerprint.

use std::collections::VecDeque;

use hashbrown::HashTable;

#[derive(Debug, Default)]
pub(crate) struct Ghost {
    order: VecDeque<u32>,
    members: HashTable<u32>,
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
        self.members.find(spread(fp), |&f| f == fp).is_some()
    }

    /// Remembers `hash`, forgetting the oldest fingerprints beyond `capacity`.
    pub(crate) fn insert(&mut self, hash: u64, capacity: usize) {
        let fp = fingerprint(hash);
        if capacity == 0 || self.contains(hash) {
            return;
        }
        self.order.push_back(fp);
        self.members.insert_unique(spread(fp), fp, |&f| spread(f));
        while self.order.len() > capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Ok(found) = self.members.find_entry(spread(old), |&f| f == old) {
                found.remove();
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.order = VecDeque::new();
        self.members = HashTable::new();
    }
}
