//! [`LoadPath`]: joining or leading a key's load, running the loader, storing its value and
//! handing the outcome to every caller.
//!
//! A miss joins the key's flight. The first caller leads: it runs its loader (or puts the
//! key in a batch), stores the value unless the key was invalidated meanwhile, and publishes
//! the outcome. The others wait for it; if the leader goes away (its future dropped, its
//! loader panicked), a waiter comes back and leads with its own loader.

use std::any::TypeId;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use super::loads::Loads;
use super::options::{LoadOptions, Mode, OnClosed};
use super::settle::{Loaded, Next, settle};
use super::yielded::Yielded;
use crate::engine::{Engine, Prepared};
use crate::equivalent::Equivalent;
use crate::error::Error;
use crate::expiry::Nanos;
use crate::flight::{Flights, Leader, Negative, Outcome, Place, Role, Waiter};
use crate::hooks::{self, Call, HookKey, Op};
use crate::observe::{self, LoadScope};
use crate::sync::Ordering;
use crate::tags::{LoadTicket, Tag};
use crate::{LoadError, Ttl};

/// Where a caller stands on a key's load after joining it.
pub(crate) enum Joined<K: Hash + Eq + Clone, V: Clone, E> {
    /// Answered without a load: the value stored meanwhile, a kept failure or "no value",
    /// or a closed cache's error.
    Done(Loaded<V, E>),
    /// The cache is closed: the caller runs its own loader, storing nothing.
    RunUncached,
    /// Another caller leads the load: wait for it, then [`settle`] its outcome.
    Wait(Waiter<V>),
    /// This caller leads the load: run it with [`LoadPath::lead`] or put it in a batch.
    Lead(Leader<K, V>),
}

/// The load protocol of one cache: its engine and its [`Loads`], borrowed together.
pub(crate) struct LoadPath<'a, K, V, S> {
    engine: &'a Engine<K, V, S>,
    loads: &'a Loads<K, V>,
}

impl<'a, K, V, S> LoadPath<'a, K, V, S> {
    pub(crate) fn new(engine: &'a Engine<K, V, S>, loads: &'a Loads<K, V>) -> Self {
        Self { engine, loads }
    }

    /// The cache's loading state (counters, invalidation, closing).
    pub(crate) fn loads(&self) -> &'a Loads<K, V> {
        self.loads
    }

    /// `key` hashed with the cache's own hasher: for a map of the user's keys that must not
    /// fall back to a default hasher (HashDoS).
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64
    where
        S: BuildHasher,
    {
        self.engine.settings().hash(key)
    }

    /// `key` was invalidated (`remove`, a `DataLoader`'s `prime`): a load in flight for it
    /// stores nothing, and a kept failure of it is forgotten.
    pub(crate) fn invalidate<Q>(&self, key: &Q)
    where
        K: Hash + Eq,
        V: Clone,
        S: BuildHasher,
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.loads.invalidate(self.engine.settings().hash(key), key);
    }
}

