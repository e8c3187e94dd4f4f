//! The fault scenario, the same for every store and every size: preload keys, then for each
//! fault the target offers, inject it, run a burst of operations, heal it, run another burst;
//! at the end, read back every acknowledged write through a fresh connection. The gate runs
//! it small (`Size::GATE`), `larder-bench chaos` large; both read the same [`Report`].
//!
//! Every value encodes its key (`value-of:<key>`), so an answer carrying another key's value
//! is caught wherever it comes from. Every operation runs under a hard bound (the store's
//! timeout plus [`HANG`]), so a hang ends the scenario instead of the run.

#![allow(dead_code)] // each user reads its own part of the report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use larder::Ttl;
use larder::store::Store;

/// A fault a target can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fault {
    /// Every chunk delayed by more than the store's timeout (the proxy).
    Latency,
    /// Nothing forwarded, connections kept open (the proxy).
    Pause,
    /// Bytes read and dropped both ways (the proxy).
    BlackHole,
    /// Every open connection closed (the proxy).
    Cut,
    /// The server process stopped with `SIGSTOP`, then continued.
    Freeze,
    /// The server killed (`SIGKILL`) and started again; for the disk store, the file closed
    /// and opened again.
    Restart,
    /// Every blocking thread of the runtime held (the disk store's work queues behind them).
    Stall,
}

impl Fault {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::Latency => "latency",
            Fault::Pause => "pause",
            Fault::BlackHole => "black hole",
            Fault::Cut => "cut",
            Fault::Freeze => "SIGSTOP",
            Fault::Restart => "restart",
            Fault::Stall => "stall",
        }
    }
}

/// A store under faults, and the means to hurt it.
pub(crate) trait Target {
    type Store: Store + Clone + Send + Sync + 'static;
    /// The store as it is now (a restart may replace it), with the short timeout.
    fn store(&self) -> Self::Store;
    /// The store's timeout, which every operation must keep to (plus a margin).
    fn timeout(&self) -> Duration;
    /// The faults this target can inject, in the order the scenario runs them.
    fn faults(&self) -> Vec<Fault>;
    /// Whether acknowledged writes must survive a restart.
    fn persistent(&self) -> bool;
    async fn inject(&mut self, fault: Fault);
    async fn heal(&mut self, fault: Fault);
    /// A fresh, healthy handle with a long timeout, to read back what was acknowledged.
    async fn checker(&mut self) -> Self::Store;
}

/// How much work a scenario does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Size {
    /// Keys written before the faults, read during them.
    pub(crate) keys: usize,
    /// Concurrent tasks in a burst.
    pub(crate) tasks: usize,
    /// Operations in a burst while a fault is on (each may take the whole timeout).
    pub(crate) ops_during: usize,
    /// Operations in a burst after it is healed.
    pub(crate) ops_after: usize,
    /// How many times the list of faults is run through.
    pub(crate) rounds: usize,
}

impl Size {
    /// For the gate: a few seconds per store.
    pub(crate) const GATE: Size = Size {
        keys: 512,
        tasks: 64,
        ops_during: 256,
        ops_after: 1_024,
        rounds: 1,
    };
}

/// The faults of a server behind the proxy, but the black hole (run on a fresh server: a
/// black-holed Redis connection may never answer again).
pub(crate) const SERVER_FAULTS: &[Fault] = &[
    Fault::Latency,
    Fault::Pause,
    Fault::Freeze,
    Fault::Cut,
    Fault::Restart,
];

/// The runtime the suite runs on: two workers, and two blocking threads, so that holding
/// them stalls the disk store.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Far beyond any timeout in the suite: an operation still running after the timeout plus
/// this is a hang.
pub(crate) const HANG: Duration = Duration::from_secs(10);

/// How long a store may take, once a fault is healed, to answer again (reconnects with
/// backoff included).
pub(crate) const RECOVERY: Duration = Duration::from_secs(5);

