//! The tiered cache a [`CacheConfig`] with an `l2` section builds (feature `tier`).

use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::CacheConfig;
use super::l2::L2Config;
use crate::store::{Store, from_url};
use crate::tier::{TierKey, Tiered, TieredBuilder};
use crate::{Error, ErrorKind};

impl CacheConfig {
    /// The tiered cache these settings describe: an L1 built as
    /// [`build`](Self::build) does, over the store the `l2` section's URL names
    /// ([`from_url`]), with the section's tier settings.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when there is no `l2` section, for settings the cache or
    /// the tier refuses, and for a bad URL; then [`from_url`]'s errors when the store
    /// cannot be reached.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::config::{CacheConfig, L2Config};
    /// use larder::tier::Tiered;
    ///
    /// let mut config = CacheConfig::default();
    /// config.capacity = Some(1_000);
    /// config.l2 = Some(L2Config::new("memory://?namespace=pages"));
    /// let tiered: Tiered<String, String> = config.build_tiered().await?;
    /// tiered.insert("home".into(), "<html>".into()).await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As [`from_url`]'s: dropped before it returns, nothing is left behind.
    pub async fn build_tiered<K, V>(&self) -> Result<Tiered<K, V>, Error>
    where
        K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let url = &self.l2_section()?.url;
        let store = from_url(url).await?;
        self.tiered_builder(store)?.try_build()
    }

    /// A [`TieredBuilder`] with these settings over `store`, for a store made in code or
    /// settings no configuration holds (a codec). The `l2` section's settings apply if
    /// there is one (its URL aside); without one, the tier's defaults.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for cache settings [`build`](Self::build) refuses.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::config::CacheConfig;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let config = CacheConfig::default();
    /// let tiered: Tiered<u32, u32> = config
    ///     .tiered_builder(MemoryStore::new("t"))?
    ///     .watch(false)
    ///     .try_build()?;
    /// # drop(tiered); Ok(()) }
    /// ```
    pub fn tiered_builder<K, V>(&self, store: impl Store) -> Result<TieredBuilder<K, V>, Error>
    where
        K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        let builder = Tiered::builder(self.build()?, store);
        Ok(match &self.l2 {
            Some(l2) => l2.apply(builder),
            None => builder,
        })
    }

    fn l2_section(&self) -> Result<&L2Config, Error> {
        self.l2.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "a tiered cache needs an l2 section (with the store's url)",
            )
        })
    }
}

impl L2Config {
    fn apply<K, V>(&self, mut b: TieredBuilder<K, V>) -> TieredBuilder<K, V>
    where
        K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        if let Some(ttl) = self.ttl {
            b = b.l2_ttl(ttl);
        }
        if let Some(timeout) = self.timeout {
            b = b.l2_timeout(timeout);
        }
        if let Some(breaker) = &self.breaker {
            let failures = breaker.failures.unwrap_or(DEFAULT_FAILURES);
            let cooldown = breaker.cooldown.unwrap_or(DEFAULT_COOLDOWN);
            b = b.circuit_breaker(failures, cooldown);
        }
        if let Some(lease) = self.lease {
            b = b.distributed_lock(lease);
        }
        if let Some(watch) = self.watch {
            b = b.watch(watch);
        }
        if let Some(scope) = &self.scope {
            b = b.scope(scope.clone());
        }
        if let Some(version) = self.version {
            b = b.version(version);
        }
        if let Some(capacity) = self.write_behind {
            b = b.write_behind(capacity);
        }
        b
    }
}

/// The tier's breaker defaults (`Tiered::builder`), for a breaker section giving one
/// of its two fields.
const DEFAULT_FAILURES: u32 = 5;
const DEFAULT_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(1);
