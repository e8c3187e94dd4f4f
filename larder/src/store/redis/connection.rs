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

/// The `(host, port)` of every primary of the cluster, from `CLUSTER SLOTS` asked of every
/// primary: `answers` maps each node's address (`host:port`, as the redis crate gives the
/// answers of a command sent to several nodes) to its answer.
///
/// Each entry of an answer is the first slot, the last, then the primary as
/// `[host, port, id, …]`, then its replicas (ignored). The addresses are read as the redis
/// crate reads them, so that each is one it holds a connection to: an empty host, NULL or a
/// wildcard (`0.0.0.0`, `::`) stands for the node that answered (a node that does not know
/// its own address, as in a cluster of one node, or `cluster-preferred-endpoint-type
/// unknown-endpoint`), and a node whose host is `?` (unknown) is passed over for the next.
/// The union over the answers, so that a primary one node does not know of yet is scanned
/// too (or, if the crate holds no connection to it yet, `clear` fails rather than miss its
/// keys). `None` for an answer of another shape (an error from a node included), or a range
/// without any node to reach.
#[cfg(feature = "redis-cluster")]
pub(super) fn primaries(answers: &Value) -> Option<Vec<(String, u16)>> {
    let Value::Map(answers) = answers else {
        return None;
    };
    let mut out: Vec<(String, u16)> = Vec::new();
    for (address, slots) in answers {
        let address = text(address)?;
        let (answering, _) = address.rsplit_once(':')?;
        let Value::Array(ranges) = slots else {
            return None;
        };
        for range in ranges {
            let Value::Array(parts) = range else {
                return None;
            };
            let primary = parts
                .get(2..)?
                .iter()
                .find_map(|node| node_address(node, answering))?;
            if !out.contains(&primary) {
                out.push(primary);
            }
        }
    }
    Some(out)
}

/// A `[host, port, …]` node of `CLUSTER SLOTS` as an address (see [`primaries`]).
#[cfg(feature = "redis-cluster")]
fn node_address(node: &Value, answering: &str) -> Option<(String, u16)> {
    let Value::Array(node) = node else {
        return None;
    };
    let host = match node.first()? {
        Value::Nil => answering.to_string(),
        host => match text(host)? {
            host if host.is_empty() || host == "0.0.0.0" || host == "::" => answering.to_string(),
            host if host == "?" => return None,
            host => host,
        },
    };
    let port = match node.get(1)? {
        Value::Int(port) => u16::try_from(*port).ok()?,
        _ => return None,
    };
    Some((host, port))
}

#[cfg(feature = "redis-cluster")]
fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(all(test, feature = "redis-cluster"))]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn node(host: Value, port: i64) -> Value {
        Value::Array(vec![host, Value::Int(port), bulk("id")])
    }

    fn range(first: i64, last: i64, nodes: Vec<Value>) -> Value {
        let mut parts = vec![Value::Int(first), Value::Int(last)];
        parts.extend(nodes);
        Value::Array(parts)
    }

    fn answers(answers: Vec<(&str, Vec<Value>)>) -> Value {
        Value::Map(
            answers
                .into_iter()
                .map(|(address, ranges)| (bulk(address), Value::Array(ranges)))
                .collect(),
        )
    }

    fn addr(host: &str, port: u16) -> (String, u16) {
        (host.to_string(), port)
    }

    #[test]
    fn primaries_only_each_once_by_host_name_or_ip() {
        let slots = vec![
            range(
                0,
                99,
                vec![node(bulk("redis-a"), 7000), node(bulk("r1"), 7100)],
            ),
            range(100, 199, vec![node(bulk("10.0.0.2"), 7001)]),
            range(200, 299, vec![node(bulk("redis-a"), 7000)]),
        ];
        let got = primaries(&answers(vec![("redis-a:7000", slots)]));
        assert_eq!(
            got,
            Some(vec![addr("redis-a", 7000), addr("10.0.0.2", 7001)])
        );
    }

    #[test]
    fn an_empty_null_or_wildcard_host_is_the_answering_node() {
        let got = primaries(&answers(vec![
            (
                "127.0.0.1:7000",
                vec![range(0, 9, vec![node(bulk(""), 7000)])],
            ),
            (
                "127.0.0.1:7001",
                vec![range(10, 19, vec![node(Value::Nil, 7001)])],
            ),
            (
                "::1:7002",
                vec![range(20, 29, vec![node(bulk("0.0.0.0"), 7002)])],
            ),
        ]));
        assert_eq!(
            got,
            Some(vec![
                addr("127.0.0.1", 7000),
                addr("127.0.0.1", 7001),
                addr("::1", 7002)
            ])
        );
    }

    #[test]
    fn an_unknown_host_is_passed_over_for_the_next_node() {
        let slots = vec![range(
            0,
            9,
            vec![node(bulk("?"), 7000), node(bulk("b"), 7100)],
        )];
        let got = primaries(&answers(vec![("a:7000", slots)]));
        assert_eq!(got, Some(vec![addr("b", 7100)]));
        let alone = vec![range(0, 9, vec![node(bulk("?"), 7000)])];
        assert_eq!(primaries(&answers(vec![("a:7000", alone)])), None);
    }

    #[test]
    fn the_union_of_every_answer() {
        let got = primaries(&answers(vec![
            ("a:1", vec![range(0, 9, vec![node(bulk("a"), 1)])]),
            (
                "b:2",
                vec![
                    range(0, 9, vec![node(bulk("a"), 1)]),
                    range(10, 19, vec![node(bulk("c"), 3)]),
                ],
            ),
        ]));
        assert_eq!(got, Some(vec![addr("a", 1), addr("c", 3)]));
    }

    #[test]
    fn other_shapes_and_node_errors_are_none_not_a_panic() {
        for answer in [
            Value::Nil,
            Value::Array(vec![]),
            answers(vec![("no-port", vec![])]),
            Value::Map(vec![(bulk("a:1"), Value::Int(0))]), // not ranges (as a node's error)
            answers(vec![("a:1", vec![Value::Int(3)])]),
            answers(vec![("a:1", vec![range(0, 9, vec![])])]),
            answers(vec![(
                "a:1",
                vec![range(0, 9, vec![node(bulk("a"), 70_000)])],
            )]),
            answers(vec![(
                "a:1",
                vec![range(0, 9, vec![Value::Array(vec![bulk("a")])])],
            )]),
        ] {
            assert_eq!(primaries(&answer), None, "{answer:?}");
        }
    }
}
