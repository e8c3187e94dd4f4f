//! [`DiskStoreBuilder`]: the settings of a disk store's file, and opening it (with its
//! background sweep).

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use super::db::Db;
use super::store::{DiskStore, blocking, join_failed, runtime, with_timeout};
use crate::Clock;
use crate::error::Error;

/// The default timeout of opening the file and of every operation.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
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
/// use larder::DiskStore;
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
    /// let builder = larder::DiskStoreBuilder::new();
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
    /// counts its namespace, key and value (redb's own overhead is not counted, see
    /// [`DiskStats::bytes`](super::DiskStats::bytes)). A write that goes over evicts expired
    /// entries, then approximately the least recently used ones (see [`DiskStore`]); a file
    /// already over the cap when opened is brought under it then. No cap by default.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::DiskStore::builder().max_bytes(64 << 20);
    /// # drop(builder);
    /// ```
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// The clock expiries are read on, as [unix time](Clock::unix_time): the system's by
    /// default, a [`Clock::mock`] in tests. A mock must be the same (a clone) across reopens
    /// for the TTLs in the file to mean the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let (clock, mock) = larder::Clock::mock();
    /// let builder = larder::DiskStore::builder().clock(clock);
    /// # drop((builder, mock));
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How often the background task removes expired entries (`None`: no task; expired
    /// entries are then removed when read, when the size cap needs room, or by
    /// [`DiskStore::sweep`]). 10 s by default.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::DiskStore::builder().sweep_interval(None);
    /// # drop(builder);
    /// ```
    pub fn sweep_interval(mut self, every: Option<Duration>) -> Self {
        self.sweep_interval = every;
        self
    }

    /// The timeout of opening the file and, then, of every operation (`None`: none; zero is
    /// refused by [`open`](Self::open)); 5 s by default. [`DiskStore::with_timeout`] changes
    /// it per handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::DiskStore::builder().timeout(Some(std::time::Duration::from_secs(1)));
    /// # drop(builder);
    /// ```
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The TTL of values set with [`Ttl::Default`](crate::Ttl::Default) (none by default).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = larder::DiskStore::builder().default_ttl(std::time::Duration::from_secs(60));
    /// # drop(builder);
    /// ```
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Opens (or creates) the file at `path`, keeping this handle's keys under `namespace`,
    /// and starts the background sweep.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a zero size cap, sweep interval or
    /// timeout, or outside a tokio runtime;
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) when the file cannot be opened
    /// (corrupt, not a disk store, unreadable, or already open: see [`DiskStore::open`]);
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) after the timeout.
    ///
    /// # Panics
    ///
    /// In a tokio runtime without timers, if a timeout or sweep interval is set (see
    /// [`DiskStore`]'s docs).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-dsbo-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::DiskStore::builder().open(dir.join("cache.redb"), "ns").await?;
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
        let db = Arc::new(with_timeout(self.timeout, opening).await?);
        let (stop, stopped) = oneshot::channel();
        if let Some(every) = self.sweep_interval {
            runtime()?.spawn(sweep_every(Arc::downgrade(&db), every, stopped));
        }
        Ok(DiskStore::from_parts(
            db,
            stop,
            namespace,
            self.timeout,
            self.default_ttl,
        ))
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
