//! [`Meter`]: the one instrumentation layer of every store of larder's. Each `Store` method
//! of a backend runs its work through [`Meter::run`], which counts it (keys read and found,
//! keys written, deletes, failures, timeouts), times it into its class's histogram, and, with
//! the `tracing` feature, runs it in a span (`span.rs`). Atomics only: no lock, no
//! allocation.

use std::future::Future;
use std::time::{Duration, Instant};

use super::stats::{LATENCY_BOUNDS_NANOS, LATENCY_BUCKETS, Latency, StoreStats};
use crate::error::{Error, ErrorKind};
use crate::sync::{Arc, AtomicU64, Ordering};

/// A store operation, as counted and traced. Its name is the `db.operation.name` of its
/// span: the `Store` method's, the same on every backend (not the wire command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreOp {
    Get,
    GetMany,
    Set,
    SetMany,
    Add,
    Delete,
    Exists,
    Expire,
    Increment,
    Clear,
    Release,
}

impl StoreOp {
    /// Its `db.operation.name`.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // read by spans only
    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreOp::Get => "GET",
            StoreOp::GetMany => "GET_MANY",
            StoreOp::Set => "SET",
            StoreOp::SetMany => "SET_MANY",
            StoreOp::Add => "ADD",
            StoreOp::Delete => "DELETE",
            StoreOp::Exists => "EXISTS",
            StoreOp::Expire => "EXPIRE",
            StoreOp::Increment => "INCREMENT",
            StoreOp::Clear => "CLEAR",
            StoreOp::Release => "RELEASE",
        }
    }

    /// Its latency class: 0 reads, 1 writes, 2 removals.
    fn class(self) -> usize {
        match self {
            StoreOp::Get | StoreOp::GetMany | StoreOp::Exists => 0,
            StoreOp::Set
            | StoreOp::SetMany
            | StoreOp::Add
            | StoreOp::Expire
            | StoreOp::Increment => 1,
            StoreOp::Delete | StoreOp::Release | StoreOp::Clear => 2,
        }
    }
}

/// What a store's operations are measured by: its name, where it is, and the counters every
/// handle of it shares.
#[derive(Clone)]
pub(crate) struct Meter {
    /// `db.system.name`: "memory", "redis", "memcached", "disk".
    pub(super) system: &'static str,
    /// The counters, and the server (`server.address`, `server.port`) when the store has one.
    counters: Arc<Counters>,
}

struct Counters {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))] // read by spans only
    server: Option<(String, u16)>,
    gets: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    sets: AtomicU64,
    deletes: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    /// Reads, writes, removals.
    classes: [Histogram; 3],
}

struct Histogram {
    count: AtomicU64,
    total_nanos: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS],
}

impl Meter {
    /// The meter of a new store named `system`.
    pub(crate) fn new(system: &'static str) -> Self {
        Self {
            system,
            counters: Arc::new(Counters::new(None)),
        }
    }

    /// The meter of a new store named `system`, on the one server `host:port`.
    #[cfg_attr(not(any(feature = "redis", feature = "memcached")), allow(dead_code))]
    pub(crate) fn at(system: &'static str, host: &str, port: u16) -> Self {
        Self {
            system,
            counters: Arc::new(Counters::new(Some((host.to_string(), port)))),
        }
    }

    /// Runs `op`, a `get`.
    pub(crate) async fn get(
        &self,
        op: impl Future<Output = Result<Option<Vec<u8>>, Error>>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let found = |value: &Option<Vec<u8>>| usize::from(value.is_some());
        self.run(StoreOp::Get, 1, op, found).await
    }

    /// Runs `op`, a `get_many` of `keys` keys.
    pub(crate) async fn get_many(
        &self,
        keys: usize,
        op: impl Future<Output = Result<Vec<Option<Vec<u8>>>, Error>>,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let found = |values: &Vec<Option<Vec<u8>>>| values.iter().flatten().count();
        self.run(StoreOp::GetMany, keys, op, found).await
    }

