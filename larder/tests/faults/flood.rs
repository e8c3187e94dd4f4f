//! Memory under floods: a `Cache` in front of a store, with `negative_ttl`, asked for a
//! flood of keys the store does not have (each absence is kept, boundedly), then for keys
//! whose loads hang on a fault, by callers that give up after a few milliseconds. The
//! process's resident memory is read before and after.

#![allow(dead_code)] // each user reads its own part of the report

use std::time::Duration;

use larder::Cache;
use larder::store::Store;

use super::scenario::{Fault, Target, vm_rss};

/// How big a flood is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FloodSize {
    /// Gets of absent keys.
    pub(crate) absent: usize,
    /// Callers dropped while their load hangs.
    pub(crate) abandoned: usize,
    /// The cache's capacity, which also bounds the absences it keeps.
    pub(crate) capacity: u64,
}

impl FloodSize {
    pub(crate) const GATE: FloodSize = FloodSize {
        absent: 100_000,
        abandoned: 10_000,
        capacity: 10_000,
    };
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FloodReport {
    pub(crate) absent: u64,
    pub(crate) abandoned: u64,
    /// Resident memory before, after, and the most seen between stages (bytes).
    pub(crate) rss_before: u64,
    pub(crate) rss_after: u64,
    pub(crate) peak_rss: u64,
    /// Entries the cache holds at the end (none: nothing was found).
    pub(crate) cached: usize,
}

impl FloodReport {
    pub(crate) fn growth(&self) -> u64 {
        self.rss_after.saturating_sub(self.rss_before)
    }
}

const TASKS: usize = 64;

/// Floods a cache in front of `target`'s store; `hang` is the fault that makes its loads
/// hang (`Freeze` for a server, `Stall` for the disk store).
pub(crate) async fn flood<T: Target>(target: &mut T, size: FloodSize, hang: Fault) -> FloodReport {
    let cache: Cache<String, Vec<u8>> = Cache::builder()
        .max_capacity(size.capacity)
        .negative_ttl(Duration::from_secs(600))
        .build();
    let mut report = FloodReport {
        rss_before: vm_rss(),
        ..FloodReport::default()
    };
    report.absent = callers(&cache, target.store(), "absent", size.absent, None).await;
    report.peak_rss = vm_rss();
    target.inject(hang).await;
    // Gone after 1-4 ms, long before the store's timeout: the load is dropped mid-flight.
    let patience = Some(Duration::from_millis(1));
    report.abandoned = callers(&cache, target.store(), "gone", size.abandoned, patience).await;
    report.peak_rss = report.peak_rss.max(vm_rss());
    target.heal(hang).await;
    // One more round of absent keys once healed: what the abandoned loads left behind
    // (queued reads, flights) has to make way.
    callers(
        &cache,
        target.store(),
        "after",
        size.capacity as usize,
        None,
    )
    .await;
    report.rss_after = vm_rss();
    report.peak_rss = report.peak_rss.max(report.rss_after);
    report.cached = cache.len();
    report
}

/// `n` distinct keys `<prefix>-<i>` asked from [`TASKS`] tasks through `cache`, loading from
/// `store`; each caller gives up after `patience` (and some number of milliseconds more) if
/// set. Returns how many were asked.
async fn callers<S: Store + Clone + Send + Sync + 'static>(
    cache: &Cache<String, Vec<u8>>,
    store: S,
    prefix: &str,
    n: usize,
    patience: Option<Duration>,
) -> u64 {
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (cache, store, prefix) = (cache.clone(), store.clone(), prefix.to_string());
            tokio::spawn(async move {
                let mut asked = 0u64;
                for i in (t..n).step_by(TASKS) {
                    let key = format!("{prefix}-{i}");
                    let store = store.clone();
                    let load = {
                        let key = key.clone();
                        async move { store.get(&key).await.ok().flatten() }
                    };
                    let get = cache.optionally_get_with(key, load);
                    match patience {
                        Some(p) => {
                            let p = p + Duration::from_millis((i % 4) as u64);
                            let _ = tokio::time::timeout(p, get).await;
                        }
                        None => {
                            let _ = get.await;
                        }
                    }
                    asked += 1;
                }
                asked
            })
        })
        .collect();
    let mut asked = 0;
    for task in tasks {
        asked += task.await.expect("a flood task panicked");
    }
    asked
}
