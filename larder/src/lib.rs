//! # larder
//!
//! An async caching toolkit for Rust services. [`Cache`] is a concurrent in-process cache on
//! larder's own engine, bounded by entries or weight, with S3-FIFO (the default), LRU, LFU
//! and FIFO eviction, TTLs with jitter, time-to-idle, an eviction listener and stats. It
//! loads missing values once per key however many tasks ask (single-flight), and can
//! refresh them in the background, warm up and close cleanly. On top of it sit
//! DataLoader-style batching and the `#[cached]` / `#[invalidates]` attribute macros. Beside
//! it, the [`Store`](store::Store) layer gives one byte-level API over memory, Redis (a
//! server or a cluster), Memcached and disk, with serde [codecs](codec).
//!
//! The crate root holds the cache and its types. The rest lives in modules:
//!
//! | module | holds |
//! |---|---|
//! | [`store`] | the `Store` trait, `MemoryStore`, `RedisStore`, `MemcachedStore`, `DiskStore`, `TypedStore`; `StoreStats`; `Hooked` |
//! | [`hooks`] | `Hooks`: code run before and after each get, set, delete and load of a cache or a store (aiocache's plugins) |
//! | [`codec`] | the `Codec` trait, `Postcard`, `Json`, `MessagePack` |
//! | [`batch`] | `BatchLoader`, `DataLoader`, `BatchResult` |
//! | [`spawn`] | `Spawner` (where background refreshes run), `TokioSpawner`, `BackgroundTask` |
//! | `agent` | `ToolCache`, `Session`, `ToolPolicy`: caching for AI agents' tool calls (feature `agent`) |
//! | `metrics` | `MetricsPublisher`, `MetricsSource`: `Stats` and `TierStats` through the `metrics` facade (feature `metrics`) |
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
//! [`Cache::get_with`], [`try_get_with`](Cache::try_get_with) and
//! [`optionally_get_with`](Cache::optionally_get_with) load a missing value with the future
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
//! [`Spawner`](spawn::Spawner), by default a [`TokioSpawner`](spawn::TokioSpawner).
//! [`Cache::close`] stops loading; its [`CloseMode`] says whether the loads in flight are
//! cancelled or awaited.
//!
//! ## Snapshots
//!
//! With the `snapshot` feature, `Cache::save` writes the live entries and what is left of
//! their TTLs to a file, replacing it atomically, so that a crash mid-save never loses the
//! previous snapshot; `CacheBuilder::restore_from` starts a cache from it, and
//! `Cache::restore` loads one into a running cache. The file is versioned and checksummed:
//! a corrupt, truncated or foreign file is an [`ErrorKind::Codec`] error and loads nothing,
//! and a missing one is an empty start. TTLs resume by the wall clock, less the time the
//! process was down. `CacheBuilder::autosave` saves periodically, and once more on
//! [`Cache::close`].
//!
//! ```
//! # #[cfg(feature = "snapshot")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
//! # let dir = std::env::temp_dir().join(format!("larder-doc-lib-snapshot-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).expect("temp dir");
//! let path = dir.join("cache.snapshot");
//! let cache: larder::Cache<u64, String> = larder::Cache::builder()
//!     .restore_from(&path) // no file yet: an empty cache
//!     .try_build()?;
//! cache.insert(1, "one".to_string());
//! cache.save(&path).await?;
//! # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
//! # #[cfg(not(feature = "snapshot"))] fn main() {}
//! ```
//!
//! ## Batching
//!
//! [`Cache::batch_loader`] builds a [`BatchLoader`](batch::BatchLoader): concurrent misses
//! within a short window are collapsed into one call of your batch function (the N+1 query
//! fix), joining loads already in flight and storing what comes back.
//! [`DataLoader`](batch::DataLoader) is the per-request
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
//! ## Tags
//!
//! An entry can carry [`Tag`]s, from [`Cache::insert_with_tags`] or from a loader
//! ([`Cache::get_with_tags`], [`Cache::try_get_with_tags`]); [`Cache::invalidate_tag`] removes
//! every entry with a tag. A tagged load whose tag is invalidated while it runs returns its
//! value but does not store it, so no value loaded before the invalidation stays cached.
//!
//! ```
//! let cache: larder::Cache<String, u64> = larder::Cache::new(1_000);
//! cache.insert_with_tags("cart:7:total".to_string(), 42, ["user:7"]);
//! cache.insert_with_tags("orders:7".to_string(), 3, ["user:7", "orders"]);
//! assert_eq!(cache.invalidate_tag("user:7"), 2);
//! ```
//!
//! ## Kill switch
//!
//! Setting `LARDER_DISABLE=1` in the environment (or `true`, `yes`, `on`), or building with
//! [`CacheBuilder::enabled(false)`](CacheBuilder::enabled), makes a cache a pass-through with
//! no other code change: loads still run and return their values, nothing is stored, and
//! stats still count. Concurrent loads of one key still share one load (single-flight stays
//! on), so switching caching off does not multiply the load on your backend. The variable is
//! read when each cache is built; a [`Tiered`](tier::Tiered) follows its L1 cache, and a
//! `#[cached]` function's cache reads it on the function's first call.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let cache: larder::Cache<u64, String> = larder::Cache::builder().enabled(false).build();
//! assert_eq!(cache.get_with(1, async { "loaded".to_string() }).await, "loaded");
//! assert_eq!(cache.get(&1), None);
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
//! Expired entries are never counted by [`Cache::len`], and never returned, except that with
//! the default [`Clock::system`] a hit may serve an entry up to [`Clock::hit_lag`] (about
//! 1 ms, more on a machine so busy that a thread waits for a CPU) after its TTL
//! ([Precision](Clock#precision)); never before it. Their memory is
//! reclaimed by ordinary calls: each write reclaims its shard's expired entries and looks at
//! one other shard, and a read that meets an expired entry reclaims its shard. **Nothing runs
//! in the background** (no thread, no task) unless you turn on stale-while-revalidate or
//! refresh-ahead, whose refreshes are tasks, or autosave, one task per cache. Time comes from a [`Clock`]; tests use
//! [`Clock::mock`]. The one exception: while a cache with a TTL or a time-to-idle exists on
//! the default [`Clock::system`], one thread per process (`larder-clock`) refreshes the time
//! that hits read every millisecond ([the ticker thread](Clock#the-ticker-thread));
//! [`Clock::exact`] opts out.
//!
//! ## Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `macros` | yes | [`cached`] and [`invalidates`], the attribute macros |
//! | `tokio` | yes | `TokioSpawner`, the default spawner of background refreshes; batching (`BatchLoader`, `DataLoader`) |
//! | `codec` | yes | the [`codec`] module (`Codec`, `Postcard`) and `TypedStore` |
//! | `json` / `msgpack` | no | the `Json` / `MessagePack` codecs |
//! | `lz4` | no | lz4 compression of encoded values above 1 KiB |
//! | `redis` | no | `RedisStore` (implies `tokio`) |
//! | `redis-cluster` | no | `RedisStore::connect_cluster`: the same store on a Redis Cluster (implies `redis`) |
//! | `disk` | no | `DiskStore`: a store in one file on redb that survives restarts, with a size cap (implies `tokio`) |
//! | `memcached` | no | `MemcachedStore`: one or more Memcached 1.6+ servers (implies `tokio`) |
//! | `redis-tls` | no | `rediss://`: `RedisStore` over TLS with rustls (ring), `RedisStore::connect_tls` with your CA (implies `redis`) |
//! | `serde` | no | the `config` module: `CacheConfig` (a cache's and a tier's settings, durations as `"30s"`), `CacheConfig::from_env`; `Policy: Deserialize` |
//! | `toml` / `yaml` | no | `CacheConfig::from_toml` / `from_yaml` (imply `serde`) |
//! | `snapshot` | no | `Cache::save` / `restore`, `CacheBuilder::restore_from` / `autosave`: snapshots in a file (implies `codec` and `tokio`) |
//! | `test-util` | no | `test_util::conformance`: the `Store` conformance suite, for a store of your own |
//! | `agent` | no | the `agent` module: `ToolCache`, caching for AI agents' tool calls, with sessions and loop detection (implies `json` and `tokio`) |
//! | `mcp` | no | `agent::mcp::CachedServer`: caching for an `rmcp` Model Context Protocol tool server (implies `agent`) |
//! | `tracing` | no | `tracing` spans on loads (`larder.load`), refreshes (`larder.refresh`) and batch calls (`larder.batch`), with the cache's name, the key's hash, the outcome and the duration, and on every store operation (`larder.store`, with OpenTelemetry's attribute names: `db.system.name`, `db.operation.name`, `server.address`); events on load errors, a tier's breaker changes, L2 and lease timeouts and write-behind drops. Never a key or a value; a hit emits nothing |
//! | `metrics` | no | `larder::metrics`: every `Stats` and `TierStats` counter, and a load-duration histogram, through the `metrics` facade, published from the counters on demand or on an interval (implies `tokio`) |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), deny(clippy::panic))]
#![doc(test(attr(deny(warnings))))]

