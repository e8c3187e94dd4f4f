//! [`DiskStore`]'s [`Store`] implementation: each operation one of `db.rs`'s blocking
//! functions, run on tokio's blocking pool under the handle's timeout.

use std::sync::Arc;

use super::blocking::{join_failed, runtime};
use super::store::DiskStore;
use crate::Ttl;
use crate::error::Error;
use crate::store::meter::StoreOp;
use crate::store::remote::lifetime;
use crate::store::{LeaseToken, Store};

impl Store for DiskStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.meter()
            .get(async {
                let ns = Arc::clone(&self.namespace);
                let keys = vec![key.to_string()];
                let mut values = self.run(false, move |db| db.get(&ns, &keys)).await?;
                Ok(values.pop().flatten())
            })
            .await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.meter()
            .get_many(keys.len(), async {
                if keys.is_empty() {
                    return self.remote.check_open().map(|()| Vec::new());
                }
                let ns = Arc::clone(&self.namespace);
                let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                self.run(false, move |db| db.get(&ns, &keys)).await
            })
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        self.meter()
            .call(StoreOp::Set, async {
                let ns = Arc::clone(&self.namespace);
                let entries = vec![(key.to_string(), value.to_vec())];
                let ttl = lifetime(ttl, self.remote.default_ttl);
                self.run(true, move |db| db.set_many(&ns, &entries, ttl))
                    .await
            })
            .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        self.meter()
            .set_many(entries.len(), async {
                if entries.is_empty() {
                    return self.remote.check_open();
                }
                let ns = Arc::clone(&self.namespace);
                let entries: Vec<(String, Vec<u8>)> = entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_vec()))
                    .collect();
                let ttl = lifetime(ttl, self.remote.default_ttl);
                self.run(true, move |db| db.set_many(&ns, &entries, ttl))
                    .await
            })
            .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Add, async {
                let (ns, key, value) =
                    (Arc::clone(&self.namespace), key.to_string(), value.to_vec());
                let ttl = lifetime(ttl, self.remote.default_ttl);
                self.run(true, move |db| db.add(&ns, &key, &value, ttl))
                    .await
            })
            .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Delete, async {
                let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
                self.run(true, move |db| db.delete(&ns, &key)).await
            })
            .await
    }

    /// Compares and deletes in one write transaction: atomic against every other write.
    async fn release(&self, key: &str, token: &LeaseToken) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Release, async {
                let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
                let token = token.as_bytes().to_vec();
                self.run(true, move |db| db.release(&ns, &key, &token))
                    .await
            })
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Exists, async {
                let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
                self.run(false, move |db| db.exists(&ns, key)).await
            })
            .await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Expire, async {
                let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
                let ttl = lifetime(ttl, self.remote.default_ttl);
                self.run(true, move |db| db.expire(&ns, &key, ttl)).await
            })
            .await
    }

    /// Adds `by` to the decimal-ASCII counter at `key`. An existing counter keeps its expiry;
    /// a new one gets the handle's default TTL.
    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.meter()
            .call(StoreOp::Increment, async {
                let (ns, key) = (Arc::clone(&self.namespace), key.to_string());
                let ttl = self.remote.default_ttl;
                self.run(true, move |db| db.increment(&ns, &key, by, ttl))
                    .await
            })
            .await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.meter()
            .call(StoreOp::Clear, async {
                let ns = Arc::clone(&self.namespace);
                self.run(true, move |db| db.clear(&ns)).await
            })
            .await
    }

    /// Closes the file, for every handle that shares it (every namespace): later operations fail
    /// with [`ErrorKind::Closed`](crate::ErrorKind::Closed), and the background sweep stops. It
    /// returns once the operations already running on the file have ended and the file is released
    /// (so it can be opened again), or fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// after the handle's timeout, the file then being released when they end. Outside a tokio
    /// runtime it fails with [`ErrorKind::Config`](crate::ErrorKind::Config) and leaves the store
    /// open.
    fn store_stats(&self) -> Option<crate::store::StoreStats> {
        Some(self.meter().snapshot())
    }

    fn default_ttl(&self) -> Option<std::time::Duration> {
        self.remote.default_ttl
    }

    async fn close(&self) -> Result<(), Error> {
        // Outside a runtime nothing changes: not even the sweep stops.
        runtime()?;
        drop(self.shared.stop.lock().take());
        if self.remote.closed().is_closed() {
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
        self.remote.within(closing).await
    }
}
