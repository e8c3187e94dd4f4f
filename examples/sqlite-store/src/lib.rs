//! A larder [`Store`] over SQLite, written the way a user of larder writes one: with
//! larder's public API only (the [`Store`] trait, [`Error::new`] and [`Error::with_source`],
//! [`Ttl`], [`Clock`]), and checked by larder's own conformance suite
//! (`larder::test_util::conformance`, feature `test-util`) in `tests/`.
//!
//! SQLite is blocking: every operation runs on tokio's blocking threads
//! ([`tokio::task::spawn_blocking`]), holding the one connection for as long as it runs. One
//! table holds every namespace's entries, keyed by `(namespace, key)`, with an expiry in
//! milliseconds of the store's [`Clock`] (Unix time); an expired row is never returned, and
//! is deleted by the next write of its key or by [`SqliteStore::purge_expired`].
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
//! use larder::store::Store;
//! use larder::tier::Tiered;
//! use larder::{Cache, Ttl};
//! use larder_example_sqlite_store::SqliteStore;
//!
//! let store = SqliteStore::in_memory("users").await?;
//! store.set("7", b"ada", Ttl::Never).await?;
//! assert_eq!(store.get("7").await?.as_deref(), Some(&b"ada"[..]));
//!
//! // Anywhere a store goes: here, the L2 of a tiered cache.
//! let tiered: Tiered<u64, String> = Tiered::builder(Cache::new(1_000), store).build();
//! assert_eq!(tiered.get_with(1, async { "grace".to_string() }).await, "grace");
//! # Ok(()) }
//! ```

// The connection is behind a std Mutex, as in any crate: larder's rule against it is for
// larder's own code, which shuttle checks.
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use larder::store::Store;
use larder::{Clock, Error, ErrorKind, Ttl};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// A [`Store`] in an SQLite database: a file that survives restarts, or one in memory.
///
/// Handles made by [`with_namespace`](Self::with_namespace) share the database and its one
/// connection; [`close`](Store::close) closes it for all of them.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = tempfile::tempdir().expect("a temp dir");
/// use larder::Ttl;
/// use larder::store::Store;
/// use larder_example_sqlite_store::SqliteStore;
///
/// let path = dir.path().join("cache.sqlite");
/// let store = SqliteStore::open(&path, "sessions").await?;
/// store.set("s1", b"alice", Ttl::Never).await?;
/// store.close().await?;
///
/// let reopened = SqliteStore::open(&path, "sessions").await?;
/// assert_eq!(reopened.get("s1").await?.as_deref(), Some(&b"alice"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
    namespace: Arc<str>,
    default_ttl: Option<Duration>,
}

/// The database every handle of one store shares.
struct Db {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    clock: Clock,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("namespace", &self.namespace)
            .field("default_ttl", &self.default_ttl)
            .finish_non_exhaustive()
    }
}

/// When an entry written with some TTL expires.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    Never,
    /// Milliseconds of Unix time on the store's clock.
    At(i64),
    /// A zero TTL: gone as soon as written.
    Passed,
}

