//! Loading: `get_with` and its family, with single-flight.
//!
//! A miss starts a load; every caller that misses the same key while it runs waits for that
//! load instead of starting its own. See `flight/` for how leadership passes on when the
//! leading caller goes away.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hash};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;

use crate::error::Error;
use crate::expiry::Nanos;
use crate::flight::{Flights, Leader, Negative, Outcome, Role};
use crate::sync::Ordering;
use crate::{Cache, LoadError, Ttl};

/// How a load treats a value already cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Return it (the `get_with` family).
    UseCached,
    /// Load afresh anyway (`refresh`).
    Refresh,
}

/// What a call does when the cache is closed and it would load, or when the load it joined
/// failed on the cache's side ([`Outcome::Broken`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnClosed {
    /// Fail with the cache's error, e.g. `ErrorKind::Closed` (the calls that return errors).
    Fail,
    /// Run the caller's own loader, storing and sharing nothing (the calls that cannot fail).
    RunUncached,
}

/// The loader every call of the family is reduced to: a value and its TTL, `None`, or an
/// error.
pub(crate) type Loaded<V, E> = Result<Option<V>, LoadError<E>>;

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
    /// `init` is `Send + 'static` because it may run in the background: with
    /// [`stale_while_revalidate`](crate::CacheBuilder::stale_while_revalidate) or
    /// [`refresh_ahead`](crate::CacheBuilder::refresh_ahead), a caller that gets a cached
    /// value may hand its `init` to a background refresh. Move what it needs into it
    /// (`async move`, with cloned handles). A closed cache ([`close`](Self::close)) runs
    /// `init` and returns its value without storing it.
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
    pub async fn get_with(&self, key: K, init: impl Future<Output = V> + Send + 'static) -> V {
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
        // Written out in each method of the family rather than behind one shared `async fn`:
        // a hit then returns before any nested future exists (63 -> 80 M hits/s, measured).
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return value,
            Err(init) => pin!(init),
        };
        match self
            .load_missed(key, Mode::UseCached, false, OnClosed::RunUncached, init)
            .await
        {
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
        match self
            .load_missed(key, Mode::UseCached, false, OnClosed::RunUncached, init)
            .await
        {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_ttl yields a value"),
        }
    }

    /// The value for `key`, loading it with the fallible `init` on a miss. An error is handed
    /// to every caller waiting on that load (the same `Arc`) and is not cached: the next call
    /// loads again. With [`CacheBuilder::negative_ttl`](crate::CacheBuilder::negative_ttl),
    /// the error is kept for that long instead, and calls with the same error type get it
    /// without loading (`remove`, `clear` and `invalidate_if` drop it).
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
            .load_missed(key, Mode::UseCached, false, OnClosed::Fail, init)
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
            .load_missed(key, Mode::UseCached, true, OnClosed::RunUncached, init)
            .await
        {
            Ok(value) => value,
            Err(_) => unreachable!("optionally_get_with has no error"),
        }
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
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
    /// `init` need not be `'static`: a refresh never runs in the background. A closed cache
    /// runs it and returns its value without storing it.
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
        match self
            .load(key, Mode::Refresh, false, OnClosed::RunUncached, init)
            .await
        {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("refresh yields a value"),
        }
    }

    /// The `get_with` family without background refreshes: a lookup, then on a miss the
    /// single-flight core. `absent_ok`: whether this caller can return `None` (a waiter that
    /// cannot retries instead).
    pub(crate) async fn load<E>(
        &self,
        key: K,
        mode: Mode,
        absent_ok: bool,
        on_closed: OnClosed,
        init: impl Future<Output = Result<Option<(V, Ttl)>, E>>,
    ) -> Loaded<V, E>
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
        self.load_missed(key, mode, absent_ok, on_closed, pin!(init))
            .await
    }

    /// The single-flight core, after a lookup missed: lead a load of `key`, or wait for the
    /// one in flight.
    pub(crate) async fn load_missed<E>(
        &self,
        key: K,
        mode: Mode,
        absent_ok: bool,
        on_closed: OnClosed,
        mut init: Pin<&mut impl Future<Output = Result<Option<(V, Ttl)>, E>>>,
    ) -> Loaded<V, E>
    where
        E: Send + Sync + 'static,
    {
        let inner = &self.inner;
        if inner.engine.stores_nothing() {
            if inner.flights.is_closed() {
                return self.when_closed(on_closed, init).await;
            }
            return self.run_alone(init).await;
        }
        let mut joined = false;
        loop {
            let peek = || match mode {
                Mode::UseCached => inner.engine.peek(&key),
                Mode::Refresh => None,
            };
            // With negative caching, a recent error of this caller's type (or a recent "no
            // value", if it can return that) answers at once.
            let failure = self.negative::<E>(absent_ok);
            match Flights::join(&inner.flights, &key, failure, peek) {
                Role::Ready(value) => return Ok(Some(value)),
                Role::Failed(error) => match error.downcast::<E>() {
                    Ok(error) => return Err(LoadError::Loader(error)),
                    // join answers only with an error of this type; were it otherwise, load.
                    Err(_) => continue,
                },
                Role::Closed => return self.when_closed(on_closed, init).await,
                Role::Absent => return Ok(None),
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
                                return Err(LoadError::Loader(error));
                            }
                        }
                        Outcome::Closed => {
                            return self.when_closed(on_closed, init.as_mut()).await;
                        }
                        Outcome::Broken(error) if on_closed == OnClosed::Fail => {
                            return Err(LoadError::Cache(error));
                        }
                        // Abandoned, or an outcome this caller cannot return: load again.
                        Outcome::Absent | Outcome::Abandoned | Outcome::Broken(_) => {}
                    }
                }
                Role::Leader(leader) => return self.lead(leader, on_closed, init).await,
            }
        }
    }

    /// Runs a load as its leader: `init` is polled until it finishes or `close` cancels the
    /// load; a finished load is stored (unless invalidated meanwhile) and handed to the
    /// waiters. `leader` is a guard: if this future is dropped or `init` panics while it is
    /// held, the waiters are told to take over.
    pub(crate) async fn lead<E>(
        &self,
        leader: Leader<K, V>,
        on_closed: OnClosed,
        mut init: Pin<&mut impl Future<Output = Result<Option<(V, Ttl)>, E>>>,
    ) -> Loaded<V, E>
    where
        E: Send + Sync + 'static,
    {
        let inner = &self.inner;
        let result = self
            .timed(poll_fn(|cx| {
                if leader.cancelled(cx) {
                    return Poll::Ready(None);
                }
                init.as_mut().poll(cx).map(Some)
            }))
            .await;
        let Some(result) = result else {
            drop(leader);
            return match on_closed {
                OnClosed::Fail => Err(LoadError::Cache(Error::closed())),
                // Already counted as a load: finish it, for this caller only.
                OnClosed::RunUncached => init
                    .await
                    .map(|loaded| loaded.map(|(value, _)| value))
                    .map_err(|error| LoadError::Loader(Arc::new(error))),
            };
        };
        match result {
            Ok(Some((value, ttl))) => {
                self.finish_with_value(leader, value.clone(), ttl);
                Ok(Some(value))
            }
            Ok(None) => {
                leader.finish_absent(self.keep_until());
                Ok(None)
            }
            Err(error) => {
                let error = Arc::new(error);
                inner.loads.load_errors.fetch_add(1, Ordering::Relaxed);
                self.finish_with_error(leader, Arc::clone(&error));
                Err(LoadError::Loader(error))
            }
        }
    }

    /// Ends a load with its value: stored (unless invalidated meanwhile) and handed to the
    /// waiters.
    pub(crate) fn finish_with_value(&self, leader: Leader<K, V>, value: V, ttl: Ttl) {
        // Hashed and weighed before the registry lock is taken: the weigher is user code and
        // may call this cache.
        let prepared = self
            .inner
            .engine
            .prepare(leader.key().clone(), value.clone(), ttl);
        let stored = leader.finish(Outcome::Value(value), || self.inner.engine.store(prepared));
        if let Some(deferred) = stored {
            deferred.notify();
        }
    }

    /// With negative caching, what a caller with error type `E` can be answered with from it.
    pub(crate) fn negative<E: 'static>(&self, absent_ok: bool) -> Option<Negative> {
        let inner = &self.inner;
        inner.negative_ttl.map(|_| Negative {
            now: inner.engine.settings().clock.now(),
            error_type: std::any::TypeId::of::<E>(),
            absent_ok,
        })
    }

    /// With negative caching, (now, until when) a load's error or "no value" is kept.
    pub(crate) fn keep_until(&self) -> Option<(Nanos, Nanos)> {
        let inner = &self.inner;
        inner.negative_ttl.map(|ttl| {
            let now = inner.engine.settings().clock.now();
            (now, now.saturating_add(ttl))
        })
    }

    /// Ends a load with the loader's error (counted by the caller, once per loader call):
    /// handed to the waiters, and kept for a while with negative caching.
    pub(crate) fn finish_with_error<E>(&self, leader: Leader<K, V>, error: Arc<E>)
    where
        E: Send + Sync + 'static,
    {
        leader.fail(error, self.keep_until());
    }

    /// What a call that would load gets from a closed cache.
    async fn when_closed<E>(
        &self,
        on_closed: OnClosed,
        init: Pin<&mut impl Future<Output = Result<Option<(V, Ttl)>, E>>>,
    ) -> Loaded<V, E> {
        match on_closed {
            OnClosed::Fail => Err(LoadError::Cache(Error::closed())),
            OnClosed::RunUncached => self.run_alone(init).await,
        }
    }

    /// A load with no sharing and no store (`max_capacity(0)`, a closed cache).
    async fn run_alone<E>(
        &self,
        init: Pin<&mut impl Future<Output = Result<Option<(V, Ttl)>, E>>>,
    ) -> Loaded<V, E> {
        let result = self.timed(init).await;
        if result.is_err() {
            self.inner.loads.load_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
            .map(|loaded| loaded.map(|(value, _)| value))
            .map_err(|error| LoadError::Loader(Arc::new(error)))
    }

    /// Runs a loader, counting it and its time on the cache's clock (the clock deadlines
    /// are on, which refresh-ahead compares load times with).
    pub(crate) async fn timed<T>(&self, init: impl Future<Output = T>) -> T {
        let loads = &self.inner.loads;
        let clock = &self.inner.engine.settings().clock;
        loads.loads.fetch_add(1, Ordering::Relaxed);
        let start = clock.now();
        let result = init.await;
        let nanos = clock.now().saturating_sub(start);
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
