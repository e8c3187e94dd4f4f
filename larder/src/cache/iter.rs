//! [`Iter`]: a cache's live entries, read lazily, one shard at a time.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::engine::Engine;
use crate::hasher::DefaultHashBuilder;

/// A cache's live entries, as `(key, value)` clones; from [`Cache::iter`](crate::Cache::iter).
///
/// Lazy: it clones one shard's entries when it reaches that shard, and holds no lock
/// between calls to `next`.
///
/// # Examples
///
/// ```
/// let cache = larder::Cache::new(10);
/// cache.insert(1, 10);
/// let total: i32 = cache.iter().map(|(_k, v)| v).sum();
/// assert_eq!(total, 10);
/// ```
pub struct Iter<'a, K, V, S = DefaultHashBuilder> {
    engine: &'a Engine<K, V, S>,
    /// The next shard to read.
    next_shard: usize,
    /// The entries of the shard read last, handed out from the back.
    buffer: Vec<(K, V)>,
}

impl<'a, K, V, S> Iter<'a, K, V, S> {
    pub(super) fn new(engine: &'a Engine<K, V, S>) -> Self {
        Self {
            engine,
            next_shard: 0,
            buffer: Vec::new(),
        }
    }
}

impl<K, V, S> Iterator for Iter<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(entry) = self.buffer.pop() {
                return Some(entry);
            }
            if self.next_shard >= self.engine.shard_count() {
                return None;
            }
            // The buffer's allocation is reused from shard to shard.
            self.engine
                .snapshot_shard(self.next_shard, &mut self.buffer);
            self.next_shard += 1;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let done = self.next_shard >= self.engine.shard_count();
        (self.buffer.len(), done.then_some(self.buffer.len()))
    }
}

impl<K, V, S> std::iter::FusedIterator for Iter<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
}

impl<K, V, S> fmt::Debug for Iter<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the entries: cached values can be secrets.
        f.debug_struct("Iter")
            .field("next_shard", &self.next_shard)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}