impl Deadline {
    fn column(self) -> Option<i64> {
        match self {
            Deadline::At(ms) => Some(ms),
            Deadline::Never | Deadline::Passed => None,
        }
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS entries (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID";

/// A row is live while it has no expiry or its expiry is later than `?now`.
const LIVE: &str = "(expires_at IS NULL OR expires_at > :now)";

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, on the system clock, with the keys of
    /// this handle under `namespace`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`] when the file cannot be opened as an SQLite database;
    /// [`ErrorKind::Config`] outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = tempfile::tempdir().expect("a temp dir");
    /// let store = larder_example_sqlite_store::SqliteStore::open(dir.path().join("c.sqlite"), "ns").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn open(path: impl AsRef<Path>, namespace: &str) -> Result<Self, Error> {
        Self::open_with_clock(path, namespace, Clock::system()).await
    }

    /// As [`open`](Self::open), with expiries on `clock`: a [`Clock::mock`] lets tests move
    /// time. Expiries are kept in the file as Unix time, so that they survive restarts.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # let dir = tempfile::tempdir().expect("a temp dir");
    /// use larder::Clock;
    /// use larder_example_sqlite_store::SqliteStore;
    ///
    /// let (clock, _mock) = Clock::mock();
    /// let store = SqliteStore::open_with_clock(dir.path().join("c.sqlite"), "ns", clock).await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn open_with_clock(
        path: impl AsRef<Path>,
        namespace: &str,
        clock: Clock,
    ) -> Result<Self, Error> {
        let path: PathBuf = path.as_ref().to_owned();
        let conn = blocking(move || {
            let conn = Connection::open(&path).map_err(backend("cannot open the database"))?;
            // WAL: readers do not block the writer; NORMAL: no fsync per commit (a crash may
            // lose the last writes, as a cache may).
            conn.pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
                .map_err(backend("cannot set up the database"))?;
            Ok(conn)
        })
        .await?;
        Self::with_connection(conn, namespace, clock).await
    }

    /// A database in memory, gone with its last handle, on the system clock.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// let store = larder_example_sqlite_store::SqliteStore::in_memory("ns").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn in_memory(namespace: &str) -> Result<Self, Error> {
        Self::in_memory_with_clock(namespace, Clock::system()).await
    }

    /// As [`in_memory`](Self::in_memory), with expiries on `clock`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// let (clock, _mock) = larder::Clock::mock();
    /// let store = larder_example_sqlite_store::SqliteStore::in_memory_with_clock("ns", clock).await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn in_memory_with_clock(namespace: &str, clock: Clock) -> Result<Self, Error> {
        let conn = blocking(|| {
            Connection::open_in_memory().map_err(backend("cannot open a database in memory"))
        })
        .await?;
        Self::with_connection(conn, namespace, clock).await
    }

    async fn with_connection(
        conn: Connection,
        namespace: &str,
        clock: Clock,
    ) -> Result<Self, Error> {
        let db = Arc::new(Db {
            conn: Mutex::new(Some(conn)),
            clock,
        });
        let store = Self {
            db,
            namespace: namespace.into(),
            default_ttl: None,
        };
        store
            .run(|conn, _| {
                conn.execute_batch(SCHEMA)
                    .map_err(backend("cannot create the table"))
            })
            .await?;
        Ok(store)
    }

    /// A handle on the same database whose keys are under `namespace`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::Ttl;
    /// use larder::store::Store;
    ///
    /// let users = larder_example_sqlite_store::SqliteStore::in_memory("users").await?;
    /// let teams = users.with_namespace("teams");
    /// users.set("1", b"ada", Ttl::Never).await?;
    /// assert_eq!(teams.get("1").await?, None);
    /// # Ok(()) }
    /// ```
    pub fn with_namespace(&self, namespace: &str) -> Self {
        Self {
            db: Arc::clone(&self.db),
            namespace: namespace.into(),
            default_ttl: self.default_ttl,
        }
    }

    /// This handle with `ttl` as what `Ttl::Default` means (`None`, the default: no expiry).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::Store;
    /// use std::time::Duration;
    ///
    /// let store = larder_example_sqlite_store::SqliteStore::in_memory("ns").await?
    ///     .with_default_ttl(Some(Duration::from_secs(60)));
    /// assert_eq!(store.default_ttl(), Some(Duration::from_secs(60)));
    /// # Ok(()) }
    /// ```
    pub fn with_default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Deletes the expired rows of every namespace, and returns how many there were. Expired
    /// rows are never read, but take room until their key is written again or this runs:
    /// call it now and then.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Backend`] on a database failure, [`ErrorKind::Closed`] once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::Store;
    /// use larder::{Clock, Ttl};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let store = larder_example_sqlite_store::SqliteStore::in_memory_with_clock("ns", clock).await?;
    /// store.set("k", b"v", Ttl::After(Duration::from_secs(1))).await?;
    /// mock.advance(Duration::from_secs(1));
    /// assert_eq!(store.purge_expired().await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        self.run(|conn, now| {
            let purged = conn
                .execute(
                    "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                    params![now],
                )
                .map_err(backend("cannot purge expired rows"))?;
            Ok(purged as u64)
        })
        .await
    }

    /// When an entry written now with `ttl` expires.
    fn deadline(&self, ttl: Ttl, now: i64) -> Deadline {
        let after = match ttl {
            Ttl::Never => return Deadline::Never,
            Ttl::Default => match self.default_ttl {
                None => return Deadline::Never,
                Some(d) => d,
            },
            Ttl::After(d) => d,
            // Ttl is non-exhaustive: a kind this store does not know keeps the entry.
            _ => return Deadline::Never,
        };
        if after.is_zero() {
            return Deadline::Passed;
        }
        // Rounded up to whole milliseconds, so that a short TTL is not already over.
        let ms = i64::try_from(after.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX);
        Deadline::At(now.saturating_add(ms))
    }

    /// Runs `op` with the connection and the time now (Unix milliseconds), on a blocking
    /// thread.
    async fn run<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, i64) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || {
            // A panic under the lock cannot leave the connection in a state SQLite would not
            // recover from: take it back.
            let mut guard = db.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let conn = guard
                .as_mut()
                .ok_or_else(|| Error::new(ErrorKind::Closed, "the store was closed"))?;
            let now = i64::try_from(db.clock.unix_time().as_millis()).unwrap_or(i64::MAX);
            op(conn, now)
        })
        .await
    }

    /// Runs `op` in a transaction of its own, committed when it returns `Ok`.
    async fn transaction<T, F>(&self, op: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str, i64) -> Result<T, Error> + Send + 'static,
    {
        let namespace = Arc::clone(&self.namespace);
        self.run(move |conn, now| {
            let tx = conn
                .transaction()
                .map_err(backend("cannot begin a transaction"))?;
            let out = op(&tx, &namespace, now)?;
            tx.commit().map_err(backend("cannot commit"))?;
            Ok(out)
        })
        .await
    }
}

