//! What the Redis and Memcached targets share: a store reached through the fault proxy to a
//! server process of its own, hurt by the proxy (latency, pause, black hole, cut) and by
//! signals to the server (`SIGSTOP`, `SIGKILL` and restart). Each store says how to connect
//! and whether its server keeps acknowledged writes across a restart.

use std::net::SocketAddr;
use std::time::Duration;

use super::proxy::Proxy;
use super::scenario::{Fault, Target};
use super::server::{Scratch, Server};

/// A store with a server of its own.
pub(crate) trait RemoteStore: larder::store::Store + Clone + Send + Sync + 'static {
    /// Whether acknowledged writes must survive a restart of its server.
    const PERSISTENT: bool;

    /// Connects to the server (or the proxy) at `address`, in the suite's namespace, with
    /// `timeout` (`None`: the store's default). Panics if it cannot.
    async fn connect_to(address: SocketAddr, timeout: Option<Duration>) -> Self;
}

pub(crate) struct RemoteTarget<S> {
    store: S,
    timeout: Duration,
    proxy: Proxy,
    // Dropped in this order: the server stops before its directory (if any) goes.
    server: Server,
    _dir: Option<Scratch>,
}

impl<S: RemoteStore> RemoteTarget<S> {
    /// `server`, a proxy in front of it and a store connected through the proxy; `dir` is
    /// the server's own directory, removed when the target goes.
    pub(crate) async fn through_proxy(
        server: Server,
        dir: Option<Scratch>,
        timeout: Duration,
    ) -> Self {
        let proxy = Proxy::start(server.address())
            .await
            .expect("the proxy starts");
        let store = S::connect_to(proxy.address(), Some(timeout)).await;
        Self {
            store,
            timeout,
            proxy,
            server,
            _dir: dir,
        }
    }
}

impl<S: RemoteStore> Target for RemoteTarget<S> {
    type Store = S;

    fn store(&self) -> S {
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
        S::PERSISTENT
    }

    async fn inject(&mut self, fault: Fault) {
        let (proxy, server) = (&self.proxy, &mut self.server);
        match fault {
            // Half again the timeout on every chunk: every answer comes late, after its
            // caller gave up, on a connection still in use.
            Fault::Latency => proxy.set_latency(self.timeout * 3 / 2),
            Fault::Pause => proxy.pause(),
            Fault::BlackHole => proxy.black_hole(),
            Fault::Cut => proxy.cut(),
            Fault::Freeze => server.freeze(),
            Fault::Restart => server.kill(),
            Fault::Stall => unreachable!("a remote server has no blocking threads of ours"),
        }
    }

    /// Ends `fault` (a cut needs no healing: new connections are served).
    async fn heal(&mut self, fault: Fault) {
        let (proxy, server) = (&self.proxy, &mut self.server);
        match fault {
            Fault::Latency => proxy.set_latency(Duration::ZERO),
            Fault::Pause | Fault::BlackHole => proxy.forward(),
            Fault::Cut => {}
            Fault::Freeze => server.thaw(),
            Fault::Restart => assert!(server.spawn().await, "the server starts again"),
            Fault::Stall => unreachable!("a remote server has no blocking threads of ours"),
        }
    }

    /// A store connected to the healed server directly.
    async fn checker(&mut self) -> S {
        S::connect_to(self.server.address(), None).await
    }
}
