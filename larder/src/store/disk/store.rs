//! [`DiskStore`], the async handle, and [`DiskStoreBuilder`], the settings of its file:
//! opening the file (with its background sweep), the handle's settings, and running a
//! blocking operation under the handle's timeout.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use super::blocking::{BACKEND, blocking, join_failed, runtime};
use super::db::{Db, DiskStats};
use crate::Clock;
use crate::error::Error;
use crate::store::meter::Meter;
use crate::store::remote::{DEFAULT_TIMEOUT, Remote};
use crate::sync::Mutex;

/// A [`Store`](crate::store::Store) in one file on disk, on [redb](https://docs.rs/redb):
/// values and their TTLs survive restarts, and the entries' total size can be capped.
///
/// Open a file with [`DiskStore::open`], or with [`DiskStore::builder`] for the size cap, the
/// clock and the sweep. Several namespaces can share the file through
/// [`with_namespace`](Self::with_namespace): redb lets a process open a file only once, so a
/// second `open` of the same file fails while it is open.
///
/// - **Restarts.** Expiries are wall-clock times, from
///   [`Clock::unix_time`](crate::Clock::unix_time), kept in the file. When the file is
///   reopened, an entry has the TTL it had left, and what expired while the file was closed is
///   gone. Every write is a durable redb commit.
/// - **Expiry.** An expired entry is never returned. When no write is waiting for the file, a
///   read that meets an expired entry deletes it; this is lazy expiry. An index of entries by
///   expiry lets [`sweep`](Self::sweep) and the background sweep find the expired ones without
///   a scan.
/// - **Size cap.** [`DiskStoreBuilder::max_bytes`] caps the entries' total size, which counts
///   each entry's namespace, key and value, over every namespace. A write that takes the total
///   over the cap evicts first expired entries, then approximately the least recently used. A
///   file opened with a cap it is over is brought under it at once.
///
///   The approximation is Redis's. Each eviction samples the next 16 entries in key order,
///   going on from where the last sample ended and round the file. It adds them to a pool of
///   the 16 least recently used candidates seen so far, and evicts the least recent of the
///   pool. Recency lives in memory, so reads never write to disk: a tick per hit or write, for
///   up to about a million keys, past which the older half is forgotten. An entry not used
///   since the file was opened counts as least recently used.
///
///   An entry larger than the cap is not stored: it is as if it were evicted at once, and what
///   its key held goes. The file itself is larger than the entries, with redb's pages, the
///   expiry index and free space, and it does not shrink.
/// - **Blocking.** Every operation is one redb transaction on tokio's blocking pool, under the
///   handle's timeout. Writes queue for the file in async code, not on blocking threads. The
///   timeout is 5 s by default: see [`with_timeout`](Self::with_timeout). An operation that
///   times out may still complete on disk. A sweep is a series of transactions of up to a
///   thousand entries, with the writes that wait let in between.
/// - **Blocking threads.** A file runs at most 16 operations on blocking threads at once,
///   over all its handles; the others wait in async code, within their timeout. An operation
///   that times out cannot stop its blocking thread, which keeps its place until it ends, so
///   a stalled disk holds at most 16 threads: further operations fail with
///   [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) without adding blocking work, and
///   succeed again once the stall ends. Opening and closing each take one more thread.
/// - **Leases.** [`lease`](crate::store::Store::lease) is an `add` and
///   [`release`](crate::store::Store::release) compares the token and deletes in one write
///   transaction: both are atomic. A lease expires on the store's clock, rounded up to the
///   millisecond. Under the size cap a lease is evicted like any entry, and one larger than
///   the cap is not stored though `lease` reports it taken.
/// - **Runtime.** Operations run on the tokio runtime they are called in. Called outside one,
///   they fail with [`ErrorKind::Config`](crate::ErrorKind::Config). Timeouts are tokio
///   timers, so a runtime built without `enable_time` panics on an operation with a timeout,
///   as [`tokio::time::timeout`] does.
/// - **Errors.** Failures of the file are [`ErrorKind::Backend`](crate::ErrorKind::Backend);
///   neither errors nor `Debug` show the file's path or any cached bytes. A corrupt record,
///   which the store cannot read, is a `Backend` error for the operations that read it: `get`,
///   `exists`, `add`, `expire`, `increment`, `lease` and `release`. It stays so until it is overwritten by `set`
///   or removed by `delete`, `clear`, the sweep or eviction, which all take it out.
///
/// # No watching
///
/// [`watch`](crate::store::Store::watch) returns `None`: writes are not reported, not even
/// those made through another handle of the same file, so a copy kept in memory above it is
/// bounded only by its own TTL.
///
/// # Background work
///
/// One tokio task per open file sweeps expired entries every 10 s, as set by
/// [`DiskStoreBuilder::sweep_interval`]; its errors are left for the next sweep. It ends when
/// the store is closed, or its last handle dropped.
///
/// Dropping the last handle closes the file, a short blocking write, once the operations still
/// running on it have ended, one that timed out included.
/// [`close`](crate::store::Store::close) waits for them, on a blocking thread, so close a
/// store before opening its file again.
///
/// # Cancel safety
///
/// Each operation is atomic: it happens whole or not at all. [`sweep`](Self::sweep) is atomic
/// one transaction at a time. Dropping an operation's future, or its timeout firing, does not
/// stop it once it has started on its blocking thread: it may still complete on disk.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-disk-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// use larder::Ttl;
/// use larder::store::{DiskStore, Store};
/// use std::time::Duration;
///
/// let path = dir.join("cache.redb");
/// let store = DiskStore::open(&path, "users").await?;
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(3600))).await?;
/// store.close().await?; // the file is released once this returns
///
/// let store = DiskStore::open(&path, "users").await?; // after a restart
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
/// ```
#[derive(Clone)]
pub struct DiskStore {
    pub(super) shared: Arc<Shared>,
    pub(super) namespace: Arc<str>,
    /// The timeout, the default TTL, and the file's closed flag.
    pub(super) remote: Remote,
}