#[doc(hidden)]
pub mod __private;
#[cfg(feature = "agent")]
#[cfg_attr(docsrs, doc(cfg(feature = "agent")))]
pub mod agent;
pub mod batch;
mod cache;
mod cached_fn;
#[cfg(feature = "codec")]
pub mod codec;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod config;
mod engine;
mod equivalent;
mod error;
mod expiry;
mod flight;
mod hasher;
pub mod hooks;
mod humane;
mod listener;
mod load;
#[cfg(feature = "metrics")]
pub mod metrics;
mod observe;
mod policy;
mod slab;
#[cfg(feature = "snapshot")]
mod snapshot;
pub mod spawn;
mod stats;
pub mod store;
mod sync;
mod tags;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod thread_slot;
#[cfg(feature = "tier")]
pub mod tier;

pub use cache::{
    Cache, CacheBuilder, CloseMode, Computed, Entry, EntrySelector, Iter, Op, WarmupReport,
};
pub use cached_fn::CachedFn;
pub use equivalent::{Equivalent, KeyRef};
pub use error::{Error, ErrorKind, LoadError};
pub use expiry::{Clock, MockClock, Ttl};
pub use hasher::DefaultHashBuilder;
pub use listener::RemovalCause;
pub use policy::Policy;
#[cfg(feature = "snapshot")]
#[cfg_attr(docsrs, doc(cfg(feature = "snapshot")))]
pub use snapshot::{RestoreReport, SaveReport};
pub use stats::Stats;
pub use tags::Tag;

