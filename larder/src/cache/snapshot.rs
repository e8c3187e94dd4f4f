//! [`Cache::save`] and [`Cache::restore`]: a cache's entries to a snapshot file and back, the
//! file work on tokio's blocking threads. The format and the file handling are in
//! `crate::snapshot`.

use std::hash::{BuildHasher, Hash};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handle::Cache;
use crate::error::{Error, ErrorKind};
use crate::snapshot::{self, RestoreReport, SaveReport};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Serialize + Send + Sync + 'static,
    V: Clone + Serialize + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// Writes the live entries, with what is left of their TTLs, to a snapshot file at
    /// `path`, replacing the file there atomically. Restore it with
    /// [`CacheBuilder::restore_from`](crate::CacheBuilder::restore_from) or
    /// [`restore`](Self::restore).
    ///
    /// - **Atomic.** The snapshot is written to a temporary file in the same directory
    ///   (`.NAME.PID-RANDOM.tmp`), synced to disk, renamed over `path`, and the directory is
    ///   synced. A crash or a `kill -9` at any moment leaves at `path` either the previous
    ///   snapshot or the new one, whole; a save killed midway may leave its temporary file
    ///   behind, which is safe to delete. On an error the temporary file is removed and `path`
    ///   is left as it was. The file is readable by its owner only (mode 0600 on Unix).
    /// - **What is saved.** Each live entry's key and value (by serde, with postcard), and
    ///   what is left of its TTL; an entry without one is restored without one. The wall
    ///   clock time of the save (by the cache's [`Clock`](crate::Clock)) is recorded, so that
    ///   a restore can take off the time that passed in between, a restart included. Not
    ///   saved: expired entries (stale ones within a `stale_while_revalidate` grace
    ///   included), idle times (time-to-idle starts afresh on restore), the policy's recency
    ///   and frequency, the stats, negative entries, loads in flight.
    /// - **Consistency.** The entries are taken shard by shard, as [`iter`](Self::iter) takes
    ///   them: each shard's part is consistent, and writes made during the save may or may
    ///   not be in it.
    /// - **Where it runs.** Encoding and file I/O run on tokio's blocking threads
    ///   (`spawn_blocking`), so a large save never stalls the runtime's workers; outside a
    ///   tokio runtime they run on the calling thread. That is why it is `async`. Each
    ///   shard's entries are encoded under its read lock, into memory, and written once the
    ///   lock is released: writes to that shard wait while it is encoded, reads do not (under
    ///   LRU and LFU, which lock on a hit, they wait too). So the keys' and values'
    ///   `Serialize` must not call this cache.
    ///
    /// The layout: a 52-byte header (magic bytes, a format version, the save's time, the
    /// entry count, the body's length, and xxh3 checksums of the header and of the body),
    /// then one postcard record per entry. A file of a later format version is refused.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Backend`](crate::ErrorKind::Backend): the file could not be written
    ///   (no such directory, no permission, a full disk); the cause is the error's
    ///   [`source`](std::error::Error::source). Neither shows the path.
    /// - [`ErrorKind::Codec`](crate::ErrorKind::Codec): a key or value could not be encoded
    ///   (a `Serialize` that fails, or a sequence of unknown length, which postcard cannot
    ///   write).
    ///
    /// In both cases the file at `path` is untouched.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop a save that has started on its blocking thread: it
    /// still replaces the file, or leaves it as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-save-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::Cache;
    /// use std::time::Duration;
    ///
    /// let path = dir.join("sessions.snapshot");
    /// let cache = Cache::builder().time_to_live(Duration::from_secs(600)).build();
    /// cache.insert("alice".to_string(), 42u64);
    /// cache.save(&path).await?;
    ///
    /// // After a restart: the entry is back, with what was left of its 10 minutes.
    /// let cache: Cache<String, u64> = Cache::builder().restore_from(&path).try_build()?;
    /// assert_eq!(cache.get("alice"), Some(42));
    /// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn save(&self, path: impl AsRef<Path>) -> Result<SaveReport, Error> {
        let cache = self.clone();
        let path = path.as_ref().to_path_buf();
        offload(move || snapshot::save(&cache.inner().engine, &path)).await
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + DeserializeOwned + Send + Sync + 'static,
    V: Clone + DeserializeOwned + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// Stores the entries of the snapshot file at `path`, as [`save`](Self::save) wrote
    /// it, in this cache: each replaces any entry of its key, as an insert would (the
    /// eviction listener hears of what it replaces or evicts). No file at `path` restores
    /// nothing, and is not an error: [`RestoreReport::saved_at`] is then `None`.
    ///
    /// An entry's TTL is what was left of it at the save, less the wall-clock time since
    /// then by this cache's [`Clock`](crate::Clock); entries whose TTL ran out meanwhile are
    /// left out and counted in [`RestoreReport::expired`]. A wall clock set back since the
    /// save counts as no time passed. Entries saved without a TTL have none (the cache's
    /// `time_to_live` does not apply to them), and time-to-idle starts afresh. A cache
    /// smaller than the snapshot keeps what its policy keeps of it.
    ///
    /// To start a new cache from a snapshot, use
    /// [`CacheBuilder::restore_from`](crate::CacheBuilder::restore_from). Reading, checking
    /// and storing run on tokio's blocking threads, as for `save`.
    ///
    /// # Errors
    ///
    /// Nothing is stored unless the whole file reads well: it is read into memory, its
    /// checksums checked and every entry decoded first.
    /// - [`ErrorKind::Codec`](crate::ErrorKind::Codec): the file is not a snapshot this
    ///   larder can read, and the message says why: a foreign file (not the magic bytes), a
    ///   later format version, a truncated file, a corrupt header or body (checksum
    ///   mismatch), or entries that do not decode as `K` and `V` (a snapshot of other
    ///   types).
    /// - [`ErrorKind::Backend`](crate::ErrorKind::Backend): the file exists but could not be
    ///   read; the cause is the error's [`source`](std::error::Error::source).
    ///
    /// The file is only read, never changed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop a restore that has started on its blocking thread:
    /// its entries are still stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = std::env::temp_dir().join(format!("larder-doc-restore-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("temp dir");
    /// use larder::{Cache, ErrorKind};
    ///
    /// let path = dir.join("users.snapshot");
    /// let saved = Cache::new(100);
    /// saved.insert(1u32, "ada".to_string());
    /// saved.save(&path).await?;
    ///
    /// let cache: Cache<u32, String> = Cache::new(100);
    /// cache.insert(2, "grace".to_string());
    /// let report = cache.restore(&path).await?;
    /// assert_eq!((report.restored, report.expired), (1, 0));
    /// assert_eq!(cache.len(), 2);
    ///
    /// std::fs::write(&path, b"not a snapshot").expect("write");
    /// let err = cache.restore(&path).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Codec);
    /// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
    /// ```
    pub async fn restore(&self, path: impl AsRef<Path>) -> Result<RestoreReport, Error> {
        let cache = self.clone();
        let path = path.as_ref().to_path_buf();
        offload(move || {
            let restored = snapshot::read::<K, V>(&path)?;
            Ok(snapshot::apply(&cache.inner().engine, restored))
        })
        .await
    }
}

/// Runs `work` on a blocking thread of the current tokio runtime, or outside one on this
/// thread.
async fn offload<T, F>(work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(work).await.map_err(join_failed)?,
        Err(_) => work(),
    }
}

/// A blocking task that panicked (a key's or value's `Serialize` or `Deserialize`, say) or
/// was cancelled (its runtime shutting down). The `JoinError` is not kept: its `Display`
/// carries the panic's message, which may quote what the task held.
fn join_failed(error: tokio::task::JoinError) -> Error {
    let message = if error.is_panic() {
        "the snapshot's blocking task panicked"
    } else {
        "the snapshot's blocking task was cancelled"
    };
    Error::new(ErrorKind::Backend, message)
}
