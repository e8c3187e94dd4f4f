//! [`MemcachedStore`]: a [`Store`](super::Store) on one or more Memcached servers, through
//! the async-memcached crate's meta commands.
//!
//! One file per role: `store.rs` (the type, connecting, settings, and what the operations
//! share), `ops.rs` (its `Store` implementation and the multi-get its coalesced gets share),
//! `counter.rs` (signed counters for `increment`), `pool.rs` (connections per server),
//! `wire.rs` (the commands and their answers), `route.rs` (which server owns a key),
//! `key.rs` (key encoding), `ttl.rs` (memcached's expiry times), `generation.rs` (namespace
//! generations, for `clear`).

mod counter;
mod generation;
mod key;
mod ops;
mod pool;
mod route;
mod store;
mod ttl;
mod wire;

pub use store::MemcachedStore;
