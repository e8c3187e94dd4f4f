//! Loading: `get_with` and its family, with single-flight.
//!
//! A miss starts a load; every caller that misses the same key while it runs waits for that
//! load instead of starting its own. Each method here looks the key up (with background
//! refreshes on, through `refresh.rs`), then hands a miss to the load protocol
//! (`crate::load`), which owns the flights.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;

use super::handle::Cache;
use crate::load::LoadOptions;
use crate::{LoadError, Ttl};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// The value for `key`, loading it with `init` on a miss.
    ///
    /// # Concurrent calls on the same key
    ///
    /// Only one `init` runs at a time for a key: callers that miss while a load is running
    /// wait for it and get its value. They count as misses and as `coalesced` in
    /// [`stats`](Self::stats). Their own `init` futures are dropped unpolled, unless the
    /// leading caller goes away first, as described below: then one of them runs its own.
    ///
    /// The loaded value is stored with the cache's default TTL, unless the key was removed,
    /// or the cache cleared or invalidated, while it loaded: the callers still get it, but it
    /// is not stored. A plain [`insert`](Self::insert) of the key during the load does not
    /// stop the load's store, which then replaces the inserted value, as in moka. With
    /// `max_capacity(0)` nothing is stored and nothing is shared: every call runs its own
    /// `init`.
    ///
    /// `init` must not call `get_with`, or any of its family, for the same key: it would wait
    /// for itself forever.
    ///
    /// `init` is `Send + 'static` because it may run in the background (for a loader that
    /// borrows, see [`get_with_local`](Self::get_with_local)): with
    /// [`stale_while_revalidate`](crate::CacheBuilder::stale_while_revalidate) or
    /// [`refresh_ahead`](crate::CacheBuilder::refresh_ahead), a caller that gets a cached
    /// value may hand its `init` to a background refresh. Move what it needs into it with
    /// `async move` and cloned handles. A cache that was [closed](Self::close) runs `init`
    /// and returns its value without storing it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future, after a timeout or in a `select!`, affects no other
    /// caller. If it was running the load, the load is dropped with it and a waiting caller
    /// takes over with its own `init`; if nobody waits, nothing is left behind. A panic in
    /// `init` propagates to its caller and is handled the same way: nothing is poisoned.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = larder::Cache::new(100);
    /// let user = cache.get_with(42, async { format!("user {}", 42) }).await;
    /// assert_eq!(user, "user 42");
    /// // A hit: the loader is not run.
    /// let again = cache.get_with(42, async { unreachable!() }).await;
    /// assert_eq!(again, "user 42");
    /// # }
    /// ```
    pub async fn get_with(&self, key: K, init: impl Future<Output = V> + Send + 'static) -> V {
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
        // Written out in each method of the family rather than behind one shared `async fn`:
        // a hit then returns before any nested future exists (63 -> 80 M hits/s, measured).
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return value,
            Err(init) => pin!(init),
        };
        match self.load_path().load(key, LoadOptions::VALUE, init).await {
            Ok(Some(value)) => value,
            // Neither happens: this loader always yields a value, and waiters retry on
            // outcomes they cannot return.
            Ok(None) | Err(_) => unreachable!("get_with yields a value"),
        }
    }

    /// As [`get_with`](Self::get_with), with a loader that also says how long its value is
    /// good for. This is HTTP-style caching, where the response carries its own max-age.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with); the leading caller's TTL is the one stored.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, Clock, Ttl};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache: Cache<&str, String> = Cache::builder().clock(clock).build();
    /// let page = cache
    ///     .get_with_ttl("/index", async { ("<html>".to_string(), Ttl::After(Duration::from_secs(30))) })
    ///     .await;
    /// assert_eq!(page, "<html>");
    /// mock.advance(Duration::from_secs(30));
    /// assert!(!cache.contains_key("/index")); // its own max-age ran out
    /// # }
    /// ```
    pub async fn get_with_ttl(
        &self,
        key: K,
        init: impl Future<Output = (V, Ttl)> + Send + 'static,
    ) -> V {
        let init = async { Ok::<_, Infallible>(Some(init.await)) };
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return value,
            Err(init) => pin!(init),
        };
        match self.load_path().load(key, LoadOptions::VALUE, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_ttl yields a value"),
        }
    }

    /// The value for `key`, loading it with the fallible `init` on a miss. An error is handed,
    /// as the same `Arc`, to every caller waiting on that load, and is not cached: the next
    /// call loads again. With [`CacheBuilder::negative_ttl`](crate::CacheBuilder::negative_ttl),
    /// the error is kept for that long instead, and calls with the same error type get it
    /// without loading. `remove`, `clear` and `invalidate_if` drop a kept error.
    ///
    /// `init` is `Send + 'static` for the reason [`get_with`](Self::get_with) gives.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with). A waiter whose error type differs from the leader's
    /// cannot receive its error, and runs its own `init` instead.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Errors
    ///
    /// [`LoadError::Loader`] with the error of the load this call ran or waited for, or
    /// [`LoadError::Cache`] of kind [`Closed`](crate::ErrorKind::Closed) when the cache was
    /// [closed](Self::close) before the value could be loaded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<u32, String> = larder::Cache::new(100);
    /// let failed = cache
    ///     .try_get_with(1, async { Err::<String, _>("backend down") })
    ///     .await;
    /// assert_eq!(**failed.unwrap_err().loader_error().unwrap(), "backend down");
    /// assert!(!cache.contains_key(&1)); // errors are not cached
    /// let ok = cache.try_get_with(1, async { Ok::<_, &str>("one".to_string()) }).await;
    /// assert_eq!(ok.unwrap(), "one");
    /// # }
    /// ```
    pub async fn try_get_with<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>> + Send + 'static,
    ) -> Result<V, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let init = async { init.await.map(|v| Some((v, Ttl::Default))) };
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return Ok(value),
            Err(init) => pin!(init),
        };
        match self
            .load_path()
            .load(key, LoadOptions::FALLIBLE, init)
            .await
        {
            Ok(Some(value)) => Ok(value),
            Ok(None) => unreachable!("try_get_with yields a value or an error"),
            Err(e) => Err(e),
        }
    }

    /// The value for `key`, loading it with `init` on a miss; `None` from `init` is returned
    /// to the callers of that load and not cached.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with). A closed cache runs `init` and returns its value
    /// without storing it.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<u32, String> = larder::Cache::new(100);
    /// assert_eq!(cache.optionally_get_with(7, async { None }).await, None);
    /// assert!(!cache.contains_key(&7)); // None is not cached
    /// # }
    /// ```
    pub async fn optionally_get_with(
        &self,
        key: K,
        init: impl Future<Output = Option<V>> + Send + 'static,
    ) -> Option<V> {
        let init = async { Ok::<_, Infallible>(init.await.map(|v| (v, Ttl::Default))) };
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return Some(value),
            Err(init) => pin!(init),
        };
        match self
            .load_path()
            .load(key, LoadOptions::OPTIONAL, init)
            .await
        {
            Ok(value) => value,
            Err(_) => unreachable!("optionally_get_with has no error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Cache, Clock};

    #[tokio::test]
    async fn negative_entries_are_bounded_by_the_capacity_and_swept_without_reads() {
        let (clock, mock) = Clock::mock();
        let cache: Cache<u64, u64> = Cache::builder()
            .max_capacity(100)
            .negative_ttl(Duration::from_secs(60))
            .clock(clock)
            .build();
        // A flood of absent keys: each is kept, but never more than the capacity.
        for k in 0..20_000 {
            assert_eq!(cache.optionally_get_with(k, async { None }).await, None);
        }
        assert_eq!(cache.negative_entries(), 100);
        // The most recent are still kept: answered without calling the loader.
        let kept = cache.optionally_get_with(19_999, async { unreachable!() });
        assert_eq!(kept.await, None);
        // Once their TTL has passed, the next failure sweeps them out, unread.
        mock.advance(Duration::from_secs(61));
        cache.optionally_get_with(20_000, async { None }).await;
        assert_eq!(cache.negative_entries(), 1);
        assert_eq!(cache.len(), 0);
    }

    #[tokio::test]
    async fn a_weighted_cache_bounds_its_negative_entries_by_count() {
        let cache: Cache<u64, Vec<u8>> = Cache::builder()
            .max_capacity(1 << 30) // bytes
            .weigher(|_k: &u64, v: &Vec<u8>| v.len() as u32)
            .negative_ttl(Duration::from_secs(60))
            .build();
        for k in 0..70_000 {
            assert_eq!(cache.optionally_get_with(k, async { None }).await, None);
        }
        assert_eq!(cache.negative_entries(), 65_536);
    }

    #[tokio::test(start_paused = true)]
    async fn the_registry_ends_empty_whatever_the_callers_do() {
        let cache: Cache<u8, u8> = Cache::new(10);
        // Completed loads, failed loads and absent values leave nothing behind.
        cache.get_with(1, async { 1 }).await;
        let _ = cache.try_get_with(2, async { Err::<u8, ()>(()) }).await;
        cache.optionally_get_with(3, async { None }).await;
        assert_eq!(cache.loads_in_flight(), 0);
        // So does a load whose every caller went away mid-flight.
        let slow = cache.get_with(4, async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            4
        });
        let cancelled = tokio::time::timeout(Duration::from_millis(1), slow).await;
        assert!(cancelled.is_err());
        assert_eq!(cache.loads_in_flight(), 0);
    }
}
