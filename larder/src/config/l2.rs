//! [`L2Config`]: a tier's L2 settings as data (the `l2` section of a `CacheConfig`).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::duration;

/// The `l2` section of a [`CacheConfig`](super::CacheConfig): where a tiered cache's L2 is
/// (a [`from_url`](crate::store::from_url) URL) and the tier's settings. Only `url` is
/// required.
///
/// | field | tier setting | example |
/// |---|---|---|
/// | `url` | the store, by [`from_url`](crate::store::from_url) | `"redis://127.0.0.1:6379/?namespace=users"` |
/// | `ttl` | [`l2_ttl`](crate::tier::TieredBuilder::l2_ttl) | `"1h"` |
/// | `timeout` | [`l2_timeout`](crate::tier::TieredBuilder::l2_timeout) | `"250ms"` |
/// | `breaker` | [`circuit_breaker`](crate::tier::TieredBuilder::circuit_breaker): `{ failures, cooldown }` | `{ failures = 5, cooldown = "1s" }` |
/// | `lease` | [`distributed_lock`](crate::tier::TieredBuilder::distributed_lock) | `"2s"` |
/// | `watch` | [`watch`](crate::tier::TieredBuilder::watch) | `true` |
/// | `scope` | [`scope`](crate::tier::TieredBuilder::scope) | `"users"` |
/// | `version` | [`version`](crate::tier::TieredBuilder::version) | `2` |
/// | `write_behind` | [`write_behind`](crate::tier::TieredBuilder::write_behind) (queue capacity) | `1000` |
///
/// `Debug` never shows the URL, which may hold a password.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "toml")] {
/// use std::time::Duration;
/// use larder::config::CacheConfig;
///
/// let config = CacheConfig::from_toml(r#"
///     capacity = 1000
///     [l2]
///     url = "redis://:secret@127.0.0.1:6379/?namespace=users"
///     timeout = "100ms"
///     breaker = { failures = 3, cooldown = "2s" }
/// "#)?;
/// let l2 = config.l2.as_ref().unwrap();
/// assert_eq!(l2.timeout, Some(Duration::from_millis(100)));
/// assert!(!format!("{config:?}").contains("secret"));
/// # }
/// # Ok::<(), larder::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct L2Config {
    /// The L2 store's URL, as [`from_url`](crate::store::from_url) reads it.
    pub url: String,
    /// The TTL of entries written to L2 (also read as `l2_ttl`).
    #[serde(default, alias = "l2_ttl", deserialize_with = "duration::option")]
    pub ttl: Option<Duration>,
    /// Every L2 call's timeout (also read as `l2_timeout`).
    #[serde(default, alias = "l2_timeout", deserialize_with = "duration::option")]
    pub timeout: Option<Duration>,
    /// The circuit breaker in front of L2.
    #[serde(default)]
    pub breaker: Option<BreakerConfig>,
    /// The distributed lock's lease: one instance loads a cold key while others wait.
    #[serde(
        default,
        alias = "distributed_lock",
        deserialize_with = "duration::option"
    )]
    pub lease: Option<Duration>,
    /// Whether the tier watches L2 for other instances' writes.
    #[serde(default)]
    pub watch: Option<bool>,
    /// The key layout's scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// The key layout's version.
    #[serde(default)]
    pub version: Option<u32>,
    /// Write-behind's queue capacity (writes to L2 queued rather than awaited).
    #[serde(default)]
    pub write_behind: Option<usize>,
}

/// The circuit breaker of an [`L2Config`]: after `failures` L2 failures in a row, L2 is
/// skipped for `cooldown`. A field left out keeps the tier's default (5 failures, 1 s).
///
/// # Examples
///
/// ```
/// use larder::config::BreakerConfig;
/// let breaker = BreakerConfig::default();
/// assert_eq!(breaker.failures, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker.
    pub failures: Option<u32>,
    /// How long it stays open.
    #[serde(deserialize_with = "duration::option")]
    pub cooldown: Option<Duration>,
}

impl L2Config {
    /// An L2 section with `url` and every other setting left to the tier's default.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::config::L2Config;
    /// let l2 = L2Config::new("memory://?namespace=pages");
    /// assert_eq!(l2.url, "memory://?namespace=pages");
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl fmt::Debug for L2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: never shown.
        f.debug_struct("L2Config")
            .field("url", &"<hidden>")
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .field("breaker", &self.breaker)
            .field("lease", &self.lease)
            .field("watch", &self.watch)
            .field("scope", &self.scope)
            .field("version", &self.version)
            .field("write_behind", &self.write_behind)
            .finish()
    }
}
