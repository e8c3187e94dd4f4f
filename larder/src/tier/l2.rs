//! A tier's L2: its store behind one object-safe face, with every call bounded by the tier's
//! timeout, gated by the breaker and counted. A failed call is `None` here, never an error:
//! the tier degrades to L1 and the loader.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::breaker::{Breaker, Permit};
use super::stats::{Counters, bump};
use crate::observe::{self, CacheName};
use crate::store::{InvalidationSink, LeaseToken, Store, StoreStats, Watch};
use crate::{Error, ErrorKind, Ttl};

/// The operations a tier uses, boxed so that `Tiered<K, V>` does not name its store's type.
/// A box per L2 call is nothing next to a network round trip.
pub(crate) trait DynStore: Send + Sync + 'static {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>>;
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>>;
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Ttl,
    ) -> BoxFuture<'a, Result<(), Error>>;
    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a [u8])],
        ttl: Ttl,
    ) -> BoxFuture<'a, Result<(), Error>>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Error>>;
    fn clear(&self) -> BoxFuture<'_, Result<(), Error>>;
    fn default_ttl(&self) -> Option<Duration>;
    fn store_stats(&self) -> Option<StoreStats>;
    fn lease<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LeaseToken>, Error>>;
    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
    ) -> BoxFuture<'a, Result<bool, Error>>;
    fn watch<'a>(
        &'a self,
        prefix: &'a str,
        sink: InvalidationSink,
    ) -> BoxFuture<'a, Result<Option<Watch>, Error>>;
}

impl<S: Store> DynStore for S {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        Box::pin(Store::get(self, key))
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>> {
        Box::pin(Store::get_many(self, keys))
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Ttl,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Store::set(self, key, value, ttl))
    }

    fn set_many<'a>(
        &'a self,
        entries: &'a [(&'a str, &'a [u8])],
        ttl: Ttl,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Store::set_many(self, entries, ttl))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(Store::delete(self, key))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Store::clear(self))
    }

    fn store_stats(&self) -> Option<StoreStats> {
        Store::store_stats(self)
    }

    fn default_ttl(&self) -> Option<Duration> {
        Store::default_ttl(self)
    }

    fn lease<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LeaseToken>, Error>> {
        Box::pin(Store::lease(self, key, ttl))
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a LeaseToken,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(Store::release(self, key, token))
    }

    fn watch<'a>(
        &'a self,
        prefix: &'a str,
        sink: InvalidationSink,
    ) -> BoxFuture<'a, Result<Option<Watch>, Error>> {
        Box::pin(Store::watch(self, prefix, sink))
    }
}

/// The store, its timeout and breaker, and the counters they feed.
pub(crate) struct L2 {
    pub(crate) store: Arc<dyn DynStore>,
    timeout: Duration,
    pub(crate) breaker: Breaker,
    pub(crate) counters: Arc<Counters>,
    /// The L1 cache's name, for the tier's events.
    pub(crate) name: CacheName,
}

impl L2 {
    pub(crate) fn new(
        store: Arc<dyn DynStore>,
        timeout: Duration,
        breaker: Breaker,
        counters: Arc<Counters>,
        name: CacheName,
    ) -> Self {
        Self {
            store,
            timeout,
            breaker,
            counters,
            name,
        }
    }

    /// Runs one L2 call, unless the breaker is open: its value, or `None` when it was
    /// skipped, failed or timed out (each counted).
    pub(crate) async fn call<'a, T>(
        &'a self,
        op: impl FnOnce(&'a dyn DynStore) -> BoxFuture<'a, Result<T, Error>>,
    ) -> Option<T> {
        self.attempt(op).await.ok()
    }

    async fn attempt<'a, T>(
        &'a self,
        op: impl FnOnce(&'a dyn DynStore) -> BoxFuture<'a, Result<T, Error>>,
    ) -> Result<T, Missed> {
        let permit = self.breaker.permit();
        if permit == Permit::Skip {
            bump(&self.counters.l2_skipped);
            return Err(Missed::Skipped);
        }
        if permit == Permit::Probe {
            observe::breaker_changed(&self.name, "half_open");
        }
        let guard = ProbeGuard {
            breaker: &self.breaker,
            permit: Some(permit),
        };
        let outcome = tokio::time::timeout(self.timeout, op(&*self.store)).await;
        let permit = guard.settle();
        match outcome {
            Ok(Ok(value)) => {
                self.succeeded(permit);
                Ok(value)
            }
            // What the data caused (bytes another program wrote, a value the store
            // refuses) is an error of this call, not a sign that L2 is down.
            Ok(Err(error)) if matches!(error.kind(), ErrorKind::Codec | ErrorKind::Config) => {
                self.succeeded(permit);
                bump(&self.counters.l2_errors);
                Err(Missed::Failed)
            }
            Ok(Err(error)) => {
                self.failed(permit, error.kind() == ErrorKind::Timeout);
                Err(Missed::Failed)
            }
            Err(_elapsed) => {
                self.failed(permit, true);
                Err(Missed::Failed)
            }
        }
    }

    fn succeeded(&self, permit: Permit) {
        if self.breaker.succeeded(permit) {
            observe::breaker_changed(&self.name, "closed");
        }
    }

    fn failed(&self, permit: Permit, timed_out: bool) {
        bump(&self.counters.l2_errors);
        if timed_out {
            bump(&self.counters.l2_timeouts);
            observe::l2_timed_out(&self.name, self.timeout);
        }
        if self.breaker.failed(permit) {
            observe::breaker_changed(&self.name, "open");
        }
    }

    /// A write: its value once L2 acknowledged it. A failure is also counted as a write
    /// error; a write the breaker skipped is not (it never reached L2).
    pub(crate) async fn write<'a, T>(
        &'a self,
        op: impl FnOnce(&'a dyn DynStore) -> BoxFuture<'a, Result<T, Error>>,
    ) -> Option<T> {
        match self.attempt(op).await {
            Ok(value) => Some(value),
            Err(Missed::Failed) => {
                bump(&self.counters.l2_write_errors);
                None
            }
            Err(Missed::Skipped) => None,
        }
    }
}

/// Why an L2 call has no value.
enum Missed {
    /// The breaker is open.
    Skipped,
    /// It failed or timed out.
    Failed,
}

/// Gives a probe back to the breaker if its call is dropped before it settles.
struct ProbeGuard<'a> {
    breaker: &'a Breaker,
    permit: Option<Permit>,
}

impl ProbeGuard<'_> {
    fn settle(mut self) -> Permit {
        self.permit.take().expect("settled once")
    }
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit {
            self.breaker.abandoned(permit);
        }
    }
}
