//! The `misses` scenario: many distinct cold keys through the loading API, where every call is
//! a miss that goes through larder's flight registry (one mutex per cache, taken on every miss
//! and every `remove`), side by side with moka's `future::Cache::get_with` and quick_cache's
//! `get_or_insert_async`; plus larder's hit paths (`get`, `get_with`) from the same binary, so
//! a change to the registry can be checked for what it does to hits.
//!
//! Threads, not tasks: each of the 1 or 2 OS threads runs one current-thread tokio runtime and
//! one loop of awaits. With an instant loader (`async move { k }`) every await completes at
//! once, so the runtime adds one poll per call and no scheduling; on a multi-thread runtime the
//! figures would also carry work stealing, wake-ups and where tasks were placed, the runtime's
//! costs rather than the registry's. The two threads share nothing but the cache under test,
//! so what they contend on is its locks (for larder: the registry mutex and the shards).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::Barrier;
use std::time::Instant;

use crate::report::{Section, Table, fixed, median, thousands};

/// Rounds: every cell is measured once per round, the rows and caches interleaved.
const ROUNDS: usize = 5;
/// The hit rows read this many keys, loaded beforehand.
const HIT_KEYS: u64 = 1_000;

/// Sizes of one run; `--quick` takes a tenth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Operations per measurement (all threads together) on the miss rows.
    miss_ops: u64,
    /// Operations per measurement (all threads together) on the hit rows.
    hit_ops: u64,
}

impl Config {
    pub(crate) fn new(quick: bool) -> Self {
        let scale = if quick { 10 } else { 1 };
        Self {
            miss_ops: 300_000 / scale,
            hit_ops: 2_000_000 / scale,
        }
    }

    /// Twice the keys a miss row loads: no cache evicts during a row (larder's shards and
    /// quick_cache's each get a share of the capacity, and keys do not spread exactly evenly).
    fn capacity(self) -> u64 {
        2 * self.miss_ops
    }
}

/// A cache with a loading call, measured through the same loops. The methods return the
/// cache's own future where they can (no extra `async` layer around it), so a hit costs here
/// what it costs a caller.
trait Loading: Sync {
    fn build(capacity: u64) -> Self;
    /// The value for `key`, loaded with an instant loader on a miss.
    fn get_with(&self, key: u64) -> impl Future<Output = u64>;
    /// A plain lookup.
    fn get(&self, key: u64) -> impl Future<Output = Option<u64>>;
    /// Removes `key`.
    fn remove(&self, key: u64) -> impl Future<Output = ()>;
}

impl Loading for larder::Cache<u64, u64> {
    fn build(capacity: u64) -> Self {
        larder::Cache::new(capacity)
    }
    #[inline]
    fn get_with(&self, key: u64) -> impl Future<Output = u64> {
        larder::Cache::get_with(self, key, async move { key })
    }
    #[inline]
    fn get(&self, key: u64) -> impl Future<Output = Option<u64>> {
        std::future::ready(larder::Cache::get(self, &key))
    }
    #[inline]
    fn remove(&self, key: u64) -> impl Future<Output = ()> {
        larder::Cache::remove(self, &key);
        std::future::ready(())
    }
}

impl Loading for moka::future::Cache<u64, u64> {
    fn build(capacity: u64) -> Self {
        moka::future::Cache::new(capacity)
    }
    #[inline]
    fn get_with(&self, key: u64) -> impl Future<Output = u64> {
        moka::future::Cache::get_with(self, key, async move { key })
    }
    #[inline]
    async fn get(&self, key: u64) -> Option<u64> {
        moka::future::Cache::get(self, &key).await
    }
    #[inline]
    async fn remove(&self, key: u64) {
        moka::future::Cache::remove(self, &key).await;
    }
}

impl Loading for quick_cache::sync::Cache<u64, u64> {
    fn build(capacity: u64) -> Self {
        quick_cache::sync::Cache::new(usize::try_from(capacity).unwrap_or(usize::MAX))
    }
    #[inline]
    async fn get_with(&self, key: u64) -> u64 {
        self.get_or_insert_async(&key, async move { Ok::<_, ()>(key) })
            .await
            .unwrap_or_default()
    }
    #[inline]
    fn get(&self, key: u64) -> impl Future<Output = Option<u64>> {
        std::future::ready(quick_cache::sync::Cache::get(self, &key))
    }
    #[inline]
    fn remove(&self, key: u64) -> impl Future<Output = ()> {
        quick_cache::sync::Cache::remove(self, &key);
        std::future::ready(())
    }
}

