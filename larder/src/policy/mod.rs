//! Eviction policies, as pure data structures over the shard's slab indices.

mod fifo;
mod ghost;
mod lfu;
mod name;
mod s3fifo;
mod sketch;

use crate::slab::{Entry, Idx, Slab};
use fifo::Queue;
use lfu::Lfu;
use s3fifo::S3Fifo;

#[cfg(feature = "serde")]
pub(crate) use name::parse as parse_policy;

/// Which entry a full cache evicts.
///
/// Every policy is exact within a shard. Caches below 4,096 entries of capacity, and weighted
/// caches, have one shard unless [`CacheBuilder::shards`](crate::CacheBuilder::shards) says
/// otherwise, so small caches evict in exactly the documented order.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Policy};
///
/// let cache = Cache::builder().max_capacity(2).policy(Policy::Lru).build();
/// cache.insert(1, "a");
/// cache.insert(2, "b");
/// cache.get(&1);        // 1 is now the most recently used
/// cache.insert(3, "c"); // evicts 2
/// assert!(cache.contains_key(&1) && !cache.contains_key(&2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Policy {
    /// S3-FIFO, the default: a small and a main FIFO queue and a ghost queue. Scan
    /// resistant, with a hit ratio on par with TinyLFU, and a hit takes only a shared lock.
    #[default]
    S3Fifo,
    /// Least recently used, exactly: a read or a re-insert refreshes recency. A hit takes the
    /// shard's exclusive lock.
    Lru,
    /// Least frequently used, exactly; ties go to the least recently used. Reads and
    /// re-inserts count as uses. A hit takes the shard's exclusive lock.
    Lfu,
    /// First in, first out: reads change nothing; a re-insert moves the key to the back.
    Fifo,
}

/// The entry a policy chose to evict, already off its lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Victim {
    pub(crate) idx: Idx,
    /// S3-FIFO wants the key's fingerprint kept in its ghost queue.
    pub(crate) to_ghost: bool,
    /// The key's hash, when the policy computed it on the way (so the shard need not).
    pub(crate) hash: Option<u64>,
}

impl Victim {
    pub(crate) fn plain(idx: Idx) -> Self {
        Self {
            idx,
            to_ghost: false,
            hash: None,
        }
    }
}

/// One shard's policy state; an enum rather than a trait object so calls inline.
#[derive(Debug)]
pub(crate) enum PolicyState {
    S3Fifo(S3Fifo),
    Queue(Queue),
    Lfu(Lfu),
}

impl PolicyState {
    /// `expected`: how many entries the shard is sized for, when known.
    pub(crate) fn new(policy: Policy, capacity: u64, expected: Option<u64>) -> Self {
        match policy {
            Policy::S3Fifo => Self::S3Fifo(S3Fifo::new(capacity, expected)),
            Policy::Lru => Self::Queue(Queue::lru()),
            Policy::Fifo => Self::Queue(Queue::fifo()),
            Policy::Lfu => Self::Lfu(Lfu::default()),
        }
    }

    /// Whether a hit can be served under the shard's shared lock.
    pub(crate) fn shared_reads(policy: Policy) -> bool {
        matches!(policy, Policy::S3Fifo | Policy::Fifo)
    }

    /// A hit under the shared lock (S3-FIFO and FIFO only). It bumps the use count whatever
    /// the policy: FIFO never reads it, and testing which policy this is costs a hit more
    /// than the bump (the enum's tag is folded into a field).
    #[inline]
    pub(crate) fn on_shared_read<K, V>(&self, entry: &Entry<K, V>) {
        entry.bump_saturating(s3fifo::MAX_FREQ);
    }

    /// A hit under the exclusive lock (LRU and LFU).
    pub(crate) fn on_exclusive_read<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        match self {
            Self::S3Fifo(_) => slab.get(idx).bump_saturating(s3fifo::MAX_FREQ),
            Self::Queue(q) => q.on_read(slab, idx),
            Self::Lfu(l) => l.on_access(slab, idx),
        }
    }

    /// Whether the policy's ghost remembers `hash` (S3-FIFO only).
    pub(crate) fn remembers(&self, hash: u64) -> bool {
        match self {
            Self::S3Fifo(s) => s.remembers(hash),
            Self::Queue(_) | Self::Lfu(_) => false,
        }
    }

    /// Puts a new entry on the policy's lists; `seen_recently` is [`Self::remembers`] as it
    /// was before the insert evicted anything. `hash_of` rehashes stored keys.
    // Inline (with `evict`): left to itself the compiler stopped inlining these into the
    // shard's insert as it grew, at 2–3% more instructions per insert.
    #[inline]
    pub(crate) fn admit<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        idx: Idx,
        hash: u64,
        seen_recently: bool,
        hash_of: &impl Fn(&K) -> u64,
    ) {
        match self {
            Self::S3Fifo(s) => s.admit(slab, idx, hash, seen_recently, hash_of),
            Self::Queue(q) => q.admit(slab, idx),
            Self::Lfu(l) => l.admit(slab, idx),
        }
    }

    /// Puts back an entry that [`Self::unlink`] took off its list while its value was
    /// replaced: a re-insert, which counts as a use (and moves it to the back of its queue).
    pub(crate) fn relink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        match self {
            Self::S3Fifo(s) => s.relink(slab, idx),
            Self::Queue(q) => q.relink(slab, idx),
            Self::Lfu(l) => l.relink(slab, idx),
        }
    }

    pub(crate) fn unlink<K, V>(&mut self, slab: &mut Slab<K, V>, idx: Idx) {
        match self {
            Self::S3Fifo(s) => s.unlink(slab, idx),
            Self::Queue(q) => q.unlink(slab, idx),
            Self::Lfu(l) => l.unlink(slab, idx),
        }
    }

    #[inline]
    pub(crate) fn evict<K, V>(
        &mut self,
        slab: &mut Slab<K, V>,
        hash_of: &impl Fn(&K) -> u64,
    ) -> Option<Victim> {
        match self {
            Self::S3Fifo(s) => s.evict(slab, hash_of),
            Self::Queue(q) => q.evict(slab),
            Self::Lfu(l) => l.evict(slab),
        }
    }

    /// Records an evicted key's hash, for policies with a ghost; `entries` is how many the
    /// shard holds, which sizes the ghost.
    pub(crate) fn remember(&mut self, hash: u64, entries: usize) {
        if let Self::S3Fifo(s) = self {
            s.remember(hash, entries);
        }
    }

    /// Forgets everything, after the slab was drained.
    pub(crate) fn reset(&mut self) {
        match self {
            Self::S3Fifo(s) => s.reset(),
            Self::Queue(q) => q.reset(),
            Self::Lfu(l) => l.reset(),
        }
    }
}
