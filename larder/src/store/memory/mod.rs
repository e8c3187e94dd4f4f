//! [`MemoryStore`]: a [`Store`](super::Store) in this process's memory, on larder's own
//! engine; no server.
//!
//! `store.rs`: the type and its constructors. `ops.rs`: its `Store` implementation.

mod ops;
mod store;

pub use store::MemoryStore;
