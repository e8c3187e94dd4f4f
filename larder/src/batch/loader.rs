//! [`BatchLoader`]: misses gathered for a short window (or until a batch is full) and loaded
//! with one call of a batch function.
//!
//! Each key a caller misses is an ordinary flight in the cache's registry, led by the batch:
//! the caller puts the lead in the open batch and waits like any waiter. The first key of a
//! batch starts its window (a tokio timer task); the key that fills it dispatches it at once.
//! Dispatching takes the batch out of the open slot, so the next miss opens a new batch and
//! nobody waits behind a running one. At dispatch, keys nobody waits for any more are dropped.

use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::join_all;

use crate::error::{Error, ErrorKind};
use crate::expiry::MAX_DURATION;
use crate::flight::Leader;
use crate::hasher::DefaultHashBuilder;
use crate::load::{
    BatchFailure, BatchResult, Joined, LoadOptions, Next, Timed, call_batch, default_ttl, settle,
};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::{Cache, LoadError};

/// The default window: how long the first miss of a batch waits for others.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::from_millis(5);
/// The default most keys per batch call.
pub(crate) const DEFAULT_MAX_BATCH_SIZE: usize = 100;
/// The default most batches waiting for `max_concurrent_batches`: 100,000 keys at the
/// default batch size.
pub(crate) const DEFAULT_MAX_QUEUED_BATCHES: usize = 1_000;

type BatchFuture<V, E> = Pin<Box<dyn Future<Output = Result<Timed<V>, BatchFailure<E>>> + Send>>;
/// A batch function with its result type erased, so that loaders are nameable types.
pub(crate) type BatchFn<K, V, E> = Arc<dyn Fn(Vec<K>) -> BatchFuture<V, E> + Send + Sync>;

pub(crate) fn erase<K, V, E, F, Fut, R>(batch_fn: F) -> BatchFn<K, V, E>
where
    K: Clone + Send + 'static,
    F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: BatchResult<K, V>,
{
    let batch_fn = Arc::new(batch_fn);
    Arc::new(move |keys: Vec<K>| {
        let batch_fn = Arc::clone(&batch_fn);
        Box::pin(async move {
            call_batch(|keys| batch_fn(keys), keys)
                .await
                .map(default_ttl)
        })
    })
}

/// How batches are formed; shared by [`BatchLoaderBuilder`] and the
/// [`DataLoaderBuilder`](crate::batch::DataLoaderBuilder).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) window: Duration,
    pub(crate) max_batch_size: usize,
    pub(crate) max_concurrent_batches: Option<usize>,
    pub(crate) max_queued_batches: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            window: DEFAULT_WINDOW,
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            max_concurrent_batches: None,
            max_queued_batches: DEFAULT_MAX_QUEUED_BATCHES,
        }
    }
}

impl BatchSettings {
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.max_batch_size == 0 {
            return Err(Error::config("max_batch_size must be at least 1"));
        }
        if self.max_concurrent_batches == Some(0) {
            return Err(Error::config("max_concurrent_batches must be at least 1"));
        }
        if self.max_queued_batches == 0 {
            return Err(Error::config("max_queued_batches must be at least 1"));
        }
        if self.window > MAX_DURATION {
            return Err(Error::config(format!(
                "window must be at most 100 years, got {:?}",
                self.window
            )));
        }
        Ok(())
    }
}

