//! [`RedisStore`]: a [`Store`] on Redis, through the redis crate's `ConnectionManager`
//! (one multiplexed connection that reconnects by itself).
//!
//! Concurrent `get`s are coalesced: the first starts a flusher task, and every `get` that
//! arrives while it runs joins the next `MGET`, so many tasks doing single-key reads get
//! pipelined throughput.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::oneshot;

use super::{Store, parse_counter};
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// The default timeout of every operation.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many `MGET`s may be in flight at once: with one, the gets that arrive during its
/// round trip wait for it; with a few, the server always has a batch to answer while the next
/// one gathers.
const FLUSHERS: usize = 4;
/// The most keys in one `MGET`.
const MAX_MGET: usize = 1_000;
/// Keys `clear` asks `SCAN` for at a time.
const SCAN_COUNT: usize = 1_000;

/// A [`Store`] on a Redis server: namespaced keys (`namespace:key`), `SET PX` TTLs, `clear`
/// by `SCAN` + `UNLINK` over the namespace only (never `KEYS` or `FLUSHDB`), and concurrent
/// `get`s coalesced into `MGET`s.
///
/// Neither the URL nor its password appears in `Debug`, `Display` or errors.
///
/// # Background work
///
/// A tokio task per burst of concurrent `get`s (the flusher), ending when no `get` waits.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
/// use larder::{RedisStore, Store, Ttl};
/// use std::time::Duration;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379", "users").await?;
/// store.set("42", b"ada", Ttl::After(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("42").await?.as_deref(), Some(&b"ada"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    namespace: String,
    timeout: Option<Duration>,
    default_ttl: Option<Duration>,
    closed: AtomicBool,
    gets: Mutex<Pending>,
}

/// Where a coalesced `get` gets its answer.
type Reply = oneshot::Sender<Result<Option<Vec<u8>>, Error>>;

/// `get`s waiting for the next `MGET`.
#[derive(Default)]
struct Pending {
    waiting: Vec<(String, Reply)>,
    /// Flusher tasks running (each takes from `waiting` until it is empty).
    flushers: usize,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No URL, no password, no bytes.
        f.debug_struct("RedisStore")
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[:password@]host:port[/db]`), keeping
    /// keys under `namespace`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a URL that is not one; [`ErrorKind::Backend`] when the
    /// server cannot be reached; [`ErrorKind::Timeout`] after 5 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "sessions").await?;
    /// # drop(store); Ok(()) }
    /// ```
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, Error> {
        // The redis crate's parse error may quote the URL: report without it.
        let client = redis::Client::open(url)
            .map_err(|_| Error::config("not a Redis URL (redis://[:password@]host:port[/db])"))?;
        let connect = ConnectionManager::new(client);
        let conn = with_timeout(Some(DEFAULT_TIMEOUT), connect).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                namespace: namespace.to_string(),
                timeout: Some(DEFAULT_TIMEOUT),
                default_ttl: None,
                closed: AtomicBool::new(false),
                gets: Mutex::new(Pending::default()),
            }),
        })
    }

    /// This store with another timeout for every operation (`None`: no timeout). The handle
    /// shares the connection, so it also gives one call a timeout of its own:
    /// `store.with_timeout(Some(d)).get(key)`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_timeout(Some(Duration::from_millis(200)));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.reconfigure(|inner| inner.timeout = timeout)
    }

    /// This store with a TTL for values set with [`Ttl::Default`] (none by default).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let store = larder::RedisStore::connect("redis://127.0.0.1:6379", "ns").await?
    ///     .with_default_ttl(Duration::from_secs(300));
    /// # drop(store); Ok(()) }
    /// ```
    #[must_use]
    pub fn with_default_ttl(self, ttl: Duration) -> Self {
        self.reconfigure(|inner| inner.default_ttl = Some(ttl))
    }

    fn reconfigure(self, change: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            conn: i.conn.clone(),
            namespace: i.namespace.clone(),
            timeout: i.timeout,
            default_ttl: i.default_ttl,
            closed: AtomicBool::new(i.closed.load(Ordering::Acquire)),
            gets: Mutex::new(Pending::default()),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.inner.namespace)
    }

    fn open(&self) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the store was closed"));
        }
        Ok(())
    }

    /// Runs a command with this store's timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        self.open()?;
        let mut conn = self.inner.conn.clone();
        with_timeout(self.inner.timeout, cmd.query_async(&mut conn)).await
    }

    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, Error> {
        self.open()?;
        let mut conn = self.inner.conn.clone();
        with_timeout(self.inner.timeout, pipe.query_async(&mut conn)).await
    }

    /// The TTL a value is stored with: `None` for no expiry, `Some(0)` for already expired.
    fn millis(&self, ttl: Ttl) -> Option<u64> {
        let d = match ttl {
            Ttl::Default => self.inner.default_ttl?,
            Ttl::Never => return None,
            Ttl::After(d) => d,
        };
        Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn set_cmd(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> redis::Cmd {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ms) = ttl_ms {
            cmd.arg("PX").arg(ms);
        }
        cmd
    }
}

/// Runs `op` under `timeout`, mapping the redis crate's errors to ours.
async fn with_timeout<T>(
    timeout: Option<Duration>,
    op: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Error> {
    let result = match timeout {
        Some(limit) => tokio::time::timeout(limit, op).await.map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                format!("no answer from Redis within {limit:?}"),
            )
        })?,
        None => op.await,
    };
    result.map_err(backend)
}

fn backend(error: redis::RedisError) -> Error {
    if error.to_string().contains("not an integer") {
        return Error::with_source(
            ErrorKind::Codec,
            "the value is not an integer counter",
            error,
        );
    }
    Error::with_source(ErrorKind::Backend, "Redis failed", error)
}

