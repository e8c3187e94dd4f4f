//! [`TagIndex`]: one cache's tags: the index of tagged keys, sharded by key hash, each shard
//! behind its own lock, and the [`Epochs`] that order invalidations against tagged loads.
//!
//! The index is kept off the hit path: reads never touch it. Writes touch it only once the
//! cache has stored a tag (`in_use`); before that, a write pays one relaxed atomic load.

use super::epochs::Epochs;
use super::shard::IndexShard;
use crate::sync::{AtomicBool, Mutex, MutexGuard, Ordering};

/// The most index shards: tag index writes are rarer than the engine's.
const MAX_SHARDS: usize = 64;

pub(crate) struct TagIndex<K> {
    /// Set, never cleared, when the cache first stores a tag. Relaxed is enough: whoever must
    /// see it set is ordered after the setter by a lock they share (the key's engine shard, or
    /// the epochs).
    in_use: AtomicBool,
    shards: Box<[Mutex<IndexShard<K>>]>,
    /// `shards.len() - 1`; the length is a power of two.
    mask: usize,
    epochs: Epochs,
}

impl<K: Eq> TagIndex<K> {
    /// The tags of a cache whose engine has `shards` shards (a power of two).
    pub(crate) fn new(shards: usize) -> Self {
        let shards = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        Self {
            in_use: AtomicBool::new(false),
            shards: (0..shards).map(|_| Mutex::new(IndexShard::new())).collect(),
            mask: shards - 1,
            epochs: Epochs::new(),
        }
    }
}

impl<K> TagIndex<K> {
    /// Whether the cache has ever stored a tag.
    #[inline]
    pub(crate) fn in_use(&self) -> bool {
        self.in_use.load(Ordering::Relaxed)
    }

    /// The cache is about to store a tag; call before taking the index lock to store it.
    pub(crate) fn mark_in_use(&self) {
        if !self.in_use() {
            self.in_use.store(true, Ordering::Relaxed);
        }
    }

    /// The index shard of the key whose hash is `hash`, locked. Lock order: a flight
    /// registry shard, then an index shard, then the epochs or an engine shard.
    pub(crate) fn shard(&self, hash: u64) -> MutexGuard<'_, IndexShard<K>> {
        self.shards[(hash >> 32) as usize & self.mask].lock()
    }

    /// Every index shard, one at a time.
    pub(crate) fn shards(&self) -> impl Iterator<Item = &Mutex<IndexShard<K>>> {
        self.shards.iter()
    }

    pub(crate) fn epochs(&self) -> &Epochs {
        &self.epochs
    }
}
