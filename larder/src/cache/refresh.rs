//! Refreshing: [`Cache::refresh`] in the foreground, and the background refreshes of
//! stale-while-revalidate and refresh-ahead.
//!
//! The background ones answer a loading call from the cache at once and hand the caller's
//! loader to a background task that reloads the key. Stale-while-revalidate does it for an entry past its
//! deadline but within the grace (`CacheBuilder::stale_while_revalidate`); refresh-ahead for a
//! fresh entry near its deadline, with XFetch's probability (`CacheBuilder::refresh_ahead`).
//! The task leads an ordinary flight, so it coalesces with foreground loads of the key, and
//! `close` reaches it like any load.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;

use super::handle::Cache;
use super::revalidation::Revalidation;
use crate::Ttl;
use crate::engine::Found;
use crate::equivalent::Equivalent;
use crate::hooks::{self, Op};
use crate::load::{Joined, LoadOptions, Loaded, OnClosed, Yielded};
use crate::observe::{LoadScope, Outcome, RefreshTrigger};
use crate::spawn::BackgroundTask;
use crate::{ErrorKind, LoadError};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// The lookup the `get_with` family starts with, before any `await`: the value when the
    /// cache can answer (with background refreshes on, also a stale or nearly expired one,
    /// handing `init` to a refresh), else `init` back, to load with (the miss counted).
    /// `key` is cloned into an owned one only to hand a background refresh.
    pub(crate) fn answer_from_cache<Q, E, T, F>(&self, key: &Q, init: F) -> Result<V, F>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        F: Future<Output = Result<Option<T>, E>> + Send + 'static,
        T: Yielded<V> + Send + 'static,
        E: Send + Sync + 'static,
    {
        let inner = self.inner();
        let revalidation = inner.revalidation.as_ref();
        let Some(revalidation) = revalidation.filter(|_| !inner.loads.is_closed()) else {
            return self.get(key).ok_or(init);
        };
        match inner.loads.hooks() {
            None => self.answer_revalidating(key, revalidation, init),
            Some(hooks) => hooks.around(
                self.hook_call(Op::Get, key),
                || self.answer_revalidating(key, revalidation, init),
                |answer| {
                    if answer.is_ok() {
                        hooks::Outcome::Hit
                    } else {
                        hooks::Outcome::Miss
                    }
                },
            ),
        }
    }

    /// [`answer_from_cache`](Self::answer_from_cache) with background refreshes on.
    fn answer_revalidating<Q, E, T, F>(
        &self,
        key: &Q,
        revalidation: &Revalidation,
        init: F,
    ) -> Result<V, F>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        F: Future<Output = Result<Option<T>, E>> + Send + 'static,
        T: Yielded<V> + Send + 'static,
        E: Send + Sync + 'static,
    {
        let inner = self.inner();
        match inner.engine.get_for_load(key) {
            Found::Fresh {
                value,
                deadline,
                now,
            } => {
                if revalidation.refresh_early(deadline, now, inner.loads.mean_load_nanos()) {
                    self.refresh_in_background(key, revalidation, false, init);
                }
                Ok(value)
            }
            Found::Stale(value) => {
                inner.loads.count_stale_served();
                self.refresh_in_background(key, revalidation, true, init);
                Ok(value)
            }
            Found::Absent => Err(init),
        }
    }

    /// Starts a background reload of `key` with `init`, unless one is already in flight (or,
    /// for a `stale` entry, a fresh value has been stored since the lookup).
    fn refresh_in_background<Q, E, T>(
        &self,
        key: &Q,
        revalidation: &Revalidation,
        stale: bool,
        init: impl Future<Output = Result<Option<T>, E>> + Send + 'static,
    ) where
        Q: ToOwned<Owned = K> + ?Sized,
        E: Send + Sync + 'static,
        T: Yielded<V> + Send + 'static,
    {
        let key = key.to_owned();
        let key = &key;
        // A stale entry is refreshed unless a fresh value was stored since the lookup; one
        // refreshed ahead is live, so it is reloaded whatever is cached.
        let options = if stale {
            LoadOptions::FALLIBLE
        } else {
            LoadOptions::FALLIBLE.refreshing()
        };
        // With negative caching, a recent failure of this key holds the next refresh back.
        let Joined::Lead(leader) = self.load_path().join::<E>(key, options) else {
            return; // in flight already, refreshed meanwhile, failed recently, or closed
        };
        let trigger = if stale {
            RefreshTrigger::Stale
        } else {
            RefreshTrigger::Ahead
        };
        let cache = self.clone();
        let task = BackgroundTask::new(async move {
            // The outcome reaches the cache and any waiters; the task has nobody else to tell.
            let path = cache.load_path();
            let scope = LoadScope::refresh(path.loads().name(), trigger, || leader.hash());
            let init = pin!(init);
            let loaded = scope
                .instrument(path.lead(leader, OnClosed::Fail, init))
                .await;
            scope.finish(outcome(&loaded));
        });
        // A task handed back is dropped with its leader guard: the flight is abandoned, and a
        // later call loads instead.
        if revalidation.spawner.spawn(task).is_ok() {
            self.inner().loads.count_refresh();
        }
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Loads the value for `key` afresh with `init` and stores it, even when one is cached,
    /// like async-cache's `use_cache=False` or aiocache's `cache_read=False`. Counted in
    /// [`Stats::refreshes`](crate::Stats).
    ///
    /// # Concurrent calls on the same key
    ///
    /// If a load of `key` is already running, from another `refresh` or from a `get_with`
    /// that missed, this call waits for it instead of starting a second one. Callers of
    /// `get_with` that find the old value cached get it at once while the refresh runs.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with): dropping this future drops its load, or hands it to a
    /// waiter; the cached value stays as it was.
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
        let init = pin!(async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) });
        let options = LoadOptions::VALUE.refreshing();
        let path = self.load_path();
        let scope = LoadScope::refresh(path.loads().name(), RefreshTrigger::Explicit, || {
            path.hash(&key)
        });
        let loaded = scope.instrument(path.load(key, options, init)).await;
        scope.finish(outcome(&loaded));
        match loaded {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("refresh yields a value"),
        }
    }
}

/// How a refresh ended, for its span.
fn outcome<V, E>(loaded: &Loaded<V, E>) -> Outcome {
    match loaded {
        Ok(Some(_)) => Outcome::Value,
        Ok(None) => Outcome::Absent,
        Err(LoadError::Cache(error)) if error.kind() == ErrorKind::Closed => Outcome::Cancelled,
        Err(_) => Outcome::Error,
    }
}
