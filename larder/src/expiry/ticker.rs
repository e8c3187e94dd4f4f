//! The ticker: one thread per process that keeps a "recent now" fresh, so that a hit on an
//! entry with a TTL or a time-to-idle reads the time with one relaxed load instead of a
//! clock read (docs/adr/0012-coarse-time-on-hits.md).
//!
//! The thread runs only while a cache needs it: a cache on [`Clock::system`] with a TTL or a
//! time-to-idle holds a [`Subscription`] (through its clock), the first subscription starts
//! the thread, and the thread ends [`LINGER`] ticks (about 100 ms) after the last one is
//! dropped, so that caches built and dropped in a loop do not start a thread each. While no
//! thread runs, "recent" reads 0 and hits read the exact time.
//!
//! The state is process-wide and lives outside `crate::sync` on purpose: it is shared by
//! every cache of the process, shuttle cannot schedule a real thread that sleeps, and the
//! protocol is small enough to check by hand (see [`Ticker::tick`]).
//!
//! [`Clock::system`]: crate::Clock::system

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Nanos, saturating_nanos};

/// How often the ticker refreshes "recent": the nominal lag of the time hits read.
pub(super) const PERIOD: Duration = Duration::from_millis(1);

/// An exact read more than this far ahead of "recent" means the ticker is late: the reader
/// moves "recent" forward itself. Twice the period, so that an on-time ticker is never
/// raced (its lag is one period plus the timer's slack).
const LATE: Nanos = 2 * PERIOD.as_nanos() as Nanos;

/// How many ticks the thread goes on without a subscriber before it ends: about 100 ms.
const LINGER: u32 = 100;

/// "Recent" when no ticker runs: hits then read the exact time.
const STOPPED: Nanos = 0;

/// The name of the ticker thread, as tools such as `top -H` show it.
const THREAD_NAME: &str = "larder-clock";

/// The process's ticker.
pub(super) static TICKER: Ticker = Ticker::new(LINGER);

/// The exact monotonic time, in nanoseconds since the first read of the process (`Instant`,
/// so `CLOCK_MONOTONIC` on Linux). Never 0, which "recent" keeps for [`STOPPED`].
pub(super) fn exact() -> Nanos {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = ORIGIN.get_or_init(Instant::now);
    saturating_nanos(origin.elapsed()).saturating_add(1)
}

/// Keeps the value on a cache line of its own: hits on every core read it, and nothing else
/// should invalidate their copies.
#[repr(align(128))]
pub(super) struct Padded<T>(T);

/// A process-wide "recent now" and the state of the thread that keeps it fresh.
pub(super) struct Ticker {
    /// The exact time of the last tick (or of a later exact read that found the ticker
    /// late); [`STOPPED`] while no ticker runs. Only moves forward while the ticker runs.
    recent: Padded<AtomicU64>,
    /// Live [`Subscription`]s.
    subscribers: AtomicUsize,
    /// Whether a ticker thread runs (or is being started); only its owner clears it.
    running: AtomicBool,
    /// The id of the process whose thread set `running` (0 until the first start). A child
    /// of `fork` inherits `running` set but not the thread, which lives in the parent: a
    /// subscriber that finds another process's id here starts a ticker of its own.
    process: AtomicU32,
    /// Ticks without a subscriber that the thread goes on for before it ends.
    linger: u32,
    /// Consecutive ticks without a subscriber; only the thread that owns `running` uses it.
    idle: AtomicU32,
}

/// What the ticker thread does after a tick.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Sleep one period, then tick again.
    Sleep,
    /// No subscriber is left: the thread ends.
    Stop,
}

impl Ticker {
    pub(super) const fn new(linger: u32) -> Self {
        Self {
            recent: Padded(AtomicU64::new(STOPPED)),
            subscribers: AtomicUsize::new(0),
            running: AtomicBool::new(false),
            process: AtomicU32::new(0),
            linger,
            idle: AtomicU32::new(0),
        }
    }

    /// The time of the last tick, or `None` when no ticker runs. The whole cost of a hit's
    /// clock read: one relaxed load.
    #[inline]
    pub(super) fn recent(&self) -> Option<Nanos> {
        let recent = self.recent.0.load(Ordering::Relaxed);
        (recent != STOPPED).then_some(recent)
    }

