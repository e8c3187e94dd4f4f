//! [`DiskStore`]: the async handle. Each operation runs one of `db.rs`'s blocking functions on
//! tokio's blocking pool, under the handle's timeout.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::builder::DiskStoreBuilder;
use super::db::{Db, DiskStats};
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::store::{Store, outside_runtime, within};
use crate::sync::Mutex;

/// A [`Store`] in one file on disk, on [redb](https://docs.rs/redb): values and their TTLs
/// survive restarts, and the entries' total size can be capped.
///
/// Open a file with [`DiskStore::open`] (or [`DiskStore::builder`] for the size cap, the
/// clock and the sweep). Several namespaces can share the file through
/// [`with_namespace`](Self::with_namespace): redb lets a process open a file only once, so a
/// second `open` of the same file fails while it is open.
///
/// - **Restarts.** Expiries are wall-clock times ([`Clock::unix_time`](crate::Clock::unix_time)),
///   kept in the file: reopened, an entry has the TTL it had left, and what expired while the
///   file was closed is gone. Every write is a durable redb commit.
/// - **Expiry.** An expired entry is never returned: a read that meets one deletes it (lazy
///   expiry) when no write is waiting for the file, and an index of entries by expiry lets
///   [`sweep`](Self::sweep) and the background sweep find the expired ones without a scan.
/// - **Size cap.** With [`DiskStoreBuilder::max_bytes`], a write that takes the entries' total
///   size (each one's namespace, key and value; every namespace's) over the cap evicts first
///   expired entries, then approximately the least recently used; a file opened with a cap
///   it is over is brought under it at once. The approximation, as Redis's: each eviction
///   samples the next 16 entries in key order (going on from where the last sample ended,
///   round the file), adds them to a pool of the 16 least recently used candidates seen so
///   far, and evicts the least recent of the pool. Recency lives in memory (a tick per hit or write, for up to
///   about a million keys; past that the older half is forgotten), so reads never write to
///   disk; an entry not used since the file was opened counts as least recently used. An
///   entry larger than the cap is not stored (as if evicted at once; what its key held goes).
///   The file itself is larger than the entries (redb's pages, the expiry index, free space),
///   and does not shrink.
/// - **Blocking.** Every operation is one redb transaction on tokio's blocking pool (writes
///   queue for it in async code, not on blocking threads), under the handle's timeout (5 s by
///   default, see [`with_timeout`](Self::with_timeout)). An operation that times out may still
///   complete on disk. A sweep is a series of transactions of up to a thousand entries, with
///   the writes that wait let in between.
/// - **Runtime.** Operations run on the tokio runtime they are called in: called outside one,
///   they fail with [`ErrorKind::Config`]. Timeouts are tokio timers, so a runtime built
///   without `enable_time` panics on an operation with a timeout, as
///   [`tokio::time::timeout`] does.
/// - **Errors.** Failures of the file are [`ErrorKind::Backend`]; neither errors nor `Debug`
///   show the file's path or any cached bytes. A record the store cannot read (corrupt) is a
///   `Backend` error for the operations that read it (`get`, `exists`, `add`, `expire`,
///   `increment`) until it is overwritten by `set` or removed by `delete`, `clear`, the
///   sweep or eviction, which all take it out.
///
/// # Background work
///
/// One tokio task per open file sweeps expired entries every 10 s (see
/// [`DiskStoreBuilder::sweep_interval`]); its errors are left for the next sweep. It ends when
/// the store is closed, or its last handle dropped. Dropping the last handle closes the file
/// (a short blocking write) once the operations still running on it have ended, one that
/// timed out included; [`close`](Store::close) waits for them, on a blocking thread, so close
/// a store before opening its file again.
///
/// # Cancel safety
///
/// Each operation is atomic: it happens whole or not at all ([`sweep`](Self::sweep): one
/// transaction at a time). Dropping its future (or its timeout firing) does not stop it once
/// it has started on its blocking thread: it may still complete on disk.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-disk-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// use larder::{DiskStore, Store, Ttl};
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
    shared: Arc<Shared>,
    namespace: Arc<str>,
    timeout: Option<Duration>,
    default_ttl: Option<Duration>,
}

/// What every handle on one open file shares.
struct Shared {
    db: Arc<Db>,
    /// Dropped (with the last handle, or by `close`) to stop the background sweep.
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No path (it may name a user or a secret), no bytes.
        f.debug_struct("DiskStore")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("default_ttl", &self.default_ttl)
            .field("closed", &self.shared.db.is_closed())
            .finish_non_exhaustive()
    }
}

