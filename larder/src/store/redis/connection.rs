//! The connection a [`RedisStore`](super::RedisStore) talks through: one server's
//! `ConnectionManager`, or a Redis Cluster's connection (feature `redis-cluster`). Both
//! reconnect by themselves; the cluster one also follows slots that move between nodes.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

#[derive(Clone)]
pub(super) enum Connection {
    Server(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Whether keys may live on several nodes: then a pipeline must not mix slots, and
    /// `SCAN` has to visit every primary.
    pub(super) fn is_cluster(&self) -> bool {
        match self {
            Connection::Server(_) => false,
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(_) => true,
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Server(c) => c.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Server(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Server(c) => c.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// The `(host, port)` of every primary of the cluster, from `CLUSTER SLOTS` (each entry:
/// first slot, last slot, then the primary as `[host, port, id, …]`, then its replicas).
#[cfg(feature = "redis-cluster")]
pub(super) fn primaries(slots: &Value) -> Option<Vec<(String, u16)>> {
    let Value::Array(ranges) = slots else {
        return None;
    };
    let mut out: Vec<(String, u16)> = Vec::new();
    for range in ranges {
        let Value::Array(parts) = range else {
            return None;
        };
        let Some(Value::Array(primary)) = parts.get(2) else {
            return None;
        };
        let host = match primary.first()? {
            Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
            Value::SimpleString(s) => s.clone(),
            _ => return None,
        };
        let port = match primary.get(1)? {
            Value::Int(port) => u16::try_from(*port).ok()?,
            _ => return None,
        };
        if !out.iter().any(|(h, p)| *h == host && *p == port) {
            out.push((host, port));
        }
    }
    Some(out)
}