/// Caches an async function's results: a thin layer over [`Cache`]'s single-flight loading.
/// Call sites do not change.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
///
/// #[larder::cached(max_capacity = 1_000, ttl = Duration::from_secs(60))]
/// async fn user_name(id: u64) -> Option<String> {
///     // a slow lookup; concurrent calls with the same id run it once
///     (id != 0).then(|| format!("user {id}"))
/// }
///
/// assert_eq!(user_name(7).await.as_deref(), Some("user 7")); // loaded
/// assert_eq!(user_name(7).await.as_deref(), Some("user 7")); // cached
/// assert_eq!(user_name(0).await, None); // `None` is not cached
/// assert_eq!(user_name_cache().stats().hits, 1);
/// # }
/// ```
///
/// # Arguments
///
/// All are optional, and written as Rust, not as strings:
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `max_capacity = EXPR` | entries kept | 128, the default of async-lru's `maxsize` |
/// | `policy = EXPR` | a [`Policy`] | `Policy::S3Fifo` |
/// | `ttl = EXPR`, `jitter = EXPR`, `time_to_idle = EXPR` | `Duration`s, as on [`CacheBuilder`] | none |
/// | `key = EXPR` | the key, an expression over the arguments; they stay usable in the body, so clone what the expression moves | the arguments as a tuple; one argument as itself (a `&str` as a `String`). A hit builds no owned key: one argument is looked up as itself, two or three as a [`KeyRef`] of them (a hit on `(tenant: &str, name: &str)` allocates nothing); with `key = ..`, or four or more arguments, the key is built before the lookup |
/// | `skip(a, b)` | arguments left out of the default key | none |
/// | `name = "…"` | the cache's name | the function's |
/// | `cache = EXPR` | a [`Cache`] or a [`Tiered`](tier::Tiered) you built, such as a `static` `LazyLock` or a field reached through `self` (by value, by reference, or inside an `Arc`), instead of a generated one; the settings above then go on it | a generated cache |
/// | `store = EXPR` | a [`Store`](store::Store) to build a [`Tiered`](tier::Tiered) over, on the first call (the expression is evaluated then); `max_capacity`, `policy`, `jitter` and `time_to_idle` go on its L1, `ttl` on both tiers | none |
/// | `version = EXPR` | with `store`, the key layout's version ([`TieredBuilder::version`](tier::TieredBuilder::version)) | 1 |
///
/// # Tiers
///
/// Over a tier, a call reads L1, then L2, then runs the body, once per key at a time in a
/// process, and writes what it returns to both tiers ([`Tiered::get_with`]); the companions
/// below reach both tiers. Pass a tier you built with `cache = ..`, or let `store = ..` build
/// one over your store:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use larder::store::{MemoryStore, Store};
/// use larder::tier::Tiered;
/// use std::sync::LazyLock;
/// use std::time::Duration;
///
/// // In production, a `RedisStore` every instance shares.
/// static STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("app"));
/// static PRICES: LazyLock<Tiered<u64, u64>> =
///     LazyLock::new(|| Tiered::builder(Cache::new(1_000), STORE.clone()).scope("prices").build());
///
/// #[larder::cached(cache = PRICES)]
/// async fn price(item: u64) -> u64 {
///     item * 100 // a slow lookup
/// }
///
/// #[larder::cached(store = STORE.clone(), ttl = Duration::from_secs(60))]
/// async fn stock(item: u64) -> Option<u32> {
///     (item != 0).then_some(7)
/// }
///
/// #[larder::invalidates(price(item), stock(item))]
/// async fn restock(item: u64) {
///     let _ = item; // write to the database
/// }
///
/// assert_eq!(price(3).await, 300);
/// assert_eq!(stock(3).await, Some(7));
/// assert!(STORE.exists("prices/v1:3").await.unwrap()); // in L2, for every instance
/// assert!(STORE.exists("stock/v1:3").await.unwrap()); // `{name}/v{version}:{key}`
/// assert_eq!(stock_cache().stats().l2_misses, 1);
/// restock(3).await; // gone from both tiers
/// assert!(!STORE.exists("stock/v1:3").await.unwrap());
/// assert!(!price_contains(3).await);
/// # }
/// ```
///
/// - **Keys in L2.** The key is the arguments (one as itself, several as a tuple, a `&str` as
///   a `String`), or `key = ..`, encoded by [`TierKey`](tier::TierKey): strings, integers,
///   `bool`, `char`, `()` and tuples of them are keys; anything else is a compile error that
///   says so. With `store = ..`, each function's tier is [scoped](tier::TieredBuilder::scope)
///   by its name (or `name = ".."`): its entries are `{name}/v{version}:{key}` in the store's
///   namespace, so functions sharing one store never read each other's entries, unless they
///   are given the same `name`, on purpose. Methods of different types with the same name
///   sharing a store need a `name` each. A tier passed as `cache = ..` keeps its own layout.
/// - **Values** must be `serde`'s `Serialize` and `DeserializeOwned`.
/// - **`store = EXPR`** is evaluated in a sync context, once: a store that connects
///   (`RedisStore::connect(..).await`) is connected at startup and kept in a `static`
///   `OnceLock`, from which `EXPR` clones it. The tier is built on the first call of the
///   function or of a companion, so that `<name>_invalidate` and `<name>_invalidate_all`
///   reach what other processes stored.
/// - **`<name>_invalidate_all()`** on a tier clears the store's whole namespace, as
///   [`Tiered::clear`] does: other functions sharing that store lose their L2 entries too
///   (their L1 copies stay; nothing stale is served). Give a function a store of its own
///   where that matters.
/// - Other instances' L1 copies of an invalidated entry live on as [`Tiered`] describes
///   (until invalidations across instances reach them, or their L1 TTL ends).
///
/// [`Tiered::get_with`]: tier::Tiered::get_with
/// [`Tiered::clear`]: tier::Tiered::clear
/// [`Tiered`]: tier::Tiered
///
/// # Return types
///
/// - A plain `V` is cached.
/// - `Result<V, E>`: only `Ok` is cached. An error reaches every caller of that load and is
///   never cached. Each caller gets a clone, so `E` must be `Clone`.
/// - `Option<V>`: only `Some` is cached.
///
/// Concurrent calls with equal keys run the body once, through [`Cache::get_with`]'s
/// single-flight.
///
/// # Methods
///
/// On an async method in an `impl` block, `self` is **not** part of the key unless you put
/// it there, as in `key = (self.tenant, id)`. Every instance shares one cache: that is what
/// you want for a repository or a client, and wrong when instances answer differently.
/// async-lru warns about the same. Write `skip(self)` to say so explicitly.
///
/// # Companions
///
/// For `async fn user(id: u64) -> User`, the macro also writes the functions below. On a
/// method, they are associated functions, reached as `Self::user_…`.
///
/// | companion | does |
/// |---|---|
/// | `user_cache() -> &'static CachedFn` | the cache, with `stats()`, `len()` and `clear()`; with `store = …`, a [`&'static TieredFn`](tier::TieredFn) (`stats()`, `clear()`); not written with `cache = …`, since you hold that cache |
/// | `user_invalidate(id) -> bool` | removes the entry for these arguments (from both tiers); whether there was one (in L1) |
/// | `user_invalidate_all()` | removes every entry |
/// | `user_contains(id) -> bool` | whether an entry is cached (in either tier), without side effects on stats or recency |
/// | `user_refresh(id).await` | runs the body afresh, bypassing the cache (both tiers), and stores the result (async-cache's `use_cache=False`) |
/// | `user_prime(id, value)` | stores `value` for these arguments (warmup) |
///
/// The companions take the key's arguments (those not skipped), and `&self` if `key`,
/// `cache` or `store` uses it. On a generated cache they are sync. With `cache = ..` or
/// `store = ..` they are `async` (`user_invalidate(id).await`): a tier's L2 is remote, and
/// the macro cannot tell a `Cache` passed as `cache = ..` from a `Tiered`.
///
/// # Limits
///
/// - The function must be `async`, with named arguments, no type parameters and no
///   `impl Trait` arguments; lifetimes are fine. A method of a generic `impl<T>` block gets
///   one cache per `T`; its `_cache()` counts them together.
/// - The return shape is read from the signature's last path segment: `Result<..>` and
///   `Option<..>`, including `io::Result<T>`. A type alias with another name, such as
///   `type Res<T> = Result<T, E>`, is cached as a plain value, errors included: spell the
///   shape out.
/// - `Result<V, E>` needs `E: Clone`. `io::Error` and `anyhow::Error` are not `Clone`: wrap
///   them in an `Arc`. The cached value must be owned: `Option<String>`, not `Option<&str>`.
/// - An associated function without `self`, and a method of a trait `impl`, are not
///   supported, because their companions would be unreachable or would not be members of the
///   trait. Use a free function.
/// - Companions take the key's arguments by value or by reference (`impl Borrow<T>`), so
///   `#[invalidates(user(&name))]` keeps `name`.
/// - Calls made through the macro do not refresh in the background with
///   [`CacheBuilder::stale_while_revalidate`] or [`CacheBuilder::refresh_ahead`]: the body
///   borrows its arguments, so it cannot outlive the call.
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use larder_macros::cached;

