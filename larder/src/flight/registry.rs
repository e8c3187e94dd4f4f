//! The registry of in-flight loads: the first caller of a key leads its load, the others wait.
//!
//! Leadership is a guard: if the leader's future is dropped or its loader panics, the guard's
//! `Drop` abandons the flight, and every waiter retries; the first to come back leads a new
//! load with its own loader (moka and quick_cache do the same). The registry also orders
//! invalidations against stores: a load's result is stored under its shard's lock, after
//! checking that nothing invalidated the key (or the whole cache) since the load began.
//!
//! The registry is sharded by key hash, one lock per shard, so that misses and removals of
//! different keys do not queue on one lock. Keys are hashed by the caller, with the cache's
//! own hasher. Each shard keeps its own epoch, bumped by cache-wide invalidations: a load
//! checks its shard's epoch when it stores, under that shard's lock, and an invalidation bumps
//! every shard's epoch before it clears the engine, so a store either lands before the clear
//! or is refused.
//!
//! Once closed, the registry starts no load; `close` either cancels the loads in flight or
//! hands them to the caller to wait for.

use std::any::{Any, TypeId};
use std::hash::Hash;

use hashbrown::HashTable;

use super::negative::{Kept, NegativeEntries};
use super::waiter::{Flight, Outcome, Waiter};
use crate::equivalent::Equivalent;
use crate::expiry::Nanos;
use crate::sync::{Arc, AtomicBool, Mutex, MutexGuard, Ordering};

/// What a caller can be answered with from the negative entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negative {
    pub(crate) now: Nanos,
    /// Its error type: a kept error of another type is not for it.
    pub(crate) error_type: TypeId,
    /// Whether it can return "no value".
    pub(crate) absent_ok: bool,
}

pub(crate) struct Flights<K, V> {
    shards: Box<[Mutex<Shard<K, V>>]>,
    /// `shards.len() - 1`; the length is a power of two.
    mask: usize,
    /// Set once every shard is closed: readable without a lock.
    closed: AtomicBool,
}

struct Shard<K, V> {
    /// `(hash, key, flight)` of each load in flight.
    loads: HashTable<(u64, K, Arc<Flight<V>>)>,
    /// Recent load errors and "no value" findings, when the cache keeps them
    /// (`negative_ttl`).
    failures: NegativeEntries<K>,
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
    /// A registry of `shards` shards (rounded up to a power of two), keeping at most
    /// `negative_cap` negative entries in all.
    pub(crate) fn new(shards: usize, negative_cap: u64) -> Self {
        let shards = shards.max(1).next_power_of_two();
        let per_shard = negative_cap.div_ceil(shards as u64);
        let per_shard = usize::try_from(per_shard).unwrap_or(usize::MAX);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        loads: HashTable::new(),
                        failures: NegativeEntries::new(per_shard),
                        epoch: 0,
                        closed: false,
                    })
                })
                .collect(),
            mask: shards - 1,
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard<K, V>> {
        self.shards[(hash >> 48) as usize & self.mask].lock()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.shards.iter().map(|s| s.lock().loads.len()).sum()
    }

    #[cfg(test)]
    pub(crate) fn negative_entries(&self) -> usize {
        self.shards.iter().map(|s| s.lock().failures.len()).sum()
    }

    /// The whole cache (or an unknown part of it) was invalidated: every shard's epoch moves
    /// on, so no load that began before this stores its result.
    pub(crate) fn invalidate_all(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock();
            shard.epoch += 1;
            shard.failures.clear();
        }
    }
}