/// Loads keys through a cache, collapsing concurrent misses into batch calls. Get one from
/// [`Cache::batch_loader`]. Clones share the loader: its identity is this object, not the
/// batch function.
///
/// # Background work
///
/// Per batch, a tokio task: it waits out the window, unless the batch fills first, and runs
/// the batch function. It needs the caller's tokio runtime; outside one, each miss is loaded
/// as a batch of one, with no window. A batch ends when its call does; `close` on the cache
/// cancels or awaits it like any load.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use std::collections::HashMap;
/// use std::time::Duration;
///
/// let cache: Cache<u64, String> = Cache::new(1_000);
/// let users = cache
///     .batch_loader(|ids: Vec<u64>| async move {
///         // One query for the whole batch: SELECT .. WHERE id IN (..)
///         Ok::<_, String>(ids.into_iter().map(|id| (id, format!("user {id}"))).collect::<HashMap<_, _>>())
///     })
///     .window(Duration::from_millis(2))
///     .max_batch_size(50)
///     .build();
/// let (a, b) = tokio::join!(users.load(1), users.load(2)); // one batch call: [1, 2]
/// assert_eq!(a.unwrap().as_deref(), Some("user 1"));
/// assert_eq!(b.unwrap().as_deref(), Some("user 2"));
/// assert_eq!(cache.stats().batches, 1);
/// # }
/// ```
pub struct BatchLoader<K: Hash + Eq + Clone, V: Clone, E, S = DefaultHashBuilder> {
    shared: Arc<Shared<K, V, E, S>>,
}

struct Shared<K: Hash + Eq + Clone, V: Clone, E, S> {
    cache: Cache<K, V, S>,
    batch_fn: BatchFn<K, V, E>,
    settings: BatchSettings,
    open: Mutex<Open<K, V>>,
    permits: Option<tokio::sync::Semaphore>,
    /// Batches waiting for a permit.
    queued: AtomicUsize,
}

/// The batch being gathered.
struct Open<K: Hash + Eq + Clone, V: Clone> {
    /// Bumped at each dispatch, so that a window's timer knows whether its batch is gone.
    generation: u64,
    leaders: Vec<Leader<K, V>>,
}

impl<K: Hash + Eq + Clone, V: Clone, E, S> Clone for BatchLoader<K, V, E, S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone, E, S> fmt::Debug for BatchLoader<K, V, E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchLoader")
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`BatchLoader`]; from [`Cache::batch_loader`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let cache: larder::Cache<u64, u64> = larder::Cache::new(100);
/// let loader = cache
///     .batch_loader(|keys: Vec<u64>| async move { Ok::<_, ()>(keys.clone()) })
///     .window(Duration::from_millis(10))
///     .max_batch_size(25)
///     .max_concurrent_batches(4)
///     .build();
/// # drop(loader);
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct BatchLoaderBuilder<K, V, E, S = DefaultHashBuilder> {
    cache: Cache<K, V, S>,
    batch_fn: BatchFn<K, V, E>,
    settings: BatchSettings,
}

impl<K, V, E, S> fmt::Debug for BatchLoaderBuilder<K, V, E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchLoaderBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// A builder for a [`BatchLoader`] on this cache. `batch_fn` gets the keys of a batch,
    /// deduplicated, in the order they were asked for. It returns their values as a
    /// `HashMap<K, V>` or a `Vec<V>` aligned with the keys: see [`BatchResult`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u64, u64> = larder::Cache::new(100);
    /// let squares = cache
    ///     .batch_loader(|keys: Vec<u64>| async move {
    ///         Ok::<_, std::io::Error>(keys.iter().map(|k| k * k).collect::<Vec<_>>())
    ///     })
    ///     .build();
    /// # drop(squares);
    /// ```
    pub fn batch_loader<E, F, Fut, R>(&self, batch_fn: F) -> BatchLoaderBuilder<K, V, E, S>
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: BatchResult<K, V>,
        E: Send + Sync + 'static,
    {
        self.batch_loader_timed(erase(batch_fn))
    }

    /// A batch loader builder for a batch function that gives each value its TTL (a
    /// tier's, whose values from L2 have only so long left).
    pub(crate) fn batch_loader_timed<E>(
        &self,
        batch_fn: BatchFn<K, V, E>,
    ) -> BatchLoaderBuilder<K, V, E, S> {
        BatchLoaderBuilder {
            cache: self.clone(),
            batch_fn,
            settings: BatchSettings::default(),
        }
    }
}

