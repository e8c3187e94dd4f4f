//! [`Revalidation`]: how a cache refreshes in the background (stale-while-revalidate,
//! refresh-ahead), and refresh-ahead's XFetch draw. `refresh.rs` starts the refreshes.

use std::cell::Cell;
use std::sync::Arc;

use crate::expiry::{NEVER, Nanos};
use crate::spawn::Spawner;

/// A draw of `-ln(U)` (an exponential variable of mean 1) exceeds this with probability
/// e^-40: entries further than that many mean load times from their deadline skip the draw.
const MAX_DRAW: f64 = 40.0;

/// How a cache revalidates in the background.
pub(crate) struct Revalidation {
    pub(super) spawner: Arc<dyn Spawner>,
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
    pub(super) fn refresh_early(&self, deadline: Nanos, now: Nanos, mean_load_nanos: u64) -> bool {
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