impl DiskStore {
    /// Opens the store in the file at `path` (created if missing), keeping keys under
    /// `namespace`, with the default settings: no size cap, a sweep every 10 s, a 5 s
    /// timeout. [`builder`](Self::builder) changes them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`] when the file cannot be opened: it is corrupt or not a redb
    /// database, it is a redb database of another program, it cannot be read or written, or
    /// it is already open (in this process or another). [`ErrorKind::Timeout`] after 5 s.
    /// [`ErrorKind::Config`] outside a tokio runtime.
    ///
    /// # Panics
    ///
    /// In a tokio runtime without timers (see [`DiskStore`]'s docs).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::DiskStore::open(dir.join("cache.redb"), "sessions").await?;
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
    /// let store = larder::DiskStore::builder()
    ///     .max_bytes(1 << 30)
    ///     .open(dir.join("cache.redb"), "pages")
    ///     .await?;
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub fn builder() -> DiskStoreBuilder {
        DiskStoreBuilder::new()
    }

    pub(super) fn from_parts(
        db: Arc<Db>,
        stop: oneshot::Sender<()>,
        namespace: &str,
        timeout: Option<Duration>,
        default_ttl: Option<Duration>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                db,
                stop: Mutex::new(Some(stop)),
            }),
            namespace: Arc::from(namespace),
            timeout,
            default_ttl,
        }
    }

    /// Another handle on the same open file, with keys under `namespace`, and this handle's
    /// timeout and default TTL. [`clear`](Store::clear) is limited to each handle's namespace;
    /// the size cap, [`sweep`](Self::sweep) and [`close`](Store::close) concern the file.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-ns-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{DiskStore, Store, Ttl};
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

    /// This handle with another timeout for every operation (`None`: no timeout). The handle
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
    /// use larder::{DiskStore, Store};
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
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        Self { timeout, ..self }
    }

    /// This handle with a TTL for values set with [`Ttl::Default`] (none by default).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-ttl-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{DiskStore, Store, Ttl};
    /// use std::time::Duration;
    ///
    /// let store = DiskStore::open(dir.join("cache.redb"), "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// store.set("k", b"v", Ttl::Default).await?; // expires in 300 s
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(self, ttl: Duration) -> Self {
        Self {
            default_ttl: Some(ttl),
            ..self
        }
    }

    /// Removes every entry of the file (every namespace) expired when it starts; how many.
    /// The background sweep does the same; this is for when it is off, or to know. It removes
    /// up to a thousand entries per transaction, and lets the writes that wait go between two.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`], [`ErrorKind::Timeout`] or [`ErrorKind::Closed`];
    /// [`ErrorKind::Config`] outside a tokio runtime. The transactions before the failure stay
    /// done.
    ///
    /// # Cancel safety
    ///
    /// Dropping its future (or its timeout firing) stops it after the transaction under way,
    /// which may still complete: the sweep is then done in part.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-sweep-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{Clock, DiskStore, Store, Ttl};
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
        let db = self.db()?;
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
        with_timeout(self.timeout, steps).await
    }

    /// Counts of the file (every namespace): entries, entries that expire, the entries' size
    /// (see [`DiskStats`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`], [`ErrorKind::Timeout`] or [`ErrorKind::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-stats2-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// let store = larder::DiskStore::open(dir.join("cache.redb"), "ns").await?;
    /// assert_eq!(store.stats().await?.entries, 0);
    /// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn stats(&self) -> Result<DiskStats, Error> {
        self.run(false, Db::stats).await
    }

    /// The open file, or `Closed`.
    fn db(&self) -> Result<Arc<Db>, Error> {
        if self.shared.db.is_closed() {
            return Err(Error::new(ErrorKind::Closed, "the store was closed"));
        }
        Ok(Arc::clone(&self.shared.db))
    }

    /// How long a value set with `ttl` lives (`None`: no expiry).
    fn lifetime(&self, ttl: Ttl) -> Option<Duration> {
        match ttl {
            Ttl::Default => self.default_ttl,
            Ttl::Never => None,
            Ttl::After(d) => Some(d),
        }
    }

    /// Runs `op` on a blocking thread under this handle's timeout; a `write` first queues
    /// for the file's one writer.
    async fn run<T, F>(&self, write: bool, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, Error> + Send + 'static,
    {
        let db = self.db()?;
        with_timeout(self.timeout, blocking(db, write, op)).await
    }
}