impl<K, V, E, S> BatchLoaderBuilder<K, V, E, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// How long the first miss of a batch waits for more before the batch is dispatched;
    /// 5 ms by default. At most 100 years.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let b = cache.batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .window(std::time::Duration::from_millis(1));
    /// # drop(b);
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.settings.window = window;
        self
    }

    /// The most keys in one batch call; a full batch is dispatched at once. 100 by default;
    /// at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let b = cache.batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).max_batch_size(10);
    /// # drop(b);
    /// ```
    pub fn max_batch_size(mut self, max: usize) -> Self {
        self.settings.max_batch_size = max;
        self
    }

    /// The most batch calls running at once; further full batches wait for one to end. New
    /// misses still gather into a new batch meanwhile. Unlimited by default; at least 1.
    ///
    /// While a batch waits, a key whose callers have all gone is dropped from it at once, so
    /// a batch that hangs holds back only the keys somebody still waits for. A later caller
    /// of a dropped key loads it afresh; one that joins a key still queued waits for its
    /// batch, as it would for any load in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let b = cache.batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).max_concurrent_batches(2);
    /// # drop(b);
    /// ```
    pub fn max_concurrent_batches(mut self, max: usize) -> Self {
        self.settings.max_concurrent_batches = Some(max);
        self
    }

    /// With [`max_concurrent_batches`](Self::max_concurrent_batches), the most full batches
    /// waiting for a running one to end; 1,000 by default; at least 1. A batch beyond them is
    /// not queued: every caller of its keys gets an error of kind
    /// [`Overloaded`](crate::ErrorKind::Overloaded) at once, so that a batch function that
    /// hangs cannot make the queue grow without bound.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let b = cache
    ///     .batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .max_concurrent_batches(2)
    ///     .max_queued_batches(50);
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
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let loader = cache.batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).build();
    /// # drop(loader);
    /// ```
    pub fn build(self) -> BatchLoader<K, V, E, S> {
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
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `max_batch_size`,
    /// `max_concurrent_batches` or `max_queued_batches` is 0, or `window` exceeds 100 years.
    ///
    /// # Examples
    ///
    /// ```
    /// # let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let err = cache
    ///     .batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) })
    ///     .max_batch_size(0)
    ///     .try_build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), larder::ErrorKind::Config);
    /// ```
    pub fn try_build(self) -> Result<BatchLoader<K, V, E, S>, Error> {
        BatchLoader::new(self.cache, self.batch_fn, self.settings)
    }
}

