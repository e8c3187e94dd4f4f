//! [`DiskStore`]: a [`Store`](super::Store) in one file, on redb, that survives restarts.
//!
//! One file per role: `store.rs` (the async handle and its `Store` impl), `builder.rs`
//! (settings, opening, the background sweep), `db.rs` (the blocking half: one transaction per
//! operation), `tables.rs` (the file's layout and records), `writer.rs` (one write
//! transaction's bookkeeping), `evict.rs` (the size cap), `recency.rs` (the in-memory recency
//! that eviction reads).

mod builder;
mod db;
mod evict;
mod recency;
mod store;
mod tables;
#[cfg(test)]
mod tests;
mod writer;

pub use builder::DiskStoreBuilder;
pub use db::DiskStats;
pub use store::DiskStore;
