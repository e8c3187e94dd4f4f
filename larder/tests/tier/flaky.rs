//! A store for tier tests: a `MemoryStore` that can be told to fail, or to hold its calls
//! until released, so that a test decides exactly when L2 answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use larder::store::{MemoryStore, Store};
use larder::{Error, ErrorKind, Ttl};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub(crate) struct Flaky {
    pub(crate) inner: MemoryStore,
    failing: Arc<AtomicBool>,
    /// While set, every call waits for a permit of `gate` first.
    held: Arc<AtomicBool>,
    /// Like `held`, for reads only.
    reads_held: Arc<AtomicBool>,
    gate: Arc<Semaphore>,
    /// Calls that reached the store (held or not, failed or not).
    pub(crate) calls: Arc<AtomicUsize>,
}

impl Flaky {
    pub(crate) fn new(namespace: &str) -> Self {
        Self::over(MemoryStore::new(namespace))
    }

    pub(crate) fn over(inner: MemoryStore) -> Self {
        Self {
            inner,
            failing: Arc::default(),
            held: Arc::default(),
            reads_held: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
            calls: Arc::default(),
        }
    }

    /// Every call fails with a backend error, or works again.
    pub(crate) fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Every later call waits until `release` lets it through.
    pub(crate) fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Every later read (`get`, `get_many`) waits until `release` lets it through.
    pub(crate) fn hold_reads(&self) {
        self.reads_held.store(true, Ordering::SeqCst);
    }

    /// Lets `calls` held calls through, and stops holding new ones.
    pub(crate) fn release(&self, calls: usize) {
        self.held.store(false, Ordering::SeqCst);
        self.reads_held.store(false, Ordering::SeqCst);
        self.gate.add_permits(calls);
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn enter(&self) -> Result<(), Error> {
        self.enter_as(false).await
    }

    async fn enter_as(&self, read: bool) -> Result<(), Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.held.load(Ordering::SeqCst) || (read && self.reads_held.load(Ordering::SeqCst)) {
            self.gate.acquire().await.expect("open").forget();
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Backend, "the test store is failing"));
        }
        Ok(())
    }
}

impl Store for Flaky {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.enter_as(true).await?;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.enter_as(true).await?;
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        self.enter().await?;
        self.inner.set(key, value, ttl).await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        self.enter().await?;
        self.inner.set_many(entries, ttl).await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.enter().await?;
        self.inner.add(key, value, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.enter().await?;
        self.inner.delete(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.enter().await?;
        self.inner.exists(key).await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.enter().await?;
        self.inner.expire(key, ttl).await
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.enter().await?;
        self.inner.increment(key, by).await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.enter().await?;
        self.inner.clear().await
    }

    async fn close(&self) -> Result<(), Error> {
        self.inner.close().await
    }
}
