//! The connection a [`RedisStore`](super::RedisStore) talks through: one server's
//! `ConnectionManager`, or a Redis Cluster's connection (feature `redis-cluster`). Both
//! reconnect by themselves when their connection reports an error; the cluster one also
//! follows slots that move between nodes. A [`Connector`] makes one again, for a connection
//! that reports nothing and answers nothing (`link.rs`).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, Value};

use super::wire::mapped;
use crate::error::Error;

/// What a connection is made from, kept so that the store can make it again.
#[derive(Clone)]
pub(super) enum Connector {
    /// One server; `timeout` bounds each connection attempt.
    /// (Boxed: with TLS a `Client` is large.)
    Server {
        client: Box<Client>,
        timeout: Duration,
    },
    /// A cluster; `seeds` are the nodes given to connect, which a watch asks for the
    /// cluster's primaries (`tracking/`).
    #[cfg(feature = "redis-cluster")]
    Cluster {
        client: Box<redis::cluster::ClusterClient>,
        seeds: Vec<redis::ConnectionInfo>,
    },
    /// The user's own `ConnectionManager`, which reconnects by itself: "connecting anew"
    /// hands out the same manager, and a watch has nothing to open its connections from.
    Given(ConnectionManager),
}

impl Connector {
    /// A new connection, through the same checks as the first.
    pub(super) async fn connect(&self) -> Result<Connection, Error> {
        match self {
            Connector::Server { client, timeout } => {
                Connection::server(Client::clone(client), *timeout).await
            }
            #[cfg(feature = "redis-cluster")]
            Connector::Cluster { client, .. } => mapped(client.get_async_connection())
                .await
                .map(Connection::Cluster),
            Connector::Given(manager) => Ok(Connection::Server(manager.clone())),
        }
    }

    /// Whether a watch can be opened from it: not from a user's own manager, whose
    /// connection details larder never sees.
    pub(super) fn can_watch(&self) -> bool {
        !matches!(self, Connector::Given(_))
    }

    /// Whether it connects to a cluster, where keys may live on several nodes: then a
    /// pipeline must not mix slots, and `SCAN` has to visit every primary.
    pub(super) fn is_cluster(&self) -> bool {
        match self {
            Connector::Server { .. } | Connector::Given(_) => false,
            #[cfg(feature = "redis-cluster")]
            Connector::Cluster { .. } => true,
        }
    }
}

#[derive(Clone)]
pub(super) enum Connection {
    Server(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Connects to one server, reporting a refusal at once: `Config` for credentials it
    /// refuses, `Backend` for a refused port or an unknown host (`wire::backend`).
    ///
    /// The manager retries its first connection with backoff (six retries, about 6 s)
    /// whatever the error, so on its own every failure would end in the store's timeout.
    /// Hence one plain connection and a `PING` first (Redis answers `WRONGPASS` to a wrong
    /// password during the handshake, `NOAUTH` to a `PING` without one); only once the
    /// server has accepted those does the manager connect, keeping its retries for the
    /// reconnections later. The cost is one more connection, while connecting only.
    /// `timeout` bounds each connection attempt; the caller bounds the whole.
    pub(super) async fn server(client: Client, timeout: Duration) -> Result<Self, Error> {
        let probe = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(None);
        let mut conn = mapped(client.get_multiplexed_async_connection_with_config(&probe)).await?;
        mapped(redis::cmd("PING").query_async::<()>(&mut conn)).await?;
        drop(conn);
        // The store's timeout is the only response timeout (the crate's default is 500 ms,
        // which would cut short any call given longer, or `None`).
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(Some(timeout));
        let manager = mapped(ConnectionManager::new_with_config(client, config)).await?;
        Ok(Connection::Server(manager))
    }

    /// Sends `cmd` where `routing` says: on a cluster, to the nodes it names; one server is
    /// every node.
    #[cfg(feature = "redis-cluster")]
    pub(super) async fn route(
        &mut self,
        cmd: Cmd,
        routing: redis::cluster_routing::RoutingInfo,
    ) -> Result<Value, Error> {
        match self {
            Connection::Server(c) => mapped(cmd.query_async(c)).await,
            Connection::Cluster(c) => mapped(c.route_command(cmd, routing)).await,
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
