//! A `MemcachedStore` under faults: a memcached of its own, reached through the fault proxy.
//! Memcached keeps nothing across a restart, so lost writes are not counted for it.

use std::net::SocketAddr;
use std::time::Duration;

use larder::store::MemcachedStore;

use super::remote_target::{RemoteStore, RemoteTarget};
use super::server::{self, free_port};

pub(crate) type MemcachedTarget = RemoteTarget<MemcachedStore>;

impl MemcachedTarget {
    /// `None` when `memcached` is not installed.
    pub(crate) async fn start(timeout: Duration) -> Option<Self> {
        let server = server::memcached(free_port(), 64, &[]).await?;
        Some(Self::through_proxy(server, None, timeout).await)
    }
}

impl RemoteStore for MemcachedStore {
    const PERSISTENT: bool = false;

    async fn connect_to(address: SocketAddr, timeout: Option<Duration>) -> Self {
        let store = MemcachedStore::connect(&[address.to_string()], "faults")
            .await
            .unwrap_or_else(|e| panic!("connects to {address}: {e:?}"));
        match timeout {
            Some(timeout) => store.with_timeout(Some(timeout)),
            None => store,
        }
    }
}