impl<K, V, S> LoadPath<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Loads `key` with `init`, or waits for the load of it already in flight. With
    /// [`Mode::UseCached`] the caller has looked the key up already (and counted its miss);
    /// with [`Mode::Refresh`] the load happens whatever is cached, and is counted here as a
    /// refresh and a miss. `init` yields the value with its TTL, and for a tagged load its
    /// tags too (see [`Yielded`]).
    pub(crate) async fn load<E, T>(
        &self,
        key: K,
        options: LoadOptions,
        mut init: Pin<&mut impl Future<Output = Result<Option<T>, E>>>,
    ) -> Loaded<V, E>
    where
        E: Send + Sync + 'static,
        T: Yielded<V>,
    {
        if options.mode == Mode::Refresh {
            // A refresh is a miss by decree, so that its joiners, counted as coalesced, are
            // misses too, as every caller that waits for a load is.
            self.loads.count_refresh();
            self.engine.count_miss();
        }
        if self.engine.stores_nothing() && !self.loads.is_pass_through() {
            // `max_capacity(0)`: nothing is stored, so nothing is shared either. A disabled
            // cache stores nothing too, but shares its loads (`CacheBuilder::enabled`).
            if self.loads.is_closed() && options.on_closed == OnClosed::Fail {
                return Err(LoadError::Cache(Error::closed()));
            }
            return self.run_uncached(&key, init).await;
        }
        let mut joined = false;
        loop {
            match self.join::<E>(&key, options) {
                Joined::Done(loaded) => return loaded,
                Joined::RunUncached => return self.run_uncached(&key, init).await,
                Joined::Lead(leader) => return self.lead(leader, options.on_closed, init).await,
                Joined::Wait(waiter) => {
                    if !joined {
                        joined = true;
                        self.loads.count_coalesced();
                    }
                    match settle(waiter.await, options) {
                        Next::Return(loaded) => return loaded,
                        Next::RunUncached => {
                            return self.run_uncached(&key, init.as_mut()).await;
                        }
                        Next::Retry => {}
                    }
                }
            }
        }
    }

    /// Joins the load of `key`, or starts one (see [`Joined`]). With [`Mode::UseCached`], a
    /// value stored since the caller's miss answers it; with negative caching, so does a
    /// recent failure it can return.
    pub(crate) fn join<E>(&self, key: &K, options: LoadOptions) -> Joined<K, V, E>
    where
        E: Send + Sync + 'static,
    {
        loop {
            let negative = self.negative::<E>(options.absent_ok);
            let peek = || match options.mode {
                Mode::UseCached => self.engine.peek(key),
                Mode::Refresh => None,
            };
            let hash = self.engine.settings().hash(key);
            let answered = match Flights::join(&self.loads.flights, hash, key, negative, peek) {
                Role::Leader(leader) => return Joined::Lead(leader),
                Role::Waiter(waiter) => return Joined::Wait(waiter),
                Role::Answered(outcome) => outcome,
            };
            match settle(answered, options) {
                Next::Return(loaded) => return Joined::Done(loaded),
                Next::RunUncached => return Joined::RunUncached,
                // The registry answers only with what this caller can take; were it
                // otherwise, joining again leads or waits.
                Next::Retry => {}
            }
        }
    }

    /// Runs a load as its leader: `init` is polled until it finishes or `close` cancels the
    /// load; a finished load is stored (unless invalidated meanwhile) and handed to the
    /// waiters. `leader` is a guard: if this future is dropped or `init` panics while it is
    /// held, the waiters are told to take over. A tagged load takes its ticket before `init`
    /// is first polled: a tag it yields, invalidated from then on, keeps its value out.
    pub(crate) async fn lead<E, T>(
        &self,
        leader: Leader<K, V>,
        on_closed: OnClosed,
        mut init: Pin<&mut impl Future<Output = Result<Option<T>, E>>>,
    ) -> Loaded<V, E>
    where
        E: Send + Sync + 'static,
        T: Yielded<V>,
    {
        let ticket = T::TAGGED.then(|| self.engine.tags().epochs().begin());
        let scope = LoadScope::load(self.loads.name(), || leader.hash());
        let load = self.timed(
            &scope,
            poll_fn(|cx| {
                if leader.cancelled(cx) {
                    return Poll::Ready(None);
                }
                init.as_mut().poll(cx).map(Some)
            }),
        );
        let result = match self.loads.hooks() {
            None => load.await,
            Some(hooks) => {
                let call = Call::new(Op::Load, HookKey::Hash(self.hash(leader.key())));
                hooks.around_async(call, load, load_outcome).await
            }
        };
        let Some(result) = result else {
            scope.finish(observe::Outcome::Cancelled);
            drop(leader);
            return match on_closed {
                OnClosed::Fail => Err(LoadError::Cache(Error::closed())),
                // Already counted as a load: finish it, for this caller only.
                OnClosed::RunUncached => init
                    .await
                    .map(|loaded| loaded.map(|item| item.into_parts().0))
                    .map_err(|error| LoadError::Loader(Arc::new(error))),
            };
        };
        scope.finish(match &result {
            Ok(Some(_)) => observe::Outcome::Value,
            Ok(None) => observe::Outcome::Absent,
            Err(_) => observe::Outcome::Error,
        });
        match result {
            Ok(Some(item)) => {
                let (value, ttl, tags) = item.into_parts();
                let (key, place) = leader.into_parts();
                let prepared = self.engine.prepare(key, value.clone(), ttl);
                self.store_and_publish(place, prepared, tags, ticket, || {
                    Outcome::Value(value.clone())
                });
                Ok(Some(value))
            }
            Ok(None) => {
                self.finish_absent(leader);
                Ok(None)
            }
            Err(error) => {
                let error = Arc::new(error);
                self.count_load_error();
                self.finish_with_error(leader, Arc::clone(&error));
                Err(LoadError::Loader(error))
            }
        }
    }

    /// Ends a load with its value: stored (unless invalidated meanwhile) and handed to the
    /// waiters.
    pub(crate) fn finish_with_value(&self, leader: Leader<K, V>, value: V, ttl: Ttl) {
        let (key, place) = leader.into_parts();
        let prepared = self.engine.prepare(key, value.clone(), ttl);
        self.store_and_publish(place, prepared, Vec::new(), None, || Outcome::Value(value));
    }

    /// Ends a load with its value (`prepared`, hashed and weighed before the registry lock
    /// is taken: the weigher is user code and may call this cache) and tags: stored unless
    /// the key was invalidated meanwhile or, for a tagged load (with its `ticket`), one of
    /// `tags` was; handed to the waiters either way, as `outcome` builds it (only if there
    /// are any: a value is not cloned for nobody).
    fn store_and_publish(
        &self,
        place: Place<K, V>,
        prepared: Prepared<K, V>,
        tags: Vec<Tag>,
        ticket: Option<LoadTicket<'_>>,
        outcome: impl FnOnce() -> Outcome<V>,
    ) {
        let tags = self.engine.hash_tags(tags);
        let stored = place.finish(outcome, || self.engine.store_tagged(prepared, tags, ticket));
        if let Some(Some(deferred)) = stored {
            deferred.notify();
        }
    }

    /// Ends a load with "no value": handed to the waiters, and kept for a while with
    /// negative caching.
    pub(crate) fn finish_absent(&self, leader: Leader<K, V>) {
        leader.finish_absent(self.keep_until());
    }

    /// Ends a load with the loader's error (counted by the caller, once per loader call):
    /// handed to the waiters, and kept for a while with negative caching.
    pub(crate) fn finish_with_error<E>(&self, leader: Leader<K, V>, error: Arc<E>)
    where
        E: Send + Sync + 'static,
    {
        leader.fail(error, self.keep_until());
    }
}

