//! Multi-key reads: [`Cache::get_many`], and [`Cache::get_many_with`] (aiocache's
//! `multi_cached`: one batch call for the keys that miss, merged with the hits).

use std::future::Future;
use std::hash::{BuildHasher, Hash};

use hashbrown::{HashTable, hash_table};

use super::handle::Cache;
use crate::LoadError;
use crate::equivalent::Equivalent;
use crate::error::Error;
use crate::flight::Waiter;
use crate::load::{
    BatchFailure, BatchResult, Joined, LoadOptions, Next, Timed, call_batch, default_ttl, settle,
};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// The live values of `keys`, in the order of `keys`, with `None` for a key not cached.
    /// Each lookup counts as [`get`](Self::get) does.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert("a", 1);
    /// cache.insert("c", 3);
    /// assert_eq!(cache.get_many(&["a", "b", "c"]), [Some(1), None, Some(3)]);
    /// ```
    pub fn get_many<'a, Q>(&self, keys: impl IntoIterator<Item = &'a Q>) -> Vec<Option<V>>
    where
        Q: Hash + Equivalent<K> + ?Sized + 'a,
    {
        keys.into_iter().map(|key| self.get(key)).collect()
    }

    /// The values of `keys`, in their order, loading the ones not cached with **one** call of
    /// `batch_fn` (aiocache's `multi_cached`). The batch function gets the missing keys,
    /// deduplicated, in the order of their first appearance, and returns a `HashMap<K, V>`
    /// or a `Vec<V>` aligned with them: see [`BatchResult`]. Its values are stored; a key it
    /// has no value for is `None` and is not cached.
    ///
    /// # Concurrent calls on the same keys
    ///
    /// A key already being loaded by `get_with`, a [`BatchLoader`](crate::batch::BatchLoader)
    /// or another `get_many_with` is not requested again: this call waits for that load. Keys
    /// it leads are waited for the same way by others.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the batch call; callers waiting for its keys take their
    /// loads over, as with [`get_with`](Self::get_with).
    ///
    /// # Errors
    ///
    /// [`LoadError::Loader`] with the batch function's error, or with the error of another
    /// load this call waited for. [`LoadError::Cache`] when the batch function's result does
    /// not match the keys, with kind [`BatchShape`](crate::ErrorKind::BatchShape); when it
    /// panicked, with kind [`Loader`](crate::ErrorKind::Loader); or when the cache is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::collections::HashMap;
    ///
    /// let cache: larder::Cache<u32, String> = larder::Cache::new(100);
    /// cache.insert(1, "one".to_string());
    /// let users = cache
    ///     .get_many_with([1, 2, 3], |missing: Vec<u32>| async move {
    ///         assert_eq!(missing, [2, 3]); // only the misses are asked for
    ///         Ok::<_, String>(HashMap::from([(2, "two".to_string())]))
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(users, [Some("one".into()), Some("two".into()), None]);
    /// assert!(cache.contains_key(&2) && !cache.contains_key(&3));
    /// # }
    /// ```
    pub async fn get_many_with<F, Fut, R, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        batch_fn: F,
    ) -> Result<Vec<Option<V>>, LoadError<E>>
    where
        F: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        R: BatchResult<K, V>,
        E: Send + Sync + 'static,
    {
        let batch = |keys: Vec<K>| async { call_batch(&batch_fn, keys).await.map(default_ttl) };
        self.get_many_timed(keys, batch).await
    }

    /// [`get_many_with`](Self::get_many_with) for a batch that gives each value its TTL
    /// (a tier's, whose values from L2 have only so long left).
    pub(crate) async fn get_many_timed<B, BFut, E>(
        &self,
        keys: impl IntoIterator<Item = K>,
        batch_fn: B,
    ) -> Result<Vec<Option<V>>, LoadError<E>>
    where
        B: Fn(Vec<K>) -> BFut,
        BFut: Future<Output = Result<Timed<V>, BatchFailure<E>>>,
        E: Send + Sync + 'static,
    {
        let keys: Vec<K> = keys.into_iter().collect();
        let mut values: Vec<Option<V>> = Vec::with_capacity(keys.len());
        let mut pending = Vec::new();
        let path = self.load_path();
        // A key asked for twice is looked up and loaded once: later positions copy the first.
        // The user's keys are hashed with the cache's hasher, chosen against HashDoS, never a
        // default one; sized up front, the table never rehashes.
        let mut first_at: HashTable<usize> = HashTable::with_capacity(keys.len());
        let mut copies = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let hash = path.hash(key);
            match first_at.entry(hash, |&j| keys[j] == *key, |&j| path.hash(&keys[j])) {
                hash_table::Entry::Occupied(first) => {
                    copies.push((i, *first.get()));
                    values.push(None);
                    continue;
                }
                hash_table::Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
            let hit = self.get(key);
            if hit.is_none() {
                pending.push(i);
            }
            values.push(hit);
        }
        let options = LoadOptions::BATCH;
        let mut first_round = true;
        // Rounds: a key whose load is abandoned by another caller comes back for the next.
        while !pending.is_empty() {
            let mut leaders = Vec::new();
            let mut waiting: Vec<(usize, Waiter<V>)> = Vec::new();
            for i in pending.drain(..) {
                match path.join::<E>(&keys[i], options) {
                    Joined::Done(loaded) => values[i] = loaded?,
                    // Batch options fail on a closed cache rather than run uncached.
                    Joined::RunUncached => return Err(LoadError::Cache(Error::closed())),
                    Joined::Wait(waiter) => {
                        if first_round {
                            path.loads().count_coalesced();
                        }
                        waiting.push((i, waiter));
                    }
                    Joined::Lead(leader) => {
                        waiting.push((i, leader.waiter()));
                        leaders.push(leader);
                    }
                }
            }
            path.run_batch(leaders, &batch_fn).await;
            for (i, waiter) in waiting {
                match settle(waiter.await, options) {
                    Next::Return(loaded) => values[i] = loaded?,
                    Next::RunUncached => return Err(LoadError::Cache(Error::closed())),
                    Next::Retry => pending.push(i),
                }
            }
            first_round = false;
        }
        for (i, first) in copies {
            values[i] = values[first].clone();
        }
        Ok(values)
    }
}
