//! A `RedisStore` under faults: a redis-server of its own that persists every write before
//! answering (`--appendonly yes --appendfsync always`), reached through the fault proxy.

use std::net::SocketAddr;
use std::time::Duration;

use larder::store::RedisStore;

use super::remote_target::{RemoteStore, RemoteTarget};
use super::server::{self, Scratch, free_port};

pub(crate) type RedisTarget = RemoteTarget<RedisStore>;

impl RedisTarget {
    /// `None` when `redis-server` is not installed.
    pub(crate) async fn start(timeout: Duration) -> Option<Self> {
        let dir = Scratch::new("larder-faults-redis");
        let server = server::redis(free_port(), Some(&dir), &[]).await?;
        Some(Self::through_proxy(server, Some(dir), timeout).await)
    }
}

impl RemoteStore for RedisStore {
    const PERSISTENT: bool = true;

    async fn connect_to(address: SocketAddr, timeout: Option<Duration>) -> Self {
        let store = RedisStore::connect(&format!("redis://{address}"), "faults")
            .await
            .unwrap_or_else(|e| panic!("connects to {address}: {e:?}"));
        match timeout {
            Some(timeout) => store.with_timeout(Some(timeout)),
            None => store,
        }
    }
}
