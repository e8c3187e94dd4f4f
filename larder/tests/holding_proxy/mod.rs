//! A loopback TCP proxy in front of one Memcached server that holds back the server's reply
//! to the first increment (`ma`) of one key until the test releases it: the window between
//! a command reaching Memcached and its caller hearing back, made to stay open.
//!
//! It reads Memcached's text framing just enough to pair each reply with its command: one
//! line per command (`ms` adds a data line), one line per reply (`VA` adds a data line). That
//! covers the commands a store sends for counters; multi-gets are not proxied.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

/// The proxy's signals, each fired once (a `Notify` keeps its permit until awaited).
#[derive(Default)]
pub(crate) struct Signals {
    /// Memcached has answered the first increment of the key; the answer is held.
    pub(crate) held: Notify,
    /// The test lets the held answer go on to the client.
    pub(crate) release: Notify,
    /// The connection that carried it is done with the key: its client sent the reply to
    /// a second increment of the key on, or hung up.
    pub(crate) settled: Notify,
    /// Some connection has held an answer already.
    holding: AtomicBool,
}

/// Starts the proxy to `server` (`host:port`) for increments of the Memcached key ending in
/// `:{key}`; its address, and its signals.
pub(crate) async fn start(server: String, key: &str) -> (String, Arc<Signals>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let signals = Arc::new(Signals::default());
    let suffix: Arc<str> = Arc::from(format!(":{key}"));
    let events = Arc::clone(&signals);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = TcpStream::connect(&server).await.unwrap();
            tokio::spawn(session(
                client,
                upstream,
                Arc::clone(&suffix),
                Arc::clone(&events),
            ));
        }
    });
    (address, signals)
}

/// One client connection: commands go up as they come; each reply comes down after the
/// command it answers, unless it is the one held.
async fn session(client: TcpStream, upstream: TcpStream, suffix: Arc<str>, signals: Arc<Signals>) {
    let (from_client, mut to_client) = client.into_split();
    let (from_server, mut to_server) = upstream.into_split();
    // For each command sent up, in order: whether it increments the key.
    let (commands, mut answered) = mpsc::unbounded_channel::<bool>();
    let holder = Arc::new(AtomicBool::new(false));
    let this_held = Arc::clone(&holder);
    let up_signals = Arc::clone(&signals);
    tokio::spawn(async move {
        let mut lines = BufReader::new(from_client);
        let mut line = Vec::new();
        let mut data_follows = false;
        loop {
            line.clear();
            if lines.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                break;
            }
            if std::mem::take(&mut data_follows) {
                // An `ms` data line, not a command.
            } else {
                let text = String::from_utf8_lossy(&line);
                let mut words = text.split_whitespace();
                let (verb, key) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                data_follows = verb == "ms";
                let _ = commands.send(verb == "ma" && key.ends_with(&*suffix));
            }
            if to_server.write_all(&line).await.is_err() {
                break;
            }
        }
        // The client hung up (a connection cut short is closed, not reused).
        if this_held.load(Ordering::SeqCst) {
            up_signals.settled.notify_one();
        }
    });
    let mut lines = BufReader::new(from_server);
    let mut increments = 0;
    loop {
        let mut reply = Vec::new();
        if lines.read_until(b'\n', &mut reply).await.unwrap_or(0) == 0 {
            return;
        }
        if reply.starts_with(b"VA ") && lines.read_until(b'\n', &mut reply).await.unwrap_or(0) == 0
        {
            return;
        }
        let Some(increment) = answered.recv().await else {
            return;
        };
        if increment {
            increments += 1;
        }
        let first_hold =
            increment && increments == 1 && !signals.holding.swap(true, Ordering::SeqCst);
        if first_hold {
            holder.store(true, Ordering::SeqCst);
            signals.held.notify_one();
            signals.release.notified().await;
        }
        // The client may be gone: then the reply goes nowhere.
        let _ = to_client.write_all(&reply).await;
        if increment && increments == 2 && holder.load(Ordering::SeqCst) {
            signals.settled.notify_one();
        }
    }
}
