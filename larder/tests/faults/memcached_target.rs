//! A `MemcachedStore` under faults: a memcached of its own, reached through the fault proxy.
//! Memcached keeps nothing across a restart, so lost writes are not counted for it.

use std::time::Duration;

use larder::store::MemcachedStore;

use super::proxy::Proxy;
use super::redis_target::{heal_remote, inject_remote};
use super::scenario::{Fault, Target};
use super::server::{self, Server, free_port};

pub(crate) struct MemcachedTarget {
    store: MemcachedStore,
    timeout: Duration,
    proxy: Proxy,
    server: Server,
}

impl MemcachedTarget {
    /// `None` when `memcached` is not installed.
    pub(crate) async fn start(timeout: Duration) -> Option<Self> {
        let port = free_port();
        let args = [
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "64",
            "-u",
            "root",
        ]
        .map(String::from)
        .to_vec();
        let server = Server::start("memcached", args, port, server::MEMCACHED).await?;
        let proxy = Proxy::start(server.address())
            .await
            .expect("the proxy starts");
        let address = proxy.address().to_string();
        let store = MemcachedStore::connect(&[address.as_str()], "faults")
            .await
            .expect("connects through the proxy")
            .with_timeout(Some(timeout));
        Some(Self {
            store,
            timeout,
            proxy,
            server,
        })
    }
}

impl Target for MemcachedTarget {
    type Store = MemcachedStore;

    fn store(&self) -> MemcachedStore {
        self.store.clone()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn faults(&self) -> Vec<Fault> {
        use Fault::*;
        vec![Latency, Pause, Freeze, Cut, Restart, BlackHole]
    }

    fn persistent(&self) -> bool {
        false
    }

    async fn inject(&mut self, fault: Fault) {
        inject_remote(&self.proxy, &mut self.server, self.timeout, fault);
    }

    async fn heal(&mut self, fault: Fault) {
        heal_remote(&self.proxy, &mut self.server, fault).await;
    }

    async fn checker(&mut self) -> MemcachedStore {
        let address = self.server.address().to_string();
        MemcachedStore::connect(&[address.as_str()], "faults")
            .await
            .expect("connects to the healed server directly")
    }
}