    /// Runs `op`, a `set_many` of `keys` keys.
    pub(crate) async fn set_many(
        &self,
        keys: usize,
        op: impl Future<Output = Result<(), Error>>,
    ) -> Result<(), Error> {
        self.run(StoreOp::SetMany, keys, op, |_| 0).await
    }

    /// Runs `op`, the operation `kind` on one key (`clear`: on none), which reads no value.
    pub(crate) async fn call<T>(
        &self,
        kind: StoreOp,
        op: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let keys = usize::from(kind != StoreOp::Clear);
        self.run(kind, keys, op, |_| 0).await
    }

    /// Runs `op`, the store operation `kind` on `keys` keys, counted and timed (and traced,
    /// with the `tracing` feature). `found` says, of a read's result, how many keys it found.
    async fn run<T>(
        &self,
        kind: StoreOp,
        keys: usize,
        op: impl Future<Output = Result<T, Error>>,
        found: impl FnOnce(&T) -> usize,
    ) -> Result<T, Error> {
        let c = &*self.counters;
        let keys = keys as u64;
        match kind {
            StoreOp::Get | StoreOp::GetMany => c.gets.fetch_add(keys, Ordering::Relaxed),
            StoreOp::Set | StoreOp::SetMany | StoreOp::Add => {
                c.sets.fetch_add(keys, Ordering::Relaxed)
            }
            StoreOp::Delete => c.deletes.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        #[cfg(feature = "tracing")]
        let span = {
            let server = c.server.as_ref().map(|(host, port)| (host.as_str(), *port));
            let batch = matches!(kind, StoreOp::GetMany | StoreOp::SetMany).then_some(keys);
            super::span::start(self.system, server, kind.name(), batch)
        };
        #[cfg(feature = "tracing")]
        let op = tracing::Instrument::instrument(op, span.clone());
        let start = Instant::now();
        let result = op.await;
        c.classes[kind.class()].record(start.elapsed());
        let hits = match &result {
            Ok(value) if matches!(kind, StoreOp::Get | StoreOp::GetMany) => {
                let hits = found(value) as u64;
                c.hits.fetch_add(hits, Ordering::Relaxed);
                c.misses
                    .fetch_add(keys.saturating_sub(hits), Ordering::Relaxed);
                Some(hits)
            }
            Ok(_) => None,
            Err(error) if error.kind() == ErrorKind::Timeout => {
                c.timeouts.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        #[cfg(feature = "tracing")]
        super::span::finish(&span, hits, result.as_ref().err());
        #[cfg(not(feature = "tracing"))]
        let _ = hits;
        result
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> StoreStats {
        let c = &*self.counters;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let mut stats = StoreStats::new(self.system);
        stats.gets = load(&c.gets);
        stats.hits = load(&c.hits);
        stats.misses = load(&c.misses);
        stats.sets = load(&c.sets);
        stats.deletes = load(&c.deletes);
        stats.errors = load(&c.errors);
        stats.timeouts = load(&c.timeouts);
        stats.reads = c.classes[0].snapshot();
        stats.writes = c.classes[1].snapshot();
        stats.removals = c.classes[2].snapshot();
        stats
    }
}

impl Counters {
    fn new(server: Option<(String, u16)>) -> Self {
        let zero = || AtomicU64::new(0);
        Self {
            server,
            gets: zero(),
            hits: zero(),
            misses: zero(),
            sets: zero(),
            deletes: zero(),
            errors: zero(),
            timeouts: zero(),
            classes: std::array::from_fn(|_| Histogram::new()),
        }
    }
}

impl Histogram {
    fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            total_nanos: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_NANOS.partition_point(|&bound| bound < nanos);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.total_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Latency {
        Latency {
            count: self.count.load(Ordering::Relaxed),
            total_nanos: self.total_nanos.load(Ordering::Relaxed),
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
        }
    }
}
