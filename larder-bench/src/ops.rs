//! The `ops` scenario: what operating larder costs. Hit throughput with a `tracing`
//! subscriber installed and the `metrics` exporter running (a Prometheus recorder with its
//! HTTP listener, the cache's counters published every 100 ms) against the same cache with
//! neither, on 1 and 2 threads; and the cost of one traced load (a miss that loads, with an
//! instant loader) with and without them.
//!
//! Both settings run in one process and alternate round by round. "Off" is larder built with
//! the `tracing` and `metrics` features but with no subscriber on the measuring threads and no
//! publisher running: a hit's code is the same whether the features are compiled in or not
//! (it has no tracing or metrics call), so this is the cost a user who turns them on pays.
//! The Prometheus recorder, once installed, cannot be removed; while nothing publishes it is
//! idle.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use larder::Cache;
use larder::metrics::MetricsPublisher;

use crate::report::{Section, Table, fixed, median};

const ROUNDS: usize = 11;
const KEYS: u64 = 10_000;

/// Sizes of one run; `--quick` takes a tenth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    hit_ops: u64,
    loads: u64,
}

impl Config {
    pub(crate) fn new(quick: bool) -> Self {
        let scale = if quick { 10 } else { 1 };
        Self {
            hit_ops: 16_000_000 / scale,
            loads: 200_000 / scale,
        }
    }
}

/// The subscriber an operator would install: formatted events and spans at INFO, written
/// nowhere (the formatting is the cost; the output device is not).
fn subscriber() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .finish()
}

/// Runs `work(thread)` on `threads` threads at once, each under the subscriber if `traced`;
/// the wall time of the slowest.
fn on_threads(threads: usize, traced: bool, work: impl Fn(usize) + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let run = || {
                        barrier.wait();
                        let start = Instant::now();
                        work(t);
                        start.elapsed()
                    };
                    if traced {
                        let subscriber = subscriber();
                        tracing::subscriber::with_default(subscriber, run)
                    } else {
                        run()
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .max()
            .unwrap_or_default()
    })
}

/// M hits/s of `cache.get` over its `KEYS` keys on `threads` threads.
fn hits(cache: &Cache<u64, u64>, threads: usize, ops: u64, traced: bool) -> f64 {
    let per_thread = ops / threads as u64;
    let took = on_threads(threads, traced, |t| {
        let mut key = t as u64 * 7919;
        let mut found = 0u64;
        for _ in 0..per_thread {
            key = (key + 7919) % KEYS;
            found += u64::from(cache.get(black_box(&key)).is_some());
        }
        assert_eq!(found, per_thread, "every read is a hit");
    });
    (per_thread * threads as u64) as f64 / took.as_secs_f64() / 1e6
}

/// ns per miss that loads (`get_with` of a new key, an instant loader), on one thread.
fn loads(loads: u64, traced: bool, round: usize) -> f64 {
    let cache: Cache<u64, u64> = Cache::builder()
        .name("ops-loads")
        .max_capacity(2 * loads)
        .build();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("a tokio runtime: {e}"),
    };
    let base = (round as u64 + 1) << 40;
    let took = on_threads(1, traced, |_| {
        runtime.block_on(async {
            for k in base..base + loads {
                black_box(cache.get_with(k, async move { k }).await);
            }
        });
    });
    took.as_nanos() as f64 / loads as f64
}

/// Installs the Prometheus recorder with its HTTP listener on a loopback port; `false` if it
/// could not (the scenario then says so and measures tracing alone).
fn start_exporter() -> bool {
    let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
        return false;
    };
    let Ok(addr) = listener.local_addr() else {
        return false;
    };
    drop(listener);
    match metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
    {
        Ok(()) => true,
        Err(e) => {
            eprintln!("ops: the Prometheus exporter did not start: {e}");
            false
        }
    }
}

