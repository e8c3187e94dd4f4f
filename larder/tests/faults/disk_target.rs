//! A `DiskStore` under faults: its blocking threads all held (the work it queues waits), and
//! its file closed and opened again. The runtime must allow at most `blocking_threads`
//! blocking threads (`Builder::max_blocking_threads`), so that holding them stalls the store.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use larder::store::{DiskStore, Store};

use super::scenario::{Fault, Target};
use super::server::Scratch;

pub(crate) struct DiskTarget {
    store: DiskStore,
    timeout: Duration,
    blocking_threads: usize,
    /// One sender per held blocking thread: dropping them lets the threads go.
    held: Vec<mpsc::Sender<()>>,
    file: PathBuf,
    _dir: Scratch,
}

async fn open(file: &PathBuf, timeout: Option<Duration>) -> DiskStore {
    DiskStore::builder()
        .sweep_interval(None)
        .timeout(timeout)
        .open(file, "faults")
        .await
        .expect("opens the store's file")
}

impl DiskTarget {
    pub(crate) async fn start(timeout: Duration, blocking_threads: usize) -> Self {
        let dir = Scratch::new("larder-faults-disk");
        let file = dir.path().join("store.redb");
        Self {
            store: open(&file, Some(timeout)).await,
            timeout,
            blocking_threads,
            held: Vec::new(),
            file,
            _dir: dir,
        }
    }

    /// Closes the file (every handle) and opens it again with `timeout`.
    async fn reopen(&mut self, timeout: Option<Duration>) {
        self.store.close().await.expect("closes");
        self.store = open(&self.file, timeout).await;
    }
}

impl Target for DiskTarget {
    type Store = DiskStore;

    fn store(&self) -> DiskStore {
        self.store.clone()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn faults(&self) -> Vec<Fault> {
        vec![Fault::Stall, Fault::Restart]
    }

    fn persistent(&self) -> bool {
        true
    }

    async fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::Stall => {
                for _ in 0..self.blocking_threads {
                    let (tx, rx) = mpsc::channel::<()>();
                    // Held until the sender goes; its result is of no interest.
                    drop(tokio::task::spawn_blocking(move || rx.recv()));
                    self.held.push(tx);
                }
            }
            // A restart of the file: closed and opened again at once (the process cannot
            // crash itself); the bursts run on the reopened store.
            Fault::Restart => self.reopen(Some(self.timeout)).await,
            other => unreachable!("{other:?} is not a disk fault"),
        }
    }

    async fn heal(&mut self, fault: Fault) {
        if fault == Fault::Stall {
            self.held.clear();
        }
    }

    async fn checker(&mut self) -> DiskStore {
        self.reopen(None).await;
        self.store.clone()
    }
}
