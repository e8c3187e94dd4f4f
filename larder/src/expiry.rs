//! Time: [`Ttl`] for entry lifetimes and [`Clock`] for reading the time.

use std::fmt;
use std::time::Duration;

use crate::sync::{Arc, AtomicU64, Ordering};

use ticker::Subscription;

mod ticker;

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
/// Writes (inserts, `expire`, reclamation) read the exact monotonic time (`Instant`'s). A hit
/// on an entry with a TTL or a time-to-idle, and the other reads that only check a deadline
/// or record an access (`peek`, `contains_key`, the loading calls' lookup), read a *recent*
/// time instead: a process-wide "now" that a ticker thread refreshes every millisecond, which
/// costs one load instead of a clock read (about 1 ns against 20–50 ns). So, with
/// [`Clock::system`]:
///
/// - an entry with a TTL is never dropped early, and may be served **up to about 1 ms
///   ([`Clock::hit_lag`]) after its TTL** runs out;
/// - a time-to-idle entry may be served up to about 1 ms after its idle time runs out, and,
///   since reads record the recent time, may go idle up to about 1 ms early.
///
/// The millisecond holds while the ticker gets the CPU when it wakes. On a machine so busy
/// that the ticker thread waits to run, the lag grows by that wait; a write or reclamation
/// of a timed entry, which reads the exact time, then moves "recent" forward itself if it is
/// more than 2 ms behind. A process whose caches are only read, on a starved machine, can
/// serve an entry for as long as the ticker waits past its TTL.
///
/// # The ticker thread
///
/// One thread per process, named `larder-clock`, wakes every millisecond while at least one
/// cache on `Clock::system()` with a [`time_to_live`](crate::CacheBuilder::time_to_live) or
/// a [`time_to_idle`](crate::CacheBuilder::time_to_idle) exists (or a clone of its clock).
/// It starts with the first such cache and ends about 100 ms after the last one is dropped
/// (so that caches built and dropped in a loop share one thread), so a process without them
/// has no thread and no wake-ups. If the thread cannot be started, hits read the exact
/// time. A cache with neither setting starts no thread;
/// hits on its entries with a per-entry TTL read the recent time while another cache keeps
/// the ticker running, and the exact time otherwise.
///
/// [`Clock::exact`] opts out: no thread, and every read is exact, at the cost of a clock
/// read per hit on a timed entry. A mock clock is exact everywhere and starts no thread.
///
/// A process that calls `fork` (to daemonize, say) while such a cache exists is then
/// multi-threaded, and its child has no ticker: there the recent time stands still until
/// the child builds a cache with a TTL or a time-to-idle (which starts a ticker in the
/// child) or writes a timed entry (which moves it forward, as above). Until then, hits in
/// the child serve entries past their TTL. Build caches after forking, or use
/// [`Clock::exact`].
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
    /// The monotonic clock; hits read the ticker's recent time while it runs. The
    /// subscription, once a timed cache takes this clock, keeps the ticker running.
    System(Option<Arc<Subscription>>),
    /// The monotonic clock, read exactly everywhere.
    Exact,
    Mock(Arc<AtomicU64>),
}

impl Clock {
    /// The system's monotonic clock (the one `std::time::Instant` reads), with the recent
    /// time on hits and the ticker thread described under [Precision](Clock#precision). The
    /// default.
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
            source: Source::System(None),
        }
    }

    /// The system's monotonic clock, read exactly on every hit: no ticker thread and no lag,
    /// at the cost of a clock read (20–50 ns) per hit on an entry with a TTL or a
    /// time-to-idle. For callers who need expiry to the nanosecond, or no thread at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock};
    /// use std::time::Duration;
    ///
    /// let clock = Clock::exact();
    /// assert_eq!(clock.hit_lag(), Duration::ZERO);
    /// let cache: Cache<u8, u8> = Cache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .clock(clock)
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn exact() -> Self {
        Self {
            source: Source::Exact,
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
            Source::System(_) | Source::Exact => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
            Source::Mock(nanos) => Duration::from_nanos(nanos.load(Ordering::Acquire)),
        }
    }

    /// How far the time that hits read may lag the exact time while the ticker keeps up
    /// (see [Precision](Clock#precision)): the ticker's period, 1 ms, for
    /// [`Clock::system`]; zero for [`Clock::exact`] and a mock. An entry may be served up to
    /// this long after its TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Clock;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Clock::system().hit_lag(), Duration::from_millis(1));
    /// let (clock, _mock) = Clock::mock();
    /// assert_eq!(clock.hit_lag(), Duration::ZERO);
    /// ```
    pub fn hit_lag(&self) -> Duration {
        match &self.source {
            Source::System(_) => ticker::PERIOD,
            Source::Exact | Source::Mock(_) => Duration::ZERO,
        }
    }

    /// This clock for a cache whose entries expire (it has a TTL or a time-to-idle): a
    /// system clock then keeps the ticker running for as long as the clock or a clone of it
    /// lives. Other clocks are returned as they are.
    pub(crate) fn for_expiring_cache(self) -> Self {
        match self.source {
            Source::System(None) => Self {
                source: Source::System(Some(Arc::new(ticker::TICKER.subscribe()))),
            },
            source => Self { source },
        }
    }

    /// Now, in nanoseconds since the clock's origin: exact, for writes.
    #[inline]
    pub(crate) fn now(&self) -> Nanos {
        match &self.source {
            Source::System(_) => {
                let now = ticker::exact();
                ticker::TICKER.catch_up(now);
                now
            }
            Source::Exact => ticker::exact(),
            Source::Mock(nanos) => nanos.load(Ordering::Acquire),
        }
    }

    /// Now, behind the exact time by about [`hit_lag`](Self::hit_lag) (never ahead of it):
    /// for hits, which only compare it with deadlines and record it for time-to-idle. One
    /// relaxed load while the ticker runs; exact for [`Clock::exact`] and a mock.
    #[inline]
    pub(crate) fn coarse_now(&self) -> Nanos {
        match &self.source {
            Source::System(_) => match ticker::TICKER.recent() {
                Some(recent) => recent,
                None => ticker::exact(),
            },
            Source::Exact => ticker::exact(),
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
            Source::Exact => f.write_str("Clock::Exact"),
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
    use super::{Clock, Duration, Source, ticker};

    #[test]
    fn the_recent_time_never_runs_ahead_of_the_exact_time() {
        for clock in [
            Clock::system(),
            Clock::system().for_expiring_cache(),
            Clock::exact(),
        ] {
            assert!(clock.hit_lag() <= Duration::from_millis(1));
            for _ in 0..1000 {
                let recent = clock.coarse_now();
                assert!(recent <= clock.now());
            }
        }
    }

    #[test]
    fn a_system_clock_for_an_expiring_cache_keeps_the_ticker_running() {
        let clock = Clock::system().for_expiring_cache();
        assert!(matches!(clock.source, Source::System(Some(_))));
        let clone = clock.clone();
        drop(clock);
        // The clone's subscription is the same one: the ticker still runs.
        assert!(ticker::TICKER.recent().is_some());
        drop(clone);
    }

    #[test]
    fn only_the_system_clock_subscribes() {
        let (mock, _hand) = Clock::mock();
        assert!(matches!(mock.for_expiring_cache().source, Source::Mock(_)));
        assert!(matches!(
            Clock::exact().for_expiring_cache().source,
            Source::Exact
        ));
        assert!(matches!(Clock::system().source, Source::System(None)));
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
