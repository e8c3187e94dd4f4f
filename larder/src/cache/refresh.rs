//! Refreshing: [`Cache::refresh`] in the foreground, and the background refreshes of
//! stale-while-revalidate and refresh-ahead.
//!
//! The background ones answer a loading call from the cache at once and hand the caller's
//! loader to a background task that reloads the key. Stale-while-revalidate does it for an entry past its
//! deadline but within the grace (`CacheBuilder::stale_while_revalidate`); refresh-ahead for a
//! fresh entry near its deadline, with XFetch's probability (`CacheBuilder::refresh_ahead`).
//! The task leads an ordinary flight, so it coalesces with foreground loads of the key, and
//! `close` reaches it like any load.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;
use std::sync::Arc;

use super::handle::Cache;
use crate::Ttl;
use crate::engine::Found;
use crate::expiry::{NEVER, Nanos};
use crate::load::{Joined, LoadOptions, OnClosed};
use crate::spawn::{BackgroundTask, Spawner};

/// A draw of `-ln(U)` (an exponential variable of mean 1) exceeds this with probability
/// e^-40: entries further than that many mean load times from their deadline skip the draw.
const MAX_DRAW: f64 = 40.0;

/// How a cache revalidates in the background.
pub(crate) struct Revalidation {
    spawner: Arc<dyn Spawner>,
    /// Refresh-ahead's `beta`, if it is on.
    ahead_beta: Option<f64>,
}

impl Revalidation {
    pub(crate) fn new(spawner: Arc<dyn Spawner>, ahead_beta: Option<f64>) -> Self {
        Self {
            spawner,
            ahead_beta,
        }
    }

    /// XFetch: refresh a fresh entry early when `now + beta * delta * -ln(U)` reaches its
    /// deadline, `delta` being the mean load time. Far from the deadline no random number is
    /// drawn.
    fn refresh_early(&self, deadline: Nanos, now: Nanos, mean_load_nanos: u64) -> bool {
        let Some(beta) = self.ahead_beta else {
            return false;
        };
        if deadline == NEVER || mean_load_nanos == 0 {
            return false;
        }
        let gap = deadline.saturating_sub(now) as f64;
        let scale = beta * mean_load_nanos as f64;
        if gap > scale * MAX_DRAW {
            return false;
        }
        scale * -unit_interval_open_at_zero().ln() >= gap
    }
}

/// A uniform draw from (0, 1], from a per-thread generator (no shared state on the hit path).
fn unit_interval_open_at_zero() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            // Seeded once per thread, from std's per-process random keys.
            x = std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0u8) | 1;
        }
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    })
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// The lookup the `get_with` family starts with, before any `await`: the value when the
    /// cache can answer (with background refreshes on, also a stale or nearly expired one,
    /// handing `init` to a refresh), else `init` back, to load with (the miss counted).
    pub(crate) fn answer_from_cache<E, F>(&self, key: &K, init: F) -> Result<V, F>
    where
        F: Future<Output = Result<Option<(V, Ttl)>, E>> + Send + 'static,
        E: Send + Sync + 'static,
    {
        let inner = self.inner();
        let revalidation = inner.revalidation.as_ref();
        let Some(revalidation) = revalidation.filter(|_| !inner.loads.is_closed()) else {
            return self.get(key).ok_or(init);
        };
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
    fn refresh_in_background<E>(
        &self,
        key: &K,
        revalidation: &Revalidation,
        stale: bool,
        init: impl Future<Output = Result<Option<(V, Ttl)>, E>> + Send + 'static,
    ) where
        E: Send + Sync + 'static,
    {
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
        let cache = self.clone();
        let task = BackgroundTask::new(async move {
            // The outcome reaches the cache and any waiters; the task has nobody else to tell.
            let path = cache.load_path();
            let _ = path.lead(leader, OnClosed::Fail, pin!(init)).await;
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
    /// Loads the value for `key` afresh with `init` and stores it, even when one is cached
    /// (aiocache's and async-lru's `use_cache=False`). Counted in
    /// [`Stats::refreshes`](crate::Stats).
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
        let init = pin!(async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) });
        let options = LoadOptions::VALUE.refreshing();
        match self.load_path().load(key, options, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("refresh yields a value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Revalidation, unit_interval_open_at_zero};
    use crate::expiry::NEVER;
    use crate::spawn::{BackgroundTask, Spawner};
    use std::sync::Arc;

    struct Nowhere;

    impl Spawner for Nowhere {
        fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
            Err(task)
        }
    }

    fn ahead(beta: f64) -> Revalidation {
        Revalidation::new(Arc::new(Nowhere), Some(beta))
    }

    #[test]
    fn draws_are_in_the_unit_interval_open_at_zero() {
        for _ in 0..100_000 {
            let u = unit_interval_open_at_zero();
            assert!(u > 0.0 && u <= 1.0);
        }
    }

    #[test]
    fn xfetch_fires_with_probability_exp_minus_gap_over_beta_delta() {
        // P(beta * delta * -ln U >= gap) = exp(-gap / (beta * delta)).
        let delta = 1_000_000; // 1 ms of mean load time
        for (beta, gap, expected) in [(1.0, delta, (-1.0f64).exp()), (2.0, delta, (-0.5f64).exp())]
        {
            let r = ahead(beta);
            let n = 100_000;
            let fired = (0..n)
                .filter(|_| r.refresh_early(1_000_000_000 + gap, 1_000_000_000, delta))
                .count();
            let p = fired as f64 / n as f64;
            // The standard error is ~0.0015; 0.01 is over six of them.
            assert!(
                (p - expected).abs() < 0.01,
                "beta {beta}: {p} vs {expected}"
            );
        }
    }

    #[test]
    fn xfetch_never_fires_far_from_the_deadline_or_without_a_measure() {
        let r = ahead(1.0);
        let delta = 1_000_000;
        assert!((0..10_000).all(|_| !r.refresh_early(100 * delta, 0, delta)));
        assert!(!r.refresh_early(NEVER, 0, delta), "untimed entries");
        assert!(!r.refresh_early(10, 0, 0), "no load measured yet");
        let off = Revalidation::new(Arc::new(Nowhere), None);
        assert!(!off.refresh_early(1, 0, delta), "refresh-ahead off");
    }
}
