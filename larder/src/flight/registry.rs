//! The registry of in-flight loads: the first caller of a key leads its load, the others wait.
//!
//! Leadership is a guard: if the leader's future is dropped or its loader panics, the guard's
//! `Drop` abandons the flight, and every waiter retries; the first to come back leads a new
//! load with its own loader (moka and quick_cache do the same). The registry also orders
//! invalidations against stores: a load's result is stored under the registry lock, after
//! checking that nothing invalidated the key (or the whole cache) since the load began.
//!
//! Once closed, the registry starts no load; `close` either cancels the loads in flight or
//! hands them to the caller to wait for.

use std::any::{Any, TypeId};
use std::borrow::Borrow;
use std::hash::Hash;

use hashbrown::HashMap;

use super::waiter::{Flight, Outcome, Waiter};
use crate::expiry::Nanos;
use crate::sync::{Arc, AtomicBool, Mutex, Ordering};

/// A load's error, or its finding that the key has no value, kept for a while (negative
/// caching).
struct Failure {
    /// `None`: the load found no value (`None` from a loader, a key missing from a batch).
    error: Option<Arc<dyn Any + Send + Sync>>,
    until: Nanos,
}

/// What a caller can be answered with from the negative cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negative {
    pub(crate) now: Nanos,
    /// Its error type: a kept error of another type is not for it.
    pub(crate) error_type: TypeId,
    /// Whether it can return "no value".
    pub(crate) absent_ok: bool,
}

/// Past this many remembered failures, the expired ones are swept out on the next failure.
const FAILURES_SWEEP_ABOVE: usize = 1024;

pub(crate) struct Flights<K, V> {
    inner: Mutex<Inner<K, V>>,
    /// A copy of `Inner::closed`, readable without the lock.
    closed: AtomicBool,
}

struct Inner<K, V> {
    loads: HashMap<K, Arc<Flight<V>>>,
    /// Recent load errors, when the cache keeps them (`negative_ttl`).
    failures: HashMap<K, Failure>,
    /// Bumped by cache-wide invalidations (`clear`, `invalidate_if`).
    epoch: u64,
    closed: bool,
}

/// What a caller is to a key's load.
pub(crate) enum Role<K: Hash + Eq + Clone, V: Clone> {
    /// This caller runs the load.
    Leader(Leader<K, V>),
    /// Another caller runs it.
    Waiter(Waiter<V>),
    /// No load is needed or allowed: the value turned up in the cache meanwhile
    /// ([`Outcome::Value`]), a recent load's error or "no value" is kept (negative caching:
    /// [`Outcome::Failed`], [`Outcome::Absent`]), or the cache was closed
    /// ([`Outcome::Closed`]).
    Answered(Outcome<V>),
}

impl<K, V> Flights<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                loads: HashMap::new(),
                failures: HashMap::new(),
                epoch: 0,
                closed: false,
            }),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.lock().loads.len()
    }

    /// The whole cache (or an unknown part of it) was invalidated.
    pub(crate) fn invalidate_all(&self) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        inner.failures.clear();
    }
}

impl<K: Hash + Eq, V: Clone> Flights<K, V> {
    /// Closes the registry: no load starts from now on. With `cancel`, the loads in flight
    /// are cancelled (nothing they load is stored; their callers get [`Outcome::Closed`]) and
    /// nothing is returned; without, they go on, and are returned for the caller to wait for.
    pub(crate) fn close(&self, cancel: bool) -> Vec<Waiter<V>> {
        let flights: Vec<Arc<Flight<V>>> = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            self.closed.store(true, Ordering::Release);
            inner.failures.clear();
            if cancel {
                let flights: Vec<_> = inner.loads.drain().map(|(_, flight)| flight).collect();
                // Under the registry lock, which a leader's store takes too: no load that
                // has not stored yet can store after this.
                flights.iter().for_each(|flight| flight.invalidate());
                flights
            } else {
                inner.loads.values().cloned().collect()
            }
        };
        if cancel {
            // Outside the lock: cancelling wakes the callers.
            flights.iter().for_each(|flight| flight.cancel());
            Vec::new()
        } else {
            flights.into_iter().map(Waiter::new).collect()
        }
    }

    /// A key was invalidated: a load in flight for it must not store its result.
    pub(crate) fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut inner = self.inner.lock();
        inner.failures.remove(key);
        if let Some(flight) = inner.loads.get(key) {
            flight.invalidate();
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// Joins the load of `key`, or starts one. `peek` looks in the cache (without counting a
    /// lookup): a load that finished since the caller's miss has stored its value there.
    /// `negative`: with negative caching, what this caller can be answered with from it.
    ///
    /// An associated function, not a method: the leader keeps a handle on the registry (a
    /// background refresh outlives the call that started it).
    pub(crate) fn join(
        this: &Arc<Self>,
        key: &K,
        negative: Option<Negative>,
        peek: impl FnOnce() -> Option<V>,
    ) -> Role<K, V> {
        let mut inner = this.inner.lock();
        // A load in flight is joined even once closed: `CloseMode::Wait` lets it finish.
        if let Some(flight) = inner.loads.get(key) {
            return Role::Waiter(Waiter::new(Arc::clone(flight)));
        }
        if inner.closed {
            return Role::Answered(Outcome::Closed);
        }
        if let Some(q) = negative {
            match inner.failures.get(key) {
                Some(f) if q.now >= f.until => {
                    inner.failures.remove(key);
                }
                Some(f) => match &f.error {
                    Some(error) if (**error).type_id() == q.error_type => {
                        return Role::Answered(Outcome::Failed(Arc::clone(error)));
                    }
                    None if q.absent_ok => return Role::Answered(Outcome::Absent),
                    _ => {}
                },
                None => {}
            }
        }
        if let Some(value) = peek() {
            return Role::Answered(Outcome::Value(value));
        }
        let flight = Arc::new(Flight::new());
        inner.loads.insert(key.clone(), Arc::clone(&flight));
        Role::Leader(Leader {
            flights: Arc::clone(this),
            key: key.clone(),
            flight,
            epoch: inner.epoch,
            finished: false,
        })
    }
}