/// What every handle on one open file shares.
pub(super) struct Shared {
    pub(super) db: Arc<Db>,
    /// Dropped (with the last handle, or by `close`) to stop the background sweep.
    pub(super) stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No path (it may name a user or a secret), no bytes.
        f.debug_struct("DiskStore")
            .field("namespace", &self.namespace)
            .field("timeout", &self.remote.timeout)
            .field("default_ttl", &self.remote.default_ttl)
            .field("closed", &self.remote.closed().is_closed())
            .finish_non_exhaustive()
    }
}

impl DiskStore {
    /// Opens the store in the file at `path`, created if missing, keeping keys under
    /// `namespace`, with the default settings: no size cap, a sweep every 10 s, a 5 s
    /// timeout. [`builder`](Self::builder) changes them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) when the file cannot be opened: it is
    /// corrupt or not a redb database, it is a redb database of another program, it cannot be
    /// read or written, or it is already open, in this process or another.
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after 5 s.
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) outside a tokio runtime.
    ///
    /// # Panics
    ///
    /// In a tokio runtime without timers, as [`DiskStore`]'s docs explain.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::store::DiskStore::open(dir.join("cache.redb"), "sessions").await?;
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>, namespace: &str) -> Result<Self, Error> {
        Self::builder().open(path, namespace).await
    }

    /// A builder, for the settings of the file: size cap, clock, sweep, timeout, default TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-builder-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::store::DiskStore::builder()
    ///     .max_bytes(1 << 30)
    ///     .open(dir.join("cache.redb"), "pages")
    ///     .await?;
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub fn builder() -> DiskStoreBuilder {
        DiskStoreBuilder::new()
    }

    fn from_parts(db: Arc<Db>, stop: oneshot::Sender<()>, namespace: &str, remote: Remote) -> Self {
        // The file's flag: `close` on any handle (any namespace) closes them all.
        let remote = remote.closed_by(crate::sync::Arc::clone(&db.closed));
        Self {
            shared: Arc::new(Shared {
                db,
                stop: Mutex::new(Some(stop)),
            }),
            namespace: Arc::from(namespace),
            remote,
        }
    }

    /// Another handle on the same open file, with keys under `namespace`, and this handle's
    /// timeout and default TTL. [`clear`](crate::store::Store::clear) is limited to each
    /// handle's namespace; the size cap, [`sweep`](Self::sweep) and
    /// [`close`](crate::store::Store::close) concern the file.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-ns-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::Ttl;
    /// use larder::store::{DiskStore, Store};
    ///
    /// let users = DiskStore::open(dir.join("cache.redb"), "users").await?;
    /// let pages = users.with_namespace("pages");
    /// users.set("1", b"ada", Ttl::Never).await?;
    /// pages.set("1", b"<html>", Ttl::Never).await?;
    /// pages.clear().await?;
    /// assert!(users.exists("1").await?);
    /// # drop((users, pages)); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_namespace(&self, namespace: &str) -> Self {
        Self {
            namespace: Arc::from(namespace),
            ..self.clone()
        }
    }

    /// This handle with another timeout for every operation; `None` means no timeout. The handle
    /// shares the file, so it also gives one call a timeout of its own:
    /// `store.clone().with_timeout(Some(d)).get(key)`. An operation that times out may still
    /// complete on disk; a zero timeout fails every operation so.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-timeout-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::store::{DiskStore, Store};
    /// use std::time::Duration;
    ///
    /// let store = DiskStore::open(dir.join("cache.redb"), "ns").await?;
    /// let quick = store.clone().with_timeout(Some(Duration::from_millis(200)));
    /// assert_eq!(quick.get("k").await?, None);
    /// let patient = store.clone().with_timeout(None); // no timeout
    /// assert_eq!(patient.get("k").await?, None);
    /// # drop((store, quick, patient)); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.remote.timeout = timeout;
        self
    }

    /// This handle with a TTL for values set with [`Ttl::Default`](crate::Ttl::Default); there
    /// is none by default.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-ttl-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::Ttl;
    /// use larder::store::{DiskStore, Store};
    /// use std::time::Duration;
    ///
    /// let store = DiskStore::open(dir.join("cache.redb"), "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// store.set("k", b"v", Ttl::Default).await?; // expires in 300 s
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(mut self, ttl: Duration) -> Self {
        self.remote.default_ttl = Some(ttl);
        self
    }

    /// Removes every entry of the file, in every namespace, that is expired when it starts,
    /// and returns how many it removed. The background sweep does the same; this is for when
    /// it is off, or to know. It removes up to a thousand entries per transaction, and lets
    /// the writes that wait go between two.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend),
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) or
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed);
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) outside a tokio runtime. The transactions
    /// before the failure stay done.
    ///
    /// # Cancel safety
    ///
    /// Dropping its future, or its timeout firing, stops it after the transaction under way,
    /// which may still complete: the sweep is then done in part.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-sweep-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{Clock, Ttl};
    /// use larder::store::{DiskStore, Store};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let store = DiskStore::builder().clock(clock).open(dir.join("cache.redb"), "ns").await?;
    /// store.set("k", b"v", Ttl::After(Duration::from_secs(1))).await?;
    /// mock.advance(Duration::from_secs(1));
    /// assert_eq!(store.sweep().await?, 1);
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn sweep(&self) -> Result<u64, Error> {
        let db = Arc::clone(&self.shared.db);
        let steps = async move {
            let now = db.now();
            let mut removed = 0u64;
            while let Some(step) =
                blocking(Arc::clone(&db), true, move |db| db.sweep_step(now)).await?
            {
                removed = removed.saturating_add(step);
            }
            Ok(removed)
        };
        self.remote.run(steps).await
    }

    /// Counts of the file, over every namespace: entries, entries that expire, and the
    /// entries' size, as [`DiskStats`] describes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend),
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) or
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-stats2-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::store::DiskStore::open(dir.join("cache.redb"), "ns").await?;
    /// assert_eq!(store.stats().await?.entries, 0);
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn stats(&self) -> Result<DiskStats, Error> {
        self.run(false, Db::stats).await
    }

    /// What counts and times the store's operations (every namespace of the file).
    pub(super) fn meter(&self) -> &Meter {
        &self.remote.meter
    }

    /// Runs `op` on a blocking thread under this handle's timeout; a `write` first queues
    /// for the file's one writer.
    pub(super) async fn run<T, F>(&self, write: bool, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.shared.db);
        self.remote.run(blocking(db, write, op)).await
    }
}

