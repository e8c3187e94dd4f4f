//! Configuration (feature `serde`): a cache's and a tier's settings as data,
//! [`CacheConfig`], read from TOML ([`CacheConfig::from_toml`], feature `toml`), YAML
//! ([`CacheConfig::from_yaml`], feature `yaml`), environment variables
//! ([`CacheConfig::from_env`]) or any format serde reads, and the cache (or, feature `tier`,
//! the tiered cache) they build.
//!
//! `cache.rs` is `CacheConfig` and the cache it builds; `l2.rs` its `l2` section
//! ([`L2Config`]); `tier.rs` the tier they build; `duration.rs` durations as text (`"30s"`); `env.rs` the
//! environment variables; `formats.rs` TOML and YAML.
//!
//! # Environment variables
//!
//! [`CacheConfig::from_env`] reads the variables under a prefix of your choosing, one per
//! cache, such as `LARDER_USERS`: `LARDER_USERS_CAPACITY`, `_POLICY`, `_TTL`, `_TTI`,
//! `_TTL_JITTER`, `_NEGATIVE_TTL`, `_STALE_WHILE_REVALIDATE`, `_REFRESH_AHEAD`, `_SHARDS`,
//! `_NAME`, and for the L2 `_L2_URL`, `_L2_TTL`, `_L2_TIMEOUT`, `_L2_BREAKER_FAILURES`,
//! `_L2_BREAKER_COOLDOWN`, `_L2_LEASE`, `_L2_WATCH`, `_L2_SCOPE`, `_L2_VERSION`,
//! `_L2_WRITE_BEHIND` ([`CacheConfig::from_vars`] has the table). An unknown name under the
//! prefix is an error, so a typo fails loudly: give each cache a prefix nothing else uses.
//!
//! # Examples
//!
//! ```
//! # #[cfg(all(feature = "toml", feature = "tier"))]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
//! use larder::config::CacheConfig;
//! use larder::tier::Tiered;
//!
//! let config = CacheConfig::from_toml(r#"
//!     name = "pages"
//!     capacity = 10_000
//!     policy = "s3fifo"
//!     ttl = "30s"
//!
//!     [l2]
//!     url = "memory://?namespace=pages"
//!     ttl = "10m"
//!     timeout = "100ms"
//!     breaker = { failures = 5, cooldown = "1s" }
//! "#)?;
//! let pages: Tiered<String, String> = config.build_tiered().await?;
//! pages.insert("/".into(), "<html>".into()).await;
//! # Ok(()) }
//! # #[cfg(not(all(feature = "toml", feature = "tier")))] fn main() {}
//! ```

mod cache;
mod duration;
mod env;
mod formats;
mod l2;
#[cfg(feature = "tier")]
mod tier;

pub use cache::CacheConfig;
pub use l2::{BreakerConfig, L2Config};
