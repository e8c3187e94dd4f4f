//! S3-FIFO's ghost queue: the fingerprints of keys recently evicted from the small queue, so a
//! key that comes back soon after is offered to the main queue.
//!
//! Only 32-bit fingerprints are kept (a false positive merely offers a key to main's door).
//! Instead of a FIFO of fingerprints beside a set, each fingerprint carries the sequence
//! number of its last eviction: it is in the ghost while fewer than `capacity` evictions have
//! happened since. The fingerprints live in a set-associative table: buckets of [`WAYS`]
//! slots, at least two slots per member, and a new fingerprint takes its bucket's oldest slot
//! (an empty or expired one, nearly always). An eviction or a lookup is then one bucket's
//! scan, with no probing, no sweeps and no rehashing; a bucket that overflows with recent
//! fingerprints (rare at that load) forgets its oldest one a little early.

/// Slots per bucket: 64 bytes of (fingerprint, sequence number) pairs.
const WAYS: usize = 8;

type Bucket = [(u32, u32); WAYS];

#[derive(Debug, Default)]
pub(crate) struct Ghost {
    /// (fingerprint, sequence number of its latest eviction), a power-of-two count of
    /// buckets. Sequence numbers wrap; a member so old that it looks recent again merely
    /// offers a key to main's door once more. An unused slot holds (0, 0), the oldest there
    /// is until the sequence wraps.
    buckets: Vec<Bucket>,
    /// Evictions remembered so far (wrapping).
    sequence: u32,
    /// The capacity the ghost last saw, for `contains`.
    capacity: u32,
}

fn fingerprint(hash: u64) -> u32 {
    // The low bits: the shard index and hashbrown's control byte come from the high ones.
    hash as u32
}

impl Ghost {
    /// The bucket of `fp`: the high half of its product with an odd constant, masked.
    #[inline]
    fn bucket(&self, fp: u32) -> usize {
        let spread = u64::from(fp).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        spread as usize & (self.buckets.len() - 1)
    }

    pub(crate) fn contains(&self, hash: u64) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let fp = fingerprint(hash);
        let (now, keep) = (self.sequence, self.capacity);
        self.buckets[self.bucket(fp)]
            .iter()
            .any(|&(f, seq)| f == fp && now.wrapping_sub(seq) <= keep)
    }

    /// Remembers `hash` as the latest of the last `capacity` evictions.
    pub(crate) fn insert(&mut self, hash: u64, capacity: usize) {
        self.capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        if capacity == 0 {
            return;
        }
        if self.buckets.len() * WAYS < 2 * capacity {
            self.grow(capacity);
        }
        self.sequence = self.sequence.wrapping_add(1);
        let (fp, now) = (fingerprint(hash), self.sequence);
        let i = self.bucket(fp);
        let bucket = &mut self.buckets[i];
        // The slot already holding `fp`, else the oldest: a fixed scan with no early exit,
        // which compiles to straight-line code.
        let (mut pick, mut best) = (0, 0);
        for (j, &(f, seq)) in bucket.iter().enumerate() {
            let score = if f == fp {
                u32::MAX
            } else {
                now.wrapping_sub(seq)
            };
            if score > best {
                (pick, best) = (j, score);
            }
        }
        bucket[pick] = (fp, now);
    }

    /// Resizes to at least two slots per member of a ghost of `capacity`, keeping the recent
    /// members (the oldest of a bucket that overflows are dropped).
    #[cold]
    fn grow(&mut self, capacity: usize) {
        let buckets = (2 * capacity).div_ceil(WAYS).next_power_of_two();
        let old = std::mem::replace(&mut self.buckets, vec![[(0, 0); WAYS]; buckets]);
        let (now, keep) = (self.sequence, self.capacity);
        let mut members: Vec<(u32, u32)> = old
            .iter()
            .flatten()
            .copied()
            .filter(|&(_, seq)| seq != 0 && now.wrapping_sub(seq) <= keep)
            .collect();
        // Oldest first, so that each member lands as the newest of its bucket.
        members.sort_unstable_by_key(|&(_, seq)| std::cmp::Reverse(now.wrapping_sub(seq)));
        for (fp, seq) in members {
            let i = self.bucket(fp);
            let bucket = &mut self.buckets[i];
            let slot = bucket
                .iter()
                .enumerate()
                .max_by_key(|&(_, &(_, s))| now.wrapping_sub(s))
                .map_or(0, |(j, _)| j);
            bucket[slot] = (fp, seq);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.buckets = Vec::new();
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
    }

    #[test]
    fn growing_keeps_the_recent_members() {
        let mut g = Ghost::default();
        for h in 1..=100u64 {
            g.insert(h, 100);
        }
        // The ghost grows from 100 members to 10,000: every recent one survives the resize.
        g.insert(1_000, 10_000);
        assert!((2..=100).all(|h| g.contains(h)));
        for h in 0..20_000u64 {
            g.insert(h.wrapping_mul(0x2545_F491_4F6C_DD1D), 10_000);
        }
        let recent = (10_000..20_000u64)
            .filter(|h| g.contains(h.wrapping_mul(0x2545_F491_4F6C_DD1D)))
            .count();
        let old = (0..9_000u64)
            .filter(|h| g.contains(h.wrapping_mul(0x2545_F491_4F6C_DD1D)))
            .count();
        assert!(recent >= 9_900, "{recent} of the last 10,000 remembered");
        assert!(old <= 10, "{old} of the older ones still remembered");
    }
}