impl<K: Hash + Eq, V: Clone> Flights<K, V> {
    /// Closes the registry: no load starts from now on. With `cancel`, the loads in flight
    /// are cancelled (nothing they load is stored; their callers get [`Outcome::Closed`]) and
    /// nothing is returned; without, they go on, and are returned for the caller to wait for.
    pub(crate) fn close(&self, cancel: bool) -> Vec<Waiter<V>> {
        let mut flights: Vec<Arc<Flight<V>>> = Vec::new();
        let mut waiters: Vec<Waiter<V>> = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock();
            shard.closed = true;
            shard.failures.clear();
            if cancel {
                let start = flights.len();
                flights.extend(shard.loads.drain().map(|(_, _, flight)| flight));
                // Under the shard's lock, which a leader's store takes too: no load that has
                // not stored yet can store after this.
                flights[start..]
                    .iter()
                    .for_each(|flight| flight.invalidate());
            } else {
                // Under the lock, while each load is still listed: a leader builds its
                // outcome only for the waiters it has when it finishes.
                waiters.extend(
                    shard
                        .loads
                        .iter()
                        .map(|(_, _, flight)| Waiter::new(Arc::clone(flight))),
                );
            }
        }
        // Only now that every shard is closed (and, with `cancel`, every load in flight
        // invalidated): whoever sees the flag set can rely on no load storing after it.
        self.closed.store(true, Ordering::Release);
        if cancel {
            // Outside the locks: cancelling wakes the callers.
            flights.iter().for_each(|flight| flight.cancel());
        }
        waiters
    }

    /// A key was invalidated: a load in flight for it must not store its result, and what
    /// is kept of its last failure is forgotten. `hash` is the key's hash.
    pub(crate) fn invalidate<Q>(&self, hash: u64, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let mut shard = self.shard(hash);
        shard.failures.remove(hash, key);
        if let Some((_, _, flight)) = shard.loads.find(hash, |(_, k, _)| key.equivalent(k)) {
            flight.invalidate();
        }
    }
}

