//! One in-flight load: its outcome once known, and the wakers of the callers waiting on it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::error::Error;
use crate::sync::{Arc, Mutex};

/// How a load ended, as its waiters see it.
#[derive(Debug)]
pub(crate) enum Outcome<V> {
    Value(V),
    /// The loader returned `None` (`optionally_get_with`).
    Absent,
    /// The loader failed; the error, type-erased so that loads with different error types can
    /// share a registry. A waiter whose error type differs loads by itself.
    Failed(Arc<dyn Any + Send + Sync>),
    /// The leader's future was dropped, or its loader panicked: someone else must load.
    Abandoned,
    /// The cache was closed with [`CloseMode::Cancel`](crate::CloseMode) during the load.
    Closed,
    /// The load failed on the cache's side (a batch function's result did not match its
    /// keys, or it panicked): every waiter gets this error.
    Broken(Error),
}

impl<V: Clone> Clone for Outcome<V> {
    fn clone(&self) -> Self {
        match self {
            Outcome::Value(v) => Outcome::Value(v.clone()),
            Outcome::Absent => Outcome::Absent,
            Outcome::Failed(e) => Outcome::Failed(Arc::clone(e)),
            Outcome::Abandoned => Outcome::Abandoned,
            Outcome::Closed => Outcome::Closed,
            Outcome::Broken(e) => Outcome::Broken(e.clone()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Flight<V> {
    state: Mutex<State<V>>,
}

#[derive(Debug)]
struct State<V> {
    outcome: Option<Outcome<V>>,
    /// One slot per waiter; a dropped waiter empties its slot and lists it in `free`, for
    /// the next waiter to take (callers retrying under a timeout must not grow the list).
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
    /// Live `Waiter`s (polled or not): a batch skips the keys nobody waits for any more.
    waiters: usize,
    /// The leader's waker, for a cancellation (`close`) to wake it.
    leader: Option<Waker>,
    /// Set by an invalidation while the load runs: its result must not be stored.
    invalidated: bool,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                outcome: None,
                wakers: Vec::new(),
                free: Vec::new(),
                waiters: 0,
                leader: None,
                invalidated: false,
            }),
        }
    }

    pub(crate) fn invalidate(&self) {
        self.state.lock().invalidated = true;
    }

    pub(crate) fn is_invalidated(&self) -> bool {
        self.state.lock().invalidated
    }

    /// Publishes the outcome, unless one was already (a cancellation comes first), and wakes
    /// every waiter (outside the lock). Called, like [`Self::finish_with`], only once the
    /// registry no longer lists the load: with no waiter left it stores `Abandoned`, which
    /// nobody can see.
    pub(crate) fn finish(&self, outcome: Outcome<V>) {
        self.finish_with(|| outcome);
    }

    /// [`Self::finish`] with an outcome built only if someone waits for it: the leader
    /// calls it once the registry no longer lists the load, so no waiter can turn up later,
    /// and a value is not cloned for nobody. (Were one to turn up all the same, it would see
    /// [`Outcome::Abandoned`] and load again.)
    pub(crate) fn finish_with(&self, outcome: impl FnOnce() -> Outcome<V>) {
        let wakers = {
            let mut state = self.state.lock();
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(if state.waiters == 0 {
                Outcome::Abandoned
            } else {
                outcome()
            });
            state.free = Vec::new();
            state.leader = None;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Whether any caller still waits for this load (a batch asks when it is dispatched).
    #[cfg(feature = "tokio")]
    pub(crate) fn has_waiters(&self) -> bool {
        self.state.lock().waiters > 0
    }

    /// Whether any caller still waits for this load. If so, the leader's waker is kept, to
    /// be woken when the last one goes (a queued batch drops the loads nobody waits for).
    #[cfg(feature = "tokio")]
    pub(crate) fn waited_for(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state.lock();
        if state.waiters == 0 {
            return false;
        }
        match &state.leader {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.leader = Some(cx.waker().clone()),
        }
        true
    }

    /// Ends the load from outside (`close`): nothing is stored, the waiters get
    /// [`Outcome::Closed`], and the leader is woken to see [`Self::cancelled`]. One locked
    /// section: a leader registering its waker concurrently either sees the outcome or is
    /// woken.
    pub(crate) fn cancel(&self) {
        let (wakers, leader) = {
            let mut state = self.state.lock();
            state.invalidated = true;
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(Outcome::Closed);
            state.free = Vec::new();
            (std::mem::take(&mut state.wakers), state.leader.take())
        };
        for waker in wakers.into_iter().flatten().chain(leader) {
            waker.wake();
        }
    }

    /// For the leader, between polls of its loader: whether the load was cancelled. If not,
    /// the leader's waker is kept, for a cancellation to wake it.
    pub(crate) fn cancelled(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state.lock();
        if state.outcome.is_some() {
            return true;
        }
        match &state.leader {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.leader = Some(cx.waker().clone()),
        }
        false
    }
}

/// A caller waiting for another caller's load. Dropping it affects nobody else.
#[derive(Debug)]
pub(crate) struct Waiter<V> {
    flight: Arc<Flight<V>>,
    slot: Option<usize>,
}

impl<V> Waiter<V> {
    pub(crate) fn new(flight: Arc<Flight<V>>) -> Self {
        flight.state.lock().waiters += 1;
        Self { flight, slot: None }
    }
}

impl<V: Clone> Future for Waiter<V> {
    type Output = Outcome<V>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<V>> {
        let this = &mut *self;
        let mut state = this.flight.state.lock();
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.clone());
        }
        match this.slot {
            Some(i) => match &mut state.wakers[i] {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            },
            None => {
                let waker = Some(cx.waker().clone());
                let slot = match state.free.pop() {
                    Some(free) => {
                        state.wakers[free] = waker;
                        free
                    }
                    None => {
                        state.wakers.push(waker);
                        state.wakers.len() - 1
                    }
                };
                this.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

impl<V> Drop for Waiter<V> {
    fn drop(&mut self) {
        let leader = {
            let mut state = self.flight.state.lock();
            state.waiters -= 1;
            if let Some(i) = self.slot {
                // After the outcome is published the list is gone: nothing to free.
                if let Some(slot) = state.wakers.get_mut(i) {
                    *slot = None;
                    state.free.push(i);
                }
            }
            // The last waiter gone from an unfinished load: a leader watching for that (a
            // queued batch) drops the load now.
            let abandoned = state.waiters == 0 && state.outcome.is_none();
            abandoned.then(|| state.leader.take()).flatten()
        };
        if let Some(leader) = leader {
            leader.wake();
        }
    }
}
