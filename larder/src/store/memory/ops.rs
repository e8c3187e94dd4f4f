//! [`MemoryStore`]'s [`Store`] implementation: each operation on the engine's map, at once.

use std::sync::Arc;

use super::store::MemoryStore;
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::store::{Store, parse_counter};

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.open()?;
        Ok(self.cache.get(&self.key(key)).map(|v| v.to_vec()))
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.open()?;
        Ok(keys
            .iter()
            .map(|k| self.cache.get(&self.key(k)).map(|v| v.to_vec()))
            .collect())
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        self.open()?;
        self.put(self.key(key), value, ttl);
        Ok(())
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        self.open()?;
        for (key, value) in entries {
            self.put(self.key(key), value, ttl);
        }
        Ok(())
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        if self.cache.contains_key(&key) {
            return Ok(false);
        }
        self.put(key, value, ttl);
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.open()?;
        Ok(self.cache.remove(&self.key(key)).is_some())
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.open()?;
        Ok(self.cache.contains_key(&self.key(key)))
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        match self.cache.get(&key) {
            Some(value) => {
                self.cache.insert_with_ttl(key, value, ttl);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.open()?;
        let key = self.key(key);
        let _write = self.writes.lock();
        let current = match self.cache.get(&key) {
            Some(bytes) => parse_counter(&bytes)?,
            None => 0,
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| Error::new(ErrorKind::Codec, "the counter would overflow"))?;
        // A counter keeps no TTL of its own unless `expire` gives it one (as Redis's INCRBY
        // keeps the key's TTL; here the default TTL applies on creation).
        self.cache
            .insert(key, Arc::from(next.to_string().into_bytes().as_slice()));
        Ok(next)
    }

    async fn clear(&self) -> Result<(), Error> {
        self.open()?;
        let prefix = format!("{}:", self.namespace);
        self.cache.invalidate_if(|k, _| k.starts_with(&prefix));
        Ok(())
    }

    async fn close(&self) -> Result<(), Error> {
        self.closed.close();
        Ok(())
    }
}
