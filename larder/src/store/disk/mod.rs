//! [`DiskStore`]: a [`Store`](super::Store) in one file, on redb, that survives restarts.
//!
//! One file per role, each using only the files named after it: `ops.rs` (its `Store`
//! implementation), `store.rs` (the async handle, its builder and settings, opening the file
//! with its background sweep), `blocking.rs` (running the blocking half on tokio), `db.rs`
//! (the blocking half: one transaction per operation), `evict.rs` (the size cap),
//! `writer.rs` (one write transaction's bookkeeping), `recency.rs` (the in-memory recency
//! that eviction reads), `tables.rs` (the file's layout and records).

mod blocking;
mod db;
mod evict;
mod ops;
mod recency;
mod store;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stall;
mod writer;

pub use db::DiskStats;
pub use store::{DiskStore, DiskStoreBuilder};
