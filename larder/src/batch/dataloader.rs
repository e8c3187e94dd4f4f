//! [`DataLoader`]: a per-request batching loader with its own memo, GraphQL style.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use super::loader::{BatchLoader, BatchSettings, erase};
use crate::error::Error;
use crate::load::BatchResult;
use crate::{Cache, LoadError, Stats};

/// A per-request loader, as GraphQL's DataLoader: loads within a window are batched into one
/// call of the batch function, and every value loaded is memoised for the loader's life. The
/// memo has no TTL and no capacity: create one loader per request and drop it with the
/// request.
///
/// It runs on the same machinery as [`BatchLoader`], over a [`Cache`] of its own, so the same
/// dispatch rules hold: keys are deduplicated, a key the batch has no value for gets `None`,
/// an error reaches every waiter, and nobody waits behind a running batch.
///
/// # Background work
///
/// As [`BatchLoader`]: a tokio task per batch.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::batch::DataLoader;
/// use std::collections::HashMap;
///
/// let authors = DataLoader::new(|ids: Vec<u32>| async move {
///     Ok::<_, String>(ids.into_iter().map(|id| (id, format!("author {id}"))).collect::<HashMap<_, _>>())
/// });
/// // Resolving 3 posts' authors: one batch call for the 2 distinct ids.
/// let (a, b, c) = tokio::join!(authors.load(1), authors.load(2), authors.load(1));
/// assert_eq!(a.unwrap().as_deref(), Some("author 1"));
/// assert_eq!((b.unwrap(), c.unwrap()), (Some("author 2".into()), Some("author 1".into())));
/// assert_eq!(authors.stats().batches, 1);
/// # }
/// ```
pub struct DataLoader<K: Hash + Eq + Clone, V: Clone, E> {
    loader: BatchLoader<K, V, E>,
}

impl<K: Hash + Eq + Clone, V: Clone, E> fmt::Debug for DataLoader<K, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLoader")
            .field("loader", &self.loader)
            .finish()
    }
}

/// Builds a [`DataLoader`] with settings other than the defaults; from
/// [`DataLoader::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let loader = larder::batch::DataLoader::builder(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) })
///     .window(Duration::from_millis(1))
///     .max_batch_size(10)
///     .build();
/// # drop(loader);
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct DataLoaderBuilder<K, V, E> {
    batch_fn: super::loader::BatchFn<K, V, E>,
    settings: BatchSettings,
}

impl<K, V, E> fmt::Debug for DataLoaderBuilder<K, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLoaderBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<K, V, E> DataLoader<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// A loader calling `batch_fn` with the keys of each batch, gathered over a 5 ms window,
    /// at most 100 keys at a time; it returns a `HashMap<K, V>` or a `Vec<V>` aligned with the
    /// keys.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// # drop(loader);
    /// ```
    pub fn new<F, Fut, R>(batch_fn: F) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: BatchResult<K, V>,
    {
        Self::builder(batch_fn).build()
    }

    /// A builder, for a window, batch size or concurrency other than the defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::builder(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) })
    ///     .max_batch_size(5)
    ///     .build();
    /// # drop(loader);
    /// ```
    pub fn builder<F, Fut, R>(batch_fn: F) -> DataLoaderBuilder<K, V, E>
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: BatchResult<K, V>,
    {
        DataLoaderBuilder {
            batch_fn: erase(batch_fn),
            settings: BatchSettings::default(),
        }
    }

    /// The value of `key`, memoised or batched; see [`BatchLoader::load`].
    ///
    /// # Cancel safety
    ///
    /// As [`BatchLoader::load`].
    ///
    /// # Errors
    ///
    /// As [`BatchLoader::load`]. Errors are not memoised: the next load asks again.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// assert_eq!(loader.load(7).await, Ok(Some(7)));
    /// # }
    /// ```
    pub async fn load(&self, key: K) -> Result<Option<V>, LoadError<E>> {
        self.loader.load(key).await
    }

    /// The values of `keys` in their order; see [`BatchLoader::load_many`].
    ///
    /// # Errors
    ///
    /// The first error among the keys' loads.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// assert_eq!(loader.load_many([1, 2]).await, Ok(vec![Some(1), Some(2)]));
    /// # }
    /// ```
    pub async fn load_many(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<V>>, LoadError<E>> {
        self.loader.load_many(keys).await
    }

    /// Memoises `value` for `key`, replacing any, so that loading it calls nothing. A load
    /// of `key` already in flight still answers its callers, but does not overwrite `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let loader = larder::batch::DataLoader::new(|_: Vec<u8>| async move { Err::<Vec<u8>, _>("unreachable") });
    /// loader.prime(1, 10);
    /// assert_eq!(loader.load(1).await, Ok(Some(10)));
    /// # }
    /// ```
    pub fn prime(&self, key: K, value: V) {
        let cache = self.loader.cache();
        cache.load_path().invalidate(&key);
        cache.insert(key, value);
    }

    /// Forgets `key`'s memoised value; a load of it in flight is not memoised either.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// loader.prime(1, 10);
    /// loader.clear(&1);
    /// # assert_eq!(loader.stats().size, 0);
    /// ```
    pub fn clear(&self, key: &K) {
        self.loader.cache().remove(key);
    }

    /// Forgets every memoised value.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// loader.prime(1, 10);
    /// loader.clear_all();
    /// assert_eq!(loader.stats().size, 0);
    /// ```
    pub fn clear_all(&self) {
        self.loader.cache().clear();
    }

    /// The memo's stats: hits, batches, and keys per batch in [`Stats::batched_keys`].
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::new(|keys: Vec<u8>| async move { Ok::<_, ()>(keys) });
    /// assert_eq!(loader.stats().batches, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.loader.cache().stats()
    }
}

