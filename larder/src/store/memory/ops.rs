//! [`MemoryStore`]'s [`Store`] implementation: each operation on the engine's map, at once.

use std::sync::Arc;

use super::store::MemoryStore;
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::store::meter::StoreOp;
use crate::store::{LeaseToken, Store, parse_counter};

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.meter()
            .get(async {
                self.open()?;
                Ok(self.cache.get(&self.key(key)).map(|v| v.to_vec()))
            })
            .await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.meter()
            .get_many(keys.len(), async {
                self.open()?;
                Ok(keys
                    .iter()
                    .map(|k| self.cache.get(&self.key(k)).map(|v| v.to_vec()))
                    .collect())
            })
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        self.meter()
            .call(StoreOp::Set, async {
                self.open()?;
                self.put(self.key(key), value, ttl);
                Ok(())
            })
            .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        self.meter()
            .set_many(entries.len(), async {
                self.open()?;
                for (key, value) in entries {
                    self.put(self.key(key), value, ttl);
                }
                Ok(())
            })
            .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Add, async {
                self.open()?;
                // Checked and stored under the key's shard lock: a concurrent set cannot slip
                // between.
                let stored =
                    self.cache
                        .insert_if(self.key(key), Arc::from(value), ttl, false, |current| {
                            current.is_none()
                        });
                Ok(stored)
            })
            .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Delete, async {
                self.open()?;
                Ok(self.cache.remove(&self.key(key)).is_some())
            })
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Exists, async {
                self.open()?;
                Ok(self.cache.contains_key(&self.key(key)))
            })
            .await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Expire, async {
                self.open()?;
                // In place: re-inserting the value read would undo a set made meanwhile.
                Ok(self.cache.retime(&self.key(key), ttl))
            })
            .await
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.meter()
            .call(StoreOp::Increment, async {
                self.open()?;
                let key = self.key(key);
                // Compare-and-swap: stored only if the value read is still the live one (the
                // same allocation, which the clone held here keeps from being reused). A write
                // in between makes it read again; each retry means another write to the key
                // succeeded.
                loop {
                    let read = self.cache.peek(&key);
                    let current = match &read {
                        Some(bytes) => parse_counter(bytes)?,
                        None => 0,
                    };
                    let next = current.checked_add(by).ok_or_else(|| {
                        Error::new(ErrorKind::Codec, "the counter would overflow")
                    })?;
                    let bytes: Arc<[u8]> = Arc::from(next.to_string().as_bytes());
                    // The counter keeps its remaining TTL, as Redis's INCRBY does; a new one gets
                    // the default TTL.
                    let unchanged = |live: Option<&Arc<[u8]>>| match (live, &read) {
                        (Some(live), Some(read)) => Arc::ptr_eq(live, read),
                        (None, None) => true,
                        _ => false,
                    };
                    if self
                        .cache
                        .insert_if(key.clone(), bytes, Ttl::Default, true, unchanged)
                    {
                        return Ok(next);
                    }
                }
            })
            .await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.meter()
            .call(StoreOp::Clear, async {
                self.open()?;
                let prefix = format!("{}:", self.namespace);
                self.cache.invalidate_if(|k, _| k.starts_with(&prefix));
                Ok(())
            })
            .await
    }

    fn store_stats(&self) -> Option<crate::store::StoreStats> {
        Some(self.meter().snapshot())
    }

    fn default_ttl(&self) -> Option<std::time::Duration> {
        self.cache.clock_and_ttl().1
    }

    async fn close(&self) -> Result<(), Error> {
        self.closed.close();
        Ok(())
    }

    async fn release(&self, key: &str, token: &LeaseToken) -> Result<bool, Error> {
        self.meter()
            .call(StoreOp::Release, async {
                self.open()?;
                // Compared and removed under the key's shard lock: a lease that expired and was
                // taken again in between is another value, and stays.
                let mine = |held: &Arc<[u8]>| &held[..] == token.as_bytes();
                Ok(self.cache.remove_if(&self.key(key), mine))
            })
            .await
    }
}
