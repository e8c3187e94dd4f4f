//! S3-FIFO's ghost queue: the fingerprints of keys recently evicted from the small queue, so a
//! key that comes back soon after is admitted straight into the main queue.
//!
//! Only 32-bit fingerprints are kept (a false positive merely admits a key to the main queue),
//! in FIFO order, with a counting set for O(1) membership.

use std::collections::VecDeque;

use hashbrown::HashTable;

#[derive(Debug, Default)]
pub(crate) struct Ghost {
    order: VecDeque<u32>,
    /// fingerprint -> how many times it is in `order`.
    counts: HashTable<(u32, u32)>,
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
        self.counts.find(spread(fp), |&(f, _)| f == fp).is_some()
    }

    /// Remembers `hash`, forgetting the oldest fingerprints beyond `capacity`.
    pub(crate) fn insert(&mut self, hash: u64, capacity: usize) {
        if capacity == 0 {
            return;
        }
        let fp = fingerprint(hash);
        self.order.push_back(fp);
        match self.counts.find_mut(spread(fp), |&(f, _)| f == fp) {
            Some((_, n)) => *n += 1,
            None => {
                self.counts
                    .insert_unique(spread(fp), (fp, 1), |&(f, _)| spread(f));
            }
        }
        while self.order.len() > capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Ok(mut entry) = self.counts.find_entry(spread(old), |&(f, _)| f == old) {
                if entry.get().1 > 1 {
                    entry.get_mut().1 -= 1;
                } else {
                    entry.remove();
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn clear(&mut self) {
        self.order.clear();
        self.counts.clear();
    }
}