/// What a scenario saw.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    pub(crate) ops: u64,
    /// Operations that returned an error (any kind); expected under faults.
    pub(crate) failed: u64,
    /// Operations still running after the timeout plus [`HANG`] (abandoned).
    pub(crate) hung: u64,
    /// Answers carrying a value that is not the key's.
    pub(crate) wrong: u64,
    pub(crate) faults: BTreeMap<Fault, u32>,
    /// The slowest operation.
    pub(crate) max_latency: Duration,
    pub(crate) timeout: Duration,
    /// Writes acknowledged (preload included), and those not read back at the end (`None`
    /// for a store that does not persist across restarts).
    pub(crate) acked: u64,
    pub(crate) lost: Option<u64>,
    /// The most resident memory seen, at the end of each burst (bytes).
    pub(crate) peak_rss: u64,
    /// The longest a store took, from a fault's healing, to answer a get again.
    pub(crate) recovery: Duration,
    /// The faults after which it did not answer again within [`RECOVERY`].
    pub(crate) unrecovered: Vec<Fault>,
}

impl Report {
    /// How far the slowest operation went past the timeout (zero if it did not).
    pub(crate) fn over_timeout(&self) -> Duration {
        self.max_latency.saturating_sub(self.timeout)
    }
}

pub(crate) fn value_of(key: &str) -> Vec<u8> {
    format!("value-of:{key}").into_bytes()
}

fn preloaded(i: usize) -> String {
    format!("k{i}")
}

/// Counters the burst's tasks share.
#[derive(Default)]
struct Tally {
    ops: AtomicU64,
    failed: AtomicU64,
    hung: AtomicU64,
    wrong: AtomicU64,
    max_nanos: AtomicU64,
}

impl Tally {
    /// Records one answer of an operation that took `took`: `wrong` answers carried another
    /// key's value.
    fn record(&self, took: Duration, outcome: Option<Result<u64, ()>>) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
        match outcome {
            None => self.hung.fetch_add(1, Ordering::Relaxed),
            Some(Err(())) => self.failed.fetch_add(1, Ordering::Relaxed),
            Some(Ok(wrong)) => self.wrong.fetch_add(wrong, Ordering::Relaxed),
        };
    }
}

/// Runs the scenario on `target`, injecting `faults` in turn (each of them one the target
/// offers, see [`Target::faults`]).
pub(crate) async fn run<T: Target>(target: &mut T, faults: &[Fault], size: Size) -> Report {
    let timeout = target.timeout();
    let mut report = Report {
        timeout,
        peak_rss: vm_rss(),
        ..Report::default()
    };
    let mut acked: Vec<String> = Vec::new();
    // The preload must succeed: the faults have not started.
    let store = target.store();
    let keys: Vec<String> = (0..size.keys).map(preloaded).collect();
    for chunk in keys.chunks(256) {
        let values: Vec<Vec<u8>> = chunk.iter().map(|k| value_of(k)).collect();
        let entries: Vec<(&str, &[u8])> = chunk
            .iter()
            .zip(&values)
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        store.set_many(&entries, Ttl::Never).await.expect("preload");
        acked.extend(chunk.iter().cloned());
    }
    let tally = Arc::new(Tally::default());
    for round in 0..size.rounds {
        for &fault in faults {
            target.inject(fault).await;
            let name = format!("{round}-{}-on", fault.name());
            acked.extend(
                burst(
                    target.store(),
                    &name,
                    size,
                    size.ops_during,
                    timeout,
                    &tally,
                )
                .await,
            );
            target.heal(fault).await;
            match recovery(&target.store(), timeout).await {
                Some(took) => report.recovery = report.recovery.max(took),
                None => report.unrecovered.push(fault),
            }
            let name = format!("{round}-{}-off", fault.name());
            acked.extend(burst(target.store(), &name, size, size.ops_after, timeout, &tally).await);
            *report.faults.entry(fault).or_default() += 1;
            report.peak_rss = report.peak_rss.max(vm_rss());
        }
    }
    report.ops = tally.ops.load(Ordering::Relaxed);
    report.failed = tally.failed.load(Ordering::Relaxed);
    report.hung = tally.hung.load(Ordering::Relaxed);
    report.wrong = tally.wrong.load(Ordering::Relaxed);
    report.max_latency = Duration::from_nanos(tally.max_nanos.load(Ordering::Relaxed));
    report.acked = acked.len() as u64;
    if target.persistent() {
        report.lost = Some(read_back(&target.checker().await, &acked).await);
    }
    report
}

