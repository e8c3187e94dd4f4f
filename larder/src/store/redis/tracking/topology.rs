//! Where a watch connects: the store's one server, or every primary of its cluster, found by
//! asking a node for `CLUSTER SLOTS` (read as `clear` reads it, `wire::primaries`).

use redis::ConnectionInfo;
#[cfg(feature = "redis-cluster")]
use redis::{ConnectionAddr, Value, aio::MultiplexedConnection};

use super::super::connection::Connector;
#[cfg(feature = "redis-cluster")]
use super::super::wire::primaries;
#[cfg(feature = "redis-cluster")]
use super::node::ask;
#[cfg(feature = "redis-cluster")]
use crate::error::{Error, ErrorKind};

/// What the store connects to, as the watch needs it.
pub(super) enum Target {
    /// One server: the watch has one connection, to it.
    Server(Box<ConnectionInfo>),
    /// A cluster, known at first by the nodes given to connect: the watch has one connection
    /// per primary, and asks the nodes which they are.
    #[cfg(feature = "redis-cluster")]
    Cluster { seeds: Vec<ConnectionInfo> },
}

impl Target {
    /// The target of a store connected by `connector`; `None` for a user's own connection
    /// manager, whose connection details larder never sees.
    pub(super) fn of(connector: &Connector) -> Option<Self> {
        match connector {
            Connector::Server { client, .. } => Some(Target::Server(Box::new(
                client.get_connection_info().clone(),
            ))),
            #[cfg(feature = "redis-cluster")]
            Connector::Cluster { seeds, .. } => Some(Target::Cluster {
                seeds: seeds.clone(),
            }),
            Connector::Given(_) => None,
        }
    }

    /// Whether it is a cluster, whose primaries may change.
    pub(super) fn is_cluster(&self) -> bool {
        match self {
            Target::Server(_) => false,
            #[cfg(feature = "redis-cluster")]
            Target::Cluster { .. } => true,
        }
    }
}

/// A node's name, `host:port`, as the redis crate writes an address (and as `CLUSTER SLOTS`
/// is read into).
pub(super) fn name(info: &ConnectionInfo) -> String {
    info.addr().to_string()
}

/// How to connect to the primary at `host:port`: as to `template` (a node given to connect:
/// its credentials, database, TLS), at that address.
#[cfg(feature = "redis-cluster")]
pub(super) fn node_info(template: &ConnectionInfo, host: &str, port: u16) -> ConnectionInfo {
    let host = host.to_string();
    let addr = match template.addr().clone() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure,
            tls_params,
        },
        _ => ConnectionAddr::Tcp(host, port),
    };
    template.clone().set_addr(addr)
}

/// The cluster's primaries as `(host, port)`, asked of the node named `answering` over
/// `conn`, within `limit`.
///
/// # Errors
///
/// The node's failure; `Backend` for an answer of another shape or without any primary (a
/// cluster with no slots assigned yet).
#[cfg(feature = "redis-cluster")]
pub(super) async fn cluster_primaries(
    conn: &mut MultiplexedConnection,
    answering: &str,
    limit: std::time::Duration,
) -> Result<Vec<(String, u16)>, Error> {
    let answer = ask(conn, redis::cmd("CLUSTER").arg("SLOTS"), limit).await?;
    // In the shape of a command's answers from several nodes, which `primaries` reads.
    let answers = Value::Map(vec![(
        Value::BulkString(answering.as_bytes().to_vec()),
        answer,
    )]);
    match primaries(&answers) {
        Some(found) if !found.is_empty() => Ok(found),
        _ => Err(Error::new(
            ErrorKind::Backend,
            "CLUSTER SLOTS named no primary, or answered in an unknown shape",
        )),
    }
}

#[cfg(all(test, feature = "redis-cluster"))]
mod tests {
    use super::*;
    use redis::IntoConnectionInfo;

    #[test]
    fn a_primary_is_reached_as_the_node_given_to_connect_at_its_own_address() {
        let template = "redis://:secret@10.0.0.1:7000/0"
            .into_connection_info()
            .unwrap();
        let info = node_info(&template, "10.0.0.9", 7005);
        assert_eq!(name(&info), "10.0.0.9:7005");
        assert_eq!(info.redis_settings().password(), Some("secret"));
    }
}
