//! Deterministic key streams: a small PRNG, a key scrambler and a Zipf sampler. Every cache
//! sees exactly the same keys in the same order, since every stream starts from a fixed seed.

/// SplitMix64: a tiny, fast, well-mixed 64-bit generator (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift; the bias is below 2^-32 here).
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The SplitMix64 finaliser: a bijection on `u64`, used to turn ranks `0..n` into keys that
/// look random (so that no cache profits from sequential keys).
#[inline]
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` distinct keys: `mix(0..n)`.
pub(crate) fn keys(n: u64) -> Vec<u64> {
    (0..n).map(mix).collect()
}

/// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)^s`, by binary search
/// over the cumulative distribution (exact, and fast enough to pre-generate streams).
#[derive(Debug)]
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks with exponent `s`.
    pub(crate) fn new(n: u64, s: f64) -> Self {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|rank| {
                total += (rank as f64).powf(-s);
                total
            })
            .collect();
        for p in &mut cdf {
            *p /= total;
        }
        Self { cdf }
    }

    /// One rank drawn with `rng`.
    pub(crate) fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.unit();
        let rank = self.cdf.partition_point(|&p| p <= u);
        rank.min(self.cdf.len().saturating_sub(1)) as u64
    }

    /// A stream of `len` keys (scrambled ranks) drawn from `seed`.
    pub(crate) fn stream(&self, seed: u64, len: usize) -> Vec<u64> {
        let mut rng = Rng::new(seed);
        (0..len).map(|_| mix(self.sample(&mut rng))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_low_ranks_and_stays_in_range() {
        let zipf = Zipf::new(1000, 0.99);
        let mut rng = Rng::new(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500]);
        // rank 0 has probability 1 / H(1000, 0.99) ~ 0.13
        assert!((10_000..16_000).contains(&counts[0]), "{}", counts[0]);
    }

    #[test]
    fn below_is_in_range_and_keys_are_distinct() {
        let mut rng = Rng::new(1);
        assert!((0..10_000).all(|_| rng.below(10) < 10));
        let mut k = keys(10_000);
        k.sort_unstable();
        k.dedup();
        assert_eq!(k.len(), 10_000);
    }
}
