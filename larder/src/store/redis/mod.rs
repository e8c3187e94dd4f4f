//! [`RedisStore`]: a [`Store`](crate::store::Store) on Redis, through the redis crate's
//! `ConnectionManager` (one multiplexed connection that reconnects by itself), or on a Redis
//! Cluster (feature `redis-cluster`) through the same type.
//!
//! One file per role: `store.rs` (the type, connecting, settings, keys), `ops.rs` (its `Store`
//! operations, and the `MGET` its coalesced gets share), `connection.rs` (one server or a
//! cluster behind one connection type), `link.rs` (that connection, shared by the store's
//! handles and replaced after a run of timeouts), `route.rs` (which nodes `clear` scans), `wire.rs`
//! (TTLs, globs, errors and cluster answers as Redis speaks them), `tls.rs` (a CA's
//! client for `rediss://`, feature `redis-tls`), `tracking/` (watching the
//! store's keys through Redis's client-side caching, on connections of its own). Concurrent `get`s are
//! coalesced into `MGET`s (`store/coalesce.rs`), so many tasks doing single-key reads get
//! pipelined throughput.

mod connection;
mod link;
mod ops;
mod route;
mod store;
#[cfg(feature = "redis-tls")]
mod tls;
mod tracking;
mod wire;

pub use store::RedisStore;