/// How long `store` takes to answer a get again (any answer, an absence included), probing
/// every 20 ms; `None` if it does not within [`RECOVERY`]. A bounded measurement of the time
/// to recover, not a retry of a failed check.
async fn recovery<S: Store>(store: &S, timeout: Duration) -> Option<Duration> {
    let healed = Instant::now();
    while healed.elapsed() < RECOVERY {
        if let Ok(Ok(_)) = tokio::time::timeout(timeout + HANG, store.get(&preloaded(0))).await {
            return Some(healed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// `ops` operations from `size.tasks` tasks: single gets and 3-key `get_many`s of preloaded
/// keys, and sets of keys of their own (`w:<burst>:<n>`); returns the keys whose sets were
/// acknowledged.
async fn burst<S: Store + Clone + Send + Sync + 'static>(
    store: S,
    name: &str,
    size: Size,
    ops: usize,
    timeout: Duration,
    tally: &Arc<Tally>,
) -> Vec<String> {
    let tasks: Vec<_> = (0..size.tasks)
        .map(|t| {
            let (store, tally) = (store.clone(), Arc::clone(tally));
            let name = name.to_string();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in (t..ops).step_by(size.tasks) {
                    let started = Instant::now();
                    let op = one_op(&store, &name, n, size.keys, &mut acked);
                    let outcome = tokio::time::timeout(timeout + HANG, op).await.ok();
                    tally.record(started.elapsed(), outcome);
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.expect("a burst task panicked"));
    }
    acked
}

/// The `n`th operation of a burst: `Ok(wrong answers)` or `Err` for an error.
async fn one_op<S: Store>(
    store: &S,
    burst: &str,
    n: usize,
    keys: usize,
    acked: &mut Vec<String>,
) -> Result<u64, ()> {
    // Spread over the keys, distinct within a burst as far as there are keys.
    let key = preloaded((n * 7_919) % keys);
    match n % 4 {
        0 | 1 => {
            let got = store.get(&key).await.map_err(drop)?;
            Ok(u64::from(got.is_some_and(|v| v != value_of(&key))))
        }
        2 => {
            let own = format!("w:{burst}:{n}");
            store
                .set(&own, &value_of(&own), Ttl::Never)
                .await
                .map_err(drop)?;
            acked.push(own);
            Ok(0)
        }
        _ => {
            let many: Vec<String> = (0..3)
                .map(|i| preloaded((n * 7_919 + i * 131) % keys))
                .collect();
            let refs: Vec<&str> = many.iter().map(String::as_str).collect();
            let got = store.get_many(&refs).await.map_err(drop)?;
            if got.len() != refs.len() {
                return Ok(1);
            }
            let wrong = refs
                .iter()
                .zip(got)
                .filter(|(k, v)| v.as_ref().is_some_and(|v| *v != value_of(k)))
                .count();
            Ok(wrong as u64)
        }
    }
}

/// How many of `keys` do not read back with their value through `store`.
async fn read_back<S: Store>(store: &S, keys: &[String]) -> u64 {
    let mut lost = 0;
    for chunk in keys.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let got = store
            .get_many(&refs)
            .await
            .expect("the read-back after healing");
        lost += refs
            .iter()
            .zip(got)
            .filter(|(k, v)| v.as_deref() != Some(value_of(k).as_slice()))
            .count() as u64;
    }
    lost
}

/// This process's resident memory (`VmRSS` in `/proc/self/status`), in bytes; 0 where there
/// is no `/proc`.
pub(crate) fn vm_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}