/// The caches of the table, in column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Larder,
    Moka,
    QuickCache,
}

impl Who {
    const ALL: [Who; 3] = [Who::Larder, Who::Moka, Who::QuickCache];
}

/// What a row's threads do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Every call a cold miss: each thread loads its own range of keys, each key once.
    Cold,
    /// Nine cold `get_with` calls, then one `remove` of a key this thread loaded earlier (and
    /// has not removed yet), repeated.
    ColdWithRemoves,
    /// `get_with` on keys all present.
    GetWithHit,
    /// `get` on keys all present.
    GetHit,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
struct Row {
    work: Work,
    threads: usize,
    /// Whether the peers are measured too (the hit rows are for larder's before/after).
    peers: bool,
}

const ROWS: [Row; 8] = [
    Row {
        work: Work::Cold,
        threads: 1,
        peers: true,
    },
    Row {
        work: Work::Cold,
        threads: 2,
        peers: true,
    },
    Row {
        work: Work::ColdWithRemoves,
        threads: 1,
        peers: true,
    },
    Row {
        work: Work::ColdWithRemoves,
        threads: 2,
        peers: true,
    },
    Row {
        work: Work::GetWithHit,
        threads: 1,
        peers: false,
    },
    Row {
        work: Work::GetWithHit,
        threads: 2,
        peers: false,
    },
    Row {
        work: Work::GetHit,
        threads: 1,
        peers: false,
    },
    Row {
        work: Work::GetHit,
        threads: 2,
        peers: false,
    },
];

impl Row {
    fn label(self, cfg: Config) -> String {
        let threads = if self.threads == 1 {
            "1 thread".to_string()
        } else {
            format!("{} threads", self.threads)
        };
        match self.work {
            Work::Cold => format!(
                "cold `get_with`, {} distinct keys, {threads}",
                thousands(cfg.miss_ops)
            ),
            Work::ColdWithRemoves => format!("90% cold `get_with` + 10% `remove`, {threads}"),
            Work::GetWithHit => format!("`get_with` hit, {} keys, {threads}", thousands(HIT_KEYS)),
            Work::GetHit => format!("`get` hit, {} keys, {threads}", thousands(HIT_KEYS)),
        }
    }

    fn ops(self, cfg: Config) -> u64 {
        match self.work {
            Work::Cold | Work::ColdWithRemoves => cfg.miss_ops,
            Work::GetWithHit | Work::GetHit => cfg.hit_ops,
        }
    }
}

/// One thread's loop: `ops` operations of `work`; `first` is the first of the thread's own
/// cold keys.
async fn thread_loop<C: Loading>(cache: &C, work: Work, first: u64, ops: u64) -> u64 {
    let mut sum = 0u64;
    match work {
        Work::Cold => {
            for k in first..first + ops {
                sum = sum.wrapping_add(cache.get_with(k).await);
            }
        }
        Work::ColdWithRemoves => {
            let (mut loaded, mut removed) = (0u64, 0u64);
            for i in 0..ops {
                if i % 10 == 9 {
                    // The 9r-th key loaded: loaded already (9(r+1) loads so far), removed
                    // never (each r once).
                    cache.remove(first + 9 * removed).await;
                    removed += 1;
                } else {
                    sum = sum.wrapping_add(cache.get_with(first + loaded).await);
                    loaded += 1;
                }
            }
        }
        Work::GetWithHit => {
            for i in 0..ops {
                sum = sum.wrapping_add(cache.get_with((i * 7) % HIT_KEYS).await);
            }
        }
        Work::GetHit => {
            for i in 0..ops {
                sum = sum.wrapping_add(cache.get((i * 7) % HIT_KEYS).await.unwrap_or(0));
            }
        }
    }
    sum
}

