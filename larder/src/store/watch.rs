//! Watching a store for writes made elsewhere: [`Invalidation`], what a watch reports;
//! [`Watch`], the handle that keeps one running; and the state a store's watch shares with
//! that handle (whether it is connected, and since when not).
//!
//! A store that can watch ([`RedisStore`](crate::store::RedisStore), through Redis's
//! server-assisted client-side caching) returns a [`Watch`] from
//! [`Store::watch`](crate::store::Store::watch); the others return `None`. This file knows no
//! backend and no runtime.

use std::fmt;
use std::time::Instant;

use crate::sync::{Arc, AtomicBool, Mutex, Ordering};

/// What a [`Watch`] reports: keys written or deleted by anyone (another process, another
/// client, this process), or everything.
///
/// Keys are as the store's methods take them: without the store's namespace, so a key
/// reported is the `key` of [`Store::get`](crate::store::Store::get) that now reads
/// differently.
///
/// # Examples
///
/// ```
/// use larder::store::Invalidation;
///
/// fn describe(invalidation: &Invalidation) -> String {
///     match invalidation {
///         Invalidation::Keys(keys) => format!("{} keys changed", keys.len()),
///         Invalidation::All => "drop everything".to_string(),
///         _ => "drop everything".to_string(), // a future kind: the safe reading
///     }
/// }
/// assert_eq!(describe(&Invalidation::Keys(vec!["v1:7".into()])), "1 keys changed");
/// assert_eq!(describe(&Invalidation::All), "drop everything");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// These keys were written, deleted, expired or evicted (keys without the namespace).
    Keys(Vec<String>),
    /// Anything may have changed: drop every copy. Sent first, once the watch is connected
    /// (copies made before it started may be stale); after every reconnect, since writes may
    /// have gone unreported while it was down; when the server was flushed (`FLUSHALL`,
    /// `FLUSHDB`); and when reports were dropped because the sink fell behind.
    All,
}

/// Where a [`Watch`] reports [`Invalidation`]s: called on a task of the watch's, one call at
/// a time, in the order the store reported them. It should return quickly (drop copies,
/// bump counters); a slow sink delays the reports after it, and a sink too slow for the
/// reports gets an [`Invalidation::All`] in place of those it did not keep up with. A sink
/// that panics stops the watch for good: [`Watch::is_connected`] turns `false`, and nothing
/// is reported any more.
///
/// A plain [`std::sync::Arc`], so that one sink can serve several watches.
pub type InvalidationSink = std::sync::Arc<dyn Fn(Invalidation) + Send + Sync>;

/// A running watch of a store's keys under a prefix, from
/// [`Store::watch`](crate::store::Store::watch). Dropping it stops the watch: once `drop`
/// returns, the sink is called no more (a call under way finishes), and the watch's
/// connections close soon after. Closing the store stops it too.
///
/// The first report is always [`Invalidation::All`]: every write from the moment
/// [`Store::watch`](crate::store::Store::watch) returned is reported, but not the ones
/// before. [`is_connected`](Self::is_connected) says whether every write is being reported.
/// While it is `false`, writes may go unreported; when the watch is connected again it
/// reports [`Invalidation::All`], and only after that call does `is_connected` turn `true`.
///
/// # Examples
///
/// ```no_run
/// # #[cfg(feature = "redis")]
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use std::sync::Arc;
/// use larder::store::{Invalidation, RedisStore, Store};
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", "users").await?;
/// let sink = Arc::new(|invalidation: Invalidation| println!("{invalidation:?}"));
/// let watch = store.watch("v1:", sink).await?.expect("Redis can watch");
/// assert!(watch.is_connected());
/// assert_eq!(watch.disconnected_since(), None);
/// drop(watch); // stops it
/// # Ok(()) }
/// # #[cfg(not(feature = "redis"))] fn main() {}
/// ```
pub struct Watch {
    state: Arc<WatchState>,
    /// Stops the store's side of the watch (its tasks, its connections).
    stop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Watch {
    /// A handle over `state`, whose `stop` ends the store's side of the watch.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(state: Arc<WatchState>, stop: Box<dyn FnOnce() + Send + Sync>) -> Self {
        Self {
            state,
            stop: Some(stop),
        }
    }