    /// Told of an exact read `now`: if the ticker runs but is late (starved of CPU), moves
    /// "recent" up to `now`, so that a cache that is written to bounds the lag by itself.
    /// One relaxed load when the ticker is on time.
    #[inline]
    pub(super) fn catch_up(&self, now: Nanos) {
        let recent = self.recent.0.load(Ordering::Relaxed);
        if recent != STOPPED && now.saturating_sub(recent) > LATE {
            // Never revives a stopped ticker's "recent", never moves it back.
            let _ = self
                .recent
                .0
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                    (r != STOPPED && r < now).then_some(now)
                });
        }
    }

    /// Registers a cache that wants fresh "recent" time, starting the thread if none runs.
    /// If the thread cannot be started, "recent" stays stopped and hits read the exact time.
    pub(super) fn subscribe(&'static self) -> Subscription {
        if self.enter() && self.spawn().is_err() {
            self.abandon();
        }
        Subscription { ticker: self }
    }

    /// Starts the thread, for the caller that [`enter`](Self::enter) told to, and returns
    /// once the thread runs: whatever the runtime does to start a thread (its allocations
    /// included) is over by the time the cache that asked for it is built, rather than
    /// landing at a random point of the caller's work.
    fn spawn(&'static self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let (started, running) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                let _ = started.send(());
                drop(started);
                self.run();
            })?;
        // An error means the thread ended before it said so, which only a panic can do.
        let _ = running.recv();
        Ok(thread)
    }

    /// Counts a subscriber in; `true` if the caller must start the thread (it now owns
    /// `running`, and "recent" holds the exact time).
    pub(super) fn enter(&self) -> bool {
        self.subscribers.fetch_add(1, Ordering::SeqCst);
        let me = std::process::id();
        if self.running.swap(true, Ordering::SeqCst) {
            // Running, in this process (or being started: the id is not stored yet), or in
            // the parent of a `fork`, whose thread this process does not have: then one
            // subscriber of this process claims `running` (the compare-exchange picks it).
            let owner = self.process.load(Ordering::SeqCst);
            if owner == 0
                || owner == me
                || self
                    .process
                    .compare_exchange(owner, me, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
            {
                return false;
            }
        } else {
            self.process.store(me, Ordering::SeqCst);
        }
        self.recent.0.store(exact(), Ordering::SeqCst);
        true
    }

    /// Gives `running` up after a thread could not be started.
    fn abandon(&self) {
        self.recent.0.store(STOPPED, Ordering::SeqCst);
        self.running.store(false, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.subscribers.fetch_sub(1, Ordering::SeqCst);
    }

    /// The thread: a tick every period until [`tick`](Self::tick) says stop.
    fn run(&self) {
        loop {
            std::thread::sleep(PERIOD);
            if self.tick(exact()) == Next::Stop {
                return;
            }
        }
    }

    /// One tick of the thread that owns `running`, at exact time `now`.
    ///
    /// With subscribers, or for `linger` ticks after the last one left, moves "recent" to
    /// `now`. Then stops: "recent" goes to [`STOPPED`], then `running` is released
    /// ([`release`](Self::release)), then the subscribers are counted again
    /// ([`reclaim`](Self::reclaim)). A
    /// subscriber that came in meanwhile either saw `running` still set (then its count is
    /// seen here, and this thread takes `running` back and goes on) or saw it cleared (then
    /// it started a thread of its own, this thread fails to take `running` back and ends).
    /// All of it is `SeqCst`, so one of the two always happens: a subscriber is never left
    /// without a ticker, and two threads never tick at once.
    pub(super) fn tick(&self, now: Nanos) -> Next {
        if self.subscribers.load(Ordering::SeqCst) > 0 {
            self.idle.store(0, Ordering::Relaxed);
            self.recent.0.fetch_max(now, Ordering::Relaxed);
            return Next::Sleep;
        }
        let idle = self.idle.load(Ordering::Relaxed);
        if idle < self.linger {
            self.idle.store(idle + 1, Ordering::Relaxed);
            self.recent.0.fetch_max(now, Ordering::Relaxed);
            return Next::Sleep;
        }
        self.release();
        self.reclaim(now)
    }

    /// The first half of a stop: "recent" goes to [`STOPPED`], then `running` is released.
    fn release(&self) {
        // Before `running` is released: the next owner starts from 0.
        self.idle.store(0, Ordering::Relaxed);
        self.recent.0.store(STOPPED, Ordering::SeqCst);
        self.running.store(false, Ordering::SeqCst);
    }

    /// The second half: takes `running` back if a subscriber came in meanwhile and no other
    /// thread was started for it.
    fn reclaim(&self, now: Nanos) -> Next {
        if self.subscribers.load(Ordering::SeqCst) > 0 && !self.running.swap(true, Ordering::SeqCst)
        {
            self.recent.0.store(now, Ordering::SeqCst);
            return Next::Sleep;
        }
        Next::Stop
    }

    #[cfg(test)]
    pub(super) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// A cache's claim on the ticker: while one exists, a ticker thread runs.
pub(crate) struct Subscription {
    ticker: &'static Ticker,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.ticker.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::{LATE, Next, Ordering, PERIOD, STOPPED, Subscription, Ticker, exact};

    /// A ticker of a test's own, so that the process's caches do not count.
    fn ticker() -> &'static Ticker {
        Box::leak(Box::new(Ticker::new(0)))
    }

    #[test]
    fn a_ticker_lingers_without_subscribers_so_that_churn_reuses_it() {
        let t = Box::leak(Box::new(Ticker::new(2)));
        assert!(t.enter());
        t.leave();
        assert_eq!(t.tick(exact()), Next::Sleep);
        // A cache built while the thread lingers reuses it, and resets the count.
        assert!(
            !t.enter(),
            "a cache built meanwhile must not start a thread"
        );
        assert_eq!(t.tick(exact()), Next::Sleep);
        t.leave();
        assert_eq!(t.tick(exact()), Next::Sleep);
        assert_eq!(t.tick(exact()), Next::Sleep);
        assert!(t.recent().is_some());
        assert_eq!(t.tick(exact()), Next::Stop);
        assert_eq!(t.recent(), None);
        assert!(t.enter(), "after the stop, the next cache starts a thread");
    }

    #[test]
    fn the_first_subscriber_starts_the_ticker_with_the_exact_time() {
        let t = ticker();
        assert_eq!(t.recent(), None);
        let before = exact();
        assert!(t.enter());
        assert!(t.recent().is_some_and(|r| r >= before && r <= exact()));
        assert!(!t.enter(), "a second subscriber finds it running");
    }

    #[test]
    fn ticks_move_recent_forward_only() {
        let t = ticker();
        assert!(t.enter());
        let start = t.recent().unwrap();
        assert_eq!(t.tick(start + 500), Next::Sleep);
        assert_eq!(t.recent(), Some(start + 500));
        assert_eq!(t.tick(start + 100), Next::Sleep);
        assert_eq!(t.recent(), Some(start + 500));
    }

    #[test]
    fn a_subscriber_that_came_in_while_stopping_keeps_the_ticker() {
        let t = ticker();
        assert!(t.enter()); // this test owns `running`, as the thread would
        t.leave();
        // A subscriber arrives while `running` is still set: it does not start a thread.
        assert!(!t.enter());
        assert_eq!(t.tick(42), Next::Sleep);
        assert!(t.is_running());
        assert!(t.recent().is_some());
    }

    /// The stop's two halves, with a subscriber in each of the gaps that `tick`'s proof
    /// names, after the thread's check found no subscriber.
    #[test]
    fn a_subscriber_before_the_release_is_taken_back_by_the_stopping_thread() {
        let t = ticker();
        assert!(t.enter());
        t.leave();
        assert!(!t.enter(), "running still set: no thread of its own");
        t.release();
        assert_eq!(
            t.reclaim(exact()),
            Next::Sleep,
            "it must not be left without one"
        );
        assert!(t.is_running());
        assert!(t.recent().is_some());
    }

    #[test]
    fn a_subscriber_after_the_release_starts_its_own_and_the_old_thread_ends() {
        let t = ticker();
        assert!(t.enter());
        t.leave();
        t.release();
        assert!(t.enter(), "running released: it starts a thread");
        let recent = t.recent();
        assert_eq!(t.reclaim(exact()), Next::Stop, "never two tickers");
        assert!(t.is_running());
        assert_eq!(t.recent(), recent);
    }

    #[test]
    fn a_subscriber_after_the_stop_starts_a_new_ticker() {
        let t = ticker();
        assert!(t.enter());
        t.leave();
        assert_eq!(t.tick(exact()), Next::Stop);
        assert!(t.enter(), "the next subscriber must start a thread");
        assert!(t.recent().is_some());
    }

    #[test]
    fn a_subscriber_in_a_forked_child_starts_a_ticker_of_its_own() {
        let t = ticker();
        assert!(t.enter());
        // What `fork` leaves in the child: `running` set, "recent" frozen, and the thread
        // that set them in another process (the parent).
        t.process
            .store(std::process::id().wrapping_add(1), Ordering::SeqCst);
        assert!(
            t.enter(),
            "without a thread of its own, the child's hits read a frozen time forever"
        );
        assert!(!t.enter(), "the child's next subscriber finds its ticker");
    }

    #[test]
    fn a_ticker_that_cannot_be_started_leaves_hits_on_the_exact_time_and_the_next_retries() {
        let t = ticker();
        assert!(t.enter());
        let frozen = t.recent().unwrap();
        t.abandon(); // what `subscribe` does when the spawn fails
        assert_eq!(
            t.recent(),
            None,
            "hits must not read a time no thread moves"
        );
        t.catch_up(frozen + 10 * LATE);
        assert_eq!(t.recent(), None, "a write must not revive it either");
        assert!(
            t.enter(),
            "the next subscriber tries to start a thread again"
        );
    }

    #[test]
    fn exact_reads_catch_a_late_ticker_up_but_never_revive_a_stopped_one() {
        let t = ticker();
        t.catch_up(1_000_000_000);
        assert_eq!(t.recent(), None);
        assert!(t.enter());
        let r = t.recent().unwrap();
        t.catch_up(r + LATE); // on time: untouched
        assert_eq!(t.recent(), Some(r));
        t.catch_up(r + LATE + 1);
        assert_eq!(t.recent(), Some(r + LATE + 1));
        assert_ne!(STOPPED, r);
        assert!(PERIOD.as_nanos() > 0);
    }

    #[test]
    fn a_real_ticker_thread_ends_when_its_last_subscriber_leaves() {
        let t = ticker();
        assert!(t.enter());
        let thread = t.spawn().unwrap();
        let b = Subscription { ticker: t };
        assert!(t.recent().is_some());
        drop(b);
        // The thread ends at its first tick without a subscriber; joining it waits for that.
        thread.join().unwrap();
        assert!(!t.is_running());
        assert_eq!(t.recent(), None, "hits fall back to the exact time");
    }
}