/// How often the background task sweeps expired entries by default.
const DEFAULT_SWEEP: Duration = Duration::from_secs(10);

/// Settings for a [`DiskStore`]'s file; [`open`](Self::open) opens it.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-dsb-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// use larder::store::DiskStore;
/// use std::time::Duration;
///
/// let store = DiskStore::builder()
///     .max_bytes(256 << 20)                           // 256 MiB of values
///     .sweep_interval(Some(Duration::from_secs(60)))
///     .timeout(Some(Duration::from_secs(1)))
///     .default_ttl(Duration::from_secs(3600))
///     .open(dir.join("cache.redb"), "pages")
///     .await?;
/// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct DiskStoreBuilder {
    max_bytes: Option<u64>,
    clock: Clock,
    sweep_interval: Option<Duration>,
    timeout: Option<Duration>,
    default_ttl: Option<Duration>,
}

impl Default for DiskStoreBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DiskStoreBuilder {
    /// The defaults: no size cap, the system clock, a sweep every 10 s, a 5 s timeout, no
    /// default TTL. The same as [`DiskStore::builder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::store::DiskStoreBuilder::new();
    /// # drop(builder);
    /// ```
    pub fn new() -> Self {
        Self {
            max_bytes: None,
            clock: Clock::system(),
            sweep_interval: Some(DEFAULT_SWEEP),
            timeout: Some(DEFAULT_TIMEOUT),
            default_ttl: None,
        }
    }

