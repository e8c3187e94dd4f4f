//! The blocking half of a [`DiskStore`](super::DiskStore): the open file, and one function
//! per operation, each one transaction (see `tables.rs` for the layout). All of it runs on
//! tokio's blocking threads.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::Semaphore;

use super::evict::SizeCap;
use super::recency::{Recency, TRACKED};
use super::tables::{
    BYTES_KEY, ENTRIES, EXPIRY, FORMAT, FORMAT_KEY, META, NEVER, backend, decode, entry_size,
    foreign, open_failed,
};
use super::writer::Writer;
use crate::Clock;
use crate::error::{Error, ErrorKind};
use crate::store::closed::{Closed, closed};
use crate::store::parse_counter;
use crate::sync::RwLock;

/// The most blocking tasks one file runs or queues at once, over all its handles: an
/// operation waits for one of these slots, in async code and within its timeout, before it
/// spawns its blocking task. A stalled disk (or file lock) then holds this many blocking
/// threads at most, however many operations time out on it.
pub(super) const MAX_BLOCKING: usize = 16;

/// Expired entries one sweep transaction removes.
const SWEEP_BATCH: usize = 1_000;

/// The open file and what every operation on it shares.
pub(super) struct Db {
    /// `None` once closed. Each operation holds a read lock for as long as it runs, so that
    /// `close` (the write lock) returns with the file released.
    file: RwLock<Option<Database>>,
    /// Set as `close` starts: checked without waiting for the lock (which `close` may hold
    /// while operations finish). The handles' flag too (`DiskStore`'s settings share it).
    pub(super) closed: crate::sync::Arc<Closed>,
    clock: Clock,
    /// The size cap, and eviction's state under it.
    cap: SizeCap,
    recency: Recency,
    /// One permit: write transactions queue here, not on blocking threads in redb. (A read's
    /// lazy expiry writes only if it can take the permit at once.)
    pub(super) writers: Arc<Semaphore>,
    /// [`MAX_BLOCKING`] permits: each blocking task of this file holds one from before it is
    /// spawned until it ends, so a stall cannot pile up blocking work (`blocking.rs`).
    pub(super) slots: Arc<Semaphore>,
    /// Blocking tasks of this file spawned and not yet ended (tests only: `blocking.rs`
    /// counts them, `tests_stall.rs` reads them).
    #[cfg(test)]
    pub(super) blocking_tasks: crate::sync::AtomicUsize,
}

/// How the store's file measures up, as [`DiskStore::stats`](super::DiskStore::stats) reports
/// it.
///
/// Counts cover the whole file, every namespace in it.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-stats-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// use larder::Ttl;
/// use larder::store::{DiskStore, Store};
/// use std::time::Duration;
///
/// let store = DiskStore::open(dir.join("cache.redb"), "pages").await?;
/// store.set("a", b"12345", Ttl::After(Duration::from_secs(60))).await?;
/// store.set("b", b"678", Ttl::Never).await?;
/// let stats = store.stats().await?;
/// // "pages" + "a" + 5 value bytes, and "pages" + "b" + 3.
/// assert_eq!((stats.entries, stats.expiring, stats.bytes), (2, 1, 11 + 9));
/// # drop(store); std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DiskStats {
    /// Entries in the file, including expired ones not yet swept.
    pub entries: u64,
    /// Entries that expire: the rows of the expiry index.
    pub expiring: u64,
    /// The entries' size: the bytes of each one's namespace, key and value, summed. This is
    /// what [`DiskStoreBuilder::max_bytes`](super::DiskStoreBuilder::max_bytes) bounds.
    pub bytes: u64,
}