pub(crate) fn run(config: Config, command: &str) -> Section {
    let mut section = Section::new("ops", "Operating larder: tracing and metrics on", command);
    let exporter = start_exporter();
    let cache: Cache<u64, u64> = Cache::builder().name("ops").max_capacity(2 * KEYS).build();
    for k in 0..KEYS {
        cache.insert(k, k);
    }
    // The publisher runs on a runtime of its own, publishing every 100 ms, only in "on" rounds.
    let publisher_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build();
    let publisher = MetricsPublisher::new();
    publisher.register(cache.clone());

    let mut rows: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for threads in [1, 2] {
        rows.push((
            format!("`get` hit, {threads} thread(s), M/s"),
            Vec::new(),
            Vec::new(),
        ));
    }
    rows.push((
        "miss that loads, ns per load".to_string(),
        Vec::new(),
        Vec::new(),
    ));
    for round in 0..ROUNDS {
        for on in [false, true] {
            let task = match (&publisher_rt, on) {
                (Ok(rt), true) => {
                    let _enter = rt.enter();
                    publisher.publish_every(Duration::from_millis(100)).ok()
                }
                _ => None,
            };
            for (i, threads) in [1usize, 2].into_iter().enumerate() {
                let rate = hits(&cache, threads, config.hit_ops, on);
                if on { &mut rows[i].2 } else { &mut rows[i].1 }.push(rate);
            }
            let ns = loads(config.loads, on, round * 2 + usize::from(on));
            if on { &mut rows[2].2 } else { &mut rows[2].1 }.push(ns);
            if let Some(task) = task {
                task.stop();
            }
        }
        eprintln!("  ops: round {}/{ROUNDS}", round + 1);
    }

    let mut table = Table::new(["", "off", "on", "on / off (median; min–max)"]);
    let mut verdicts = Vec::new();
    for (i, (label, off, on)) in rows.iter().enumerate() {
        let ratios: Vec<f64> = on.iter().zip(off).map(|(a, b)| a / b).collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        let ratio = median(ratios);
        table.row([
            label.clone(),
            fixed(median(off.clone()), if i < 2 { 1 } else { 0 }),
            fixed(median(on.clone()), if i < 2 { 1 } else { 0 }),
            format!(
                "{}x ({}–{})",
                fixed(ratio, 2),
                fixed(low, 2),
                fixed(high, 2)
            ),
        ]);
        if i < 2 {
            verdicts.push(ratio);
        }
    }
    let load_cost = median(rows[2].2.clone()) - median(rows[2].1.clone());
    section.para(format!(
        "A `Cache<u64, u64>` named `ops` holding {KEYS} keys; `get` of each in turn, {} reads \
         per measurement. \"On\": a `tracing_subscriber::fmt` subscriber at INFO (writing to a \
         sink) installed on the measuring threads, {} and a `MetricsPublisher` publishing the \
         cache's counters every 100 ms. \"Off\": neither. {ROUNDS} rounds, off and on \
         alternating; figures are medians, ratios the median of each round's ratio with its \
         range. The load rows: `get_with` of {} new keys with an instant loader, one thread.",
        crate::report::thousands(config.hit_ops),
        if exporter {
            "the Prometheus recorder (`metrics-exporter-prometheus`) installed with its HTTP \
             listener on a loopback port,"
        } else {
            "(the Prometheus exporter did not start: no recorder),"
        },
        crate::report::thousands(config.loads),
    ));
    section.table(&table);
    let worst = verdicts.iter().copied().fold(f64::INFINITY, f64::min);
    section.para(format!(
        "**Target: hit throughput with tracing and metrics on at least 0.95x of both off.** {} \
         (worst row {}x). **One traced load** (a span with the cache's name, the key's hash, \
         the outcome and the duration, formatted by the subscriber; plus one sample of \
         `larder_load_duration_seconds`) costs about {} ns more than an untraced one.",
        if worst >= 0.95 { "met" } else { "**not met**" },
        fixed(worst, 2),
        fixed(load_cost, 0),
    ));
    section
}