/// Runs blocking `work` on tokio's blocking threads.
async fn blocking<T, F>(work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::new(
            ErrorKind::Config,
            "SqliteStore runs on tokio's blocking threads: call it inside a tokio runtime",
        )
    })?;
    runtime
        .spawn_blocking(work)
        .await
        .map_err(|e| Error::with_source(ErrorKind::Backend, "the SQLite call did not finish", e))?
}

/// Wraps an SQLite failure as a `Backend` error saying `what`.
fn backend(what: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| Error::with_source(ErrorKind::Backend, what, e)
}

/// The live value of `key`, if any.
fn read(tx: &Connection, ns: &str, key: &str, now: i64) -> Result<Option<Vec<u8>>, Error> {
    tx.query_row(
        &format!("SELECT value FROM entries WHERE namespace = :ns AND key = :key AND {LIVE}"),
        rusqlite::named_params! { ":ns": ns, ":key": key, ":now": now },
        |row| row.get(0),
    )
    .optional()
    .map_err(backend("cannot read"))
}

/// Writes `value` under `key` until `deadline`; a passed deadline deletes the key instead.
fn write(
    tx: &Connection,
    ns: &str,
    key: &str,
    value: &[u8],
    deadline: Deadline,
) -> Result<(), Error> {
    if let Deadline::Passed = deadline {
        tx.execute(
            "DELETE FROM entries WHERE namespace = ?1 AND key = ?2",
            params![ns, key],
        )
        .map_err(backend("cannot delete"))?;
        return Ok(());
    }
    tx.execute(
        "INSERT INTO entries (namespace, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (namespace, key) DO UPDATE
         SET value = excluded.value, expires_at = excluded.expires_at",
        params![ns, key, value, deadline.column()],
    )
    .map_err(backend("cannot write"))?;
    Ok(())
}