    /// Caps the entries' total size, in bytes, over every namespace of the file: each entry
    /// counts its namespace, key and value. redb's own overhead is not counted: see
    /// [`DiskStats::bytes`]. A write that goes over evicts expired entries, then approximately
    /// the least recently used ones, as [`DiskStore`] describes. A file already over the cap
    /// when opened is brought under it then. No cap by default.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::store::DiskStore::builder().max_bytes(64 << 20);
    /// # drop(builder);
    /// ```
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// The clock expiries are read on, as [unix time](Clock::unix_time): the system's by
    /// default, a [`Clock::mock`] in tests. A mock must be the same clock, a clone, across
    /// reopens for the TTLs in the file to mean the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let (clock, mock) = larder::Clock::mock();
    /// let builder = larder::store::DiskStore::builder().clock(clock);
    /// # drop((builder, mock));
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How often the background task removes expired entries; 10 s by default. With `None`
    /// there is no task, and expired entries are removed when read, when the size cap needs
    /// room, or by [`DiskStore::sweep`].
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::store::DiskStore::builder().sweep_interval(None);
    /// # drop(builder);
    /// ```
    pub fn sweep_interval(mut self, every: Option<Duration>) -> Self {
        self.sweep_interval = every;
        self
    }

    /// The timeout of opening the file and, then, of every operation; 5 s by default. `None`
    /// means no timeout, and [`open`](Self::open) refuses zero. [`DiskStore::with_timeout`]
    /// changes it per handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::store::DiskStore::builder().timeout(Some(std::time::Duration::from_secs(1)));
    /// # drop(builder);
    /// ```
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The TTL of values set with [`Ttl::Default`](crate::Ttl::Default); there is none by
    /// default.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::store::DiskStore::builder().default_ttl(std::time::Duration::from_secs(60));
    /// # drop(builder);
    /// ```
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Opens or creates the file at `path`, keeping this handle's keys under `namespace`,
    /// and starts the background sweep.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a zero size cap, sweep interval or
    /// timeout, or outside a tokio runtime;
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) when the file cannot be opened
    /// because it is corrupt, not a disk store, unreadable, or already open, as
    /// [`DiskStore::open`] lists;
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after the timeout.
    ///
    /// # Panics
    ///
    /// In a tokio runtime without timers, if a timeout or sweep interval is set, as
    /// [`DiskStore`]'s docs explain.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-dsbo-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::store::DiskStore::builder().open(dir.join("cache.redb"), "ns").await?;
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn open(self, path: impl AsRef<Path>, namespace: &str) -> Result<DiskStore, Error> {
        if self.sweep_interval.is_some_and(|every| every.is_zero()) {
            return Err(Error::config("sweep_interval must be more than zero"));
        }
        if self.max_bytes == Some(0) {
            return Err(Error::config("max_bytes must be more than zero"));
        }
        if self.timeout.is_some_and(|limit| limit.is_zero()) {
            return Err(Error::config(
                "timeout must be more than zero (`None` turns it off)",
            ));
        }
        let path = path.as_ref().to_path_buf();
        let (clock, max_bytes) = (self.clock, self.max_bytes);
        // A timed-out open goes on; the file it opens is closed when it ends.
        let opening = async move {
            runtime()?
                .spawn_blocking(move || Db::open(&path, clock, max_bytes))
                .await
                .map_err(join_failed)?
        };
        let mut remote = Remote::new(BACKEND).with_meter(Meter::new("disk"));
        remote.timeout = self.timeout;
        remote.default_ttl = self.default_ttl;
        let db = Arc::new(remote.within(opening).await?);
        let (stop, stopped) = oneshot::channel();
        if let Some(every) = self.sweep_interval {
            runtime()?.spawn(sweep_every(Arc::downgrade(&db), every, stopped));
        }
        Ok(DiskStore::from_parts(db, stop, namespace, remote))
    }
}

/// The background sweep: every `every`, until `stop` fires (its sender dropped with the last
/// handle, or by `close`) or the file is gone. It holds the file only while it sweeps a step,
/// and takes the writer for one step at a time, so that writes get in between.
async fn sweep_every(db: Weak<Db>, every: Duration, mut stop: oneshot::Receiver<()>) {
    loop {
        if tokio::time::timeout(every, &mut stop).await.is_ok() {
            return;
        }
        let mut now = None;
        loop {
            let Some(db) = db.upgrade().filter(|db| !db.is_closed()) else {
                return;
            };
            let now = *now.get_or_insert_with(|| db.now());
            // Errors are left for the next sweep (or a caller's `sweep()`) to meet.
            match blocking(db, true, move |db| db.sweep_step(now)).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}
