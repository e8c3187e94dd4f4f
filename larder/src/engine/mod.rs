//! The in-memory engine: a sharded concurrent map with eviction and expiry.
//!
//! No async, no I/O, no runtime: `Cache` builds loading on top. Start at `sharded.rs` (the
//! sharded map and its maintenance), then `shard.rs` (one shard's operations under its lock).

mod entry;
mod settings;
mod shard;
mod sharded;
mod slab;
mod timers;

pub(crate) use entry::{Entry, Idx, ListId, NIL};
pub(crate) use settings::{Settings, Weigher};
pub(crate) use shard::Found;
pub(crate) use sharded::Engine;
pub(crate) use slab::Slab;

#[cfg(test)]
mod tests;
#[cfg(all(test, larder_shuttle))]
mod tests_shuttle;
