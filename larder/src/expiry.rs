//! Time: [`Ttl`] for entry lifetimes and [`Clock`] for reading the time.

use std::fmt;
use std::time::Duration;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use std::time::Instant;

use crate::sync::{Arc, AtomicU64, Ordering};

/// A point in time on a [`Clock`], in nanoseconds since the clock's origin.
pub(crate) type Nanos = u64;

/// The deadline of an entry that never expires.
pub(crate) const NEVER: Nanos = u64::MAX;

/// The longest TTL, jitter or idle time a builder accepts: 100 years. Anything longer is
/// almost surely a unit mistake, and would not fit the nanosecond clock once added to "now".
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// How long an inserted entry lives.
///
/// `From<Duration>` makes `cache.insert_with_ttl(k, v, Duration::from_secs(60))` read well.
/// A zero duration means already expired: the entry is not stored.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Ttl};
/// use std::time::Duration;
///
/// let cache = Cache::builder()
///     .max_capacity(100)
///     .time_to_live(Duration::from_secs(60))
///     .build();
/// cache.insert_with_ttl("config", 1, Ttl::Never); // outlives the default TTL
/// cache.insert_with_ttl("token", 2, Duration::from_secs(5));
/// cache.insert_with_ttl("session", 3, Ttl::Default); // the cache's 60 s
/// assert_eq!(cache.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Ttl {
    /// The cache's default TTL, set by `time_to_live` on the builder, or no expiry if it has
    /// none.
    #[default]
    Default,
    /// Never expires; time-to-idle still applies.
    Never,
    /// Expires this long after it is stored, plus the cache's jitter, if any.
    After(Duration),
}

impl From<Duration> for Ttl {
    fn from(d: Duration) -> Self {
        Ttl::After(d)
    }
}

/// The source of time for a cache: the system's monotonic clock, or a mock for tests.
///
/// Cloning a clock shares it: every clone of a mock reads the time its [`MockClock`] sets.
///
/// # Precision
///
/// Writes (inserts, `expire`, reclamation) read the exact monotonic time. Hits, and other
/// reads that only check a deadline or record an access for time-to-idle, read a *coarse*
/// time instead: on Linux and Android, the kernel's `CLOCK_MONOTONIC_COARSE`, the monotonic
/// time as of the last scheduler tick, which costs a few loads instead of a counter read.
/// It lags the exact time by less than one tick, [`Clock::hit_lag`]: the clock's resolution,
/// 1 to 10 ms by kernel configuration (4 ms on most distributions). So, with the system
/// clock:
///
/// - an entry with a TTL is never dropped early, and may be served **up to one tick (at
///   most 10 ms) after its TTL** runs out;
/// - a time-to-idle entry may be served up to one tick after its idle time runs out, and,
///   since reads record the coarse time, may go idle up to one tick early.
///
/// Where the coarse clock is missing or coarser than 10 ms, hits read the exact time and the
/// lag is zero. A mock clock is exact everywhere: hits and writes read the same time.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Clock};
/// use std::time::Duration;
///
/// let (clock, mock) = Clock::mock();
/// let cache = Cache::builder()
///     .max_capacity(10)
///     .time_to_live(Duration::from_secs(30))
///     .clock(clock)
///     .build();
/// cache.insert(1, "one");
/// mock.advance(Duration::from_secs(29));
/// assert_eq!(cache.get(&1), Some("one"));
/// mock.advance(Duration::from_secs(1));
/// assert_eq!(cache.get(&1), None);
/// ```
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System(System),
    Mock(Arc<AtomicU64>),
}

/// The coarse time is used for hits only when its resolution is at most this.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_COARSE_LAG: Nanos = 10_000_000;

/// The system's monotonic clock, read from its origin.
#[derive(Clone, Copy)]
struct System {
    /// `CLOCK_MONOTONIC` when the clock was made, in nanoseconds.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    origin: Nanos,
    /// The resolution of `CLOCK_MONOTONIC_COARSE` if hits read it, else 0.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    coarse_lag: Nanos,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    origin: Instant,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl System {
    fn new() -> Self {
        use rustix::time::{ClockId, clock_getres};
        let resolution = timespec_nanos(clock_getres(ClockId::MonotonicCoarse));
        Self {
            origin: read(rustix::time::ClockId::Monotonic),
            coarse_lag: if resolution <= MAX_COARSE_LAG {
                resolution
            } else {
                0
            },
        }
    }

    #[inline]
    fn now(&self) -> Nanos {
        read(rustix::time::ClockId::Monotonic).saturating_sub(self.origin)
    }

    #[inline]
    fn coarse(&self) -> Nanos {
        if self.coarse_lag == 0 {
            return self.now();
        }
        // The coarse clock at the last tick may be behind the origin, read exactly.
        read(rustix::time::ClockId::MonotonicCoarse).saturating_sub(self.origin)
    }

