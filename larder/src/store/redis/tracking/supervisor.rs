//! The task that keeps a watch's connections up: it checks them, reconnects them with
//! bounded backoff, follows a cluster's primaries, and queues the `All` that marks the watch
//! connected again.
//!
//! A connection is lost when its own task says so (the redis crate's `Disconnection` push, at
//! once), or when a `PING` gets no answer within [`PING_TIMEOUT`] (one is sent every
//! [`HEALTH_EVERY`] on each connection: this catches a connection that went silent without
//! an error, such as one black-holed by the network). Either marks the watch lost at once.
//! Then, until every node is tracked again: on a cluster, ask for the primaries; connect to
//! every node without a connection (all at once); wait [`FIRST_RETRY`], doubling up to
//! [`MAX_RETRY`], with jitter, so that many instances do not reconnect in step. Once every
//! node is tracked, queue [`Signal::Resumed`]: the sink gets `All`, then the watch is
//! connected.
//!
//! On a cluster the primaries are also asked for every [`REFRESH_EVERY`]: a primary that is
//! new (a failover, a node added) has not been tracked, so the watch is lost until it is,
//! and the sink gets `All` then. A primary that is gone is dropped; its slots moved to
//! primaries already tracked, so nothing was missed.

use std::time::Duration;

use futures_util::future::{join_all, try_join_all};
use redis::ConnectionInfo;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

#[cfg(feature = "redis-cluster")]
use super::node::plain;
use super::node::{Tracked, Wiring, ask, track};
use super::outbox::Signal;
use super::topology::{Target, name};
#[cfg(feature = "redis-cluster")]
use super::topology::{cluster_primaries, node_info};
use crate::error::Error;

/// How often each connection is sent a `PING`.
pub(super) const HEALTH_EVERY: Duration = Duration::from_secs(1);
/// How long a `PING` (or a `CLUSTER SLOTS`) may take before its connection counts as lost.
pub(super) const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a cluster's primaries are asked for while every connection is up.
pub(super) const REFRESH_EVERY: Duration = Duration::from_secs(5);
/// The first wait between reconnect rounds.
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(50);
/// The longest wait between reconnect rounds.
pub(super) const MAX_RETRY: Duration = Duration::from_secs(2);

/// A watch's connections, and what keeps them up.
pub(super) struct Supervisor {
    wiring: Wiring,
    target: Target,
    /// The ids of connections whose own task saw them lost.
    lost: UnboundedReceiver<u64>,
    nodes: Vec<Node>,
    next_id: u64,
}

/// A node the watch must track: the server, or one primary.
struct Node {
    /// `host:port`: a cluster's primaries are told apart by it.
    #[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
    name: String,
    info: ConnectionInfo,
    tracked: Option<Tracked>,
}

impl Node {
    fn new(info: ConnectionInfo) -> Self {
        Self {
            name: name(&info),
            info,
            tracked: None,
        }
    }

    fn is_up(&self) -> bool {
        self.tracked.as_ref().is_some_and(Tracked::is_alive)
    }
}

impl Supervisor {
    /// Finds the nodes and tracks every one, or fails with the first failure: a watch starts
    /// connected everywhere, or not at all.
    pub(super) async fn start(
        target: Target,
        wiring: Wiring,
        lost: UnboundedReceiver<u64>,
    ) -> Result<Self, Error> {
        let mut this = Self {
            wiring,
            target,
            lost,
            nodes: Vec::new(),
            next_id: 0,
        };
        this.nodes = match &this.target {
            Target::Server(info) => vec![Node::new(ConnectionInfo::clone(info))],
            #[cfg(feature = "redis-cluster")]
            Target::Cluster { .. } => this.discover().await?,
        };
        let wiring = &this.wiring;
        let mut next_id = this.next_id;
        let attempts = this.nodes.iter().map(|node| {
            next_id += 1;
            track(&node.info, next_id, wiring)
        });
        let tracked = try_join_all(attempts.collect::<Vec<_>>()).await?;
        this.next_id = next_id;
        for (node, tracked) in this.nodes.iter_mut().zip(tracked) {
            node.tracked = Some(tracked);
        }
        Ok(this)
    }

    /// Keeps the connections up, until dropped (the watch stopping).
    pub(super) async fn run(mut self) {
        let mut next_health = Instant::now() + HEALTH_EVERY;
        let mut next_refresh = Instant::now() + REFRESH_EVERY;
        loop {
            if self.wiring.state.is_stopped() {
                return; // its sink panicked (`outbox.rs`): nobody to report to
            }
            if !self.all_up() {
                self.recover().await;
                next_refresh = Instant::now() + REFRESH_EVERY;
                continue;
            }
            match tokio::time::timeout_at(next_health, self.lost.recv()).await {
                Ok(Some(id)) => self.forget(id),
                // Never: the wiring keeps a sender.
                Ok(None) => return,
                Err(_) => {
                    self.check_health().await;
                    next_health = Instant::now() + HEALTH_EVERY;
                    if self.target.is_cluster() && Instant::now() >= next_refresh {
                        self.refresh().await;
                        next_refresh = Instant::now() + REFRESH_EVERY;
                    }
                }
            }
        }
    }

    /// Whether every node is tracked on a connection nobody has seen lost.
    fn all_up(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(Node::is_up)
    }

