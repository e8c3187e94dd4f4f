//! Watching a [`RedisStore`](super::RedisStore)'s keys for writes by anyone
//! ([`Store::watch`](crate::store::Store::watch)), through Redis's server-assisted
//! client-side caching: `CLIENT TRACKING ON BCAST PREFIX <namespace>:<prefix>`, whose
//! invalidation messages arrive as RESP3 push messages.
//!
//! # What the redis crate gives, and what is built here
//!
//! Used from the redis crate: RESP3 connections ([`redis::ProtocolVersion::RESP3`]) and their
//! push messages, handed to a callback (`AsyncConnectionConfig::set_push_sender`) on the
//! connection's own task, already parsed (`PushKind::Invalidate` with the keys, or a null
//! after `FLUSHALL`/`FLUSHDB`), plus `PushKind::Disconnection`, which the crate sends when
//! the connection dies; and `CLUSTER SLOTS` parsing as `clear` does it (`wire::primaries`).
//!
//! Not used: the crate's experimental `caching` module (feature `cache-aio`). It is a cache
//! of command replies inside the connection: it turns on tracking in the default mode (the
//! server remembers every key this connection read, and reports those only), optionally
//! `OPTIN`, and drops its own entries on invalidation, without telling anyone. We need the
//! opposite: broadcast mode with a prefix (every write under the namespace is reported,
//! whoever reads what, so the server keeps no per-key table for us and the L1 need not read
//! through this connection), on a connection that reads nothing, with the reports handed to
//! our cache. The crate has no option for `BCAST`/`PREFIX` nor a way to see its
//! invalidations. Neither its `ConnectionManager`: it reconnects by itself, but it would not
//! turn tracking back on, nor tell us that it reconnected, which is when messages may have
//! been lost. So this module keeps its own plain connections.
//!
//! Built here: the tracking connection per node (`node.rs`), reading its pushes (`push.rs`),
//! a bounded queue to the sink that degrades to one `All` (`outbox.rs`), a supervisor that
//! health-checks with `PING`, reconnects with bounded, jittered backoff, turns tracking on
//! again and follows a cluster's primaries (`supervisor.rs`, `topology.rs`), and the start
//! and stop (`start.rs`).
//!
//! # RESP3 push, not RESP2 with `REDIRECT`
//!
//! With RESP2 the tracking connection cannot receive the messages itself: they go, through
//! `REDIRECT <client id>`, to a second connection subscribed to `__redis__:invalidate`. That
//! is two connections per node that fail apart, a client id to learn and re-learn after each
//! reconnect, and a broken redirect reported only as a push (RESP3) or not at all. With
//! RESP3 one connection carries the tracking and its messages, its death ends both, and the
//! redis crate already routes its pushes. The cost: the server must speak RESP3 (Redis 6 or
//! later, which `CLIENT TRACKING` needs anyway).
//!
//! # What is promised
//!
//! The first report is `All`, queued once tracking is on on every node. While
//! [`Watch::is_connected`](crate::store::Watch::is_connected), every change to a key
//! under the prefix (a write or delete by any client, on any node, an expiry, an eviction)
//! reaches the sink within one push delivery: Redis queues the message before it answers
//! the write. Each connection's loss marks the watch disconnected at once if the connection
//! failed loudly, or within [`HEALTH_EVERY`](supervisor::HEALTH_EVERY) plus
//! [`PING_TIMEOUT`](supervisor::PING_TIMEOUT) (3 s) if it went silent. After a reconnect, and
//! on a cluster after a new primary is found (within
//! [`REFRESH_EVERY`](supervisor::REFRESH_EVERY), 5 s, while all connections are up; at once
//! when one is lost), the sink gets `All` before the watch reads connected again. A watch
//! connection reads and writes no keys, and never shares the store's data connection.
//! Redis's tracking ignores database numbers: writes to the same key name in another
//! database of the same server are reported too (a harmless extra invalidation).

mod node;
mod outbox;
mod push;
mod start;
mod supervisor;
mod topology;

pub(super) use start::{Closing, start};
