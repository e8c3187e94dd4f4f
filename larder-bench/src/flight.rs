//! The `flight` scenario: a herd of 10,000 concurrent tasks on one missing key with a 10 ms
//! loader (loader calls and wall time), and the hit path of `get_with` against moka's.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::report::{Section, Table, fixed, median, ratio};

const TASKS: usize = 10_000;
const LOADER: Duration = Duration::from_millis(10);
const HIT_OPS: u64 = 2_000_000;
const REPS: usize = 3;

/// A loader that counts its calls and takes `LOADER`.
async fn slow_load(calls: Arc<AtomicUsize>) -> u64 {
    calls.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(LOADER).await;
    42
}

/// The contenders of the herd.
#[derive(Debug, Clone, Copy)]
enum Herd {
    Larder,
    Moka,
    QuickCache,
    /// moka's `get`, then `insert` on a miss: what a cache without single-flight does.
    MokaNoFlight,
    /// No cache: one `tokio::sync::OnceCell` for the whole herd, the floor of this harness
    /// (waking 10,000 tasks twice on 2 cores).
    OnceCell,
}

impl Herd {
    const ALL: [Herd; 5] = [
        Herd::Larder,
        Herd::Moka,
        Herd::QuickCache,
        Herd::MokaNoFlight,
        Herd::OnceCell,
    ];

    fn name(self) -> &'static str {
        match self {
            Herd::Larder => "larder `get_with`",
            Herd::Moka => "moka `future::Cache::get_with`",
            Herd::QuickCache => "quick_cache `get_or_insert_async`",
            Herd::MokaNoFlight => "moka `get` + `insert` (no single-flight)",
            Herd::OnceCell => "floor: one `tokio::sync::OnceCell`, no cache",
        }
    }
}

/// One herd: `TASKS` tasks asking for one missing key at once. Returns (loader calls, wall).
///
/// The tasks are spawned first and wait at a starting line; the clock starts when they are
/// released, so that spawning 10,000 tasks (several milliseconds on 2 cores, the same for
/// every cache) is not counted as the cache's time.
fn herd(rt: &tokio::runtime::Runtime, who: Herd) -> (usize, Duration) {
    let calls = Arc::new(AtomicUsize::new(0));
    let larder: larder::Cache<u64, u64> = larder::Cache::new(1_000);
    let moka: moka::future::Cache<u64, u64> = moka::future::Cache::new(1_000);
    let quick: Arc<quick_cache::sync::Cache<u64, u64>> =
        Arc::new(quick_cache::sync::Cache::new(1_000));
    let once = Arc::new(tokio::sync::OnceCell::new());
    let (release, start_line) = tokio::sync::watch::channel(false);
    let waiting = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let calls = Arc::clone(&calls);
                let (larder, moka, quick) = (larder.clone(), moka.clone(), Arc::clone(&quick));
                let once = Arc::clone(&once);
                let (mut start_line, waiting) = (start_line.clone(), Arc::clone(&waiting));
                tokio::spawn(async move {
                    waiting.fetch_add(1, Ordering::Relaxed);
                    let _ = start_line.wait_for(|&go| go).await;
                    match who {
                        Herd::Larder => larder.get_with(7, slow_load(calls)).await,
                        Herd::Moka => moka.get_with(7, slow_load(calls)).await,
                        Herd::QuickCache => quick
                            .get_or_insert_async(&7, async { Ok::<_, ()>(slow_load(calls).await) })
                            .await
                            .unwrap_or_default(),
                        Herd::MokaNoFlight => match moka.get(&7).await {
                            Some(v) => v,
                            None => {
                                let v = slow_load(calls).await;
                                moka.insert(7, v).await;
                                v
                            }
                        },
                        Herd::OnceCell => *once.get_or_init(|| slow_load(calls)).await,
                    }
                })
            })
            .collect();
        while waiting.load(Ordering::Relaxed) < TASKS {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let start = Instant::now();
        let _ = release.send(true);
        for t in tasks {
            assert_eq!(t.await.unwrap_or_default(), 42);
        }
        (calls.load(Ordering::Relaxed), start.elapsed())
    })
}

/// `HIT_OPS` hits through the loading API on one thread; M ops/s.
fn hit_path(rt: &tokio::runtime::Runtime, larder_side: bool) -> f64 {
    let larder: larder::Cache<u64, u64> = larder::Cache::new(10_000);
    let moka: moka::future::Cache<u64, u64> = moka::future::Cache::new(10_000);
    rt.block_on(async {
        for k in 0..1_000 {
            larder.insert(k, k);
            moka.insert(k, k).await;
        }
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..HIT_OPS {
            let k = (i * 7) % 1_000;
            sum += if larder_side {
                larder.get_with(k, async { 0 }).await
            } else {
                moka.get_with(k, async { 0 }).await
            };
        }
        black_box(sum);
        HIT_OPS as f64 / start.elapsed().as_secs_f64() / 1e6
    })
}