impl<K, V, E> DataLoaderBuilder<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    /// As [`BatchLoaderBuilder::window`](crate::batch::BatchLoaderBuilder::window).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .window(std::time::Duration::from_millis(2));
    /// # drop(b);
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.settings.window = window;
        self
    }

    /// As [`BatchLoaderBuilder::max_batch_size`](crate::batch::BatchLoaderBuilder::max_batch_size).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).max_batch_size(3);
    /// # drop(b);
    /// ```
    pub fn max_batch_size(mut self, max: usize) -> Self {
        self.settings.max_batch_size = max;
        self
    }

    /// As [`BatchLoaderBuilder::max_concurrent_batches`](crate::batch::BatchLoaderBuilder::max_concurrent_batches).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).max_concurrent_batches(1);
    /// # drop(b);
    /// ```
    pub fn max_concurrent_batches(mut self, max: usize) -> Self {
        self.settings.max_concurrent_batches = Some(max);
        self
    }

    /// As [`BatchLoaderBuilder::max_queued_batches`](crate::batch::BatchLoaderBuilder::max_queued_batches).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .max_concurrent_batches(1)
    ///     .max_queued_batches(10);
    /// # drop(b);
    /// ```
    pub fn max_queued_batches(mut self, max: usize) -> Self {
        self.settings.max_queued_batches = max;
        self
    }

    /// Builds the loader.
    ///
    /// # Panics
    ///
    /// On a setting [`try_build`](Self::try_build) rejects.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).build();
    /// # drop(loader);
    /// ```
    pub fn build(self) -> DataLoader<K, V, E> {
        match self.try_build() {
            Ok(loader) => loader,
            #[allow(clippy::panic)] // the builder's documented panic; try_build is its twin
            Err(e) => panic!("{e}"),
        }
    }

    /// Builds the loader, or says which setting is wrong.
    ///
    /// # Errors
    ///
    /// As [`BatchLoaderBuilder::try_build`](crate::batch::BatchLoaderBuilder::try_build).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = larder::batch::DataLoader::builder(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .max_concurrent_batches(0)
    ///     .try_build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), larder::ErrorKind::Config);
    /// ```
    pub fn try_build(self) -> Result<DataLoader<K, V, E>, Error> {
        // The memo: unbounded, no TTL; it lives as long as the loader.
        let memo = Cache::builder().build();
        Ok(DataLoader {
            loader: BatchLoader::new(memo, self.batch_fn, self.settings)?,
        })
    }
}
