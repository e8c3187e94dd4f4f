//! One node's watch connection: a RESP3 connection of the watch's own, whose push messages go
//! to the watch, with `CLIENT TRACKING ON BCAST PREFIX <namespace>:<prefix>` turned on; and the
//! short commands the watch sends on such a connection (`PING`, `CLUSTER SLOTS`).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, ConnectionInfo, ProtocolVersion, PushInfo, Value};

use super::super::wire::{backend, mapped};
use super::outbox::Outbox;
use super::push::{self, Push};
use crate::error::{Error, ErrorKind};
use crate::store::watch::WatchState;
use crate::sync::{Arc, AtomicBool, Ordering};

/// Bounds one connection attempt: connecting, the handshake, and turning tracking on.
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection of one watch reports to, and what it tracks.
pub(super) struct Wiring {
    pub(super) state: Arc<WatchState>,
    pub(super) outbox: Arc<Outbox>,
    /// Where a connection's loss is told to the supervisor, by the connection's id.
    pub(super) lost: tokio::sync::mpsc::UnboundedSender<u64>,
    /// `namespace:`, cut off every key reported.
    pub(super) namespace: Arc<[u8]>,
    /// `namespace:prefix`, the prefix the server reports keys under.
    pub(super) prefix: String,
}

/// A node's connection with tracking on.
pub(super) struct Tracked {
    pub(super) conn: MultiplexedConnection,
    /// Tells this connection's loss from a later one's on the same node.
    pub(super) id: u64,
    /// Cleared once, by whoever sees the connection lost first: its own task (the redis
    /// crate's `Disconnection`), or the supervisor (a failed `PING`). The one who clears it
    /// marks the watch lost.
    alive: Arc<AtomicBool>,
}

impl Tracked {
    /// Whether nobody has seen this connection lost.
    pub(super) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Marks the connection lost, and the watch with it, unless that was done already.
    pub(super) fn lose(&self, state: &WatchState) {
        lose(&self.alive, state);
    }
}

impl Tracked {
    /// Closes a connection the watch no longer needs (a node that is no longer a primary),
    /// without marking the watch lost: its task, if it sees the close, reports nothing.
    #[cfg(feature = "redis-cluster")]
    pub(super) fn retire(self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

fn lose(alive: &AtomicBool, state: &WatchState) {
    if alive.swap(false, Ordering::SeqCst) {
        state.lost();
    }
}

/// Connects to the node `info` names, over RESP3 whatever its URL says, with its pushes going
/// to `wiring`, and turns broadcast tracking on for `wiring.prefix`, all within
/// [`ATTEMPT_TIMEOUT`]. `id` names the connection in its loss report.
pub(super) async fn track(
    info: &ConnectionInfo,
    id: u64,
    wiring: &Wiring,
) -> Result<Tracked, Error> {
    let alive = Arc::new(AtomicBool::new(true));
    let sender = {
        let (outbox, lost) = (Arc::clone(&wiring.outbox), wiring.lost.clone());
        let (state, namespace) = (Arc::clone(&wiring.state), Arc::clone(&wiring.namespace));
        let alive = Arc::clone(&alive);
        // Runs on the connection's task: queue, never block.
        move |info: PushInfo| {
            match push::read(info, &namespace) {
                Push::Signal(signal) => outbox.push(signal),
                Push::Lost => {
                    lose(&alive, &state);
                    // The supervisor may be gone (the watch stopping): nothing to tell.
                    let _ = lost.send(id);
                }
                Push::Ignored => {}
            }
            Ok::<(), redis::aio::SendError>(())
        }
    };
    let resp3 = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let client = Client::open(info.clone().set_redis_settings(resp3)).map_err(backend)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(ATTEMPT_TIMEOUT))
        .set_response_timeout(None)
        .set_push_sender(sender);
    let attempt = async {
        let mut conn = mapped(client.get_multiplexed_async_connection_with_config(&config)).await?;
        let mut on = redis::cmd("CLIENT");
        on.arg("TRACKING")
            .arg("ON")
            .arg("BCAST")
            .arg("PREFIX")
            .arg(&wiring.prefix);
        on.query_async::<()>(&mut conn).await.map_err(|error| {
            Error::with_source(
                ErrorKind::Backend,
                "Redis refused CLIENT TRACKING (a watch needs Redis 6 or later)",
                error,
            )
        })?;
        Ok(conn)
    };
    let conn = within(ATTEMPT_TIMEOUT, attempt).await?;
    Ok(Tracked { conn, id, alive })
}

/// A plain connection to the node `info` names, for asking it something (no tracking, no
/// pushes), within [`ATTEMPT_TIMEOUT`].
#[cfg(feature = "redis-cluster")]
pub(super) async fn plain(info: &ConnectionInfo) -> Result<MultiplexedConnection, Error> {
    let client = Client::open(info.clone()).map_err(backend)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(ATTEMPT_TIMEOUT))
        .set_response_timeout(None);
    within(
        ATTEMPT_TIMEOUT,
        mapped(client.get_multiplexed_async_connection_with_config(&config)),
    )
    .await
}

/// Sends `cmd` on `conn` and waits up to `limit` for the answer.
pub(super) async fn ask(
    conn: &mut MultiplexedConnection,
    cmd: &Cmd,
    limit: Duration,
) -> Result<Value, Error> {
    within(limit, mapped(cmd.query_async(conn))).await
}

async fn within<T>(
    limit: Duration,
    op: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(limit, op).await.map_err(|_| {
        Error::new(
            ErrorKind::Timeout,
            format!("no answer from Redis within {limit:?} (watch)"),
        )
    })?
}
