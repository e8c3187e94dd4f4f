//! The circuit breaker in front of a tier's L2: after a run of failures it skips L2 for a
//! cooldown, so that a dead server does not add its timeout to every request, then lets one
//! probe through; the probe's outcome closes or reopens it.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::Clock;
use crate::expiry::{Nanos, saturating_nanos};

/// The state of a tier's circuit breaker, in [`TierStats`](super::TierStats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// L2 is used.
    Closed,
    /// L2 is skipped until the cooldown ends.
    Open,
    /// The cooldown ended: the next L2 call is a probe.
    HalfOpen,
}

/// When a call may go to L2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Closed: go.
    Go,
    /// Half-open: go, as the one probe.
    Probe,
    /// Open, or a probe is already out: skip L2.
    Skip,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    clock: Clock,
    threshold: u32,
    cooldown: Nanos,
    failures: AtomicU32,
    /// When the breaker may let a probe through (clock nanos); 0 while closed. Compared with
    /// the hits' time (`Clock::coarse_now`, one relaxed load): every L1 miss asks the breaker,
    /// and a probe a millisecond after a cooldown of seconds changes nothing.
    open_until: AtomicU64,
    probing: AtomicBool,
    trips: AtomicU64,
}

impl Breaker {
    /// A breaker that opens after `threshold` consecutive failures (0: never) for `cooldown`.
    pub(crate) fn new(clock: Clock, threshold: u32, cooldown: Duration) -> Self {
        Self {
            clock,
            threshold,
            cooldown: saturating_nanos(cooldown).max(1),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            trips: AtomicU64::new(0),
        }
    }

    pub(crate) fn permit(&self) -> Permit {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 {
            return Permit::Go;
        }
        if self.clock.coarse_now() < open_until {
            return Permit::Skip;
        }
        // Half-open: one caller probes; the others keep skipping until it reports.
        if self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Permit::Probe
        } else {
            Permit::Skip
        }
    }

    /// A call succeeded; `true` if that closed the breaker.
    pub(crate) fn succeeded(&self, permit: Permit) -> bool {
        self.failures.store(0, Ordering::Release);
        if permit == Permit::Probe || self.open_until.load(Ordering::Acquire) != 0 {
            let was_open = self.open_until.swap(0, Ordering::AcqRel) != 0;
            self.probing.store(false, Ordering::Release);
            return was_open;
        }
        false
    }

    /// A call failed; `true` if that opened the breaker (again, for a failed probe).
    pub(crate) fn failed(&self, permit: Permit) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if permit == Permit::Probe || failures == self.threshold {
            self.open_until.store(
                self.clock.now().saturating_add(self.cooldown).max(1),
                Ordering::Release,
            );
            self.probing.store(false, Ordering::Release);
            self.trips.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// A probe that ended without an answer either way (its caller went away): let another.
    pub(crate) fn abandoned(&self, permit: Permit) {
        if permit == Permit::Probe {
            self.probing.store(false, Ordering::Release);
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 {
            BreakerState::Closed
        } else if self.clock.coarse_now() < open_until {
            BreakerState::Open
        } else {
            BreakerState::HalfOpen
        }
    }

    pub(crate) fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_then_probes_once_after_the_cooldown() {
        let (clock, mock) = Clock::mock();
        let breaker = Breaker::new(clock, 3, Duration::from_secs(1));
        for _ in 0..2 {
            let permit = breaker.permit();
            assert_eq!(permit, Permit::Go);
            breaker.failed(permit);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.failed(breaker.permit()), "this failure opens it");
        assert_eq!((breaker.state(), breaker.trips()), (BreakerState::Open, 1));
        assert_eq!(breaker.permit(), Permit::Skip);

        mock.advance(Duration::from_secs(1));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.permit();
        assert_eq!(probe, Permit::Probe);
        assert_eq!(breaker.permit(), Permit::Skip, "one probe at a time");
        assert!(breaker.failed(probe), "a failed probe reopens it");
        assert_eq!((breaker.state(), breaker.trips()), (BreakerState::Open, 2));

        mock.advance(Duration::from_secs(1));
        let probe = breaker.permit();
        assert!(breaker.succeeded(probe), "a successful probe closes it");
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(!breaker.succeeded(Permit::Go), "already closed");
        assert_eq!(breaker.permit(), Permit::Go);
    }

    #[test]
    fn a_success_resets_the_run_of_failures() {
        let (clock, _mock) = Clock::mock();
        let breaker = Breaker::new(clock, 2, Duration::from_secs(1));
        breaker.failed(Permit::Go);
        breaker.succeeded(Permit::Go);
        breaker.failed(Permit::Go);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn an_abandoned_probe_lets_another_through() {
        let (clock, mock) = Clock::mock();
        let breaker = Breaker::new(clock, 1, Duration::from_secs(1));
        breaker.failed(Permit::Go);
        mock.advance(Duration::from_secs(2));
        let probe = breaker.permit();
        breaker.abandoned(probe);
        assert_eq!(breaker.permit(), Permit::Probe);
    }
}
