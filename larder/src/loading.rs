//! Loading: `get_with` and its family, with single-flight.
//!
//! A miss starts a load; every caller that misses the same key while it runs waits for that
//! load instead of starting its own. See `flight/` for how leadership passes on when the
//! leading caller goes away.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use crate::flight::{Outcome, Role};
use crate::sync::Ordering;
use crate::{Cache, Ttl};

/// How a load treats a value already cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Return it (the `get_with` family).
    UseCached,
    /// Load afresh anyway (`refresh`).
    Refresh,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// The value for `key`, loading it with `init` on a miss.
    ///
    /// # Concurrent calls on the same key
    ///
    /// Only one `init` runs at a time for a key: callers that miss while a load is running
    /// wait for it and get its value (they count as misses and as `coalesced` in
    /// [`stats`](Self::stats)). Their own `init` futures are dropped unpolled, unless the
    /// leading caller goes away first (see below): then one of them runs its own.
    ///
    /// The loaded value is stored with the cache's default TTL, unless the key was removed,
    /// or the cache cleared or invalidated, while it loaded: the callers still get it, but it
    /// is not stored. A plain [`insert`](Self::insert) of the key during the load does not
    /// stop the load's store, which then replaces the inserted value (as in moka). With
    /// `max_capacity(0)` nothing is stored and nothing is shared: every call runs its own
    /// `init`.
    ///
    /// `init` must not call `get_with` (or its family) for the same key: it would wait for
    /// itself forever.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future (a timeout, a `select!`) affects no other caller. If it
    /// was running the load, the load is dropped with it and a waiting caller takes over with
    /// its own `init`; if nobody waits, nothing is left behind. A panic in `init` propagates
    /// to its caller and is handled the same way: nothing is poisoned.
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
    pub async fn get_with(&self, key: K, init: impl Future<Output = V>) -> V {
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
        match self.load(key, Mode::UseCached, false, init).await {
            Ok(Some(value)) => value,
            // Neither happens: this loader always yields a value, and waiters retry on
            // outcomes they cannot return.
            Ok(None) | Err(_) => unreachable!("get_with yields a value"),
        }
    }

    /// As [`get_with`](Self::get_with), with a loader that also says how long its value is
    /// good for (HTTP-style caching: the response carries its own max-age).
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
    pub async fn get_with_ttl(&self, key: K, init: impl Future<Output = (V, Ttl)>) -> V {
        let init = async { Ok::<_, Infallible>(Some(init.await)) };
        match self.load(key, Mode::UseCached, false, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_ttl yields a value"),
        }
    }

    /// Loads the value for `key` afresh with `init` and stores it, even when one is cached
    /// (the seeds' `use_cache=False`). Counted in [`Stats::refreshes`](crate::Stats).
    ///
    /// # Concurrent calls on the same key
    ///
    /// If a load of `key` is already running (another `refresh`, or a `get_with` that
    /// missed), this call waits for it instead of starting a second one. Callers of
    /// `get_with` that find the old value cached get it at once while the refresh runs.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with): dropping this future drops its load (or hands it to a
    /// waiter); the cached value stays as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache = larder::Cache::new(10);
    /// cache.insert("rate", 1.10);
    /// let fresh = cache.refresh("rate", async { 1.12 }).await;
    /// assert_eq!(fresh, 1.12);
    /// assert_eq!(cache.get("rate"), Some(1.12));
    /// # }
    /// ```
    pub async fn refresh(&self, key: K, init: impl Future<Output = V>) -> V {
        self.inner.loads.refreshes.fetch_add(1, Ordering::Relaxed);
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
        match self.load(key, Mode::Refresh, false, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("refresh yields a value"),
        }
    }

    /// The value for `key`, loading it with the fallible `init` on a miss. An error is handed
    /// to every caller waiting on that load (the same `Arc`) and is not cached: the next call
    /// loads again. With [`CacheBuilder::negative_ttl`](crate::CacheBuilder::negative_ttl),
    /// the error is kept for that long instead, and calls with the same error type get it
    /// without loading (`remove`, `clear` and `invalidate_if` drop it).
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
    /// The error of the load this call ran or waited for.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<u32, String> = larder::Cache::new(100);
    /// let failed = cache
    ///     .try_get_with(1, async { Err::<String, _>("backend down") })
    ///     .await;
    /// assert_eq!(*failed.unwrap_err(), "backend down");
    /// assert!(!cache.contains_key(&1)); // errors are not cached
    /// let ok = cache.try_get_with(1, async { Ok::<_, &str>("one".to_string()) }).await;
    /// assert_eq!(ok.unwrap(), "one");
    /// # }
    /// ```
    pub async fn try_get_with<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let init = async { init.await.map(|v| Some((v, Ttl::Default))) };
        match self.load(key, Mode::UseCached, false, init).await {
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
    /// As [`get_with`](Self::get_with).
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
        init: impl Future<Output = Option<V>>,
    ) -> Option<V> {
        let init = async { Ok::<_, Infallible>(init.await.map(|v| (v, Ttl::Default))) };
        match self.load(key, Mode::UseCached, true, init).await {
            Ok(value) => value,
            Err(_) => unreachable!("optionally_get_with has no error"),
        }
    }

    /// The single-flight core of the `get_with` family. `absent_ok`: whether this caller can
    /// return `None` (a waiter that cannot retries instead). The loader yields the value and
    /// the TTL to store it with.
    async fn load<E>(
        &self,
        key: K,
        mode: Mode,
        absent_ok: bool,
        init: impl Future<Output = Result<Option<(V, Ttl)>, E>>,
    ) -> Result<Option<V>, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        match mode {
            Mode::UseCached => {
                if let Some(value) = self.get(&key) {
                    return Ok(Some(value));
                }
            }
            // A refresh is a miss by decree: counted as one, so that its joiners, counted as
            // coalesced, are also misses (DESIGN's convention).
            Mode::Refresh => self.inner.engine.count_miss(),
        }
        let inner = &self.inner;
        let mut init = pin!(init);
        if inner.engine.stores_nothing() {
            return self.run_alone(init.as_mut()).await;
        }
        let mut joined = false;
        loop {
            let peek = || match mode {
                Mode::UseCached => inner.engine.peek(&key),
                Mode::Refresh => None,
            };
            // With negative caching, a recent error of this caller's type answers at once.
            let now = inner
                .negative_ttl
                .map(|_| inner.engine.settings().clock.now());
            let failure = now.map(|now| (now, std::any::TypeId::of::<E>()));
            match inner.flights.join(&key, failure, peek) {
                Role::Ready(value) => return Ok(Some(value)),
                Role::Failed(error) => match error.downcast::<E>() {
                    Ok(error) => return Err(error),
                    // join answers only with an error of this type; were it otherwise, load.
                    Err(_) => continue,
                },
                Role::Waiter(waiter) => {
                    if !joined {
                        joined = true;
                        inner.loads.coalesced.fetch_add(1, Ordering::Relaxed);
                    }
                    match waiter.await {
                        Outcome::Value(value) => return Ok(Some(value)),
                        Outcome::Absent if absent_ok => return Ok(None),
                        Outcome::Failed(error) => {
                            if let Ok(error) = error.downcast::<E>() {
                                return Err(error);
                            }
                        }
                        // Abandoned, or an outcome this caller cannot return: load again.
                        Outcome::Absent | Outcome::Abandoned => {}
                    }
                }
                Role::Leader(leader) => {
                    // `leader` is a guard: if this future is dropped or `init` panics while
                    // it is held, the waiters are told to take over.
                    let result = self.timed(init.as_mut()).await;
                    return match result {
                        Ok(Some((value, ttl))) => {
                            // Hashed and weighed before the registry lock is taken: the
                            // weigher is user code and may call this cache.
                            let prepared = inner.engine.prepare(key.clone(), value.clone(), ttl);
                            let stored = leader.finish(Outcome::Value(value.clone()), || {
                                inner.engine.store(prepared)
                            });
                            if let Some(deferred) = stored {
                                deferred.notify();
                            }
                            Ok(Some(value))
                        }
                        Ok(None) => {
                            leader.finish(Outcome::Absent, || ());
                            Ok(None)
                        }
                        Err(error) => {
                            inner.loads.load_errors.fetch_add(1, Ordering::Relaxed);
                            let error = Arc::new(error);
                            let shared: Arc<dyn std::any::Any + Send + Sync> = error.clone();
                            let keep_until = inner.negative_ttl.map(|ttl| {
                                let now = inner.engine.settings().clock.now();
                                (now, now.saturating_add(ttl))
                            });
                            leader.fail(shared, keep_until);
                            Err(error)
                        }
                    };
                }
            }
        }
    }

    /// A load with no sharing and no store (`max_capacity(0)`).
    async fn run_alone<E>(
        &self,
        init: std::pin::Pin<&mut impl Future<Output = Result<Option<(V, Ttl)>, E>>>,
    ) -> Result<Option<V>, Arc<E>> {
        let result = self.timed(init).await;
        if result.is_err() {
            self.inner.loads.load_errors.fetch_add(1, Ordering::Relaxed);
        }
        result.map(|v| v.map(|(v, _)| v)).map_err(Arc::new)
    }

    /// Runs a loader, counting it and its time.
    async fn timed<T>(&self, init: std::pin::Pin<&mut impl Future<Output = T>>) -> T {
        let loads = &self.inner.loads;
        loads.loads.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let result = init.await;
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        loads.total_load_nanos.fetch_add(nanos, Ordering::Relaxed);
        result
    }

    #[cfg(test)]
    pub(crate) fn loads_in_flight(&self) -> usize {
        self.inner.flights.in_flight()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::Cache;

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
