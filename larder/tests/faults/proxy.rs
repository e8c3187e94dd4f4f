//! A TCP fault proxy: listens on a loopback port, forwards every connection to a server, and
//! misbehaves on command. The fault suite puts it between a store and its server so that a
//! test decides when the network is slow, silent, lossy or broken.
//!
//! Shared by the fault tests (`tests/faults/`) and `larder-bench chaos`, which include this
//! file by path: std and tokio (`net`, `io-util`) only.
//!
//! Every connection is two pumps (client → server, server → client) that read a chunk and
//! then look at the settings to decide its fate, so a change applies from the next chunk on:
//! - forward, after the per-chunk latency;
//! - pause: hold the chunk (and so, through TCP's flow control, everything behind it) until
//!   the mode changes; connections stay open;
//! - black-hole: drop the chunk, and every later one of that connection, whatever the mode
//!   becomes: reading goes on, so the peer sees its bytes taken and never answered. A TCP
//!   stream cannot lose bytes in its middle and go on (the kernel retransmits them, in
//!   order), so a connection that lost any is dead for good, as behind a firewall that drops
//!   its packets: only new connections are forwarded once the black hole ends. A network
//!   that heals with the old connections intact is a pause.
//!
//! A cut closes every connection accepted before it; later ones are served as usual.
//!
//! Two narrower knobs serve single store tests: [`Proxy::black_hole_open`] black-holes only
//! the connections open now (new ones forward), and [`Proxy::hold_replies`] pauses the
//! server → client direction alone, so that a request reaches the server and its reply waits
//! ([`Proxy::holding`] says when one does; [`Proxy::replies`] counts those passed on).

#![allow(dead_code)] // each user drives its own part

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes it reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Pass them on (after the latency, if any).
    #[default]
    Forward,
    /// Hold them, keeping connections open, until the mode changes.
    Pause,
    /// Read and drop them: nothing reaches the other side, and a connection that lost bytes
    /// never forwards again.
    BlackHole,
    /// Hold what servers send (as [`Mode::Pause`]) and forward what clients send.
    HoldReplies,
}

#[derive(Clone, Copy, Debug, Default)]
struct Settings {
    mode: Mode,
    /// Added before each chunk is written on.
    chunk_latency: Duration,
    /// Added once per connection, before it connects to the server.
    connect_latency: Duration,
    /// How many cuts so far: a connection accepted at cut `n` closes when this passes `n`.
    cuts: u64,
    /// How many [`Proxy::black_hole_open`]s so far: a connection accepted at `n` drops
    /// everything once this passes `n`.
    holes: u64,
}

/// What the proxy counts, for tests to wait on.
#[derive(Debug, Default)]
struct Counters {
    /// Client connections open now.
    open: AtomicUsize,
    /// Client connections accepted so far.
    accepted: AtomicUsize,
    /// Chunks waiting in a pause now.
    held: AtomicUsize,
    /// Chunks passed on from servers to clients so far.
    replies: AtomicUsize,
}

/// A running proxy; it closes every connection and stops accepting when dropped.
#[derive(Debug)]
pub(crate) struct Proxy {
    address: SocketAddr,
    settings: watch::Sender<Settings>,
    counters: Arc<Counters>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on `127.0.0.1:<free port>` to `upstream`, forwarding. Its tasks run on the
    /// current tokio runtime.
    pub(crate) async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (settings, watcher) = watch::channel(Settings::default());
        let counters = Arc::new(Counters::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            watcher,
            Arc::clone(&counters),
        ));
        Ok(Self {
            address,
            settings,
            counters,
            accept,
        })
    }

    /// Where clients connect.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Delays every chunk, both ways, by `latency` (zero: none).
    pub(crate) fn set_latency(&self, latency: Duration) {
        self.settings.send_modify(|s| s.chunk_latency = latency);
    }

    /// Delays every new connection by `latency` before it reaches the server (zero: none).
    pub(crate) fn set_connect_latency(&self, latency: Duration) {
        self.settings.send_modify(|s| s.connect_latency = latency);
    }

    /// Stops forwarding; connections stay open and what they send waits for [`Self::forward`].
    pub(crate) fn pause(&self) {
        self.set_mode(Mode::Pause);
    }

    /// Reads and drops everything, both ways, from now until [`Self::forward`]; a connection
    /// that loses bytes this way stays silent for good, and only new ones forward again.
    pub(crate) fn black_hole(&self) {
        self.set_mode(Mode::BlackHole);
    }

    /// Black-holes only the connections open now, at once and for good (whatever they send
    /// or are sent is read and dropped, and neither side is told); new connections forward.
    pub(crate) fn black_hole_open(&self) {
        self.settings.send_modify(|s| s.holes += 1);
    }

    /// Holds what servers send (through TCP's flow control, everything behind it too) and
    /// forwards what clients send, until [`Self::forward`]: a request reaches its server and
    /// the reply waits. Connections stay open.
    pub(crate) fn hold_replies(&self) {
        self.set_mode(Mode::HoldReplies);
    }

    /// Forwards again: ends a pause (or held replies), or a black hole for the connections that lost nothing in
    /// it and for new ones. Latencies stay as set.
    pub(crate) fn forward(&self) {
        self.set_mode(Mode::Forward);
    }

    fn set_mode(&self, mode: Mode) {
        self.settings.send_modify(|s| s.mode = mode);
    }

    /// Closes every connection open now; new ones are accepted as usual.
    pub(crate) fn cut(&self) {
        self.settings.send_modify(|s| s.cuts += 1);
    }

    /// How many client connections are open through the proxy.
    pub(crate) fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// How many client connections it has accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// How many chunks it has passed on from servers to clients so far: on loopback, with one
    /// request at a time, one a reply.
    pub(crate) fn replies(&self) -> usize {
        self.counters.replies.load(Ordering::SeqCst)
    }

    /// Returns once some chunk waits in a pause (for [`Self::hold_replies`]: once a server's
    /// reply is held). Polls every millisecond.
    pub(crate) async fn holding(&self) {
        while self.counters.held.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // The connections see the sender go (`changed` fails) and close.
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    settings: watch::Receiver<Settings>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue; // a connection that failed before we took it: not ours to report
        };
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        // The counts when it was accepted: a cut (a black hole of the open ones) from here on
        // closes (black-holes) it.
        let born = *settings.borrow();
        let counters = Arc::clone(&counters);
        tokio::spawn(connection(
            client,
            upstream,
            settings.clone(),
            born,
            counters,
        ));
    }
}