/// One measurement: a fresh cache, `row.threads` threads released together; M ops/s from the
/// release to the last thread's end. Building, filling and dropping the cache are not timed.
fn measure<C: Loading>(row: Row, cfg: Config) -> f64 {
    let cache = C::build(cfg.capacity());
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    };
    if matches!(row.work, Work::GetWithHit | Work::GetHit) {
        runtime().block_on(async {
            for k in 0..HIT_KEYS {
                cache.get_with(k).await;
            }
        });
    }
    let per_thread = row.ops(cfg) / row.threads as u64;
    let start_line = Arc::new(Barrier::new(row.threads));
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..row.threads as u64)
            .map(|t| {
                let (cache, start_line) = (&cache, Arc::clone(&start_line));
                scope.spawn(move || {
                    let rt = runtime();
                    start_line.wait();
                    let start = Instant::now();
                    let sum = rt.block_on(thread_loop(cache, row.work, t * per_thread, per_thread));
                    let end = Instant::now();
                    black_box(sum);
                    (start, end)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a benchmark thread"))
            .collect()
    });
    let start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("one thread at least");
    let end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("one thread at least");
    let secs = end.duration_since(start).as_secs_f64();
    (per_thread * row.threads as u64) as f64 / secs / 1e6
}

fn measure_who(who: Who, row: Row, cfg: Config) -> f64 {
    match who {
        Who::Larder => measure::<larder::Cache<u64, u64>>(row, cfg),
        Who::Moka => measure::<moka::future::Cache<u64, u64>>(row, cfg),
        Who::QuickCache => measure::<quick_cache::sync::Cache<u64, u64>>(row, cfg),
    }
}

/// `median (min–max)` of one cell's rounds.
fn cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        return "–".to_string();
    }
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let digits = if max >= 10.0 { 1 } else { 2 };
    format!(
        "{} ({}–{})",
        fixed(median(xs.to_vec()), digits),
        fixed(min, digits),
        fixed(max, digits)
    )
}

/// The median over rounds of larder / peer within each round, with its min–max.
fn ratio_cell(ours: &[f64], theirs: &[f64]) -> String {
    if theirs.is_empty() {
        return "–".to_string();
    }
    let ratios: Vec<f64> = ours.iter().zip(theirs).map(|(a, b)| a / b).collect();
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{}x ({}–{})",
        fixed(median(ratios), 2),
        fixed(min, 2),
        fixed(max, 2)
    )
}

pub(crate) fn run(cfg: Config, command: &str) -> Section {
    // results[row][who] = M ops/s per round
    let mut results = vec![[Vec::new(), Vec::new(), Vec::new()]; ROWS.len()];
    for round in 0..ROUNDS {
        for (r, &row) in ROWS.iter().enumerate() {
            for (w, &who) in Who::ALL.iter().enumerate() {
                if who != Who::Larder && !row.peers {
                    continue;
                }
                let mops = measure_who(who, row, cfg);
                eprintln!(
                    "  misses [{}/{ROUNDS}] {} / {who:?}: {mops:.2} M ops/s",
                    round + 1,
                    row.label(cfg)
                );
                results[r][w].push(mops);
            }
        }
    }
    let mut section = Section::new(
        "misses",
        "Loading many distinct keys: the flight registry under cold misses",
        command,
    );
    section.para(format!(
        "Every `get_with` of a cold row is a miss on a key never seen before, with a loader that \
         returns at once (`async move {{ k }}`): the cost is the miss path itself (for larder, the \
         flight registry's mutex, taken on every miss and every `remove`, then the store into \
         the shard). Each of 1 or 2 OS threads runs a current-thread tokio runtime and one loop \
         over its own range of keys (threads, not tasks: the runtime adds no scheduling, so what \
         the threads contend on is the cache). {} operations per measurement, split between \
         the threads; a fresh cache of capacity {} for each, so nothing is evicted. The mixed rows \
         do nine cold `get_with` then one `remove` of a key the thread loaded earlier. The hit \
         rows (larder only: a before/after of the hit paths from the same binary) read {} keys \
         loaded beforehand, {} operations per measurement. Each of {ROUNDS} rounds measures \
         every row and cache once, interleaved; a figure is the median over the rounds with \
         the min–max across rounds in brackets, and a ratio is the median of the ratios within \
         each round. moka is `moka::future::Cache::get_with` / `remove`; quick_cache is \
         `quick_cache::sync::Cache::get_or_insert_async` / `remove`.",
        thousands(cfg.miss_ops),
        thousands(cfg.capacity()),
        thousands(HIT_KEYS),
        thousands(cfg.hit_ops),
    ));
    let mut table = Table::new([
        "M ops/s (min–max over rounds)",
        "larder",
        "moka",
        "quick_cache",
        "larder / moka",
        "larder / quick_cache",
    ]);
    for (r, &row) in ROWS.iter().enumerate() {
        let [ours, moka, quick] = &results[r];
        table.row([
            row.label(cfg),
            cell(ours),
            cell(moka),
            cell(quick),
            ratio_cell(ours, moka),
            ratio_cell(ours, quick),
        ]);
    }
    section.table(&table);
    section
}
