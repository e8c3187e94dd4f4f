//! Starting a watch ([`RedisStore`]'s [`Store::watch`](crate::store::Store::watch)), and the
//! signal that stops a store's watches when the store is closed.

use std::pin::pin;

use super::super::connection::Connector;
use super::node::Wiring;
use super::outbox::{Outbox, Signal};
use super::supervisor::Supervisor;
use super::topology::Target;
use crate::error::Error;
use crate::store::remote::Remote;
use crate::store::watch::{InvalidationSink, Watch, WatchState};
use crate::sync::Arc;

/// Whether the store was closed, for its watches to stop on: shared by every handle of the
/// store, as its closed flag is.
pub(in crate::store::redis) struct Closing(tokio::sync::watch::Sender<bool>);

impl Closing {
    pub(in crate::store::redis) fn new() -> Self {
        Self(tokio::sync::watch::Sender::new(false))
    }

    /// Stops every watch of the store.
    pub(in crate::store::redis) fn close(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the store is closed (at once if it is already); never if every handle
    /// of the store is dropped unclosed, since a watch outlives the handle it came from.
    fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut closing = self.0.subscribe();
        async move {
            if closing.wait_for(|closed| *closed).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Starts a watch of the keys of the store with `namespace`, connected by `connector`, under
/// `prefix` (after the namespace), reporting to `sink`: tracking on every node, within the
/// timeout of `remote` (the handle's), then the two tasks (the supervisor, the delivery),
/// which stop when the watch is dropped or `closing` says the store closed. The caller checks
/// that the store is open.
pub(in crate::store::redis) async fn start(
    namespace: &str,
    connector: &Connector,
    remote: &Remote,
    closing: &Closing,
    prefix: &str,
    sink: InvalidationSink,
) -> Result<Watch, Error> {
    let namespace = format!("{namespace}:");
    let state = Arc::new(WatchState::new(sink));
    let outbox = Arc::new(Outbox::new());
    let (lost, lost_reports) = tokio::sync::mpsc::unbounded_channel();
    let wiring = Wiring {
        state: Arc::clone(&state),
        outbox: Arc::clone(&outbox),
        lost,
        prefix: format!("{namespace}{prefix}"),
        namespace: Arc::from(namespace.into_bytes()),
    };
    // Outside a runtime, the `Config` error: the tasks below are spawned on it.
    let target = Target::of(connector).ok_or_else(|| {
        Error::config("a RedisStore over your own ConnectionManager cannot watch")
    })?;
    let supervisor = remote
        .within(Supervisor::start(target, wiring, lost_reports))
        .await?;

    // Tracking is on everywhere: from here, every write is reported. What was copied
    // before may be stale, so the first report is `All`, as after every reconnect.
    outbox.push(Signal::All);
    drop(tokio::spawn(
        Arc::clone(&outbox).deliver(Arc::clone(&state)),
    ));
    let closed = closing.closed();
    // Dropped with the task however it ends (the store closed, the watch dropped and the
    // task aborted, the runtime shutting down): the watch is then stopped for good.
    let stopping = Stopping {
        state: Arc::clone(&state),
        outbox: Arc::clone(&outbox),
    };
    let supervising = tokio::spawn(async move {
        let _stopping = stopping;
        futures_util::future::select(pin!(supervisor.run()), pin!(closed)).await;
    });
    let abort = supervising.abort_handle();
    let stop = Box::new(move || {
        outbox.close();
        abort.abort();
    });
    Ok(Watch::new(state, stop))
}

/// Stops the watch when the supervising task ends: no more calls to the sink, not
/// connected, the delivering task ends.
struct Stopping {
    state: Arc<WatchState>,
    outbox: Arc<Outbox>,
}

impl Drop for Stopping {
    fn drop(&mut self) {
        self.state.stop();
        self.outbox.close();
    }
}
