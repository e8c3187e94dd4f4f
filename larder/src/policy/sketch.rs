//! A count-min sketch of 4-bit counters: how often each key was asked for, approximately,
//! in a small fixed space: one 64-bit word (sixteen counters) per entry, exactly (the word
//! count need not be a power of two: a row's word is picked by multiply-shift, not a mask).
//! Smaller sketches measured worse: their collisions blur exactly the ties the door must see
//! on loops.
//!
//! S3-FIFO's admission door compares a returning key's estimate with that of main's next
//! victim. The sketch is only written under the shard's exclusive lock: misses count at
//! insert time, and hits count later, when main's second-chance rotation consumes them, so
//! a hit itself never touches it. Counts are halved every `40 × capacity` additions (fewer
//! events reach it than a TinyLFU sketch sees, so it ages more slowly; tuned on the traces),
//! so the sketch follows a changing workload.

#[derive(Debug)]
pub(crate) struct Sketch {
    /// Sixteen 4-bit counters per word.
    words: Vec<u64>,
    /// `words.len()`, the range a row's word index is reduced to.
    len: u64,
    additions: usize,
    period: usize,
}

/// Odd multipliers that derive four independent counter positions from one hash. (Packing a
/// key's four counters into one cache line was measured too: 5% faster inserts, but the
/// correlated collisions cost 2 to 6 of the 76 trace points against moka.)
const SEEDS: [u64; 4] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0x85EB_CA77_C2B2_AE63,
];

impl Sketch {
    /// A sketch for a cache of about `capacity` entries: one word each.
    pub(crate) fn new(capacity: u64) -> Self {
        let capacity = usize::try_from(capacity.clamp(64, 1 << 26)).unwrap_or(1 << 26);
        Self {
            words: vec![0; capacity],
            len: capacity as u64,
            additions: 0,
            period: capacity * 40,
        }
    }

    /// Word index and bit shift of the counter of `hash` in the row of `seed`: the word from
    /// bits 28..60 of the product (multiply-shift onto `0..len`), the counter from the top
    /// four, so the two do not depend on the same bits.
    #[inline(always)]
    fn slot(&self, hash: u64, seed: u64) -> (usize, u32) {
        let h = hash.wrapping_mul(seed);
        let word = (((h >> 28) & 0xFFFF_FFFF) * self.len) >> 32;
        (word as usize, ((h >> 60) as u32) * 4)
    }

    /// The four counters' slots. Spelled out rather than mapped over `SEEDS`: `array::map`
    /// was not inlined, and cost an insert more than the counting itself.
    #[inline(always)]
    fn slots(&self, hash: u64) -> [(usize, u32); 4] {
        [
            self.slot(hash, SEEDS[0]),
            self.slot(hash, SEEDS[1]),
            self.slot(hash, SEEDS[2]),
            self.slot(hash, SEEDS[3]),
        ]
    }

    #[inline(always)]
    fn counter(&self, (word, shift): (usize, u32)) -> u8 {
        ((self.words[word] >> shift) & 0xF) as u8
    }

    #[inline]
    fn least(&self, [a, b, c, d]: [(usize, u32); 4]) -> u8 {
        self.counter(a)
            .min(self.counter(b))
            .min(self.counter(c))
            .min(self.counter(d))
    }

    pub(crate) fn estimate(&self, hash: u64) -> u8 {
        self.least(self.slots(hash))
    }

    /// Counts one more request for `hash`, and returns its estimate after the count: one
    /// pass over the four counters where an increment and an estimate would take two.
    pub(crate) fn increment(&mut self, hash: u64) -> u8 {
        // Conservative update: only the counters at the minimum grow. The others already
        // over-count (collisions), and growing them would let a scan of one-hit wonders
        // inflate each other's estimates.
        // Two rows may pick the same counter, so each is re-read before it is bumped: a
        // counter is raised at most once, and never past 15 into its neighbour.
        let slots = self.slots(hash);
        let min = self.least(slots);
        if min < 0xF {
            for slot @ (word, shift) in slots {
                if self.counter(slot) == min {
                    self.words[word] += 1 << shift;
                }
            }
        }
        // Every request counts toward aging, even one whose counters are all saturated, so
        // a sketch full of old counts still ages.
        self.additions += 1;
        if self.additions >= self.period {
            self.age();
            return self.estimate(hash);
        }
        // Only the counters at the minimum grew, each by one (or none, all saturated).
        (min + 1).min(0xF)
    }

    /// Halves every counter.
    fn age(&mut self) {
        for w in &mut self.words {
            *w = (*w >> 1) & 0x7777_7777_7777_7777;
        }
        self.additions /= 2;
    }

    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
        self.additions = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Sketch;

    #[test]
    fn colliding_rows_never_overflow_a_counter() {
        // 200 keys in 1,024 counters: rows collide often. Twelve requests each (2,400, below
        // the aging period of 2,560) must read back as at least 12: a counter bumped twice
        // past 15 would carry into its neighbour (or overflow the word) and fall to 0.
        let mut s = Sketch::new(64);
        let key = |k: u64| k.wrapping_mul(0x2545_F491_4F6C_DD1D);
        for _ in 0..12 {
            for k in 0..200u64 {
                s.increment(key(k));
            }
        }
        for k in 0..200u64 {
            assert!((12..=15).contains(&s.estimate(key(k))), "key {k}");
        }
    }

    #[test]
    fn a_size_that_is_no_power_of_two_spreads_over_every_word() {
        // 100 words, 3,000 requests (below the aging period of 4,000): multiply-shift must
        // reach every word, and only those.
        let mut s = Sketch::new(100);
        assert_eq!(s.words.len(), 100);
        for k in 0..3_000u64 {
            s.increment(k.wrapping_mul(0x2545_F491_4F6C_DD1D));
        }
        assert!(s.words.iter().all(|&w| w != 0));
        assert_eq!(
            s.estimate(7u64.wrapping_mul(0x2545_F491_4F6C_DD1D)).min(1),
            1
        );
    }

    #[test]
    fn estimates_grow_with_increments_and_saturate() {
        let mut s = Sketch::new(1024);
        for i in 1..=5 {
            assert_eq!(s.increment(42), i, "the estimate after the count");
        }
        assert_eq!(s.estimate(42), 5);
        for _ in 0..100 {
            s.increment(42);
        }
        assert_eq!(s.estimate(42), 15);
        assert_eq!(s.increment(42), 15);
    }

    #[test]
    fn aging_halves_counts() {
        let mut s = Sketch::new(64); // ages every 2,560 requests
        for _ in 0..8 {
            s.increment(7);
        }
        assert_eq!(s.estimate(7), 8);
        for _ in 0..2552 {
            s.increment(7); // saturates at 15, then still counts toward aging
        }
        assert_eq!(s.estimate(7), 7, "15 halved");
    }
}
