//! Where `clear`'s `SCAN`s go: the one server, or every primary of a cluster (found by asking
//! the primaries for `CLUSTER SLOTS`), one page at a time. Other commands are routed by the
//! redis crate.

use super::store::RedisStore;
#[cfg(feature = "redis-cluster")]
use super::wire::primaries;
use crate::error::Error;
#[cfg(feature = "redis-cluster")]
use crate::error::ErrorKind;

/// Keys `clear` asks `SCAN` for at a time.
const SCAN_COUNT: usize = 1_000;

/// A node `SCAN` must visit: `None` for the one server, a primary's `(host, port)` on a
/// cluster.
pub(super) type Node = Option<(String, u16)>;

impl RedisStore {
    /// The nodes holding keys: the server, or every primary of the cluster.
    pub(super) async fn scan_nodes(&self) -> Result<Vec<Node>, Error> {
        #[cfg(feature = "redis-cluster")]
        if self.inner.link.is_cluster() {
            use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
            // Asked of every primary, so that each answer comes with the address of the
            // node that gave it: what an empty or NULL host in it stands for.
            let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
            let ask = redis::cmd("CLUSTER").arg("SLOTS").clone();
            let answers = self
                .on_link(|mut conn| async move { conn.route(ask, routing).await })
                .await?;
            let primaries = primaries(&answers).ok_or_else(|| {
                Error::new(
                    ErrorKind::Backend,
                    "CLUSTER SLOTS answered in an unknown shape",
                )
            })?;
            return Ok(primaries.into_iter().map(Some).collect());
        }
        Ok(vec![None])
    }

    /// One `SCAN` page of `node`: the next cursor and the keys matching `pattern` (as bytes:
    /// another client may have written one that is not UTF-8).
    pub(super) async fn scan_page(
        &self,
        node: Option<&(String, u16)>,
        cursor: u64,
        pattern: &str,
    ) -> Result<(u64, Vec<Vec<u8>>), Error> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        #[cfg(feature = "redis-cluster")]
        if let Some((host, port)) = node {
            use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                host: host.clone(),
                port: *port,
            });
            let page = self
                .on_link(|mut conn| async move { conn.route(cmd, routing).await })
                .await?;
            return redis::from_redis_value(page).map_err(|e| {
                Error::with_source(ErrorKind::Backend, "SCAN answered in an unknown shape", e)
            });
        }
        #[cfg(not(feature = "redis-cluster"))]
        let _ = node; // one server: always `None`
        self.query(&cmd).await
    }
}
