//! What every shard needs to know about the cache (hasher, weigher, expiry settings, clock),
//! and how many shards a cache of a given capacity gets.

use std::hash::{BuildHasher, Hash};
use std::num::NonZero;
use std::sync::Arc;

use crate::expiry::{Clock, NEVER, Nanos};
use crate::listener::Listener;
use crate::{Policy, Ttl};

/// Below this capacity a cache has one shard, so its policy is exact cache-wide.
const SINGLE_SHARD_BELOW: u64 = 4096;
/// Default sharding keeps at least this much capacity per shard: smaller shards measured
/// worse hit ratios on the traces (a loop that fits the cache can overflow one shard).
const MIN_SHARD_CAPACITY: u64 = 2048;
/// The most shards a cache may have.
pub(crate) const MAX_SHARDS: usize = 1 << 12;

/// How many shards a cache gets: `requested` (1 to [`MAX_SHARDS`]) or a default for its
/// capacity, rounded up to a power of two, and never more than its capacity in units, so
/// that every shard can hold an entry.
pub(crate) fn shard_count(requested: Option<usize>, capacity: u64, weighted: bool) -> usize {
    let shards = requested
        .unwrap_or_else(|| default_shards(capacity, weighted))
        .next_power_of_two();
    shards.min(power_of_two_at_most(capacity))
}

/// Small and weighted caches get one shard (exact eviction order, and any entry up to the
/// whole capacity fits); large ones four per CPU, keeping [`MIN_SHARD_CAPACITY`] each.
fn default_shards(capacity: u64, weighted: bool) -> usize {
    if weighted || capacity < SINGLE_SHARD_BELOW {
        return 1;
    }
    let cpus = std::thread::available_parallelism().map_or(4, NonZero::get);
    let wanted = (cpus * 4).next_power_of_two().min(MAX_SHARDS);
    wanted.min(power_of_two_at_most(capacity / MIN_SHARD_CAPACITY))
}

/// The largest power of two not above `n`, and at least 1.
fn power_of_two_at_most(n: u64) -> usize {
    let n = usize::try_from(n).unwrap_or(usize::MAX).max(1);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

pub(crate) type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync + 'static>;

pub(crate) struct Settings<K, V, S> {
    pub(crate) hasher: S,
    pub(crate) policy: Policy,
    pub(crate) weigher: Option<Weigher<K, V>>,
    pub(crate) time_to_live: Option<Nanos>,
    pub(crate) jitter: Nanos,
    pub(crate) time_to_idle: Option<Nanos>,
    /// How long an entry is kept, stale, after its TTL or idle time runs out, for the
    /// loading calls to serve while they revalidate it (`stale_while_revalidate`; 0: none).
    pub(crate) grace: Nanos,
    pub(crate) clock: Clock,
    pub(crate) listener: Option<Listener<K, V>>,
}

/// When a newly stored entry's TTL runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// Zero TTL: expired before it is stored.
    Expired,
    /// Never, unless it sits idle.
    Unlimited,
    /// This many nanoseconds (before jitter).
    For(Nanos),
    /// Until this instant: the deadline of the live entry being replaced, kept (a counter's
    /// window). No jitter: it was drawn when the deadline was set.
    Until(Nanos),
}

impl<K, V, S: BuildHasher> Settings<K, V, S> {
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// An entry's weight: the weigher's, but at least 1, so that every entry takes room and
    /// the capacity bounds the number of entries too (a weight of 0 would make entries free,
    /// and never evicted).
    pub(crate) fn weigh(&self, key: &K, value: &V) -> u32 {
        self.weigher.as_ref().map_or(1, |w| w(key, value).max(1))
    }

    pub(crate) fn lifetime(&self, ttl: Ttl) -> Lifetime {
        let nanos = match ttl {
            Ttl::Default => self.time_to_live,
            Ttl::Never => None,
            Ttl::After(d) => Some(crate::expiry::saturating_nanos(d)),
        };
        match nanos {
            None => Lifetime::Unlimited,
            Some(0) => Lifetime::Expired,
            Some(n) => Lifetime::For(n),
        }
    }

    /// The deadline of an entry stored at `now` with this lifetime: `now + ttl + jitter`,
    /// jitter drawn uniformly from `0..=self.jitter` with `random`.
    pub(crate) fn expires_at(&self, lifetime: Lifetime, now: Nanos, random: u64) -> Nanos {
        match lifetime {
            Lifetime::For(n) => {
                let jitter = if self.jitter == 0 {
                    0
                } else {
                    random % self.jitter.saturating_add(1)
                };
                now.saturating_add(n).saturating_add(jitter).min(NEVER - 1)
            }
            Lifetime::Until(at) => at,
            Lifetime::Unlimited | Lifetime::Expired => NEVER,
        }
    }

    /// Whether storing an entry with this lifetime needs the time.
    pub(crate) fn needs_clock(&self, lifetime: Lifetime) -> bool {
        matches!(lifetime, Lifetime::For(_)) || self.time_to_idle.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::{default_shards, shard_count};

    #[test]
    fn small_and_weighted_caches_have_one_shard() {
        assert_eq!(default_shards(4095, false), 1);
        assert_eq!(default_shards(1 << 30, true), 1);
    }

    #[test]
    fn large_caches_keep_2048_per_shard() {
        let n = default_shards(8192, false);
        assert!(n <= 4 && n.is_power_of_two());
        let n = default_shards(u64::MAX, false);
        assert!(n.is_power_of_two() && n >= 4);
    }

    #[test]
    fn requested_shards_round_up_to_a_power_of_two_within_the_capacity() {
        assert_eq!(shard_count(Some(3), u64::MAX, false), 4);
        assert_eq!(shard_count(Some(64), 10, false), 8);
        assert_eq!(shard_count(Some(8), 0, false), 1);
    }
}
