//! S3-FIFO's ghost queue: the fingerprints of keys recently evicted from the small queue, so a
//! key that comes back soon after is offered to the main queue.
//!
//! Instead of a FIFO of fingerprints beside a set, each fingerprint carries a stamp of its last
//! eviction: it is in the ghost while fewer than `capacity` evictions have happened since. The
//! fingerprints live in a set-associative table: cache-line buckets of [`WAYS`] 4-byte slots,
//! about 1.1 slots per member (4.5 bytes per entry of the cache), and a new fingerprint takes
//! its bucket's oldest slot. An eviction or a lookup is one bucket's scan, with no probing, no
//! sweeps and no rehashing; a bucket that overflows with recent fingerprints forgets its oldest
//! one a little early. At that load about nine in ten of the last `capacity` evictions are
//! remembered, the oldest tenth partly forgotten: the paper's ghost holds 90% of the cache,
//! and the traces' hit ratios did not move from a ghost of two slots per member (which cost
//! 16 bytes per entry more, rounded to powers of two).
//!
//! A slot is 16 bits of fingerprint and a 16-bit stamp. A false positive (one in 4,096 lookups
//! at most: 16 slots of 65,536 fingerprints) merely offers a key to main's door. Stamps count
//! evictions in units of `2^shift`, the shift chosen so that a ghost's window spans at most an
//! eighth of the stamps' range: exact up to 8,192 slots, and rounded to a few evictions above.

/// Slots per bucket: one 64-byte cache line.
const WAYS: usize = 16;

/// The stamps a window may span at most: an eighth of the 16-bit range, so a slot left alone
/// long enough to wrap around (its bucket takes no eviction for seven windows) is rare.
const WINDOW_STAMPS: usize = 1 << 13;

/// Fingerprints and their stamps, as two arrays so that a scan compares sixteen lanes at once.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    fps: [u16; WAYS],
    stamps: [u16; WAYS],
}

#[derive(Debug, Default)]
pub(crate) struct Ghost {
    buckets: Vec<Bucket>,
    /// Evictions remembered so far (wrapping).
    sequence: u64,
    /// A stamp is `sequence >> shift`, truncated to 16 bits.
    shift: u32,
    /// The capacity the ghost last saw, for `contains`.
    capacity: usize,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bucket")
    }
}

/// The fingerprint: the hash's low 16 bits.
#[inline]
fn fingerprint(hash: u64) -> u16 {
    hash as u16
}

impl Ghost {
    /// The bucket of `hash`: the high half of the whole hash times an odd constant, scaled to
    /// the bucket count (no power of two needed). Not a plain slice of the hash: every key of
    /// a shard shares the bits that chose the shard (32 and up), and a slice that included
    /// them would reach only a fraction of a large ghost's buckets.
    #[inline]
    fn bucket(&self, hash: u64) -> usize {
        let bits = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        ((bits * self.buckets.len() as u64) >> 32) as usize
    }

    #[inline]
    fn stamp(&self, sequence: u64) -> u16 {
        (sequence >> self.shift) as u16
    }

    /// The window in stamps: `capacity` evictions, rounded up.
    #[inline]
    fn window(&self) -> u16 {
        let stamps = self.capacity.div_ceil(1 << self.shift);
        u16::try_from(stamps).unwrap_or(u16::MAX)
    }