/// Runs `op` on a blocking thread of the current runtime; a `write` first queues for the
/// file's one writer.
pub(super) async fn blocking<T, F>(db: Arc<Db>, write: bool, op: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&Db) -> Result<T, Error> + Send + 'static,
{
    let permit = if write {
        let writers = Arc::clone(&db.writers);
        let permit = writers
            .acquire_owned()
            .await
            .map_err(|_| Error::new(ErrorKind::Closed, "the store was closed"))?;
        Some(permit)
    } else {
        None
    };
    // The permit goes with the work: if the caller stops waiting, the next writer still
    // waits for this one to end.
    let task = runtime()?.spawn_blocking(move || {
        let _permit = permit;
        op(&db)
    });
    task.await.map_err(join_failed)?
}

/// The tokio runtime this is called in, or a `Config` error rather than tokio's panic.
pub(super) fn runtime() -> Result<tokio::runtime::Handle, Error> {
    tokio::runtime::Handle::try_current().map_err(|_| outside_runtime(BACKEND))
}

/// Runs `op` under `timeout` (`None`: none), in a tokio runtime (else a `Config` error).
/// A timed-out operation may still complete on disk (the type's docs say so).
pub(super) async fn with_timeout<T>(
    timeout: Option<Duration>,
    op: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    within(timeout, BACKEND, op).await
}

/// This store's name in errors.
const BACKEND: &str = "the disk store";

/// A blocking task that panicked (a bug, or redb meeting a corrupt file) or was cancelled
/// (its runtime shutting down). The `JoinError` is not kept as the source: its `Display`
/// and `Debug` carry the panic's message, which may quote what the task held.
pub(super) fn join_failed(error: tokio::task::JoinError) -> Error {
    let message = if error.is_panic() {
        "the disk store's blocking task panicked"
    } else {
        "the disk store's blocking task was cancelled"
    };
    Error::new(ErrorKind::Backend, message)
}

impl Store for DiskStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let ns = Arc::clone(&self.namespace);
        let keys = vec![key.to_string()];
        let mut values = self.run(false, move |db| db.get(&ns, &keys)).await?;
        Ok(values.pop().flatten())
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if keys.is_empty() {
            return self.db().map(|_| Vec::new());
        }
        let ns = Arc::clone(&self.namespace);
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        self.run(false, move |db| db.get(&ns, &keys)).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        let ns = Arc::clone(&self.namespace);
        let entries = vec![(key.to_string(), value.to_vec())];
        let ttl = self.lifetime(ttl);
        self.run(true, move |db| db.set_many(&ns, &entries, ttl))
            .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        if entries.is_empty() {
            return self.db().map(|_| ());
        }
        let ns = Arc::clone(&self.namespace);
        let entries: Vec<(String, Vec<u8>)> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        let ttl = self.lifetime(ttl);
        self.run(true, move |db| db.set_many(&ns, &entries, ttl))
            .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        let (ns, key, value) = (Arc::clone(&self.namespace), key.to_string(), value.to_vec());
        let ttl = self.lifetime(ttl);
        self.run(true, move |db| db.add(&ns, &key, &value, ttl))
            .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
        self.run(true, move |db| db.delete(&ns, &key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
        self.run(false, move |db| db.exists(&ns, key)).await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
        let ttl = self.lifetime(ttl);
        self.run(true, move |db| db.expire(&ns, &key, ttl)).await
    }

    /// Adds `by` to the decimal-ASCII counter at `key`. An existing counter keeps its expiry;
    /// a new one gets the handle's default TTL.
    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
        let ttl = self.default_ttl;
        self.run(true, move |db| db.increment(&ns, &key, by, ttl))
            .await
    }

    async fn clear(&self) -> Result<(), Error> {
        let ns = Arc::clone(&self.namespace);
        self.run(true, move |db| db.clear(&ns)).await
    }

    /// Closes the file, for every handle that shares it (every namespace): later operations
    /// fail with [`ErrorKind::Closed`], and the background sweep stops. It returns once the
    /// operations already running on the file have ended and the file is released (so it can
    /// be opened again), or fails with [`ErrorKind::Timeout`] after the handle's timeout, the
    /// file then being released when they end. Outside a tokio runtime it fails with
    /// [`ErrorKind::Config`] and leaves the store open.
    async fn close(&self) -> Result<(), Error> {
        // Outside a runtime nothing changes: not even the sweep stops.
        runtime()?;
        drop(self.shared.stop.lock().take());
        if self.shared.db.is_closed() {
            return Ok(());
        }
        // Closing waits for the operations running on the file, then writes: off the async
        // threads.
        let db = Arc::clone(&self.shared.db);
        let closing = async move {
            runtime()?
                .spawn_blocking(move || db.close())
                .await
                .map_err(join_failed)
        };
        with_timeout(self.timeout, closing).await
    }
}
