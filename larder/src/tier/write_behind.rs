//! Write-behind: L2 writes queued in a bounded channel and applied in order by one task. A
//! full queue drops a value write (counted) rather than block its caller; removals wait for
//! room, bounded by the tier's timeout, since dropping one would leave a stale value in L2.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::l2::L2;
use super::stats::bump;
use crate::Ttl;

pub(crate) enum Job {
    Set {
        key: String,
        bytes: Vec<u8>,
        ttl: Ttl,
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

pub(crate) struct WriteBehind {
    jobs: mpsc::Sender<Job>,
    /// How long a removal waits for room in a full queue.
    wait: Duration,
}

impl WriteBehind {
    /// A queue of `capacity` jobs, and its worker on the current tokio runtime.
    pub(crate) fn start(l2: Arc<L2>, capacity: usize, wait: Duration) -> Self {
        let (jobs, queue) = mpsc::channel(capacity);
        tokio::spawn(work(l2, queue));
        Self { jobs, wait }
    }

    /// Queues a value write; `false` (and counted) when the queue is full.
    pub(crate) fn set(&self, l2: &L2, key: String, bytes: Vec<u8>, ttl: Ttl) -> bool {
        let queued = self.jobs.try_send(Job::Set { key, bytes, ttl }).is_ok();
        if !queued {
            bump(&l2.counters.write_behind_drops);
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
}

async fn work(l2: Arc<L2>, mut queue: mpsc::Receiver<Job>) {
    while let Some(job) = queue.recv().await {
        match job {
            Job::Set { key, bytes, ttl } => {
                l2.write(|s| s.set(&key, &bytes, ttl)).await;
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
