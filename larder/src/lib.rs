//! # larder
//!
//! An async caching toolkit for Rust services. This release holds its foundation: [`Cache`],
//! a concurrent in-process cache on larder's own engine, bounded by entries or weight, with
//! S3-FIFO (default), LRU, LFU and FIFO eviction, TTLs with jitter, time-to-idle, an eviction
//! listener and stats, and single-flight loading with refresh, stale-while-revalidate,
//! refresh-ahead, warmup and close, and DataLoader-style batching. The `#[cached]` macros and
//! the Redis / Memcached / disk stores come in the next releases.
//!
//! ```
//! use larder::{Cache, Policy};
//! use std::time::Duration;
//!
//! let cache: Cache<u64, String> = Cache::builder()
//!     .max_capacity(10_000)
//!     .policy(Policy::S3Fifo)
//!     .time_to_live(Duration::from_secs(300))
//!     .build();
//! cache.insert(42, "answer".to_string());
//! assert_eq!(cache.get(&42).as_deref(), Some("answer"));
//! assert_eq!(cache.stats().hits, 1);
//! ```
//!
//! ## Loading
//!
//! [`Cache::get_with`] (and [`try_get_with`](Cache::try_get_with),
//! [`optionally_get_with`](Cache::optionally_get_with)) load a missing value with the future
//! you pass, once per key however many tasks ask at the same moment:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let cache: larder::Cache<u64, String> = larder::Cache::new(1_000);
//! let name = cache.get_with(7, async { "from the database".to_string() }).await;
//! assert_eq!(name, "from the database");
//! # }
//! ```
//!
//! Dropping a caller's future (a timeout, a `select!`) or a panic in a loader never hangs or
//! fails the other callers: one of them takes the load over. Errors and `None` reach every
//! caller of that load and are not cached.
//!
//! [`Cache::refresh`] forces a fresh load. With
//! [`CacheBuilder::stale_while_revalidate`], an expired value is served at once for a grace
//! period while one background refresh runs; with [`CacheBuilder::refresh_ahead`], hot
//! entries are reloaded shortly before they expire. Background refreshes run on a
//! [`Spawner`] ([`TokioSpawner`] by default). [`Cache::close`] stops loading, cancelling or
//! awaiting the loads in flight ([`CloseMode`]).
//!
//! ## Batching
//!
//! [`Cache::batch_loader`] builds a [`BatchLoader`]: concurrent misses within a short window
//! are collapsed into one call of your batch function (the N+1 query fix), joining loads
//! already in flight and storing what comes back. [`DataLoader`] is the per-request
//! variant with its own memo; [`Cache::get_many_with`] loads the misses of one multi-key read
//! in one call.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let cache: larder::Cache<u64, String> = larder::Cache::new(1_000);
//! let names = cache
//!     .batch_loader(|ids: Vec<u64>| async move {
//!         Ok::<_, String>(ids.iter().map(|id| format!("user {id}")).collect::<Vec<_>>())
//!     })
//!     .build();
//! let page = names.load_many([3, 1, 3, 2]).await.unwrap(); // one call: [3, 1, 2]
//! assert_eq!(page[0].as_deref(), Some("user 3"));
//! assert_eq!(cache.stats().batches, 1);
//! # }
//! ```
//!
//! ## Eviction policies
//!
//! | [`Policy`] | evicts | a hit takes |
//! |---|---|---|
//! | `S3Fifo` (default) | one-hit wonders first (small FIFO + main FIFO + ghost, a frequency door) | a shared lock and a few relaxed loads and stores |
//! | `Lru` | the least recently used | the shard's exclusive lock |
//! | `Lfu` | the least frequently used; ties by recency | the shard's exclusive lock |
//! | `Fifo` | the oldest | a shared lock and a relaxed store |
//!
//! ## Concurrency
//!
//! The cache is split into shards by key hash, each behind a reader-writer lock; every policy
//! is exact within a shard. Caches under 4,096 entries of capacity, and weighted caches, have
//! a single shard by default, so their eviction order is exact cache-wide.
//!
//! ## Expiry and maintenance
//!
//! Expired entries are never returned and never counted by [`Cache::len`]. Their memory is
//! reclaimed by ordinary calls: each write reclaims its shard's expired entries (and looks at
//! one other shard), and a read that meets an expired entry reclaims its shard. **Nothing runs
//! in the background** (no thread, no task) unless you turn on stale-while-revalidate or
//! refresh-ahead, whose refreshes are tasks. Time comes from a [`Clock`]; tests use
//! [`Clock::mock`].
//!
//! ## Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `macros` | yes | the attribute macros crate (its macros arrive in a later release) |
//! | `tokio` | yes | [`TokioSpawner`], the default spawner of background refreshes; batching ([`BatchLoader`], [`DataLoader`]) |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), deny(clippy::panic))]
#![doc(test(attr(deny(warnings))))]

mod batch;
mod builder;
mod cache;
mod close;
mod engine;
mod error;
mod expiry;
mod flight;
mod hasher;
mod listener;
mod loading;
mod policy;
mod revalidate;
mod spawn;
mod stats;
mod sync;
mod thread_slot;
mod warmup;

pub use batch::BatchResult;
#[cfg(feature = "tokio")]
pub use batch::{BatchLoader, BatchLoaderBuilder, DataLoader, DataLoaderBuilder};
pub use builder::CacheBuilder;
pub use cache::{Cache, Iter};
pub use close::CloseMode;
pub use error::{Error, ErrorKind, LoadError};
pub use expiry::{Clock, MockClock, Ttl};
pub use hasher::RandomState;
pub use listener::RemovalCause;
pub use policy::Policy;
#[cfg(feature = "tokio")]
pub use spawn::TokioSpawner;
pub use spawn::{BackgroundTask, Spawner};
pub use stats::Stats;
pub use warmup::{WARMUP_CONCURRENCY, WarmupReport};

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