    fn lag(&self) -> Duration {
        Duration::from_nanos(self.coarse_lag)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn read(id: rustix::time::ClockId) -> Nanos {
    timespec_nanos(rustix::time::clock_gettime(id))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn timespec_nanos(t: rustix::time::Timespec) -> Nanos {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl System {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    #[inline]
    fn now(&self) -> Nanos {
        saturating_nanos(self.origin.elapsed())
    }

    #[inline]
    fn coarse(&self) -> Nanos {
        self.now()
    }

    fn lag(&self) -> Duration {
        Duration::ZERO
    }
}

impl Clock {
    /// The system's monotonic clock (the one `std::time::Instant` reads), with the coarse
    /// time on hits described under [Precision](Clock#precision). The default.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock};
    /// let cache: Cache<u8, u8> = Cache::builder().clock(Clock::system()).build();
    /// # drop(cache);
    /// ```
    pub fn system() -> Self {
        Self {
            source: Source::System(System::new()),
        }
    }

    /// A clock that stands still until the returned [`MockClock`] advances it.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Clock;
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// mock.advance(Duration::from_millis(1500));
    /// assert_eq!(mock.elapsed(), Duration::from_millis(1500));
    /// # drop(clock);
    /// ```
    pub fn mock() -> (Clock, MockClock) {
        let nanos = Arc::new(AtomicU64::new(0));
        let clock = Self {
            source: Source::Mock(Arc::clone(&nanos)),
        };
        (clock, MockClock { nanos })
    }

    /// Now as wall-clock time: how long since the unix epoch. For the system clock this is
    /// `std::time::SystemTime`, which may jump, unlike the monotonic time caches count TTLs
    /// in. A mock starts at the epoch and moves only as its [`MockClock`] advances it.
    ///
    /// Stores that keep expiries across restarts, such as a disk store, count them in this
    /// time.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Clock;
    /// use std::time::Duration;
    ///
    /// assert!(Clock::system().unix_time() > Duration::from_secs(1_600_000_000)); // after 2020
    /// let (clock, mock) = Clock::mock();
    /// assert_eq!(clock.unix_time(), Duration::ZERO);
    /// mock.advance(Duration::from_secs(90));
    /// assert_eq!(clock.unix_time(), Duration::from_secs(90));
    /// ```
    pub fn unix_time(&self) -> Duration {
        match &self.source {
            // A system clock set before 1970 reads as the epoch.
            Source::System(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
            Source::Mock(nanos) => Duration::from_nanos(nanos.load(Ordering::Acquire)),
        }
    }

    /// How far the time that hits read may lag the exact time (see
    /// [Precision](Clock#precision)): the resolution of the kernel's coarse monotonic clock
    /// (at most 10 ms) for the system clock on Linux and Android, zero elsewhere and for a
    /// mock. An entry may be served up to this long after its TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Clock;
    /// use std::time::Duration;
    ///
    /// assert!(Clock::system().hit_lag() <= Duration::from_millis(10));
    /// let (clock, _mock) = Clock::mock();
    /// assert_eq!(clock.hit_lag(), Duration::ZERO);
    /// ```
    pub fn hit_lag(&self) -> Duration {
        match &self.source {
            Source::System(system) => system.lag(),
            Source::Mock(_) => Duration::ZERO,
        }
    }

    /// Now, in nanoseconds since the clock's origin: exact, for writes.
    #[inline]
    pub(crate) fn now(&self) -> Nanos {
        match &self.source {
            Source::System(system) => system.now(),
            Source::Mock(nanos) => nanos.load(Ordering::Acquire),
        }
    }

    /// Now, behind the exact time by at most [`hit_lag`](Self::hit_lag): for hits, which only
    /// compare it with deadlines and record it for time-to-idle. Exact for a mock.
    #[inline]
    pub(crate) fn coarse_now(&self) -> Nanos {
        match &self.source {
            Source::System(system) => system.coarse(),
            Source::Mock(nanos) => nanos.load(Ordering::Acquire),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::System(_) => f.write_str("Clock::System"),
            Source::Mock(n) => write!(
                f,
                "Clock::Mock({:?})",
                Duration::from_nanos(n.load(Ordering::Relaxed))
            ),
        }
    }
}

/// The hand that moves a mock [`Clock`]; returned by [`Clock::mock`].
///
/// # Examples
///
/// ```
/// use larder::Clock;
/// use std::time::Duration;
///
/// let (_clock, mock) = Clock::mock();
/// mock.advance(Duration::from_secs(2));
/// assert_eq!(mock.elapsed(), Duration::from_secs(2));
/// ```
#[derive(Clone)]
pub struct MockClock {
    nanos: Arc<AtomicU64>,
}

impl MockClock {
    /// Moves the clock forward by `by`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use larder::Clock;
    /// # use std::time::Duration;
    /// let (_clock, mock) = Clock::mock();
    /// mock.advance(Duration::from_millis(10));
    /// mock.advance(Duration::from_millis(5));
    /// assert_eq!(mock.elapsed(), Duration::from_millis(15));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = saturating_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// How far the clock has been advanced since it was made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use larder::Clock;
    /// let (_clock, mock) = Clock::mock();
    /// assert_eq!(mock.elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MockClock").field(&self.elapsed()).finish()
    }
}

pub(crate) fn saturating_nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{Clock, Duration};

    #[test]
    fn the_coarse_time_never_runs_ahead_of_the_exact_time() {
        let clock = Clock::system();
        assert!(clock.hit_lag() <= Duration::from_millis(10));
        for _ in 0..1000 {
            let coarse = clock.coarse_now();
            assert!(coarse <= clock.now());
        }
    }

    #[test]
    fn a_mock_reads_the_same_exact_time_on_hits_and_writes() {
        let (clock, mock) = Clock::mock();
        mock.advance(Duration::from_nanos(7));
        assert_eq!(clock.coarse_now(), 7);
        assert_eq!(clock.now(), 7);
        assert_eq!(clock.hit_lag(), Duration::ZERO);
    }
}
