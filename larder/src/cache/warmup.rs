//! [`Cache::warmup`]: fill a cache before traffic arrives.

use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;

use futures_util::stream::{self, StreamExt};

use super::handle::Cache;
use crate::load::LoadOptions;
use crate::{LoadError, Ttl};

/// How many loads [`Cache::warmup`] runs at once.
pub(crate) const WARMUP_CONCURRENCY: usize = 16;

/// What [`Cache::warmup`] did.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cache = larder::Cache::new(10);
/// let report = cache.warmup([(1, async { Ok::<_, String>("one") })]).await;
/// assert_eq!((report.loaded, report.skipped, report.failed.len()), (1, 0, 0));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct WarmupReport<K, E> {
    /// Keys loaded and stored.
    pub loaded: usize,
    /// Keys skipped because a live value was already cached.
    pub skipped: usize,
    /// Keys whose load failed, with the error: the loader's, or
    /// [`Closed`](crate::ErrorKind::Closed) if the cache was closed. Nothing was stored for
    /// them.
    pub failed: Vec<(K, LoadError<E>)>,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Loads every `(key, loader)` whose key is not cached yet, up to 16 at a time, and
    /// reports what happened. A failure does not stop the others, whereas async-cache's
    /// warmup stops at the first error and runs one at a time.
    ///
    /// # Concurrent calls on the same key
    ///
    /// Each key is loaded as by [`try_get_with`](Self::try_get_with): it joins a load of the
    /// same key already in flight rather than starting another. The loaders need not be
    /// `'static`: warmup never refreshes in the background.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops the loads it is running, as dropping their
    /// `try_get_with` calls would; loads already finished stay stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = larder::Cache::new(100);
    /// cache.insert(1, "cached".to_string());
    /// let report = cache
    ///     .warmup((1..=3).map(|id| {
    ///         (id, async move {
    ///             if id == 3 { Err("no such user") } else { Ok(format!("user {id}")) }
    ///         })
    ///     }))
    ///     .await;
    /// assert_eq!((report.loaded, report.skipped), (1, 1)); // 2 loaded, 1 was cached
    /// assert_eq!(report.failed.len(), 1);
    /// assert_eq!(**report.failed[0].1.loader_error().unwrap(), "no such user");
    /// assert_eq!(cache.get(&2).as_deref(), Some("user 2"));
    /// # }
    /// ```
    pub async fn warmup<I, F, E>(&self, entries: I) -> WarmupReport<K, E>
    where
        I: IntoIterator<Item = (K, F)>,
        F: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let results: Vec<_> = stream::iter(entries)
            .map(|(key, init)| async move {
                if self.contains_key(&key) {
                    return Warmed::Skipped;
                }
                if self.get(&key).is_some() {
                    return Warmed::Loaded; // loaded meanwhile, by another caller
                }
                let init = pin!(async { init.await.map(|v| Some((v, Ttl::Default))) });
                let path = self.load_path();
                let loaded = path.load(key.clone(), LoadOptions::FALLIBLE, init).await;
                match loaded {
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

impl<K, E> WarmupReport<K, E> {
    /// The report of these outcomes, one per key (a tier's warmup makes the same report).
    pub(crate) fn tally(results: impl IntoIterator<Item = Warmed<K, E>>) -> Self {
        let mut report = WarmupReport {
            loaded: 0,
            skipped: 0,
            failed: Vec::new(),
        };
        for result in results {
            match result {
                Warmed::Loaded => report.loaded += 1,
                Warmed::Skipped => report.skipped += 1,
                Warmed::Failed(key, error) => report.failed.push((key, error)),
            }
        }
        report
    }
}

/// What warming one key did.
pub(crate) enum Warmed<K, E> {
    Loaded,
    Skipped,
    Failed(K, LoadError<E>),
}
