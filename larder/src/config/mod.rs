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