/// Deletes `key`, live or expired; whether it was live.
fn remove(tx: &Connection, ns: &str, key: &str, now: i64) -> Result<bool, Error> {
    let live = read(tx, ns, key, now)?.is_some();
    tx.execute(
        "DELETE FROM entries WHERE namespace = ?1 AND key = ?2",
        params![ns, key],
    )
    .map_err(backend("cannot delete"))?;
    Ok(live)
}

/// A counter's value as stored: decimal ASCII, as Redis and Memcached keep them.
fn parse_counter(bytes: &[u8]) -> Result<i64, Error> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::Codec, "the value is not an integer counter"))
}

impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let key = key.to_owned();
        self.transaction(move |tx, ns, now| read(tx, ns, &key, now))
            .await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|&k| k.to_owned()).collect();
        self.transaction(move |tx, ns, now| keys.iter().map(|key| read(tx, ns, key, now)).collect())
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        let (key, value) = (key.to_owned(), value.to_vec());
        let this = self.clone();
        self.transaction(move |tx, ns, now| write(tx, ns, &key, &value, this.deadline(ttl, now)))
            .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries: Vec<(String, Vec<u8>)> = entries
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_vec()))
            .collect();
        let this = self.clone();
        self.transaction(move |tx, ns, now| {
            let deadline = this.deadline(ttl, now);
            entries
                .iter()
                .try_for_each(|(key, value)| write(tx, ns, key, value, deadline))
        })
        .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        let (key, value) = (key.to_owned(), value.to_vec());
        let this = self.clone();
        self.transaction(move |tx, ns, now| {
            if read(tx, ns, &key, now)?.is_some() {
                return Ok(false);
            }
            write(tx, ns, &key, &value, this.deadline(ttl, now))?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let key = key.to_owned();
        self.transaction(move |tx, ns, now| remove(tx, ns, &key, now))
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        Ok(self.get(key).await?.is_some())
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        let key = key.to_owned();
        let this = self.clone();
        self.transaction(move |tx, ns, now| match this.deadline(ttl, now) {
            Deadline::Passed => remove(tx, ns, &key, now),
            deadline => {
                let changed = tx
                    .execute(
                        &format!(
                            "UPDATE entries SET expires_at = :at
                             WHERE namespace = :ns AND key = :key AND {LIVE}"
                        ),
                        rusqlite::named_params! {
                            ":at": deadline.column(), ":ns": ns, ":key": key, ":now": now,
                        },
                    )
                    .map_err(backend("cannot update"))?;
                Ok(changed > 0)
            }
        })
        .await
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        let key = key.to_owned();
        let this = self.clone();
        self.transaction(move |tx, ns, now| {
            let current = read(tx, ns, &key, now)?;
            let value = match &current {
                Some(bytes) => parse_counter(bytes)?,
                None => 0,
            };
            let next = value
                .checked_add(by)
                .ok_or_else(|| Error::new(ErrorKind::Codec, "the counter would overflow"))?;
            let bytes = next.to_string().into_bytes();
            if current.is_some() {
                // The counter keeps its expiry: a rate-limit window set by `expire` ends on
                // time however often it is incremented.
                tx.execute(
                    "UPDATE entries SET value = ?3 WHERE namespace = ?1 AND key = ?2",
                    params![ns, key, bytes],
                )
                .map_err(backend("cannot update"))?;
            } else {
                write(tx, ns, &key, &bytes, this.deadline(Ttl::Default, now))?;
            }
            Ok(next)
        })
        .await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.transaction(|tx, ns, _| {
            tx.execute("DELETE FROM entries WHERE namespace = ?1", params![ns])
                .map_err(backend("cannot clear"))?;
            Ok(())
        })
        .await
    }

    fn default_ttl(&self) -> Option<Duration> {
        self.default_ttl
    }

    async fn close(&self) -> Result<(), Error> {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let conn = db
                .conn
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match conn {
                Some(conn) => conn
                    .close()
                    .map_err(|(_, e)| Error::with_source(ErrorKind::Backend, "cannot close", e)),
                None => Ok(()), // closing twice is harmless
            }
        })
        .await
    }
}
