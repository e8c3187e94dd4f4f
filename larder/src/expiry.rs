//! Time: [`Ttl`] for entry lifetimes and [`Clock`] for reading the time.

use std::fmt;
use std::time::{Duration, Instant};

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
    System(Instant),
    Mock(Arc<AtomicU64>),
}

impl Clock {
    /// The system's monotonic clock, `std::time::Instant`. The default.
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
            source: Source::System(Instant::now()),
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

    /// Now, in nanoseconds since the clock's origin.
    pub(crate) fn now(&self) -> Nanos {
        match &self.source {
            Source::System(origin) => saturating_nanos(origin.elapsed()),
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