/// The caller running a load. Dropping it unfinished abandons the load to the waiters.
pub(crate) struct Leader<K: Hash + Eq + Clone, V: Clone> {
    flights: Arc<Flights<K, V>>,
    key: K,
    flight: Arc<Flight<V>>,
    epoch: u64,
    finished: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> Leader<K, V> {
    pub(crate) fn key(&self) -> &K {
        &self.key
    }

    /// A waiter on this very load: a batch's caller leads a key's load (the batch runs it)
    /// and waits for it like any other caller.
    pub(crate) fn waiter(&self) -> Waiter<V> {
        Waiter::new(Arc::clone(&self.flight))
    }

    /// Whether any caller still waits for this load (a `BatchLoader` asks at dispatch).
    #[cfg(feature = "tokio")]
    pub(crate) fn has_waiters(&self) -> bool {
        self.flight.has_waiters()
    }

    /// Ends the load with a cache-side error (see [`Outcome::Broken`]); nothing is kept.
    pub(crate) fn break_with(self, error: crate::Error) {
        self.finish(Outcome::Broken(error), || ());
    }

    /// Between polls of the loader: whether `close` cancelled this load (see
    /// [`Flight::cancelled`]).
    pub(crate) fn cancelled(&self, cx: &std::task::Context<'_>) -> bool {
        self.flight.cancelled(cx)
    }

    /// Ends the load: `store` runs (under the registry lock, so no invalidation can slip
    /// between its check and the store) unless the key was invalidated meanwhile; then every
    /// waiter gets `outcome`. `store`'s result (the eviction notices) is handed back, to be
    /// delivered once the lock is released.
    pub(crate) fn finish<R>(mut self, outcome: Outcome<V>, store: impl FnOnce() -> R) -> Option<R> {
        let stored = {
            let mut inner = self.flights.inner.lock();
            let stored = (inner.epoch == self.epoch && !self.flight.is_invalidated()).then(store);
            inner.failures.remove(&self.key);
            self.unregister(&mut inner);
            stored
        };
        self.finished = true;
        self.flight.finish(outcome);
        stored
    }

    /// Ends the load with an error, kept until `keep_until` (negative caching) unless the
    /// key was invalidated meanwhile; every waiter gets it.
    pub(crate) fn fail(
        self,
        error: Arc<dyn Any + Send + Sync>,
        keep_until: Option<(Nanos, Nanos)>,
    ) {
        self.end_kept(Some(error), keep_until);
    }

    /// Ends the load with no value, kept as such until `keep_until` (negative caching)
    /// unless the key was invalidated meanwhile; every waiter gets [`Outcome::Absent`].
    pub(crate) fn finish_absent(self, keep_until: Option<(Nanos, Nanos)>) {
        self.end_kept(None, keep_until);
    }

    fn end_kept(
        mut self,
        error: Option<Arc<dyn Any + Send + Sync>>,
        keep_until: Option<(Nanos, Nanos)>,
    ) {
        {
            let mut inner = self.flights.inner.lock();
            let valid = inner.epoch == self.epoch && !self.flight.is_invalidated();
            if let (Some((now, until)), true) = (keep_until, valid) {
                if inner.failures.len() >= FAILURES_SWEEP_ABOVE {
                    inner.failures.retain(|_, f| now < f.until);
                }
                let kept = Failure {
                    error: error.clone(),
                    until,
                };
                inner.failures.insert(self.key.clone(), kept);
            } else if valid {
                inner.failures.remove(&self.key);
            }
            self.unregister(&mut inner);
        }
        self.finished = true;
        self.flight.finish(match error {
            Some(error) => Outcome::Failed(error),
            None => Outcome::Absent,
        });
    }

    fn unregister(&self, inner: &mut Inner<K, V>) {
        if inner
            .loads
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            inner.loads.remove(&self.key);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Leader<K, V> {
    fn drop(&mut self) {
        if !self.finished {
            // Cancelled or panicked: nothing is stored; the waiters retry.
            self.unregister(&mut self.flights.inner.lock());
            self.flight.finish(Outcome::Abandoned);
        }
    }
}
