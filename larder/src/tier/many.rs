//! Several keys at once: [`Tiered::get_many_with`], [`Tiered::batch_loader`] and
//! [`Tiered::warmup`]. A batch reads its keys' L1 misses from L2 in one multi-get, and calls
//! the batch function for the L2 misses only; their values go to L2 in one multi-set.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::TierKey;
use super::stats::bump;
use super::tiered::{Inner, Tiered};
use crate::batch::{BatchLoaderBuilder, BatchResult};
use crate::cache::{WARMUP_CONCURRENCY, Warmed};
use crate::load::{BatchFailure, Timed, call_batch};
use crate::{LoadError, Ttl, WarmupReport};

impl<K, V> Inner<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// The values of `keys` (L1 misses): from L2 in one read, the rest from `batch_fn`,
    /// written to L2 in one write; each with what L1 may keep it for.
    async fn fill_many<F, Fut, R, E>(
        &self,
        keys: Vec<K>,
        batch_fn: &F,
    ) -> Result<Timed<V>, BatchFailure<E>>
    where
        F: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        R: BatchResult<K, V>,
    {
        if !self.enabled {
            // Disabled: the batch function for every key, nothing read or written in L2.
            let loaded = call_batch(batch_fn, keys).await?;
            return Ok(loaded
                .into_iter()
                .map(|v| v.map(|v| (v, Ttl::Default)))
                .collect());
        }
        self.retry_pending().await;
        let entries: Vec<String> = keys.iter().map(|k| self.layout.entry(k)).collect();
        let generations: Vec<u64> = entries
            .iter()
            .map(|e| self.generations.current(e))
            .collect();
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let found = self.l2.call(|s| s.get_many(&refs)).await;
        let mut found = found.unwrap_or_default().into_iter();
        let mut values: Timed<V> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (i, _) in keys.iter().enumerate() {
            let filled = match found.next().flatten() {
                Some(bytes) => self.open(&entries[i], &bytes).await,
                None => None,
            };
            match filled {
                Some(filled) => {
                    bump(&self.counters.l2_hits);
                    // A batch stores its values in L1 without tags, where a tag
                    // invalidation could not find them: a tagged entry is handed to its
                    // callers but not kept in L1.
                    let l1_ttl = if filled.tags.is_empty() {
                        filled.l1_ttl
                    } else {
                        crate::Ttl::After(std::time::Duration::ZERO)
                    };
                    values.push(Some((filled.value, l1_ttl)));
                }
                None => {
                    bump(&self.counters.l2_misses);
                    missing.push(i);
                    values.push(None);
                }
            }
        }
        if missing.is_empty() {
            return Ok(values);
        }
        let epoch = self.epoch();
        let missing_keys: Vec<K> = missing.iter().map(|&i| keys[i].clone()).collect();
        let loaded = call_batch(batch_fn, missing_keys).await?;
        // Not over a write or an invalidation that came while the batch ran.
        let written: Vec<(String, &V)> = missing
            .iter()
            .zip(&loaded)
            .filter(|&(&i, _)| self.generations.current(&entries[i]) == generations[i])
            .filter_map(|(&i, v)| Some((entries[i].clone(), v.as_ref()?)))
            .collect();
        let l1_ttl = self.write_many_l2(&written, epoch).await;
        for (i, value) in missing.into_iter().zip(loaded) {
            values[i] = value.map(|v| (v, l1_ttl));
        }
        Ok(values)
    }
}

impl<K, V> Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// The values of `keys`, in order: L1's, then L2's for L1's misses (one multi-get),
    /// then `batch_fn`'s for L2's misses, called once with those keys; what it loads goes to
    /// both tiers. Keys loading elsewhere in this process are waited for, not batched again.
    ///
    /// # Errors
    ///
    /// As [`Cache::get_many_with`](crate::Cache::get_many_with). An L2 failure is not one:
    /// its keys go to the batch function.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::collections::HashMap;
    ///
    /// let store = MemoryStore::new("t");
    /// let a: Tiered<u32, String> = Tiered::builder(Cache::new(10), store.clone()).build();
    /// a.insert(1, "one".to_string()).await;
    /// let b: Tiered<u32, String> = Tiered::builder(Cache::new(10), store).build();
    /// let got = b
    ///     .get_many_with([1, 2], |missing: Vec<u32>| async move {
    ///         assert_eq!(missing, [2]); // 1 came from L2
    ///         Ok::<_, String>(HashMap::from([(2, "two".to_string())]))
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(got, [Some("one".into()), Some("two".into())]);
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
        let inner = &self.inner;
        let batch = |keys: Vec<K>| inner.fill_many(keys, &batch_fn);
        inner.l1.get_many_timed(keys, batch).await
    }

    /// A builder of a [`BatchLoader`](crate::batch::BatchLoader) over this tier: its batches
    /// read L2 with one multi-get for their keys, and call `batch_fn` for L2's misses only.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u64, u64> = Tiered::builder(Cache::new(100), MemoryStore::new("t")).build();
    /// let squares = tiered
    ///     .batch_loader(|keys: Vec<u64>| async move {
    ///         Ok::<_, std::io::Error>(keys.iter().map(|k| k * k).collect::<Vec<_>>())
    ///     })
    ///     .build();
    /// assert_eq!(squares.load(3).await.unwrap(), Some(9));
    /// assert_eq!(tiered.get(&3).await, Some(9)); // in both tiers
    /// # }
    /// ```
    pub fn batch_loader<E, F, Fut, R>(&self, batch_fn: F) -> BatchLoaderBuilder<K, V, E>
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: BatchResult<K, V>,
        E: Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        let batch_fn = Arc::new(batch_fn);
        self.inner
            .l1
            .batch_loader_timed(Arc::new(move |keys: Vec<K>| {
                let (inner, batch_fn) = (inner.clone(), batch_fn.clone());
                Box::pin(async move { inner.fill_many(keys, &*batch_fn).await })
            }))
    }

    /// Loads every `(key, loader)` whose key is in neither tier, up to 16 at a time, as
    /// [`Cache::warmup`](crate::Cache::warmup) does: a key in L2 fills L1 without its
    /// loader, and a loaded key goes to both tiers.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, String> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert(1, "cached".to_string()).await;
    /// let report = tiered
    ///     .warmup((1..=2).map(|id| (id, async move { Ok::<_, String>(format!("user {id}")) })))
    ///     .await;
    /// assert_eq!((report.loaded, report.skipped), (1, 1));
    /// # }
    /// ```
    pub async fn warmup<I, F, E>(&self, entries: I) -> WarmupReport<K, E>
    where
        I: IntoIterator<Item = (K, F)>,
        F: Future<Output = Result<V, E>> + Send + 'static,
        E: Send + Sync + 'static,
    {
        let results: Vec<_> = stream::iter(entries)
            .map(|(key, init)| async move {
                if self.inner.l1.contains_key(&key) {
                    return Warmed::Skipped;
                }
                match self.try_get_with(key.clone(), init).await {
                    Ok(_) => Warmed::Loaded,
                    Err(error) => Warmed::Failed(key, error),
                }
            })
            .buffer_unordered(WARMUP_CONCURRENCY)
            .collect()
            .await;
        WarmupReport::tally(results)
    }
}
