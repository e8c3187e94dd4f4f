//! [`Cache::close`]: stop loading, for a clean shutdown.

use std::hash::{BuildHasher, Hash};

use super::handle::Cache;

/// What [`Cache::close`] does with the loads in flight (async-lru's `cache_close(wait)`).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cache: larder::Cache<u8, u8> = larder::Cache::new(10);
/// cache.close(larder::CloseMode::Wait).await;
/// assert!(cache.is_closed());
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseMode {
    /// Cancel them: their loaders are dropped at their next await and nothing they load is
    /// stored. Their callers get what a closed cache gives, as [`Cache::close`] describes.
    Cancel,
    /// Let them finish and store their values; `close` returns once they all have.
    Wait,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// Closes the cache for loading: no load and no background refresh starts from now on,
    /// and the loads in flight are cancelled or awaited, as `mode` says. Closing twice is
    /// harmless.
    ///
    /// A closed cache still answers from what it holds: `get`, `insert`, `remove` and the
    /// rest work as before, and a loading call that finds a live value returns it. A loading
    /// call that would load instead:
    /// - [`try_get_with`](Self::try_get_with) and [`warmup`](Self::warmup) fail with
    ///   [`ErrorKind::Closed`](crate::ErrorKind::Closed);
    /// - [`get_with`](Self::get_with), [`get_with_ttl`](Self::get_with_ttl),
    ///   [`optionally_get_with`](Self::optionally_get_with) and [`refresh`](Self::refresh),
    ///   which have no error to return, run their own loader and return its value without
    ///   storing or sharing it.
    ///
    /// With [`CloseMode::Wait`], a call that joins a load already in flight still gets its
    /// value; `close` waits as long as the loads do.
    ///
    /// With the builder's `autosave` (feature `snapshot`), `close` then makes one last save,
    /// waits for it, and stops autosaving. That save's error is not reported: call `save`
    /// after `close` where you need to know. A loader that never finishes, or a
    /// [`Spawner`](crate::spawn::Spawner) that never runs its tasks, makes it wait forever:
    /// put it under a timeout if that can happen.
    ///
    /// # Cancel safety
    ///
    /// The cache is closed as soon as this is first polled. After that, dropping the future
    /// only stops waiting for the loads in flight that [`CloseMode::Wait`] awaits, and for
    /// autosave's last save, which still happens once asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, CloseMode, ErrorKind};
    ///
    /// let cache: Cache<u32, String> = Cache::new(100);
    /// cache.get_with(1, async { "one".to_string() }).await;
    /// cache.close(CloseMode::Wait).await;
    ///
    /// // What is cached is still served...
    /// assert_eq!(cache.get(&1).as_deref(), Some("one"));
    /// // ...but nothing new is loaded into the cache.
    /// let err = cache.try_get_with(2, async { Ok::<_, &str>("two".to_string()) }).await;
    /// assert_eq!(err.unwrap_err().kind(), ErrorKind::Closed);
    /// assert_eq!(cache.get_with(3, async { "three".to_string() }).await, "three");
    /// assert!(!cache.contains_key(&3));
    /// # }
    /// ```
    pub async fn close(&self, mode: CloseMode) {
        let in_flight = self.inner().loads.close(mode == CloseMode::Cancel);
        for load in in_flight {
            // Any outcome will do: the load is over.
            let _ = load.await;
        }
        // After the loads: with `Wait`, what they stored is in the last save.
        #[cfg(feature = "snapshot")]
        if let Some(autosave) = &self.inner().autosave {
            autosave.finish().await;
        }
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<u8, u8> = larder::Cache::new(10);
    /// assert!(!cache.is_closed());
    /// cache.close(larder::CloseMode::Cancel).await;
    /// assert!(cache.is_closed());
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner().loads.is_closed()
    }
}