/// Invalidates `#[cached]` functions' entries before a mutation's body runs, so that they are
/// gone even when the body fails (async-cache's write-through invalidators).
///
/// Name each target as a call with the cached function's key arguments, or as `all(function)`
/// for all its entries; several targets may be listed. A method is named `Self::method(..)`.
///
/// On an `async fn`, the invalidations are awaited, whatever the targets' caches: generated,
/// passed (`cache = ..`) or tiered (removed from both tiers; see [`cached`]'s "Tiers"). On a
/// function that is not async, only targets with a generated cache can be invalidated: the
/// companions of a `cache = ..` or `store = ..` function are async, and naming one there is a
/// compile error that says to make the function `async`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// #[larder::cached]
/// async fn balance(account: u64) -> i64 {
///     account as i64 * 100 // read from the database
/// }
///
/// #[larder::cached]
/// async fn statement_count() -> usize {
///     3
/// }
///
/// #[larder::invalidates(balance(account), all(statement_count))]
/// async fn deposit(account: u64, amount: i64) -> Result<(), String> {
///     if amount <= 0 {
///         return Err("nothing to deposit".into()); // still invalidated
///     }
///     Ok(()) // write to the database
/// }
///
/// balance(1).await;
/// assert!(balance_contains(1));
/// deposit(1, 50).await.unwrap();
/// assert!(!balance_contains(1));
/// # }
/// ```
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use larder_macros::invalidates;
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