/// Counts a connection open for as long as it lives.
struct Counted(Arc<Counters>);

impl Counted {
    fn new(counters: Arc<Counters>) -> Self {
        counters.open.fetch_add(1, Ordering::SeqCst);
        Self(counters)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One pump's direction, and what it shares with the rest of the proxy.
struct Direction {
    /// Server → client.
    to_client: bool,
    /// The [`Settings::holes`] when the connection was accepted.
    born_holes: u64,
    counters: Arc<Counters>,
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    settings: watch::Receiver<Settings>,
    born: Settings,
    counters: Arc<Counters>,
) {
    let _counted = Counted::new(Arc::clone(&counters));
    let direction = |to_client| Direction {
        to_client,
        born_holes: born.holes,
        counters: Arc::clone(&counters),
    };
    let serve = async {
        let latency = settings.borrow().connect_latency;
        tokio::time::sleep(latency).await;
        // A server that is down: the client sees its connection closed.
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        // Either side closing closes both: the clients we serve never half-close. Bytes lost
        // either way kill both ways.
        let dead = Arc::new(AtomicBool::new(false));
        tokio::select! {
            () = pump(client_read, server_write, settings.clone(), Arc::clone(&dead), direction(false)) => {}
            () = pump(server_read, client_write, settings.clone(), dead, direction(true)) => {}
        }
    };
    // Dropping `serve` drops both sockets: that is the cut.
    tokio::select! {
        () = serve => {}
        () = cut_after(settings.clone(), born.cuts) => {}
    }
}

/// Returns once a cut after the `seen`th happens, or the proxy is dropped.
async fn cut_after(mut settings: watch::Receiver<Settings>, seen: u64) {
    while settings.borrow_and_update().cuts == seen {
        if settings.changed().await.is_err() {
            return;
        }
    }
}

/// Moves chunks from `from` to `to` as the settings say, until either side closes.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut settings: watch::Receiver<Settings>,
    dead: Arc<AtomicBool>,
    direction: Direction,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            let now = *settings.borrow_and_update();
            if now.holes > direction.born_holes {
                dead.store(true, Ordering::SeqCst); // black-holed while open
            }
            if dead.load(Ordering::SeqCst) {
                break; // lost bytes before: this connection never forwards again
            }
            let hold = match now.mode {
                Mode::Pause => true,
                Mode::HoldReplies => direction.to_client,
                Mode::Forward | Mode::BlackHole => false,
            };
            if hold {
                let _held = Held::new(&direction.counters.held);
                if settings.changed().await.is_err() {
                    return;
                }
                continue;
            }
            if now.mode == Mode::BlackHole {
                dead.store(true, Ordering::SeqCst);
                break;
            }
            if !now.chunk_latency.is_zero() {
                tokio::time::sleep(now.chunk_latency).await;
            }
            if to.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            if direction.to_client {
                direction.counters.replies.fetch_add(1, Ordering::SeqCst);
            }
            break;
        }
    }
}

/// Counts a chunk held for as long as it waits (a cut may end the wait).
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn new(held: &'a AtomicUsize) -> Self {
        held.fetch_add(1, Ordering::SeqCst);
        Self(held)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
