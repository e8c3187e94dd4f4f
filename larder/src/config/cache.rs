//! [`CacheConfig`]: a cache's settings as data, and the cache they build.

use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use serde::Deserialize;

use super::duration;
use super::l2::L2Config;
use crate::{Cache, CacheBuilder, Error, Policy};

/// A cache's settings as data, read from TOML, YAML, environment variables or anything
/// serde reads, that builds a [`Cache`] (and, with an [`l2`](Self::l2) section and the
/// `tier` feature, a [`Tiered`](crate::tier::Tiered) cache). Every field is optional: a
/// missing one is the builder's default. Unknown fields are errors, so a typo fails loudly.
///
/// | field | builder setting | example |
/// |---|---|---|
/// | `name` | [`name`](CacheBuilder::name) | `"users"` |
/// | `capacity` | [`max_capacity`](CacheBuilder::max_capacity) (entries) | `10000` |
/// | `policy` | [`policy`](CacheBuilder::policy): `s3fifo`, `lru`, `lfu`, `fifo`, any case | `"lru"` |
/// | `ttl` | [`time_to_live`](CacheBuilder::time_to_live) | `"5m"` |
/// | `tti` | [`time_to_idle`](CacheBuilder::time_to_idle) | `"1m"` |
/// | `ttl_jitter` | [`ttl_jitter`](CacheBuilder::ttl_jitter) | `"10s"` |
/// | `negative_ttl` | [`negative_ttl`](CacheBuilder::negative_ttl) | `"30s"` |
/// | `stale_while_revalidate` | [`stale_while_revalidate`](CacheBuilder::stale_while_revalidate) | `"1m"` |
/// | `refresh_ahead` | [`refresh_ahead`](CacheBuilder::refresh_ahead) (XFetch's beta) | `1.0` |
/// | `shards` | [`shards`](CacheBuilder::shards) | `16` |
/// | `l2` | a tier's L2: [`L2Config`] | a table |
///
/// Durations are strings of `<integer><unit>` parts: `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`
/// (units `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, `w`, `y`).
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "toml")] {
/// use larder::{Cache, Policy};
/// use larder::config::CacheConfig;
///
/// let config = CacheConfig::from_toml(r#"
///     name = "users"
///     capacity = 10_000
///     policy = "LRU"
///     ttl = "5m"
/// "#)?;
/// assert_eq!(config.policy, Some(Policy::Lru));
/// let cache: Cache<u64, String> = config.build()?;
/// assert_eq!(cache.name(), Some("users"));
/// # }
/// # Ok::<(), larder::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CacheConfig {
    /// The cache's name, in stats and metrics.
    pub name: Option<String>,
    /// The most entries kept (also read as `max_capacity`); unbounded when absent.
    #[serde(alias = "max_capacity")]
    pub capacity: Option<u64>,
    /// The eviction policy.
    pub policy: Option<Policy>,
    /// How long an entry lives after it is written (also read as `time_to_live`).
    #[serde(alias = "time_to_live", deserialize_with = "duration::option")]
    pub ttl: Option<Duration>,
    /// How long an entry lives after it is last read or written (also `time_to_idle`).
    #[serde(alias = "time_to_idle", deserialize_with = "duration::option")]
    pub tti: Option<Duration>,
    /// A random extra TTL, up to this, per entry.
    #[serde(deserialize_with = "duration::option")]
    pub ttl_jitter: Option<Duration>,
    /// How long a failed load is remembered.
    #[serde(deserialize_with = "duration::option")]
    pub negative_ttl: Option<Duration>,
    /// How long an expired entry may still be served while it is reloaded (also `swr`).
    #[serde(alias = "swr", deserialize_with = "duration::option")]
    pub stale_while_revalidate: Option<Duration>,
    /// Refresh-ahead's beta (XFetch): entries are reloaded before they expire.
    pub refresh_ahead: Option<f64>,
    /// How many shards the in-memory map has.
    pub shards: Option<usize>,
    /// The L2 of a tiered cache; read only by the tier builders.
    pub l2: Option<L2Config>,
}

impl fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheConfig")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("policy", &self.policy)
            .field("ttl", &self.ttl)
            .field("tti", &self.tti)
            .field("ttl_jitter", &self.ttl_jitter)
            .field("negative_ttl", &self.negative_ttl)
            .field("stale_while_revalidate", &self.stale_while_revalidate)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("shards", &self.shards)
            .field("l2", &self.l2) // its Debug hides the URL
            .finish()
    }
}

impl CacheConfig {
    /// A [`CacheBuilder`] with these settings (the `l2` section aside), for settings no
    /// configuration can hold: a weigher, a listener, a clock, a spawner.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use larder::Cache;
    /// use larder::config::CacheConfig;
    ///
    /// let mut config = CacheConfig::default();
    /// config.capacity = Some(1_000);
    /// config.ttl = Some(Duration::from_secs(60));
    /// let cache: Cache<String, Vec<u8>> = config
    ///     .builder()
    ///     .weigher(|_, v: &Vec<u8>| v.len() as u32)
    ///     .build();
    /// # drop(cache);
    /// ```
    pub fn builder<K, V>(&self) -> CacheBuilder<K, V> {
        let mut b = Cache::builder();
        if let Some(name) = &self.name {
            b = b.name(name.clone());
        }
        if let Some(capacity) = self.capacity {
            b = b.max_capacity(capacity);
        }
        if let Some(policy) = self.policy {
            b = b.policy(policy);
        }
        if let Some(ttl) = self.ttl {
            b = b.time_to_live(ttl);
        }
        if let Some(tti) = self.tti {
            b = b.time_to_idle(tti);
        }
        if let Some(jitter) = self.ttl_jitter {
            b = b.ttl_jitter(jitter);
        }
        if let Some(ttl) = self.negative_ttl {
            b = b.negative_ttl(ttl);
        }
        if let Some(grace) = self.stale_while_revalidate {
            b = b.stale_while_revalidate(grace);
        }
        if let Some(beta) = self.refresh_ahead {
            b = b.refresh_ahead(beta);
        }
        if let Some(shards) = self.shards {
            b = b.shards(shards);
        }
        b
    }

    /// The cache these settings describe (the `l2` section aside: see
    /// [`build_tiered`](Self::build_tiered)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for settings
    /// [`CacheBuilder::try_build`] refuses (zero shards, `ttl_jitter` without `ttl`, a
    /// `refresh_ahead` that is not above 0...).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, ErrorKind};
    /// use larder::config::CacheConfig;
    ///
    /// let mut config = CacheConfig::default();
    /// config.capacity = Some(100);
    /// let cache: Cache<u32, String> = config.build()?;
    /// assert!(cache.is_empty());
    ///
    /// config.shards = Some(0);
    /// let err = config.build::<u32, u32>().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// # Ok::<(), larder::Error>(())
    /// ```
    pub fn build<K, V>(&self) -> Result<Cache<K, V>, Error>
    where
        K: Hash + Eq,
        V: Clone,
    {
        self.builder().try_build()
    }
}
