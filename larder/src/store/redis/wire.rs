//! What goes over the wire to Redis and comes back, apart from the store: TTLs as `PX`
//! milliseconds, the namespace as a `SCAN MATCH` glob, the redis crate's errors as ours, and
//! the answer to `CLUSTER SLOTS`.

use std::future::Future;
use std::time::Duration;

#[cfg(feature = "redis-cluster")]
use redis::Value;

use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::store::remote::lifetime;

/// The longest TTL sent, in ms (about 146 million years): Redis refuses one that overflows
/// when added to its clock.
pub(super) const MAX_TTL_MS: u64 = i64::MAX as u64 / 2;

/// The `PX` a value is stored with: `None` for no expiry, `Some(0)` for already expired;
/// whole milliseconds rounded up, so a TTL under a millisecond is one, never zero (which
/// would delete the key), and capped at [`MAX_TTL_MS`].
pub(super) fn ttl_millis(ttl: Ttl, default: Option<Duration>) -> Option<u64> {
    let d = lifetime(ttl, default)?;
    let ms = d.as_nanos().div_ceil(1_000_000);
    Some(u64::try_from(ms).map_or(MAX_TTL_MS, |ms| ms.min(MAX_TTL_MS)))
}

/// `op`, a call of the redis crate, with its errors mapped to ours.
pub(super) async fn mapped<T>(op: impl Future<Output = redis::RedisResult<T>>) -> Result<T, Error> {
    op.await.map_err(backend)
}

/// Our error for one of the redis crate's: credentials the server refused are the caller's
/// settings to fix (`Config`), not a failing server.
pub(super) fn backend(error: redis::RedisError) -> Error {
    if refused_credentials(&error) {
        return Error::with_source(
            ErrorKind::Config,
            "Redis refused the credentials (a wrong password or user, or none given)",
            error,
        );
    }
    #[cfg(feature = "redis-tls")]
    if super::tls::refused_certificate(&error) {
        return Error::with_source(
            ErrorKind::Config,
            "the Redis server's TLS certificate is not trusted (not signed by a CA given, or not for this host)",
            error,
        );
    }
    if error.is_timeout() {
        // The crate's own connection timeout.
        return Error::with_source(ErrorKind::Timeout, "Redis did not answer in time", error);
    }
    Error::with_source(ErrorKind::Backend, "Redis failed", error)
}

/// Whether the server refused to authenticate: a failed `AUTH`/`HELLO` during the handshake
/// (`WRONGPASS`), or a command refused for want of one (`NOAUTH`).
fn refused_credentials(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// `namespace` as a literal in a `SCAN MATCH` glob.
pub(super) fn glob_escape(namespace: &str) -> String {
    let mut out = String::with_capacity(namespace.len());
    for c in namespace.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_become_whole_milliseconds_rounded_up_and_capped() {
        let after = |d| ttl_millis(Ttl::After(d), None);
        assert_eq!(after(Duration::ZERO), Some(0), "already expired");
        assert_eq!(
            after(Duration::from_micros(1)),
            Some(1),
            "never rounded to zero"
        );
        assert_eq!(after(Duration::from_micros(1_500)), Some(2));
        assert_eq!(after(Duration::from_secs(60)), Some(60_000));
        assert_eq!(after(Duration::MAX), Some(MAX_TTL_MS));
        assert_eq!(ttl_millis(Ttl::Never, None), None);
        assert_eq!(
            ttl_millis(Ttl::Default, None),
            None,
            "no default: no expiry"
        );
        let default = Some(Duration::from_secs(2));
        assert_eq!(ttl_millis(Ttl::Default, default), Some(2_000));
    }

    #[cfg(feature = "redis-cluster")]
    mod cluster_slots {
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
}