impl Store for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.open()?;
        let (tx, rx) = oneshot::channel();
        let start_flusher = {
            let mut pending = self.inner.gets.lock();
            pending.waiting.push((self.key(key), tx));
            let start = pending.flushers < FLUSHERS;
            if start {
                pending.flushers += 1;
            }
            start
        };
        if start_flusher {
            tokio::spawn(flush(self.clone()));
        }
        rx.await
            .map_err(|_| Error::new(ErrorKind::Backend, "the Redis reader stopped"))?
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut values = Vec::with_capacity(keys.len());
        for chunk in full.chunks(MAX_MGET) {
            let part: Vec<Option<Vec<u8>>> = self.query(redis::cmd("MGET").arg(chunk)).await?;
            values.extend(part);
        }
        Ok(values)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        match self.millis(ttl) {
            // Already expired: what was there goes, nothing new stays.
            Some(0) => self.delete(key).await.map(|_| ()),
            ms => self.query(&self.set_cmd(key, value, ms)).await,
        }
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        let ms = self.millis(ttl);
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            match ms {
                Some(0) => pipe.cmd("UNLINK").arg(self.key(key)).ignore(),
                _ => pipe.add_command(self.set_cmd(key, value, ms)).ignore(),
            };
        }
        self.query_pipe(&pipe).await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        let ms = self.millis(ttl);
        if ms == Some(0) {
            return Ok(!self.exists(key).await?);
        }
        let mut cmd = self.set_cmd(key, value, ms);
        cmd.arg("NX");
        let stored: Option<String> = self.query(&cmd).await?;
        Ok(stored.is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let removed: u64 = self.query(redis::cmd("UNLINK").arg(self.key(key))).await?;
        Ok(removed > 0)
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        let n: u64 = self.query(redis::cmd("EXISTS").arg(self.key(key))).await?;
        Ok(n > 0)
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        let full = self.key(key);
        match self.millis(ttl) {
            None => {
                // PERSIST answers 0 for a key without a TTL too: ask EXISTS as well.
                let mut pipe = redis::pipe();
                pipe.cmd("PERSIST")
                    .arg(&full)
                    .ignore()
                    .cmd("EXISTS")
                    .arg(&full);
                let (exists,): (u64,) = self.query_pipe(&pipe).await?;
                Ok(exists > 0)
            }
            Some(0) => self.delete(key).await,
            Some(ms) => {
                let set: u64 = self.query(redis::cmd("PEXPIRE").arg(&full).arg(ms)).await?;
                Ok(set > 0)
            }
        }
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        let full = self.key(key);
        // Redis's own error for a non-integer value becomes a Codec error (see `backend`);
        // a value we can read but Redis could not is checked the same way.
        match self.query(redis::cmd("INCRBY").arg(&full).arg(by)).await {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::Codec => {
                let value: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(&full)).await?;
                match value {
                    Some(bytes) => parse_counter(&bytes).and(Err(e)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn clear(&self) -> Result<(), Error> {
        let pattern = format!("{}:*", glob_escape(&self.inner.namespace));
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT),
                )
                .await?;
            if !keys.is_empty() {
                let _: u64 = self.query(redis::cmd("UNLINK").arg(&keys)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn close(&self) -> Result<(), Error> {
        self.inner.closed.store(true, Ordering::Release);
        Ok(())
    }
}

/// Sends the waiting `get`s as `MGET`s until none waits.
async fn flush(store: RedisStore) {
    // Were this task dropped (its runtime shutting down), it must still be counted out.
    let mut flusher = Flusher {
        store: store.clone(),
        running: true,
    };
    loop {
        let batch = {
            let mut pending = store.inner.gets.lock();
            if pending.waiting.is_empty() {
                // Counted out under the same lock that saw the queue empty: a `get` queued
                // after this starts a flusher of its own.
                pending.flushers -= 1;
                flusher.running = false;
                return;
            }
            let take = pending.waiting.len().min(MAX_MGET);
            pending.waiting.drain(..take).collect::<Vec<_>>()
        };
        let keys: Vec<&str> = batch.iter().map(|(k, _)| k.as_str()).collect();
        let result: Result<Vec<Option<Vec<u8>>>, Error> =
            store.query(redis::cmd("MGET").arg(&keys)).await;
        match result {
            Ok(values) if values.len() == batch.len() => {
                for ((_, tx), value) in batch.into_iter().zip(values) {
                    let _ = tx.send(Ok(value)); // a caller that went away needs nothing
                }
            }
            Ok(_) => {
                let error = Error::new(ErrorKind::Backend, "MGET answered with the wrong count");
                batch
                    .into_iter()
                    .for_each(|(_, tx)| drop(tx.send(Err(error.clone()))));
            }
            Err(error) => {
                batch
                    .into_iter()
                    .for_each(|(_, tx)| drop(tx.send(Err(error.clone()))));
            }
        }
    }
}

/// A running flusher. Dropped while running (its task dropped with the runtime), it counts
/// itself out; if it was the last, the `get`s still waiting get an error (their senders
/// dropped) rather than wait for a flusher that will not come.
struct Flusher {
    store: RedisStore,
    running: bool,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        if self.running {
            let mut pending = self.store.inner.gets.lock();
            pending.flushers -= 1;
            if pending.flushers == 0 {
                pending.waiting.clear();
            }
        }
    }
}

/// `namespace` as a literal in a `SCAN MATCH` glob.
fn glob_escape(namespace: &str) -> String {
    let mut out = String::with_capacity(namespace.len());
    for c in namespace.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