impl<K: Hash + Eq, V: Clone> Flights<K, V> {
    /// Runs `op` under the registry lock of `hash`'s shard, then invalidates the key
    /// `to_invalidate` names in `op`'s result, if any (as [`Self::invalidate`]), under the
    /// same hold: a load in flight cannot store between the two. `op` may take the engine's
    /// locks (the order is the registry's, then the engine's, as a load's store takes them)
    /// but must not call back into the registry.
    pub(crate) fn invalidating<R>(
        &self,
        hash: u64,
        op: impl FnOnce() -> R,
        to_invalidate: impl FnOnce(&R) -> Option<&K>,
    ) -> R {
        let mut shard = self.shard(hash);
        let result = op();
        if let Some(key) = to_invalidate(&result) {
            shard.failures.remove(hash, key);
            if let Some((_, _, flight)) = shard.loads.find(hash, |(_, k, _)| k == key) {
                flight.invalidate();
            }
        }
        drop(shard);
        result
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// Joins the load of `key` (whose hash is `hash`), or starts one. `peek` looks in the
    /// cache (without counting a lookup): a load that finished since the caller's miss has
    /// stored its value there. `negative`: with negative caching, what this caller can be
    /// answered with from it.
    ///
    /// An associated function, not a method: the leader keeps a handle on the registry (a
    /// background refresh outlives the call that started it).
    pub(crate) fn join(
        this: &Arc<Self>,
        hash: u64,
        key: &K,
        negative: Option<Negative>,
        peek: impl FnOnce() -> Option<V>,
    ) -> Role<K, V> {
        let mut shard = this.shard(hash);
        // A load in flight is joined even once closed: `CloseMode::Wait` lets it finish.
        if let Some((_, _, flight)) = shard.loads.find(hash, |(_, k, _)| k == key) {
            return Role::Waiter(Waiter::new(Arc::clone(flight)));
        }
        if shard.closed {
            return Role::Answered(Outcome::Closed);
        }
        if let Some(q) = negative {
            match shard.failures.get(hash, key, q.now) {
                Some(Kept {
                    error: Some(error), ..
                }) if (**error).type_id() == q.error_type => {
                    return Role::Answered(Outcome::Failed(Arc::clone(error)));
                }
                Some(Kept { error: None, .. }) if q.absent_ok => {
                    return Role::Answered(Outcome::Absent);
                }
                _ => {}
            }
        }
        if let Some(value) = peek() {
            return Role::Answered(Outcome::Value(value));
        }
        let flight = Arc::new(Flight::new());
        shard
            .loads
            .insert_unique(hash, (hash, key.clone(), Arc::clone(&flight)), |e| e.0);
        let epoch = shard.epoch;
        drop(shard);
        Role::Leader(Leader {
            key: key.clone(),
            place: Place {
                flights: Arc::clone(this),
                hash,
                flight,
                epoch,
                finished: false,
            },
        })
    }
}

/// The caller running a load: its copy of the key and its [`Place`].
pub(crate) struct Leader<K: Hash + Eq + Clone, V: Clone> {
    key: K,
    place: Place<K, V>,
}

/// A load's place in the registry. Dropping it unfinished abandons the load to the waiters.
/// Apart from the key, so that a load's value can be stored under the leader's own copy of
/// the key (the registry's copy serves the registry's lookups): no clone per load.
pub(crate) struct Place<K: Hash + Eq + Clone, V: Clone> {
    flights: Arc<Flights<K, V>>,
    hash: u64,
    flight: Arc<Flight<V>>,
    epoch: u64,
    finished: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> Leader<K, V> {
    pub(crate) fn key(&self) -> &K {
        &self.key
    }

    /// The key's hash, by the cache's hasher.
    pub(crate) fn hash(&self) -> u64 {
        self.place.hash
    }

    /// The key and the place apart: the key to store the value under, the place to
    /// [finish](Place::finish) the load with.
    pub(crate) fn into_parts(self) -> (K, Place<K, V>) {
        (self.key, self.place)
    }

    /// A waiter on this very load: a batch's caller leads a key's load (the batch runs it)
    /// and waits for it like any other caller.
    pub(crate) fn waiter(&self) -> Waiter<V> {
        Waiter::new(Arc::clone(&self.place.flight))
    }

    /// Whether any caller still waits for this load.
    #[cfg(feature = "tokio")]
    pub(crate) fn has_waiters(&self) -> bool {
        self.place.flight.has_waiters()
    }

    /// Whether any caller still waits for this load; if so, `cx` is woken when the last one
    /// goes (see [`Flight::waited_for`]).
    #[cfg(feature = "tokio")]
    pub(crate) fn waited_for(&self, cx: &std::task::Context<'_>) -> bool {
        self.place.flight.waited_for(cx)
    }

    /// Ends the load with a cache-side error (see [`Outcome::Broken`]); nothing is kept.
    pub(crate) fn break_with(self, error: crate::Error) {
        self.place.finish(|| Outcome::Broken(error), || ());
    }

    /// Between polls of the loader: whether `close` cancelled this load (see
    /// [`Flight::cancelled`]).
    pub(crate) fn cancelled(&self, cx: &std::task::Context<'_>) -> bool {
        self.place.flight.cancelled(cx)
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
        self,
        error: Option<Arc<dyn Any + Send + Sync>>,
        keep_until: Option<(Nanos, Nanos)>,
    ) {
        let Self { key, mut place } = self;
        {
            let mut shard = place.flights.shard(place.hash);
            let valid = shard.epoch == place.epoch && !place.flight.is_invalidated();
            if let (Some((now, until)), true) = (keep_until, valid) {
                let kept = Kept {
                    error: error.clone(),
                    until,
                };
                shard.failures.insert(place.hash, key, kept, now);
            } else if valid {
                shard.failures.remove(place.hash, &key);
            }
            place.unregister(&mut shard);
        }
        place.finished = true;
        place.flight.finish(match error {
            Some(error) => Outcome::Failed(error),
            None => Outcome::Absent,
        });
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Place<K, V> {
    /// Ends the load: `store` runs (under the registry lock, so no invalidation can slip
    /// between its check and the store) unless the key was invalidated meanwhile; then every
    /// waiter gets `outcome`, built only if there is one. `store`'s result (the eviction
    /// notices) is handed back, to be delivered once the lock is released.
    pub(crate) fn finish<R>(
        mut self,
        outcome: impl FnOnce() -> Outcome<V>,
        store: impl FnOnce() -> R,
    ) -> Option<R> {
        let stored = {
            let mut shard = self.flights.shard(self.hash);
            let stored = (shard.epoch == self.epoch && !self.flight.is_invalidated()).then(store);
            // The registry's copy of the key, to forget a failure kept for it.
            if let Some(key) = self.unregister(&mut shard) {
                shard.failures.remove(self.hash, &key);
            }
            stored
        };
        self.finished = true;
        self.flight.finish_with(outcome);
        stored
    }

    /// Takes this load out of the registry, and gives back the registry's copy of its key
    /// (`None` if `close` took it out already).
    fn unregister(&self, shard: &mut Shard<K, V>) -> Option<K> {
        let ours = |(_, _, flight): &(u64, K, Arc<Flight<V>>)| Arc::ptr_eq(flight, &self.flight);
        let found = shard.loads.find_entry(self.hash, ours).ok()?;
        let ((_, key, _), _) = found.remove();
        Some(key)
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Place<K, V> {
    fn drop(&mut self) {
        if !self.finished {
            // Cancelled or panicked: nothing is stored; the waiters retry.
            self.unregister(&mut self.flights.shard(self.hash));
            self.flight.finish(Outcome::Abandoned);
        }
    }
}