impl<K, V, S> LoadPath<'_, K, V, S> {
    /// A load with no sharing and no store (`max_capacity(0)`, a closed cache).
    async fn run_uncached<E, T: Yielded<V>>(
        &self,
        key: &K,
        init: Pin<&mut impl Future<Output = Result<Option<T>, E>>>,
    ) -> Loaded<V, E>
    where
        K: Hash,
        S: BuildHasher,
    {
        let scope = LoadScope::load(self.loads.name(), || self.hash(key));
        let result = self.timed(&scope, init).await;
        scope.finish(match &result {
            Ok(Some(_)) => observe::Outcome::Value,
            Ok(None) => observe::Outcome::Absent,
            Err(_) => observe::Outcome::Error,
        });
        if result.is_err() {
            self.count_load_error();
        }
        result
            .map(|loaded| loaded.map(|item| item.into_parts().0))
            .map_err(|error| LoadError::Loader(Arc::new(error)))
    }

    /// Runs a loader in `scope`'s span, counting it and its time on the cache's clock (the
    /// clock deadlines are on, which refresh-ahead compares load times with).
    pub(crate) async fn timed<T>(&self, scope: &LoadScope<'_>, init: impl Future<Output = T>) -> T {
        let counters = &self.loads.counters;
        let clock = &self.engine.settings().clock;
        counters.loads.fetch_add(1, Ordering::Relaxed);
        let start = clock.now();
        let result = scope.instrument(init).await;
        let nanos = clock.now().saturating_sub(start);
        counters
            .total_load_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        scope.ran_for(nanos);
        result
    }

    /// Counts a loader (or batch) call that failed.
    pub(crate) fn count_load_error(&self) {
        let errors = &self.loads.counters.load_errors;
        errors.fetch_add(1, Ordering::Relaxed);
    }

    /// With negative caching, what a caller with error type `E` can be answered with.
    fn negative<E: 'static>(&self, absent_ok: bool) -> Option<Negative> {
        self.loads.negative_ttl.map(|_| Negative {
            now: self.engine.settings().clock.now(),
            error_type: TypeId::of::<E>(),
            absent_ok,
        })
    }

    /// With negative caching, (now, until when) a load's error or "no value" is kept.
    fn keep_until(&self) -> Option<(Nanos, Nanos)> {
        self.loads.negative_ttl.map(|ttl| {
            let now = self.engine.settings().clock.now();
            (now, now.saturating_add(ttl))
        })
    }
}

/// A leader's load as its hooks are told: `None` when `close` cancelled it.
fn load_outcome<T, E>(result: &Option<Result<Option<T>, E>>) -> hooks::Outcome {
    match result {
        None => hooks::Outcome::Failed(Some(crate::ErrorKind::Closed)),
        Some(Ok(Some(_))) => hooks::Outcome::Done,
        Some(Ok(None)) => hooks::Outcome::Miss,
        Some(Err(_)) => hooks::Outcome::Failed(None),
    }
}
