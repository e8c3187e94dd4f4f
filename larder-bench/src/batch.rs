//! The `batch` scenario: 10,000 concurrent loads over 1,000 distinct keys through a batch
//! function that takes 5 ms, in larder's `BatchLoader`, async-graphql's `DataLoader` and the
//! `dataloader` crate: batch calls and wall time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::report::{Section, Table, fixed, median};

const LOADS: usize = 10_000;
const DISTINCT: u64 = 1_000;
const BATCH_TIME: Duration = Duration::from_millis(5);
const WINDOW: Duration = Duration::from_millis(5);
const MAX_BATCH: usize = 100;
const REPS: usize = 3;

/// The backend: counts its calls, takes `BATCH_TIME`, answers every key.
async fn backend(calls: &AtomicUsize, keys: &[u64]) -> HashMap<u64, u64> {
    calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(BATCH_TIME).await;
    keys.iter().map(|&k| (k, k * 2)).collect()
}

#[derive(Debug, Clone, Copy)]
enum Contender {
    Larder,
    AsyncGraphql,
    DataloaderCrate,
}

impl Contender {
    const ALL: [Contender; 3] = [
        Contender::Larder,
        Contender::AsyncGraphql,
        Contender::DataloaderCrate,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::Larder => "larder `BatchLoader` (window 5 ms)",
            Contender::AsyncGraphql => "async-graphql `DataLoader` (delay 5 ms, HashMapCache)",
            Contender::DataloaderCrate => {
                "`dataloader` crate `cached::Loader` (yield-based window)"
            }
        }
    }
}

struct GraphqlLoader(Arc<AtomicUsize>);

impl async_graphql::dataloader::Loader<u64> for GraphqlLoader {
    type Value = u64;
    type Error = Arc<String>;

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, Self::Error> {
        Ok(backend(&self.0, keys).await)
    }
}

struct CrateBatch(Arc<AtomicUsize>);

impl dataloader::BatchFn<u64, u64> for CrateBatch {
    async fn load(&mut self, keys: &[u64]) -> HashMap<u64, u64> {
        backend(&self.0, keys).await
    }
}

/// One run: `LOADS` tasks, spawned and waiting at a starting line, each load one of
/// `DISTINCT` keys. Returns (batch calls, wall from the release to the last answer).
fn run_once(rt: &tokio::runtime::Runtime, who: Contender) -> (usize, Duration) {
    let calls = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let cache: larder::Cache<u64, u64> = larder::Cache::new(10_000);
        let counted = Arc::clone(&calls);
        let ours = cache
            .batch_loader(move |keys: Vec<u64>| {
                let counted = Arc::clone(&counted);
                async move { Ok::<_, String>(backend(&counted, &keys).await) }
            })
            .window(WINDOW)
            .max_batch_size(MAX_BATCH)
            .build();
        let graphql = Arc::new(
            async_graphql::dataloader::DataLoader::with_cache(
                GraphqlLoader(Arc::clone(&calls)),
                tokio::spawn,
                async_graphql::dataloader::HashMapCache::default(),
            )
            .delay(WINDOW)
            .max_batch_size(MAX_BATCH),
        );
        let crate_loader = dataloader::cached::Loader::new(CrateBatch(Arc::clone(&calls)))
            .with_max_batch_size(MAX_BATCH);
        let (release, start_line) = tokio::sync::watch::channel(false);
        let waiting = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..LOADS as u64)
            .map(|i| {
                let key = (i * 7919) % DISTINCT;
                let (ours, graphql, crate_loader) =
                    (ours.clone(), Arc::clone(&graphql), crate_loader.clone());
                let (mut start_line, waiting) = (start_line.clone(), Arc::clone(&waiting));
                tokio::spawn(async move {
                    waiting.fetch_add(1, Ordering::Relaxed);
                    let _ = start_line.wait_for(|&go| go).await;
                    match who {
                        Contender::Larder => ours.load(key).await.ok().flatten(),
                        Contender::AsyncGraphql => graphql.load_one(key).await.ok().flatten(),
                        Contender::DataloaderCrate => crate_loader.try_load(key).await.ok(),
                    }
                })
            })
            .collect();
        while waiting.load(Ordering::Relaxed) < LOADS {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let start = Instant::now();
        let _ = release.send(true);
        for (i, task) in tasks.into_iter().enumerate() {
            let key = (i as u64 * 7919) % DISTINCT;
            assert_eq!(task.await.ok().flatten(), Some(key * 2), "{}", who.name());
        }
        (calls.load(Ordering::Relaxed), start.elapsed())
    })
}

pub(crate) fn run(command: &str) -> Section {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut section = Section::new("batch", "Batching: 10,000 loads over 1,000 keys", command);
    section.para(format!(
        "{LOADS} tokio tasks (2 worker threads), spawned and waiting at a starting line, each load \
         one of {DISTINCT} distinct keys; the batch function takes {} ms; at most {MAX_BATCH} keys \
         per batch. Median wall time of {REPS} runs, from the release to the last answer; each \
         loader is fresh for each run.",
        BATCH_TIME.as_millis()
    ));
    let mut table = Table::new(["loader", "batch calls", "wall (ms)"]);
    let (mut larder_calls, mut larder_wall) = (0, f64::NAN);
    for who in Contender::ALL {
        let mut walls = Vec::new();
        let mut calls = 0;
        for rep in 0..REPS {
            let (c, wall) = run_once(&rt, who);
            eprintln!(
                "  batch: {} [{}/{REPS}] {c} calls, {:.1} ms",
                who.name(),
                rep + 1,
                wall.as_secs_f64() * 1e3
            );
            calls = calls.max(c);
            walls.push(wall.as_secs_f64() * 1e3);
        }
        let wall = median(walls);
        if let Contender::Larder = who {
            (larder_calls, larder_wall) = (calls, wall);
        }
        table.row([who.name().to_string(), calls.to_string(), fixed(wall, 1)]);
    }
    section.table(&table);
    let wanted_calls = DISTINCT.div_ceil(MAX_BATCH as u64) as usize;
    let wall_bound = (2 * WINDOW + 2 * BATCH_TIME).as_secs_f64() * 1e3;
    section.para(format!(
        "**Target: exactly ceil(distinct / max_batch_size) = {wanted_calls} batch calls, and wall \
         time within two windows plus two batch times ({wall_bound:.0} ms).** larder: {larder_calls} \
         calls ({}), {larder_wall:.1} ms ({}).",
        if larder_calls == wanted_calls { "met" } else { "not met" },
        if larder_wall <= wall_bound { "met" } else { "not met" },
    ));
    section
}
