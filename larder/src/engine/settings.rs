//! What every shard needs to know about the cache: hasher, weigher, expiry settings, clock.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use crate::expiry::{Clock, NEVER, Nanos};
use crate::listener::Listener;
use crate::{Policy, Ttl};

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
}

impl<K, V, S: BuildHasher> Settings<K, V, S> {
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(crate) fn weigh(&self, key: &K, value: &V) -> u32 {
        self.weigher.as_ref().map_or(1, |w| w(key, value))
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
            Lifetime::Unlimited | Lifetime::Expired => NEVER,
        }
    }

    /// Whether storing an entry with this lifetime needs the time.
    pub(crate) fn needs_clock(&self, lifetime: Lifetime) -> bool {
        matches!(lifetime, Lifetime::For(_)) || self.time_to_idle.is_some()
    }
}
