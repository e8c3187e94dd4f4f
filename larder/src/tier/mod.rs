//! Tiers: an in-process L1 [`Cache`](crate::Cache) over an L2
//! [`Store`](crate::store::Store) that several processes share, as one cache.
//!
//! [`Tiered`] reads L1, then L2, then the loader, with one L2 read and one load per key at a
//! time in a process (and, with [`TieredBuilder::distributed_lock`], across processes). L2
//! hits fill L1 for no longer than they have left in L2. Writes go to L2 and L1, through or
//! behind. An L2 failure is a miss, counted, never an error, and a circuit breaker keeps a
//! dead L2 from adding its timeout to every call. [`TierStats`] counts what each tier did.
//!
//! # What instances promise each other
//!
//! Over a store that can watch its keys (Redis, a server or a cluster): once a write to L2
//! (an `insert`, a `remove`, a `clear`, an `invalidate_tag`, or any client's write under the
//! tier's prefix) is acknowledged, a connected instance stops serving the old value from its
//! L1 within one push message's delivery (well under a millisecond on loopback). A read or
//! load in flight when that message arrives returns its result to its callers, but L1 does
//! not keep it. While an instance's watch is disconnected it serves its L1 copies within
//! their L1 TTL, and it clears L1 when the watch reconnects, since messages may have been
//! lost meanwhile. Over a store that cannot watch (Memcached), another instance's write is
//! seen once the L1 copy's TTL ends: choose L1's TTL as the staleness you accept.
//!
//! # What is in L2
//!
//! Inside the store's namespace, a tier of version `n` writes:
//! - `v{n}:{key}`: an entry, its key encoded by [`TierKey`]; the value is a header (format
//!   byte, expiry in Unix milliseconds, when its load started in Unix microseconds, its
//!   tags) then the codec's bytes;
//! - `v{n}!tag:{tag}`: when the tag was last invalidated, in Unix microseconds; an entry with
//!   the tag whose load started no later is stale (so instances' clocks should agree);
//! - `v{n}!lease:{key}`: the lease of a load in progress, with
//!   [`distributed_lock`](TieredBuilder::distributed_lock).
//!
//! A tier with a [`scope`](TieredBuilder::scope) `s` writes the same keys under `s/v{n}`
//! instead of `v{n}`: `s/v{n}:{key}`, and so on. `#[cached(store = ..)]` scopes each
//! function's tier by its name.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use larder::Cache;
//! use larder::store::MemoryStore;
//! use larder::tier::Tiered;
//!
//! let store = MemoryStore::new("profiles"); // a RedisStore shared by every instance
//! let tiered: Tiered<u64, String> = Tiered::builder(Cache::new(10_000), store).build();
//! assert_eq!(tiered.get_with(1, async { "ada".to_string() }).await, "ada");
//! # }
//! ```

mod breaker;
mod builder;
mod codec;
mod entry;
mod generation;
mod key;
mod l2;
mod lease;
mod load;
mod many;
mod pending;
mod stats;
mod tiered;
mod tiered_fn;
mod watch;
mod write_behind;

pub use breaker::BreakerState;
pub use builder::TieredBuilder;
pub use key::TierKey;
pub use stats::TierStats;
pub use tiered::Tiered;
pub use tiered_fn::TieredFn;