    /// Whether the watch is connected everywhere it must be (every primary, on a cluster),
    /// with every report up to now delivered, the [`Invalidation::All`] that follows a
    /// reconnect included. One atomic load: cheap enough for every read of a cache.
    ///
    /// A connection that fails loudly (a reset, a server that restarts) is noticed at once;
    /// one that goes silent (a black-holed network path) is noticed by the watch's health
    /// check, within a few seconds: until then this stays `true`. The store's docs say how
    /// long.
    ///
    /// # Examples
    ///
    /// See [`Watch`].
    pub fn is_connected(&self) -> bool {
        self.state.is_connected()
    }

    /// Since when the watch has not been connected (as it noticed), or `None` while it is.
    ///
    /// # Examples
    ///
    /// See [`Watch`].
    pub fn disconnected_since(&self) -> Option<Instant> {
        self.state.disconnected_since()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.stop();
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("connected", &self.is_connected())
            .field("disconnected_since", &self.disconnected_since())
            .finish()
    }
}

/// What a store's watch shares with its [`Watch`]: the sink, whether it is connected, and
/// whether the handle was dropped.
///
/// Each loss of a connection starts a new epoch; "connected again" is only believed for the
/// epoch it was reached in, so a reconnect that another loss overtook while its
/// [`Invalidation::All`] was on the way does not mark the watch connected.
pub(crate) struct WatchState {
    sink: InvalidationSink,
    connected: AtomicBool,
    down: Mutex<Down>,
    stopped: AtomicBool,
}

struct Down {
    /// Incremented by every loss.
    epoch: u64,
    since: Option<Instant>,
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
impl WatchState {
    /// A connected watch reporting to `sink`.
    pub(crate) fn new(sink: InvalidationSink) -> Self {
        Self {
            sink,
            connected: AtomicBool::new(true),
            down: Mutex::new(Down {
                epoch: 0,
                since: None,
            }),
            stopped: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub(crate) fn disconnected_since(&self) -> Option<Instant> {
        self.down.lock().since
    }

    /// A connection was lost (or stopped): not connected from now, in a new epoch.
    pub(crate) fn lost(&self) {
        let mut down = self.down.lock();
        down.epoch += 1;
        if down.since.is_none() {
            down.since = Some(Instant::now());
        }
        self.connected.store(false, Ordering::Release);
    }

    /// The current epoch: a reconnect reached now is believed only in it.
    pub(crate) fn epoch(&self) -> u64 {
        self.down.lock().epoch
    }

    /// Connected again, if no loss came after `epoch` and the watch was not stopped.
    pub(crate) fn resumed(&self, epoch: u64) {
        let mut down = self.down.lock();
        if down.epoch == epoch && !self.is_stopped() {
            down.since = None;
            self.connected.store(true, Ordering::Release);
        }
    }

    /// Calls the sink, unless the handle was dropped.
    pub(crate) fn deliver(&self, invalidation: Invalidation) {
        if !self.is_stopped() {
            (self.sink)(invalidation);
        }
    }

    /// The handle was dropped, or the store closed: no more calls, not connected.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.lost();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording() -> (Arc<WatchState>, Arc<Mutex<Vec<Invalidation>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&seen);
        let sink: InvalidationSink = std::sync::Arc::new(move |i| into.lock().push(i));
        (Arc::new(WatchState::new(sink)), seen)
    }

    #[test]
    fn a_loss_disconnects_until_a_resume_of_the_same_epoch() {
        let (state, _) = recording();
        assert!(state.is_connected());
        assert_eq!(state.disconnected_since(), None);
        state.lost();
        let since = state.disconnected_since().unwrap();
        assert!(!state.is_connected());
        let epoch = state.epoch();
        state.lost(); // a second loss keeps the first instant
        assert_eq!(state.disconnected_since(), Some(since));
        state.resumed(epoch); // overtaken by the second loss
        assert!(!state.is_connected());
        state.resumed(state.epoch());
        assert!(state.is_connected());
        assert_eq!(state.disconnected_since(), None);
    }

    #[test]
    fn a_dropped_watch_delivers_nothing_and_is_not_connected() {
        let (state, seen) = recording();
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopped);
        let watch = Watch::new(
            Arc::clone(&state),
            Box::new(move || flag.store(true, Ordering::Release)),
        );
        state.deliver(Invalidation::All);
        assert!(watch.is_connected());
        drop(watch);
        assert!(
            stopped.load(Ordering::Acquire),
            "the store's side is stopped"
        );
        state.deliver(Invalidation::Keys(vec!["k".into()]));
        state.resumed(state.epoch());
        assert_eq!(*seen.lock(), vec![Invalidation::All]);
        assert!(state.is_stopped());
        assert!(!state.is_connected(), "a stopped watch never resumes");
    }
}