impl Db {
    /// Opens (or creates) the file at `path`; checks that it is a disk store of this format.
    /// A file holding more than `max_bytes` (written under a larger cap, or none) is brought
    /// under it at once.
    pub(super) fn open(path: &Path, clock: Clock, max_bytes: Option<u64>) -> Result<Self, Error> {
        let db = Database::create(path).map_err(open_failed)?;
        let txn = db.begin_write().map_err(backend)?;
        {
            // Any table at all, of either kind, makes the file someone's.
            let tables = txn.list_tables().map_err(backend)?.count()
                + txn.list_multimap_tables().map_err(backend)?.count();
            let mut meta = txn.open_table(META).map_err(foreign)?;
            let format = meta.get(FORMAT_KEY).map_err(backend)?.map(|v| v.value());
            match format {
                Some(FORMAT) => {}
                Some(other) => {
                    return Err(Error::new(
                        ErrorKind::Backend,
                        format!(
                            "the file is a disk store of format {other}, this version reads format {FORMAT}"
                        ),
                    ));
                }
                None if tables == 0 => {
                    meta.insert(FORMAT_KEY, FORMAT).map_err(backend)?;
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::Backend,
                        "the file is a redb database, but not a larder disk store",
                    ));
                }
            }
            txn.open_table(ENTRIES).map_err(foreign)?;
            txn.open_table(EXPIRY).map_err(foreign)?;
        }
        txn.commit().map_err(backend)?;
        let db = Self {
            file: RwLock::new(Some(db)),
            closed: crate::sync::Arc::new(Closed::new()),
            clock,
            cap: SizeCap::new(max_bytes),
            recency: Recency::new(TRACKED),
            writers: Arc::new(Semaphore::new(1)),
            slots: Arc::new(Semaphore::new(MAX_BLOCKING)),
            #[cfg(test)]
            blocking_tasks: crate::sync::AtomicUsize::new(0),
        };
        if max_bytes.is_some() {
            db.write(|w, now| w.make_room(&db.cap, now))?;
        }
        Ok(db)
    }

    /// Runs `op` on the open file, or fails with `Closed`.
    fn with_file<T>(&self, op: impl FnOnce(&Database) -> Result<T, Error>) -> Result<T, Error> {
        let file = self.file.read();
        let db = file.as_ref().ok_or_else(closed)?;
        op(db)
    }

    /// Holds the file as `close` does, until the guard drops: every operation that starts
    /// meanwhile blocks on its blocking thread, as on a stalled disk. (Tests only.)
    #[cfg(test)]
    pub(super) fn stall(&self) -> crate::sync::WriteGuard<'_, Option<Database>> {
        self.file.write()
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.is_closed()
    }

    /// Closes the file, once the operations running on it end.
    pub(super) fn close(&self) {
        self.closed.close();
        let file = self.file.write().take();
        drop(file);
    }

    /// Now, in unix milliseconds on the store's clock.
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.clock.unix_time().as_millis()).unwrap_or(NEVER - 1)
    }

    /// Whether an entry of `len` value bytes under (`ns`, `key`) can be stored under the cap.
    /// One that cannot is not stored (as if evicted at once), rather than evicting everything
    /// else.
    fn fits(&self, ns: &[u8], key: &[u8], len: usize) -> bool {
        self.cap
            .max_bytes
            .is_none_or(|cap| entry_size(ns, key, len) <= cap)
    }

    /// When an entry stored now for `ttl` (`None`: no expiry) expires; `None` if it is already
    /// expired (a zero TTL). A TTL is rounded up to whole milliseconds, so it is never zero.
    fn deadline(ttl: Option<Duration>, now: u64) -> Option<u64> {
        match ttl {
            None => Some(NEVER),
            Some(d) if d.is_zero() => None,
            Some(d) => {
                let millis = u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(NEVER);
                Some(now.saturating_add(millis))
            }
        }
    }

    /// Runs `f` in one write transaction on the open file, committed if it changed anything.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer<'_>, u64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.with_file(|file| self.write_in(file, f))
    }

    /// [`write`](Self::write), in `file`, open already.
    fn write_in<T>(
        &self,
        file: &Database,
        f: impl FnOnce(&mut Writer<'_>, u64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let txn = file.begin_write().map_err(backend)?;
        let now = self.now();
        let (out, dirty) = {
            let mut w = Writer::new(&self.recency, &txn)?;
            let out = f(&mut w, now)?;
            if w.dirty {
                w.meta.insert(BYTES_KEY, w.bytes).map_err(backend)?;
            }
            (out, w.dirty)
        };
        if dirty {
            txn.commit().map_err(backend)?;
        } else {
            txn.abort().map_err(backend)?;
        }
        Ok(out)
    }

    /// Reads `keys` in one read transaction, mapping each live value with `found`. Expired
    /// entries read as absent and are then deleted (lazy expiry), if the file's writer is free:
    /// a read never queues behind writes; the sweep removes what it leaves.
    fn read<T>(
        &self,
        file: &Database,
        namespace: &str,
        keys: &[String],
        mut found: impl FnMut(&str, &[u8]) -> T,
    ) -> Result<Vec<Option<T>>, Error> {
        let ns = namespace.as_bytes();
        let now = self.now();
        let mut out = Vec::with_capacity(keys.len());
        let mut expired = Vec::new();
        {
            let txn = file.begin_read().map_err(backend)?;
            let entries = txn.open_table(ENTRIES).map_err(backend)?;
            for key in keys {
                let record = entries.get((ns, key.as_bytes())).map_err(backend)?;
                let Some(record) = record else {
                    out.push(None);
                    continue;
                };
                let (expires_at, value) = decode(record.value())?;
                if expires_at <= now {
                    expired.push(key);
                    out.push(None);
                } else {
                    out.push(Some(found(key, value)));
                }
            }
        }
        let writer = (!expired.is_empty())
            .then(|| self.writers.try_acquire().ok())
            .flatten();
        if let Some(_writer) = writer {
            // Housekeeping: the answer stands if it fails, and the sweep will try again.
            let _ = self.write_in(file, |w, now| {
                for key in expired {
                    // Unless a writer stored it again since.
                    if !w.is_live(ns, key.as_bytes(), now)? {
                        w.remove(ns, key.as_bytes())?;
                    }
                }
                Ok(())
            });
        }
        Ok(out)
    }

    pub(super) fn get(
        &self,
        namespace: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.with_file(|file| {
            self.read(file, namespace, keys, |key, value| {
                self.recency.touch(namespace.as_bytes(), key.as_bytes());
                value.to_vec()
            })
        })
    }

    pub(super) fn exists(&self, namespace: &str, key: String) -> Result<bool, Error> {
        let found = self.with_file(|file| self.read(file, namespace, &[key], |_, _| ()))?;
        Ok(found.first().is_some_and(Option::is_some))
    }

    pub(super) fn set_many(
        &self,
        namespace: &str,
        entries: &[(String, Vec<u8>)],
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let ns = namespace.as_bytes();
        self.write(|w, now| {
            match Self::deadline(ttl, now) {
                None => {
                    for (key, _) in entries {
                        w.remove(ns, key.as_bytes())?;
                    }
                }
                Some(at) => {
                    for (key, value) in entries {
                        if self.fits(ns, key.as_bytes(), value.len()) {
                            w.put(ns, key.as_bytes(), value, at)?;
                            self.recency.touch(ns, key.as_bytes());
                        } else {
                            w.remove(ns, key.as_bytes())?;
                        }
                    }
                    w.make_room(&self.cap, now)?;
                }
            }
            Ok(())
        })
    }

    pub(super) fn add(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let (ns, key) = (namespace.as_bytes(), key.as_bytes());
        self.write(|w, now| {
            if w.is_live(ns, key, now)? {
                return Ok(false);
            }
            match Self::deadline(ttl, now).filter(|_| self.fits(ns, key, value.len())) {
                // Stored already expired (or evicted at once): what was there (expired
                // itself) goes.
                None => drop(w.remove(ns, key)?),
                Some(at) => {
                    w.put(ns, key, value, at)?;
                    self.recency.touch(ns, key);
                    w.make_room(&self.cap, now)?;
                }
            }
            Ok(true)
        })
    }

    /// Removes `key` only if it is live and holds `token` (a lease's compare-and-delete),
    /// in one write transaction; whether it did.
    pub(super) fn release(&self, namespace: &str, key: &str, token: &[u8]) -> Result<bool, Error> {
        let (ns, key) = (namespace.as_bytes(), key.as_bytes());
        self.write(|w, now| {
            let held = w.live_record(ns, key, now)?;
            if held.is_none_or(|(_, value)| value != token) {
                return Ok(false); // nothing written: the transaction is dropped
            }
            w.remove(ns, key)?;
            Ok(true)
        })
    }

    pub(super) fn delete(&self, namespace: &str, key: &str) -> Result<bool, Error> {
        let (ns, key) = (namespace.as_bytes(), key.as_bytes());
        self.write(|w, now| Ok(w.remove(ns, key)?.is_some_and(|at| at > now)))
    }

    pub(super) fn expire(
        &self,
        namespace: &str,
        key: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let (ns, key) = (namespace.as_bytes(), key.as_bytes());
        self.write(|w, now| {
            let Some((_, value)) = w.live_record(ns, key, now)? else {
                w.remove(ns, key)?; // gone, or expired: then it goes now
                return Ok(false);
            };
            match Self::deadline(ttl, now) {
                None => drop(w.remove(ns, key)?),
                Some(at) => w.put(ns, key, &value, at)?,
            }
            Ok(true)
        })
    }

    /// Adds `by` to the counter at `key`. An existing counter keeps its expiry; a new one is
    /// stored for `ttl` (the store's default).
    pub(super) fn increment(
        &self,
        namespace: &str,
        key: &str,
        by: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, Error> {
        let (ns, key) = (namespace.as_bytes(), key.as_bytes());
        self.write(|w, now| {
            let (current, deadline) = match w.live_record(ns, key, now)? {
                Some((at, value)) => (parse_counter(&value)?, Some(at)),
                None => (0, Self::deadline(ttl, now)),
            };
            let next = current
                .checked_add(by)
                .ok_or_else(|| Error::new(ErrorKind::Codec, "the counter would overflow"))?;
            let counter = next.to_string();
            match deadline.filter(|_| self.fits(ns, key, counter.len())) {
                None => drop(w.remove(ns, key)?),
                Some(at) => {
                    w.put(ns, key, counter.as_bytes(), at)?;
                    self.recency.touch(ns, key);
                    w.make_room(&self.cap, now)?;
                }
            }
            Ok(next)
        })
    }

    /// Removes every entry of `namespace`.
    pub(super) fn clear(&self, namespace: &str) -> Result<(), Error> {
        let ns = namespace.as_bytes();
        // Every (ns, key) sorts at or after (ns, ""), and before (ns + "\0", "").
        let mut end = ns.to_vec();
        end.push(0);
        self.write(|w, _| {
            let keys = {
                let range = w
                    .entries
                    .range::<(&[u8], &[u8])>((ns, &[][..])..(end.as_slice(), &[][..]))
                    .map_err(backend)?;
                let mut keys = Vec::new();
                for item in range {
                    let (key, _) = item.map_err(backend)?;
                    keys.push(key.value().1.to_vec());
                }
                keys
            };
            for key in keys {
                w.remove(ns, &key)?;
            }
            Ok(())
        })
    }

    /// One step of a sweep: removes up to [`SWEEP_BATCH`] entries of the file expired at
    /// `now`, in one transaction; how many, or `None` when none was left. A sweep loops over
    /// this in async code, taking the writer for each step, so that writes get in between.
    pub(super) fn sweep_step(&self, now: u64) -> Result<Option<u64>, Error> {
        // Not past the clock either, should the wall clock have stepped back since.
        let cutoff = now.min(self.now());
        self.with_file(|file| {
            // A read transaction first, so that a sweep with nothing to do writes nothing.
            if !Self::any_expired(file, cutoff)? {
                return Ok(None);
            }
            // Each step removes every row it reads, the first being due: the rows due by the
            // sweep's start run out, and the sweep ends.
            self.write_in(file, |w, _| w.remove_expired(cutoff, SWEEP_BATCH))
                .map(Some)
        })
    }

    /// Removes every entry of the file expired now; how many. (Blocking, in one go: for
    /// tests; the store sweeps by [`sweep_step`](Self::sweep_step).)
    #[cfg(test)]
    pub(super) fn sweep(&self) -> Result<u64, Error> {
        let now = self.now();
        let mut removed = 0;
        while let Some(step) = self.sweep_step(now)? {
            removed += step;
        }
        Ok(removed)
    }

    fn any_expired(file: &Database, now: u64) -> Result<bool, Error> {
        let txn = file.begin_read().map_err(backend)?;
        let expiry = txn.open_table(EXPIRY).map_err(backend)?;
        let first = expiry.first().map_err(backend)?;
        Ok(first.is_some_and(|(row, _)| row.value().0 <= now))
    }

    pub(super) fn stats(&self) -> Result<DiskStats, Error> {
        self.with_file(|file| {
            let txn = file.begin_read().map_err(backend)?;
            let entries = txn.open_table(ENTRIES).map_err(backend)?;
            let expiry = txn.open_table(EXPIRY).map_err(backend)?;
            let meta = txn.open_table(META).map_err(backend)?;
            Ok(DiskStats {
                entries: entries.len().map_err(backend)?,
                expiring: expiry.len().map_err(backend)?,
                bytes: meta
                    .get(BYTES_KEY)
                    .map_err(backend)?
                    .map_or(0, |v| v.value()),
            })
        })
    }

    /// Checks the tables against each other: every expiring entry has its index row and
    /// no other row exists, and the size total is the entries' sum.
    #[cfg(test)]
    pub(super) fn check(&self) -> Result<(), String> {
        let file = self.file.read();
        let file = file.as_ref().ok_or("closed")?;
        let txn = file.begin_read().map_err(|e| e.to_string())?;
        let entries = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
        let expiry = txn.open_table(EXPIRY).map_err(|e| e.to_string())?;
        let (mut bytes, mut expiring) = (0u64, 0u64);
        for item in entries.iter().map_err(|e| e.to_string())? {
            let (key, record) = item.map_err(|e| e.to_string())?;
            let (ns, key) = key.value();
            let (at, value) = decode(record.value()).map_err(|e| e.to_string())?;
            bytes += entry_size(ns, key, value.len());
            if at != NEVER {
                expiring += 1;
                let row = expiry.get((at, ns, key)).map_err(|e| e.to_string())?;
                if row.is_none() {
                    return Err(format!("no index row for {key:?} expiring at {at}"));
                }
            }
        }
        let rows = expiry.len().map_err(|e| e.to_string())?;
        if rows != expiring {
            return Err(format!("{rows} index rows for {expiring} expiring entries"));
        }
        let meta = txn.open_table(META).map_err(|e| e.to_string())?;
        let counted = meta
            .get(BYTES_KEY)
            .map_err(|e| e.to_string())?
            .map_or(0, |v| v.value());
        if counted != bytes {
            return Err(format!("counted {counted} bytes, holds {bytes}"));
        }
        Ok(())
    }
}
