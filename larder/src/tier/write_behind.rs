//! Write-behind: L2 writes queued in a bounded channel and applied in order by one task. A
//! full queue drops a value write (counted) rather than block its caller; removals wait for
//! room, bounded by the tier's timeout, since dropping one would leave a stale value in L2.
//! A removal that could not wait goes to L2 at once, and the writes queued before it for its
//! key (or, for a clear, for every key) are then skipped, so that none lands after it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::l2::L2;
use super::stats::bump;
use crate::Ttl;
use crate::observe;
use crate::sync::Mutex;

pub(crate) enum Job {
    Set {
        key: String,
        bytes: Vec<u8>,
        ttl: Ttl,
        /// Its place in the queue (see `Superseded`).
        seq: u64,
    },
    Delete {
        key: String,
        done: oneshot::Sender<bool>,
    },
    Clear {
        done: oneshot::Sender<bool>,
    },
    /// Answers once every job before it is done.
    Flush(oneshot::Sender<()>),
}

/// Queued writes overtaken by a removal that went to L2 directly: a write whose sequence
/// number is below its key's mark (or the mark for every key) is skipped.
#[derive(Default)]
struct Superseded {
    keys: HashMap<String, u64>,
    all: u64,
}

pub(crate) struct WriteBehind {
    jobs: mpsc::Sender<Job>,
    /// How long a removal waits for room in a full queue.
    wait: Duration,
    seq: AtomicU64,
    superseded: Arc<Mutex<Superseded>>,
}

impl WriteBehind {
    /// A queue of `capacity` jobs, and its worker on the current tokio runtime.
    pub(crate) fn start(l2: Arc<L2>, capacity: usize, wait: Duration) -> Self {
        let (jobs, queue) = mpsc::channel(capacity);
        let superseded = Arc::new(Mutex::new(Superseded::default()));
        tokio::spawn(work(l2, queue, superseded.clone()));
        Self {
            jobs,
            wait,
            seq: AtomicU64::new(1),
            superseded,
        }
    }

    /// Queues a value write; `false` (and counted) when the queue is full.
    pub(crate) fn set(&self, l2: &L2, key: String, bytes: Vec<u8>, ttl: Ttl) -> bool {
        let seq = self.seq.fetch_add(1, Ordering::AcqRel);
        let queued = self
            .jobs
            .try_send(Job::Set {
                key,
                bytes,
                ttl,
                seq,
            })
            .is_ok();
        if !queued {
            bump(&l2.counters.write_behind_drops);
            observe::write_behind_dropped(&l2.name);
        }
        queued
    }

    /// Queues a job that answers, and waits for its answer: `None` when it could not be
    /// queued in time or the worker is gone.
    pub(crate) async fn run<T>(&self, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Option<T> {
        let (done, answer) = oneshot::channel();
        let queued = tokio::time::timeout(self.wait, self.jobs.send(job(done))).await;
        if !matches!(queued, Ok(Ok(()))) {
            return None;
        }
        answer.await.ok()
    }

    /// A removal of `key` (every key, with `None`) is going to L2 directly: the writes
    /// queued before now must not land after it.
    pub(crate) fn supersede(&self, key: Option<&str>) {
        let mark = self.seq.fetch_add(1, Ordering::AcqRel);
        let mut superseded = self.superseded.lock();
        match key {
            Some(key) => {
                superseded.keys.insert(key.to_owned(), mark);
            }
            None => superseded.all = mark,
        }
    }
}

async fn work(l2: Arc<L2>, mut queue: mpsc::Receiver<Job>, superseded: Arc<Mutex<Superseded>>) {
    while let Some(job) = queue.recv().await {
        match job {
            Job::Set {
                key,
                bytes,
                ttl,
                seq,
            } => {
                let overtaken = |retain: bool| {
                    let mut superseded = superseded.lock();
                    if retain {
                        // Marks below this write's number can no longer skip anything.
                        superseded.keys.retain(|_, mark| *mark > seq);
                    }
                    seq < superseded.all || superseded.keys.get(&key).is_some_and(|m| *m > seq)
                };
                if overtaken(true) {
                    continue;
                }
                l2.write(|s| s.set(&key, &bytes, ttl)).await;
                // A removal that went to L2 directly while this write was on its way: undo
                // the write, so that the removal stands.
                if overtaken(false) {
                    l2.write(|s| s.delete(&key)).await;
                }
            }
            Job::Delete { key, done } => {
                let deleted = l2.write(|s| s.delete(&key)).await.is_some();
                let _ = done.send(deleted);
            }
            Job::Clear { done } => {
                let cleared = l2.write(|s| s.clear()).await.is_some();
                let _ = done.send(cleared);
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}