impl<K, V, E, S> BatchLoader<K, V, E, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    pub(crate) fn new(
        cache: Cache<K, V, S>,
        batch_fn: BatchFn<K, V, E>,
        settings: BatchSettings,
    ) -> Result<Self, Error> {
        settings.check()?;
        Ok(Self {
            shared: Arc::new(Shared {
                cache,
                batch_fn,
                settings,
                open: Mutex::new(Open {
                    generation: 0,
                    leaders: Vec::new(),
                }),
                // Beyond what a semaphore can count, a limit is no limit.
                permits: settings
                    .max_concurrent_batches
                    .filter(|&n| n <= tokio::sync::Semaphore::MAX_PERMITS)
                    .map(tokio::sync::Semaphore::new),
                queued: AtomicUsize::new(0),
            }),
        })
    }

    /// The value of `key`: from the cache, from a load of it already running, or from the
    /// next batch call. `None` when the batch function has no value for it; that `None` is
    /// not cached.
    ///
    /// # Concurrent calls on the same key
    ///
    /// One load per key: a key being loaded by a batch, `get_with` or `get_many_with` is
    /// joined, and a key asked for twice in one batch is sent once.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future affects nobody else. A key whose every caller went away before
    /// its batch was dispatched is not requested.
    ///
    /// # Errors
    ///
    /// [`LoadError::Loader`] with the batch function's error, the same `Arc` for every key of
    /// that batch. [`LoadError::Cache`] when the batch function's result does not match the
    /// keys, with kind [`BatchShape`](crate::ErrorKind::BatchShape); when it panicked; or when
    /// the cache is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<u64, u64> = larder::Cache::new(100);
    /// let doubled = cache
    ///     .batch_loader(|keys: Vec<u64>| async move { Ok::<_, ()>(keys.iter().map(|k| k * 2).collect::<Vec<_>>()) })
    ///     .build();
    /// assert_eq!(doubled.load(21).await, Ok(Some(42)));
    /// assert_eq!(cache.get(&21), Some(42));
    /// # }
    /// ```
    pub async fn load(&self, key: K) -> Result<Option<V>, LoadError<E>> {
        let cache = &self.shared.cache;
        if let Some(value) = cache.get(&key) {
            return Ok(Some(value));
        }
        let path = cache.load_path();
        let options = LoadOptions::BATCH;
        let mut joined = false;
        loop {
            let waiter = match path.join::<E>(&key, options) {
                Joined::Done(loaded) => return loaded,
                // Batch options fail on a closed cache rather than run uncached.
                Joined::RunUncached => return Err(LoadError::Cache(Error::closed())),
                Joined::Wait(waiter) => {
                    if !joined {
                        joined = true;
                        path.loads().count_coalesced();
                    }
                    waiter
                }
                Joined::Lead(leader) => {
                    let waiter = leader.waiter();
                    if let Some(leader) = self.enqueue(leader) {
                        // No runtime to wait out a window on: a batch of one, now.
                        let batch_fn = &self.shared.batch_fn;
                        path.run_batch(vec![leader], |keys| batch_fn(keys)).await;
                    }
                    waiter
                }
            };
            match settle(waiter.await, options) {
                Next::Return(loaded) => return loaded,
                Next::RunUncached => return Err(LoadError::Cache(Error::closed())),
                Next::Retry => {}
            }
        }
    }

    /// The values of `keys`, in their order: [`load`](Self::load) for each, all at once, so
    /// that they share batches.
    ///
    /// # Cancel safety
    ///
    /// As [`load`](Self::load).
    ///
    /// # Errors
    ///
    /// The first error among the keys' loads, as [`load`](Self::load) gives it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::collections::HashMap;
    /// let cache: larder::Cache<u64, String> = larder::Cache::new(100);
    /// let names = cache
    ///     .batch_loader(|ids: Vec<u64>| async move {
    ///         Ok::<_, ()>(ids.into_iter().filter(|id| *id != 2).map(|id| (id, id.to_string())).collect::<HashMap<_, _>>())
    ///     })
    ///     .build();
    /// let got = names.load_many([3, 2, 1, 3]).await.unwrap();
    /// assert_eq!(got, [Some("3".into()), None, Some("1".into()), Some("3".into())]);
    /// assert_eq!(cache.stats().batches, 1);
    /// # }
    /// ```
    pub async fn load_many(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<V>>, LoadError<E>> {
        join_all(keys.into_iter().map(|key| self.load(key)))
            .await
            .into_iter()
            .collect()
    }

    /// The cache this loader loads into.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u8, u8> = larder::Cache::new(1);
    /// let loader = cache.batch_loader(|k: Vec<u8>| async move { Ok::<_, ()>(k) }).build();
    /// assert_eq!(loader.cache().len(), 0);
    /// ```
    pub fn cache(&self) -> &Cache<K, V, S> {
        &self.shared.cache
    }

    /// Puts a key's load in the open batch. Hands it back when no tokio runtime (or none
    /// with timers) is there to run the window.
    fn enqueue(&self, leader: Leader<K, V>) -> Option<Leader<K, V>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Some(leader);
        };
        let shared = &self.shared;
        let mut open = shared.open.lock();
        let opens_a_window = open.leaders.is_empty() && shared.settings.max_batch_size > 1;
        let window = if opens_a_window {
            // Made here, in the caller, rather than in the task: a runtime without timers
            // makes `sleep` panic, which must not strand the batch in a task that died.
            let window = shared.settings.window;
            match std::panic::catch_unwind(|| tokio::time::sleep(window)) {
                Ok(sleep) => Some(sleep),
                Err(_) => return Some(leader),
            }
        } else {
            None
        };
        open.leaders.push(leader);
        if open.leaders.len() >= shared.settings.max_batch_size {
            let batch = std::mem::take(&mut open.leaders);
            open.generation += 1;
            drop(open);
            // Were the task dropped unrun (its runtime shutting down), its keys would be
            // released with it: the leaders abandon their loads and the waiters retry.
            runtime.spawn(Arc::clone(shared).dispatch(batch));
        } else if let Some(sleep) = window {
            let guard = Window {
                shared: Arc::clone(shared),
                generation: open.generation,
            };
            drop(open);
            runtime.spawn(async move {
                sleep.await;
                if let Some(batch) = guard.take() {
                    Arc::clone(&guard.shared).dispatch(batch).await;
                }
            });
        }
        None
    }
}

