//! Tags: group invalidation for the in-process cache.
//!
//! An entry may carry [`Tag`]s; `Cache::invalidate_tag` removes every entry with a tag. The
//! cache keeps a side index, never read by lookups: `index.rs` holds it, sharded by key hash
//! (`shard.rs`: each tagged key with its tags, each tag with its keys), with the epochs of
//! `epochs.rs`, which keep a tagged load's value out of the cache when one of its tags was
//! invalidated while it ran. The engine keeps the index in step with its entries; this module
//! knows nothing of the engine.

mod epochs;
mod index;
mod shard;
mod tag;

pub(crate) use epochs::LoadTicket;
pub(crate) use index::TagIndex;
pub(crate) use shard::HashedTags;
pub use tag::Tag;

#[cfg(test)]
mod tests;
#[cfg(all(test, larder_shuttle))]
mod tests_shuttle;