pub(crate) fn run(command: &str) -> Section {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut section = Section::new(
        "flight",
        "Single-flight: a herd on one key, and the get_with hit path",
        command,
    );
    section.para(format!(
        "{TASKS} tokio tasks (2 worker threads) ask at once for one missing key whose loader \
         takes {} ms; median wall time of {REPS} runs, from the moment the tasks, spawned and \
         waiting at a starting line, are released to the last answer. Each cache is fresh for \
         each run.",
        LOADER.as_millis()
    ));
    let mut table = Table::new(["herd", "loader calls", "wall (ms)", "wall / loader time"]);
    let (mut larder_wall, mut floor_wall) = (f64::NAN, f64::NAN);
    for who in Herd::ALL {
        let mut walls = Vec::new();
        let mut calls = 0;
        for rep in 0..REPS {
            let (c, wall) = herd(&rt, who);
            eprintln!(
                "  flight: {} [{}/{REPS}] {c} calls, {:.1} ms",
                who.name(),
                rep + 1,
                wall.as_secs_f64() * 1e3
            );
            calls = calls.max(c);
            walls.push(wall.as_secs_f64() * 1e3);
        }
        let wall = median(walls);
        match who {
            Herd::Larder => larder_wall = wall,
            Herd::OnceCell => floor_wall = wall,
            _ => {}
        }
        table.row([
            who.name().to_string(),
            calls.to_string(),
            fixed(wall, 1),
            format!("{}x", fixed(wall / LOADER.as_secs_f64() / 1e3, 2)),
        ]);
    }
    section.table(&table);
    section.para(format!(
        "For reference, the Python seeds on this machine (FEATURES.md §3, 10,000 concurrent misses, \
         10 ms loader): async-cache `get(loader=)` 86-107 ms with 1 call; async-lru 207-233 ms, 1 call; \
         asyncache 228-258 ms, 10,000 calls; aiocache `@cached` 935-1019 ms, 10,000 calls. \
         **Target: one load, and wall time within 1.2x of the loader's 10 ms.** larder: {:.1} ms, {}; \
         {}x the floor of this harness ({:.1} ms: waking 10,000 tasks twice on 2 cores costs more \
         than the 2 ms the target leaves).",
        larder_wall,
        if larder_wall <= 12.0 { "met" } else { "not met" },
        fixed(larder_wall / floor_wall, 2),
        floor_wall,
    ));

    let single = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..REPS {
        ours.push(hit_path(&single, true));
        theirs.push(hit_path(&single, false));
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let mut hits = Table::new([
        "get_with on a hit, 1 thread (M ops/s)",
        "larder",
        "moka",
        "larder / moka",
    ]);
    hits.row([
        format!("{HIT_OPS} awaited hits over 1,000 keys"),
        fixed(ours, 2),
        fixed(theirs, 2),
        ratio(ours, theirs),
    ]);
    section.table(&hits);
    section.para(format!(
        "For reference, the seeds' awaited hits (FEATURES.md §3): async-lru ~1.19 M/s, asyncache \
         ~0.78 M/s, async-cache ~0.69 M/s. **Target: get_with on a hit at least 10x moka's.** {} \
         ({}).",
        if ours >= 10.0 * theirs {
            "Met"
        } else {
            "Not met"
        },
        ratio(ours, theirs)
    ));

    let (mut direct, mut macro_path) = (Vec::new(), Vec::new());
    for _ in 0..REPS {
        direct.push(hit_path(&single, true));
        macro_path.push(macro_hit_path(&single));
    }
    let (direct, macro_path) = (median(direct), median(macro_path));
    let mut through_macro = Table::new([
        "a hit, 1 thread (M ops/s)",
        "`cache.get_with`",
        "`#[larder::cached]` fn",
        "cost of the macro",
    ]);
    let cost = direct / macro_path;
    through_macro.row([
        format!("{HIT_OPS} awaited hits over 1,000 keys"),
        fixed(direct, 2),
        fixed(macro_path, 2),
        format!("{}x", fixed(cost, 2)),
    ]);
    section.table(&through_macro);
    section.para(format!(
        "**Target: a hit through the macro costs at most 1.2x a direct `get_with` hit.** {} \
         ({}x).",
        if cost <= 1.2 { "Met" } else { "Not met" },
        fixed(cost, 2)
    ));
    section
}

/// The function the macro row calls: its body is the value, as the direct row's loader.
#[larder::cached(max_capacity = 10_000)]
async fn cached_identity(k: u64) -> u64 {
    k
}

/// `HIT_OPS` hits through a `#[larder::cached]` function on one thread; M ops/s.
fn macro_hit_path(rt: &tokio::runtime::Runtime) -> f64 {
    rt.block_on(async {
        for k in 0..1_000 {
            cached_identity_prime(k, k);
        }
        let start = Instant::now();
        let mut sum = 0u64;
        for i in 0..HIT_OPS {
            sum += cached_identity((i * 7) % 1_000).await;
        }
        black_box(sum);
        HIT_OPS as f64 / start.elapsed().as_secs_f64() / 1e6
    })
}