    /// Reconnects, round after round with backoff, until every node is tracked; then queues
    /// the `All` that marks the watch connected.
    async fn recover(&mut self) {
        let mut delay = FIRST_RETRY;
        loop {
            self.forget_lost();
            if self.target.is_cluster() {
                self.refresh().await;
            }
            self.reconnect().await;
            self.forget_lost();
            // The epoch first: a loss after it makes this resume stale (`WatchState`), and a
            // loss before it is seen by `all_up`.
            let epoch = self.wiring.state.epoch();
            if self.all_up() {
                self.wiring.outbox.push(Signal::Resumed(epoch));
                return;
            }
            if self.wiring.state.is_stopped() {
                return;
            }
            tokio::time::sleep(jittered(delay)).await;
            delay = (delay * 2).min(MAX_RETRY);
        }
    }

    /// Drops the connections whose own task reported them lost.
    fn forget_lost(&mut self) {
        while let Ok(id) = self.lost.try_recv() {
            self.forget(id);
        }
    }

    /// Drops connection `id`, lost (its task already marked the watch lost); an id of an
    /// older connection is ignored.
    fn forget(&mut self, id: u64) {
        for node in &mut self.nodes {
            if node.tracked.as_ref().is_some_and(|t| t.id == id) {
                node.tracked = None;
            }
        }
    }

    /// Connects every node that has no live connection, all at once.
    async fn reconnect(&mut self) {
        let wiring = &self.wiring;
        let mut next_id = self.next_id;
        let attempts = self
            .nodes
            .iter_mut()
            .filter(|node| !node.is_up())
            .map(|node| {
                node.tracked = None;
                next_id += 1;
                let id = next_id;
                async move {
                    if let Ok(tracked) = track(&node.info, id, wiring).await {
                        node.tracked = Some(tracked);
                    }
                }
            });
        join_all(attempts.collect::<Vec<_>>()).await;
        self.next_id = next_id;
    }

    /// Sends every connection a `PING`; one without an answer in time is lost.
    async fn check_health(&mut self) {
        let ping = redis::cmd("PING");
        let ping = &ping;
        let state = &self.wiring.state;
        let checks = self.nodes.iter_mut().map(|node| async move {
            let Some(tracked) = node.tracked.as_mut() else {
                return;
            };
            if ask(&mut tracked.conn, ping, PING_TIMEOUT).await.is_err() {
                tracked.lose(state);
                node.tracked = None;
            }
        });
        join_all(checks.collect::<Vec<_>>()).await;
    }

    /// Asks for the primaries and follows them: a new one is to be tracked (the watch is
    /// lost until it is), one gone is dropped. Nothing changes if no node answers; a server
    /// has nothing to follow.
    async fn refresh(&mut self) {
        #[cfg(feature = "redis-cluster")]
        if self.target.is_cluster() {
            let Ok(primaries) = self.discover().await else {
                return;
            };
            self.nodes.retain_mut(|node| {
                let kept = primaries.iter().any(|primary| primary.name == node.name);
                if !kept && let Some(tracked) = node.tracked.take() {
                    tracked.retire();
                }
                kept
            });
            let mut added = false;
            for primary in primaries {
                if !self.nodes.iter().any(|node| node.name == primary.name) {
                    self.nodes.push(primary);
                    added = true;
                }
            }
            if added {
                self.wiring.state.lost();
            }
        }
    }

    /// The cluster's primaries, as nodes without connections: asked of each tracked node over
    /// its own connection, then of each other node and each node given to connect over a
    /// plain one, until one answers.
    #[cfg(feature = "redis-cluster")]
    async fn discover(&mut self) -> Result<Vec<Node>, Error> {
        let Target::Cluster { seeds } = &self.target else {
            return Ok(Vec::new()); // never asked of a server
        };
        let Some(template) = seeds.first() else {
            return Err(Error::config("a Redis Cluster needs at least one node URL"));
        };
        let as_nodes = |found: Vec<(String, u16)>| -> Vec<Node> {
            found
                .into_iter()
                .map(|(host, port)| Node::new(node_info(template, &host, port)))
                .collect()
        };
        let mut last = None;
        for node in &mut self.nodes {
            if let Some(tracked) = node.tracked.as_mut().filter(|t| t.is_alive()) {
                match cluster_primaries(&mut tracked.conn, &node.name, PING_TIMEOUT).await {
                    Ok(found) => return Ok(as_nodes(found)),
                    Err(error) => last = Some(error),
                }
            }
        }
        let others = self
            .nodes
            .iter()
            .filter(|node| !node.is_up())
            .map(|node| &node.info)
            .chain(seeds.iter());
        for info in others {
            let asked = async {
                let mut conn = plain(info).await?;
                cluster_primaries(&mut conn, &name(info), PING_TIMEOUT).await
            };
            match asked.await {
                Ok(found) => return Ok(as_nodes(found)),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| Error::config("a Redis Cluster needs at least one node URL")))
    }
}

/// `delay` with jitter: somewhere in its second half.
fn jittered(delay: Duration) -> Duration {
    use std::hash::BuildHasher;
    // A random number from std's randomly keyed hasher.
    let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
    let fraction = (random % 1_024) as f64 / 1_024.0;
    delay.mul_f64(0.5 + fraction / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_second_half_of_the_delay() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100));
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&d));
        }
    }
}