/// A batch's place in the queue of batches waiting for a permit, counted while it lives.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    /// A place, unless `max` batches already wait.
    fn enter(queued: &'a AtomicUsize, max: usize) -> Option<Self> {
        let mut now = queued.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match queued.compare_exchange_weak(now, now + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(Self(queued)),
                Err(seen) => now = seen,
            }
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A batch's window, owned by its timer task. If the task is dropped before the window ends
/// (its runtime shut down), the batch's keys are released, so that their waiters retry
/// instead of waiting for a dispatch that will never come.
struct Window<K: Hash + Eq + Clone, V: Clone, E, S> {
    shared: Arc<Shared<K, V, E, S>>,
    generation: u64,
}

impl<K: Hash + Eq + Clone, V: Clone, E, S> Window<K, V, E, S> {
    /// The batch, unless it was dispatched already (it filled up).
    fn take(&self) -> Option<Vec<Leader<K, V>>> {
        let mut open = self.shared.open.lock();
        if open.generation != self.generation {
            return None;
        }
        open.generation += 1;
        Some(std::mem::take(&mut open.leaders))
    }
}

impl<K: Hash + Eq + Clone, V: Clone, E, S> Drop for Window<K, V, E, S> {
    fn drop(&mut self) {
        // Dropped after its batch was taken, this takes nothing.
        drop(self.take());
    }
}

impl<K, V, E, S> Shared<K, V, E, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// Runs one batch, once a permit allows it, for the keys somebody still waits for.
    async fn dispatch(self: Arc<Self>, mut batch: Vec<Leader<K, V>>) {
        let Some(permits) = &self.permits else {
            batch.retain(|leader| leader.has_waiters());
            return self.run(batch).await;
        };
        let permit = match permits.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                // No permit free: the batch queues, unless the queue is full.
                let Some(_queued) = Queued::enter(&self.queued, self.settings.max_queued_batches)
                else {
                    let error = Error::new(
                        ErrorKind::Overloaded,
                        format!(
                            "{} batches already wait for a running one to end",
                            self.settings.max_queued_batches
                        ),
                    );
                    for leader in batch {
                        leader.break_with(error.clone());
                    }
                    return;
                };
                let mut acquire = std::pin::pin!(permits.acquire());
                // While the batch waits, a key whose callers have all gone is dropped at once,
                // not when the permit comes: its memory is freed, and its flight with it, so
                // a later caller of that key loads it rather than wait behind a queued batch.
                // Dropping a leader nobody waits for abandons its flight, which nobody will
                // notice.
                poll_fn(|cx| {
                    batch.retain(|leader| leader.waited_for(cx));
                    if batch.is_empty() {
                        return Poll::Ready(None);
                    }
                    acquire.as_mut().poll(cx).map(Result::ok)
                })
                .await
            }
        };
        if permit.is_none() {
            return; // nobody waits for any of its keys any more
        }
        batch.retain(|leader| leader.has_waiters());
        self.run(batch).await;
    }

    /// Calls the batch function for `batch` and finishes its keys' loads.
    async fn run(&self, batch: Vec<Leader<K, V>>) {
        let batch_fn = &self.batch_fn;
        let path = self.cache.load_path();
        path.run_batch(batch, |keys| batch_fn(keys)).await;
    }
}
