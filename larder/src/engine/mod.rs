//! The in-memory engine: a sharded concurrent map with eviction and expiry.
//!
//! No async, no I/O, no runtime: `Cache` builds loading on top. Start at `sharded.rs` (the
//! sharded map and its maintenance), then `shard.rs` (one shard's operations under its lock);
//! `tagged.rs` keeps the tag index (`crate::tags`) in step with the entries; `compute.rs`
//! runs a caller's read-modify-write under a shard's lock (the entry API).

mod compute;
mod settings;
mod shard;
mod sharded;
mod tagged;
mod timers;

pub(crate) use compute::{Done, Write};
pub(crate) use settings::{MAX_SHARDS, Settings, Weigher, shard_count};
pub(crate) use shard::Found;
pub(crate) use sharded::{Engine, Prepared};

#[cfg(test)]
mod tests;
#[cfg(all(test, larder_shuttle))]
mod tests_shuttle;
