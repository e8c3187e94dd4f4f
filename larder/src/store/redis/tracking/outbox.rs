//! The queue between a watch's connections and its sink, and the task that empties it.
//!
//! The connections' push messages arrive on the redis crate's connection tasks, one per node,
//! through a callback that must not block. They are queued here, and one task of the watch's
//! calls the sink with them, one at a time and in order, so that a sink never runs twice at
//! once and a slow sink holds up no connection. The queue is bounded: past
//! [`MAX_QUEUED_KEYS`] keys it is replaced by one [`Signal::All`], which covers every report
//! it held (or by the latest [`Signal::Resumed`] among them, which is an `All` too).

use std::collections::VecDeque;

use crate::store::watch::{Invalidation, WatchState};
use crate::sync::{Arc, Mutex};

/// The most keys queued for the sink before the queue is replaced by one `All`.
pub(super) const MAX_QUEUED_KEYS: usize = 65_536;

/// What the sink is told, in the order it was queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Signal {
    /// These keys (without the namespace) changed.
    Keys(Vec<String>),
    /// Anything may have changed (a flush, or a queue that overflowed).
    All,
    /// Every connection is up again, in this epoch of the watch: tell the sink `All`, then
    /// mark the watch connected (`WatchState::resumed`).
    Resumed(u64),
}

impl Signal {
    /// How much of the queue's bound it takes: its keys, and at least 1.
    fn weight(&self) -> usize {
        match self {
            Signal::Keys(keys) => keys.len().max(1),
            Signal::All | Signal::Resumed(_) => 1,
        }
    }
}

/// The bounded queue of signals for the sink.
pub(super) struct Outbox {
    queue: Mutex<Queue>,
    /// Woken by every push and by `close`; holds one permit when nobody waits, so that a
    /// push between the task's look at the queue and its wait is not missed.
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct Queue {
    signals: VecDeque<Signal>,
    /// The sum of the queued signals' weights.
    weight: usize,
    closed: bool,
}

impl Outbox {
    pub(super) fn new() -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Queues `signal` for the sink; past the bound, replaces the queue by one signal that
    /// covers it. Never blocks beyond the queue's lock; does nothing once closed.
    pub(super) fn push(&self, signal: Signal) {
        {
            let mut queue = self.queue.lock();
            if queue.closed {
                return;
            }
            let weight = signal.weight();
            if queue.weight + weight > MAX_QUEUED_KEYS {
                let resumed = queue
                    .signals
                    .iter()
                    .chain(std::iter::once(&signal))
                    .filter_map(|queued| match queued {
                        Signal::Resumed(epoch) => Some(*epoch),
                        _ => None,
                    })
                    .max();
                queue.signals.clear();
                queue
                    .signals
                    .push_back(resumed.map_or(Signal::All, Signal::Resumed));
                queue.weight = 1;
            } else {
                queue.weight += weight;
                queue.signals.push_back(signal);
            }
        }
        self.wake.notify_one();
    }

    /// No more signals: the delivering task ends, and what was queued is dropped.
    pub(super) fn close(&self) {
        {
            let mut queue = self.queue.lock();
            queue.closed = true;
            queue.signals.clear();
            queue.weight = 0;
        }
        self.wake.notify_one();
    }

    /// Everything queued, or `None` once closed.
    fn take(&self) -> Option<VecDeque<Signal>> {
        let mut queue = self.queue.lock();
        if queue.closed {
            return None;
        }
        queue.weight = 0;
        Some(std::mem::take(&mut queue.signals))
    }

    /// Calls `state`'s sink with every signal, in order, until the outbox is closed or the
    /// watch stopped. The body of the watch's delivering task.
    ///
    /// A sink that panics ends the task: the watch is then stopped for good (not connected,
    /// no more reports), rather than left looking connected with nobody reporting.
    pub(super) async fn deliver(self: Arc<Self>, state: Arc<WatchState>) {
        let _unwinding = StopOnUnwind(&state);
        while let Some(signals) = self.take() {
            if signals.is_empty() {
                self.wake.notified().await;
                continue;
            }
            for signal in signals {
                if state.is_stopped() {
                    return;
                }
                match signal {
                    Signal::Keys(keys) => state.deliver(Invalidation::Keys(keys)),
                    Signal::All => state.deliver(Invalidation::All),
                    Signal::Resumed(epoch) => {
                        state.deliver(Invalidation::All);
                        state.resumed(epoch);
                    }
                }
            }
        }
    }
}

/// Stops the watch if the delivering task unwinds (its sink panicked).
struct StopOnUnwind<'a>(&'a WatchState);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::watch::InvalidationSink;

    fn keys(n: usize) -> Signal {
        Signal::Keys((0..n).map(|i| i.to_string()).collect())
    }

    fn queued(outbox: &Outbox) -> Vec<Signal> {
        outbox.take().unwrap().into_iter().collect()
    }

    #[test]
    fn signals_queue_in_order_within_the_bound() {
        let outbox = Outbox::new();
        outbox.push(keys(2));
        outbox.push(Signal::All);
        outbox.push(Signal::Resumed(3));
        assert_eq!(
            queued(&outbox),
            vec![keys(2), Signal::All, Signal::Resumed(3)]
        );
        assert_eq!(queued(&outbox), vec![], "taken");
    }

    #[test]
    fn an_overflow_becomes_one_all_or_the_latest_resume() {
        let outbox = Outbox::new();
        outbox.push(keys(MAX_QUEUED_KEYS - 1));
        outbox.push(keys(1));
        outbox.push(keys(1)); // one too many
        assert_eq!(queued(&outbox), vec![Signal::All]);

        outbox.push(Signal::Resumed(1));
        outbox.push(Signal::Resumed(2));
        outbox.push(keys(MAX_QUEUED_KEYS));
        assert_eq!(queued(&outbox), vec![Signal::Resumed(2)]);
    }

    #[test]
    fn a_closed_outbox_takes_nothing_more() {
        let outbox = Outbox::new();
        outbox.push(keys(1));
        outbox.close();
        outbox.push(keys(1));
        assert!(outbox.take().is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn delivery_reports_in_order_marks_resumed_and_ends_when_closed() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: InvalidationSink = std::sync::Arc::new(move |i| drop(tx.send(i)));
        let state = Arc::new(WatchState::new(sink));
        state.lost();
        let epoch = state.epoch();
        let outbox = Arc::new(Outbox::new());
        let task = tokio::spawn(Arc::clone(&outbox).deliver(Arc::clone(&state)));
        outbox.push(keys(1));
        outbox.push(Signal::Resumed(epoch));
        let first = rx.recv().await.unwrap();
        assert_eq!(first, Invalidation::Keys(vec!["0".into()]));
        assert_eq!(rx.recv().await.unwrap(), Invalidation::All);
        outbox.close();
        task.await.unwrap();
        assert!(state.is_connected(), "resumed after its All");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_sink_that_panics_stops_the_watch() {
        let sink: InvalidationSink = std::sync::Arc::new(|_| panic!("a sink's bug"));
        let state = Arc::new(WatchState::new(sink));
        let outbox = Arc::new(Outbox::new());
        outbox.push(Signal::All);
        let task = tokio::spawn(Arc::clone(&outbox).deliver(Arc::clone(&state)));
        assert!(task.await.unwrap_err().is_panic());
        assert!(!state.is_connected());
        assert!(state.is_stopped());
    }
}
