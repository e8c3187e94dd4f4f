//! A `RedisStore` under faults: a redis-server of its own that persists every write before
//! answering (`--appendonly yes --appendfsync always`), reached through the fault proxy.

use std::time::Duration;

use larder::store::RedisStore;

use super::proxy::Proxy;
use super::scenario::{Fault, Target};
use super::server::{self, Scratch, Server, free_port};

pub(crate) struct RedisTarget {
    store: RedisStore,
    timeout: Duration,
    proxy: Proxy,
    // Dropped in this order: the server stops before its directory goes.
    server: Server,
    _dir: Scratch,
}

impl RedisTarget {
    /// `None` when `redis-server` is not installed.
    pub(crate) async fn start(timeout: Duration) -> Option<Self> {
        let dir = Scratch::new("larder-faults-redis");
        let port = free_port();
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--dir",
            &dir.path().display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        let server = Server::start("redis-server", args, port, server::REDIS).await?;
        let proxy = Proxy::start(server.address())
            .await
            .expect("the proxy starts");
        let url = format!("redis://{}", proxy.address());
        let store = RedisStore::connect(&url, "faults")
            .await
            .expect("connects through the proxy")
            .with_timeout(Some(timeout));
        Some(Self {
            store,
            timeout,
            proxy,
            server,
            _dir: dir,
        })
    }
}

impl Target for RedisTarget {
    type Store = RedisStore;

    fn store(&self) -> RedisStore {
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
        true
    }

    async fn inject(&mut self, fault: Fault) {
        inject_remote(&self.proxy, &mut self.server, self.timeout, fault);
    }

    async fn heal(&mut self, fault: Fault) {
        heal_remote(&self.proxy, &mut self.server, fault).await;
    }

    async fn checker(&mut self) -> RedisStore {
        let url = format!("redis://{}", self.server.address());
        RedisStore::connect(&url, "faults")
            .await
            .expect("connects to the healed server directly")
    }
}

/// Injects `fault` on a server behind `proxy` (shared with the Memcached target).
pub(crate) fn inject_remote(proxy: &Proxy, server: &mut Server, timeout: Duration, fault: Fault) {
    match fault {
        // Half again the timeout on every chunk: every answer comes late, after its
        // caller gave up, on a connection still in use.
        Fault::Latency => proxy.set_latency(timeout * 3 / 2),
        Fault::Pause => proxy.pause(),
        Fault::BlackHole => proxy.black_hole(),
        Fault::Cut => proxy.cut(),
        Fault::Freeze => server.freeze(),
        Fault::Restart => server.kill(),
        Fault::Stall => unreachable!("a remote server has no blocking threads of ours"),
    }
}

/// Ends `fault` (a cut needs no healing: new connections are served).
pub(crate) async fn heal_remote(proxy: &Proxy, server: &mut Server, fault: Fault) {
    match fault {
        Fault::Latency => proxy.set_latency(Duration::ZERO),
        Fault::Pause | Fault::BlackHole => proxy.forward(),
        Fault::Cut => {}
        Fault::Freeze => server.thaw(),
        Fault::Restart => assert!(server.spawn().await, "the server starts again"),
        Fault::Stall => unreachable!("a remote server has no blocking threads of ours"),
    }
}
