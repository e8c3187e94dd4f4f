//! The connection every handle of a [`RedisStore`](super::RedisStore) shares, replaced after a
//! run of timeouts.
//!
//! The redis crate's connections reconnect when theirs reports an error. A black-holed one (a
//! network path that drops every packet: a firewall that forgot the connection, a failover
//! that moved an address) reports nothing until the kernel gives up retransmitting, after
//! about 15 minutes, and every call times out until then. So the store counts the calls in a
//! row that timed out on its connection; at [`REPLACE_AFTER`] it makes a new connection on a
//! task of its own and swaps it in. Calls made meanwhile use the old one: none waits for the
//! connect. An answer resets the count.
//!
//! Each connection has a generation, and a call counts against the one it used only: the
//! calls still under way on a replaced connection time out after the swap, and must not
//! count against its healthy successor.

use std::time::Duration;

use super::connection::{Connection, Connector};
use crate::error::{Error, ErrorKind};
use crate::sync::{Arc, AtomicBool, AtomicU64, AtomicUsize, Ordering, RwLock};

/// Calls in a row that time out on a connection before it is replaced. Few, since each took
/// a whole timeout; more than one, so that one slow answer (a big `clear` page, a server's
/// pause) does not cost a connection.
pub(super) const REPLACE_AFTER: usize = 3;

/// The store's connection, and what it takes to replace it.
pub(super) struct Link {
    current: RwLock<Connection>,
    /// The generation of `current`, changed only under its write lock.
    generation: AtomicU64,
    connector: Connector,
    /// Bounds a replacement's whole connect (its attempts and the crate's retries).
    connect_timeout: Duration,
    /// Calls in a row that timed out on the current connection.
    timeouts: AtomicUsize,
    /// Whether a replacement is connecting: one at a time.
    replacing: AtomicBool,
}

/// The connection a call runs on, and its generation.
pub(super) struct Lease {
    pub(super) conn: Connection,
    generation: u64,
}

impl Lease {
    /// The generation of the connection leased.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }
}

impl Link {
    /// A link over `conn`, just made by `connector`, whose replacements connect within
    /// `connect_timeout`.
    pub(super) fn new(conn: Connection, connector: Connector, connect_timeout: Duration) -> Self {
        Self {
            current: RwLock::new(conn),
            generation: AtomicU64::new(0),
            connector,
            connect_timeout,
            timeouts: AtomicUsize::new(0),
            replacing: AtomicBool::new(false),
        }
    }

    /// Whether the connection is to a cluster (every replacement is of the same kind).
    pub(super) fn is_cluster(&self) -> bool {
        self.connector.is_cluster()
    }

    /// What the connection is made from (a watch connects from it too, on its own).
    pub(super) fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The current connection (a clone: cheap, and the lock is not held while it is used).
    pub(super) fn lease(&self) -> Lease {
        let current = self.current.read();
        Lease {
            conn: current.clone(),
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    /// Counts how a call on `generation` ended: an answer resets the count, a timeout adds
    /// to it, another error (a refused connection, which the crate's own reconnect handles;
    /// a closed store) leaves it.
    pub(super) fn settle<T>(self: &Arc<Self>, generation: u64, result: &Result<T, Error>) {
        match result {
            Ok(_) => self.answered(generation),
            Err(error) if error.kind() == ErrorKind::Timeout => self.timed_out(generation),
            Err(_) => {}
        }
    }

    fn answered(&self, generation: u64) {
        // Read first: the count is shared by every call, and usually 0 already.
        if self.is_current(generation) && self.timeouts.load(Ordering::Relaxed) != 0 {
            self.timeouts.store(0, Ordering::Relaxed);
        }
    }

    fn timed_out(self: &Arc<Self>, generation: u64) {
        if !self.is_current(generation) {
            return;
        }
        if self.timeouts.fetch_add(1, Ordering::Relaxed) + 1 >= REPLACE_AFTER {
            self.replace();
        }
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) == generation
    }

    /// Connects anew on a task of its own, unless a replacement is already connecting, and
    /// swaps the new connection in. If it fails, the count stays where it is, so the next
    /// timeout tries again.
    fn replace(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the next timeout, inside a runtime, tries again
        };
        if self.replacing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Made before the task, so that a task dropped before it runs (its runtime shutting
        // down) still lets the next replacement start.
        let replacing = Replacing(Arc::clone(self));
        drop(runtime.spawn(async move {
            let link = &replacing.0;
            let fresh = tokio::time::timeout(link.connect_timeout, link.connector.connect()).await;
            if let Ok(Ok(conn)) = fresh {
                let old = {
                    let mut current = link.current.write();
                    link.generation.fetch_add(1, Ordering::AcqRel);
                    std::mem::replace(&mut *current, conn)
                };
                link.timeouts.store(0, Ordering::Relaxed);
                // Closed once the calls still holding clones of it end.
                drop(old);
            }
            drop(replacing);
        }));
    }
}

/// A replacement under way: dropped, it lets the next one start.
struct Replacing(Arc<Link>);

impl Drop for Replacing {
    fn drop(&mut self) {
        self.0.replacing.store(false, Ordering::Release);
    }
}

/// A read the store's coalescer may cut short. The coalescer ends a read only at its batch's
/// deadline, by dropping it, so a read dropped before it settles counts as a timeout (as
/// does one dropped because its runtime shut down, which is rare and costs at most a
/// reconnect).
pub(super) struct CoalescedRead {
    link: Arc<Link>,
    generation: u64,
    settled: bool,
}

impl CoalescedRead {
    /// A read about to run on `lease`'s connection.
    pub(super) fn start(link: &Arc<Link>, lease: &Lease) -> Self {
        Self {
            link: Arc::clone(link),
            generation: lease.generation,
            settled: false,
        }
    }

    /// Counts how the read ended.
    pub(super) fn settle<T>(mut self, result: &Result<T, Error>) {
        self.settled = true;
        self.link.settle(self.generation, result);
    }
}

impl Drop for CoalescedRead {
    fn drop(&mut self) {
        if !self.settled {
            self.link.timed_out(self.generation);
        }
    }
}