    pub(crate) fn contains(&self, hash: u64) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let fp = fingerprint(hash);
        let (now, window) = (self.stamp(self.sequence), self.window());
        let bucket = &self.buckets[self.bucket(hash)];
        // No early exit: sixteen lanes compared at once beat a branch per slot.
        let mut found = false;
        for j in 0..WAYS {
            found |= bucket.fps[j] == fp && now.wrapping_sub(bucket.stamps[j]) < window;
        }
        found
    }

    /// Remembers `hash` as the latest of the last `capacity` evictions.
    pub(crate) fn insert(&mut self, hash: u64, capacity: usize) {
        self.capacity = capacity;
        if capacity == 0 {
            return;
        }
        if self.buckets.len() * WAYS < capacity {
            self.grow(capacity);
        }
        self.sequence = self.sequence.wrapping_add(1);
        let (fp, now) = (fingerprint(hash), self.stamp(self.sequence));
        let i = self.bucket(hash);
        self.buckets[i].put(fp, now);
    }

    /// Resizes to 1.125 slots per member of a ghost of `capacity` (so the next resize waits
    /// for the capacity to grow by an eighth), starting afresh: a member's bucket comes
    /// from hash bits the ghost does not keep. A ghost grows at the shard's first eviction
    /// (empty then) and after that only if a weighted shard comes to hold an eighth more
    /// entries, so forgetting at a resize costs a few second chances once.
    #[cold]
    fn grow(&mut self, capacity: usize) {
        let buckets = (capacity * 9 / 8).div_ceil(WAYS).max(1);
        let slots = buckets * WAYS;
        self.shift = slots
            .div_ceil(WINDOW_STAMPS)
            .next_power_of_two()
            .trailing_zeros();
        // Empty slots: a stamp half the range old, outside any window until it wraps.
        let ancient = self.stamp(self.sequence).wrapping_sub(0x8000);
        self.buckets = vec![
            Bucket {
                fps: [0; WAYS],
                stamps: [ancient; WAYS],
            };
            buckets
        ];
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

impl Bucket {
    /// Puts (`fp`, `now`) in the slot already holding `fp`, else in the oldest: an age per
    /// lane (the maximum for `fp`'s own slot), the largest, then its first lane. (Offsetting
    /// the ages into `i16`, for SSE2's signed maximum, and a lane mask measured slower.)
    #[inline]
    fn put(&mut self, fp: u16, now: u16) {
        let mut ages = [0u16; WAYS];
        // Indexed: the zipped iterators measured 6% more instructions per churning insert.
        #[allow(clippy::needless_range_loop)]
        for j in 0..WAYS {
            ages[j] = if self.fps[j] == fp {
                u16::MAX
            } else {
                now.wrapping_sub(self.stamps[j])
            };
        }
        let oldest = ages.iter().copied().fold(0, u16::max);
        let pick = ages.iter().position(|&a| a == oldest).unwrap_or(0);
        self.fps[pick] = fp;
        self.stamps[pick] = now;
    }
}

#[cfg(test)]
mod tests {
    use super::Ghost;

    /// Spreads `i` over all 64 bits, as a hasher would.
    fn h(i: u64) -> u64 {
        i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (i << 40)
    }

    #[test]
    fn remembers_the_last_capacity_evictions() {
        let mut g = Ghost::default();
        for i in 1..=10u64 {
            g.insert(h(i), 4);
        }
        assert!((7..=10).all(|i| g.contains(h(i))));
        assert!((1..=6).all(|i| !g.contains(h(i))));
        g.insert(h(3), 4); // evicted again: recent again
        assert!(g.contains(h(3)));
    }

    #[test]
    fn a_grown_ghost_remembers_the_last_capacity_evictions() {
        let mut g = Ghost::default();
        for i in 1..=100u64 {
            g.insert(h(i), 100);
        }
        // 100 members in 8 buckets of 16: a bucket that overflows forgets its oldest early.
        let kept = (1..=100).filter(|&i| g.contains(h(i))).count();
        assert!(kept >= 94, "{kept} of 100");
        assert!(
            (95..=100).all(|i| g.contains(h(i))),
            "the newest are all kept"
        );
        // The ghost grows from 100 members to 10,000, starting afresh.
        for i in 0..20_000u64 {
            g.insert(h(i), 10_000);
        }
        let recent = (10_000..20_000u64).filter(|&i| g.contains(h(i))).count();
        let old = (0..9_000u64).filter(|&i| g.contains(h(i))).count();
        assert!(recent >= 8_800, "{recent} of the last 10,000 remembered");
        assert!(old <= 20, "{old} of the older ones still remembered");
    }

    #[test]
    fn one_shard_of_many_still_reaches_every_bucket() {
        // The keys of one shard of 32 share hash bits 32..37 (the shard's index).
        let mut g = Ghost::default();
        let n = 100_000u64;
        let shard = |i: u64| (h(i) & !(0x1F << 32)) | (5 << 32);
        for i in 0..3 * n {
            g.insert(shard(i), n as usize);
        }
        let recent = (2 * n..3 * n).filter(|&i| g.contains(shard(i))).count();
        assert!(
            recent as u64 >= n * 88 / 100,
            "{recent} of the last {n} remembered"
        );
    }

    #[test]
    fn a_large_ghost_counts_in_coarser_stamps() {
        let mut g = Ghost::default();
        let n = 100_000u64;
        for i in 0..3 * n {
            g.insert(h(i), n as usize);
        }
        assert!(g.shift > 0);
        let recent = (2 * n..3 * n).filter(|&i| g.contains(h(i))).count();
        let old = (0..2 * n - 100).filter(|&i| g.contains(h(i))).count();
        assert!(
            recent as u64 >= n * 88 / 100,
            "{recent} of the last {n} remembered"
        );
        assert!(old <= 200, "{old} of the older ones still remembered");
    }
}
