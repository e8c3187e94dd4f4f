//! The `throughput` scenario: 100k `u64` keys and values; get-hit on 1 and 2 threads, insert
//! (fill and churn), and Zipf get-or-insert at 10% capacity (throughput and hit ratio); and
//! get-hit with a TTL and with a time-to-idle beside the same cache without ([`expiry_hits`]).
//!
//! [`expiry_hits`]: crate::expiry_hits
//!
//! Every measurement is repeated [`Config::reps`] times and the median is reported. The
//! repetitions are interleaved across caches (rep 1 of every cache, then rep 2, ...), so a
//! burst of load from other processes hits all caches alike.
//!
//! `--write` also draws throughput against thread count, one SVG per multi-threaded workload
//! (get-hit, and Zipf get-or-insert at each skew), one line per cache.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::peers::{Bench, Kind, Visit, dispatch};
use crate::plot::{Chart, Series};
use crate::report::{Section, Table, fixed, median, ratio, thousands};
use crate::workload::{Rng, Zipf, keys, mix};

/// Sizes of the workloads.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Distinct keys (100k).
    pub(crate) keys: u64,
    /// Gets per thread per get-hit measurement.
    pub(crate) get_ops: u64,
    /// Fresh caches filled per fill measurement.
    pub(crate) fill_rounds: u32,
    /// Capacity of the churn cache.
    pub(crate) churn_capacity: u64,
    /// Inserts per churn measurement.
    pub(crate) churn_ops: u64,
    /// Requests per thread per Zipf measurement.
    pub(crate) zipf_ops: usize,
    /// Repetitions of every measurement (the median is reported).
    pub(crate) reps: usize,
}

impl Config {
    /// The sizes the report uses; `quick` divides the op counts by 10 for a smoke run.
    pub(crate) fn new(quick: bool) -> Self {
        let scale = if quick { 10 } else { 1 };
        Self {
            keys: 100_000,
            get_ops: 4_000_000 / scale,
            fill_rounds: 10 / scale as u32,
            churn_capacity: 10_000,
            churn_ops: 1_000_000 / scale,
            zipf_ops: 4_000_000 / scale as usize,
            reps: 3,
        }
    }
}

/// The caches of this scenario, in column order.
const KINDS: [Kind; 6] = Kind::HEAD_TO_HEAD;

/// The first seed of every stream; thread `t` of a measurement uses `SEED + t`.
pub(crate) const SEED: u64 = 0x5EED;

/// One measurement.
#[derive(Debug, Clone, Copy)]
enum Workload {
    /// Random gets over all keys of a prefilled cache, on `threads` threads.
    GetHit { threads: usize },
    /// Inserting every key into fresh caches with room for all.
    Fill,
    /// Inserting keys cycling over 100k into a full cache of `churn_capacity`.
    Churn,
    /// get, and on a miss insert, over a Zipf(`s`) stream, capacity 10% of the keys.
    Zipf { s_index: usize, threads: usize },
}

/// The key streams shared by all caches.
struct Streams {
    keys: Vec<u64>,
    churn: Vec<u64>,
    /// `zipf[s_index][thread]`.
    zipf: Vec<Vec<Vec<u64>>>,
}

const ZIPF_S: [f64; 2] = [0.99, 0.8];

/// What one run of a workload measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    mops: f64,
    hit_ratio: f64,
}

struct Once<'a> {
    cfg: &'a Config,
    streams: &'a Streams,
    workload: Workload,
}

impl Visit for Once<'_> {
    type Output = Sample;

    fn visit<B: Bench>(self, kind: Kind) -> Sample {
        let Self {
            cfg,
            streams,
            workload,
        } = self;
        match workload {
            Workload::GetHit { threads } => get_hit::<B>(kind, cfg, streams, threads),
            Workload::Fill => fill::<B>(kind, cfg, streams),
            Workload::Churn => churn::<B>(kind, cfg, streams),
            Workload::Zipf { s_index, threads } => {
                zipf::<B>(kind, cfg, &streams.zipf[s_index][..threads])
            }
        }
    }
}

/// Runs `work(thread_index)` on `threads` threads released together; returns the wall time
/// from the first start to the last finish, and the sum of the results.
pub(crate) fn run_threads(threads: usize, work: impl Fn(usize) -> u64 + Sync) -> (Duration, u64) {
    let barrier = Barrier::new(threads);
    let runs: Vec<(Instant, Instant, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let result = work(t);
                    (start, Instant::now(), result)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let start = runs.iter().map(|r| r.0).min();
    let end = runs.iter().map(|r| r.1).max();
    let wall = match (start, end) {
        (Some(start), Some(end)) => end - start,
        _ => Duration::ZERO,
    };
    (wall, runs.iter().map(|r| r.2).sum())
}

pub(crate) fn mops(ops: u64, wall: Duration) -> f64 {
    ops as f64 / wall.as_secs_f64().max(1e-9) / 1e6
}

fn get_hit<B: Bench>(kind: Kind, cfg: &Config, streams: &Streams, threads: usize) -> Sample {
    // Room for every key with headroom: sharded caches split capacity evenly across shards
    // and keys do not spread perfectly evenly; the hit fraction is reported anyway.
    let cache = B::build(kind, cfg.keys + cfg.keys / 4);
    for (i, &k) in streams.keys.iter().enumerate() {
        cache.insert(k, i as u64);
    }
    cache.maintain();
    let n = streams.keys.len() as u64;
    let (wall, hits) = run_threads(threads, |t| {
        let mut rng = Rng::new(SEED + t as u64);
        let mut hits = 0;
        for _ in 0..cfg.get_ops {
            let key = streams.keys[rng.below(n) as usize];
            if black_box(cache.get(black_box(key))).is_some() {
                hits += 1;
            }
        }
        hits
    });
    let ops = cfg.get_ops * threads as u64;
    Sample {
        mops: mops(ops, wall),
        hit_ratio: hits as f64 / ops as f64,
    }
}

fn fill<B: Bench>(kind: Kind, cfg: &Config, streams: &Streams) -> Sample {
    let mut total = Duration::ZERO;
    for _ in 0..cfg.fill_rounds {
        let cache = B::build(kind, cfg.keys + cfg.keys / 4);
        let start = Instant::now();
        for (i, &k) in streams.keys.iter().enumerate() {
            cache.insert(black_box(k), i as u64);
        }
        cache.maintain();
        total += start.elapsed();
        drop(black_box(cache));
    }
    Sample {
        mops: mops(cfg.keys * u64::from(cfg.fill_rounds), total),
        hit_ratio: f64::NAN,
    }
}

fn churn<B: Bench>(kind: Kind, cfg: &Config, streams: &Streams) -> Sample {
    let cache = B::build(kind, cfg.churn_capacity);
    // Full before timing, with keys the churn stream never uses.
    for i in 0..cfg.churn_capacity {
        cache.insert(mix(u64::MAX - i), i);
    }
    cache.maintain();
    let start = Instant::now();
    for (i, &k) in streams
        .churn
        .iter()
        .cycle()
        .take(cfg.churn_ops as usize)
        .enumerate()
    {
        cache.insert(black_box(k), i as u64);
    }
    cache.maintain();
    let wall = start.elapsed();
    Sample {
        mops: mops(cfg.churn_ops, wall),
        hit_ratio: f64::NAN,
    }
}

fn zipf<B: Bench>(kind: Kind, cfg: &Config, streams: &[Vec<u64>]) -> Sample {
    let cache = B::build(kind, cfg.keys / 10);
    let (wall, hits) = run_threads(streams.len(), |t| {
        let mut hits = 0;
        for &key in &streams[t] {
            if black_box(cache.get(key)).is_some() {
                hits += 1;
            } else {
                cache.insert(key, key);
            }
        }
        hits
    });
    let ops = streams.iter().map(|s| s.len() as u64).sum::<u64>();
    Sample {
        mops: mops(ops, wall),
        hit_ratio: hits as f64 / ops as f64,
    }
}

/// One row of results: the median throughput and hit ratio for each of [`KINDS`].
struct Row {
    label: String,
    /// The threads it ran on.
    threads: usize,
    mops: Vec<f64>,
    hit_ratio: Vec<f64>,
}

fn measure(cfg: &Config, streams: &Streams, label: String, workload: Workload) -> Row {
    let threads = match workload {
        Workload::GetHit { threads } | Workload::Zipf { threads, .. } => threads,
        Workload::Fill | Workload::Churn => 1,
    };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); KINDS.len()];
    for rep in 0..cfg.reps {
        for (i, &kind) in KINDS.iter().enumerate() {
            let once = Once {
                cfg,
                streams,
                workload,
            };
            let sample = dispatch(kind, once);
            eprintln!(
                "  {label} [{}/{}] {:<14} {:>8.2} M ops/s{}",
                rep + 1,
                cfg.reps,
                kind.name(),
                sample.mops,
                if sample.hit_ratio.is_nan() {
                    String::new()
                } else {
                    format!("  hit {:.4}", sample.hit_ratio)
                }
            );
            samples[i].push(sample);
        }
    }
    Row {
        label,
        threads,
        mops: samples
            .iter()
            .map(|s| median(s.iter().map(|x| x.mops).collect()))
            .collect(),
        hit_ratio: samples
            .iter()
            .map(|s| median(s.iter().map(|x| x.hit_ratio).collect()))
            .collect(),
    }
}

/// Runs the scenario and returns its report section. `only` may name parts to run alone:
/// `expiry` (the get-hit with expiry rows), `get-hit` (the get-hit rows).
pub(crate) fn run(cfg: &Config, only: &[String], command: &str) -> Section {
    if only.iter().any(|p| p == "get-hit") {
        let streams = Streams {
            keys: keys(cfg.keys),
            churn: Vec::new(),
            zipf: Vec::new(),
        };
        let mut section = Section::new("throughput", "Throughput (100k u64 keys)", command);
        let mut table = Table::new(header("workload (M ops/s)"));
        for threads in [1, 2] {
            let label = format!("get-hit, {threads} thread{}", plural(threads));
            eprintln!("throughput: {label}");
            let row = measure(cfg, &streams, label, Workload::GetHit { threads });
            table.row(cells(&row.label, &row.mops, 2));
        }
        section.table(&table);
        return section;
    }
    if only.iter().any(|p| p == "expiry") {
        let keys = keys(cfg.keys);
        let mut section = Section::new("throughput", "Throughput (100k u64 keys)", command);
        let (table, status) = crate::expiry_hits::table(cfg, &keys);
        section.table(&table);
        section.para(status);
        return section;
    }
    eprintln!("throughput: generating key streams");
    let zipf_streams = ZIPF_S
        .iter()
        .map(|&s| {
            let dist = Zipf::new(cfg.keys, s);
            (0..2)
                .map(|t| dist.stream(SEED + t, cfg.zipf_ops))
                .collect()
        })
        .collect();
    let streams = Streams {
        keys: keys(cfg.keys),
        churn: (0..cfg.keys).map(|i| mix(cfg.keys + i)).collect(),
        zipf: zipf_streams,
    };

    let mut rows = Vec::new();
    for threads in [1, 2] {
        let label = format!("get-hit, {threads} thread{}", plural(threads));
        eprintln!("throughput: {label}");
        rows.push(measure(cfg, &streams, label, Workload::GetHit { threads }));
    }
    let expiry = crate::expiry_hits::table(cfg, &streams.keys);
    eprintln!("throughput: insert");
    rows.push(measure(
        cfg,
        &streams,
        "insert, fill, 1 thread".into(),
        Workload::Fill,
    ));
    rows.push(measure(
        cfg,
        &streams,
        "insert, churn, 1 thread".into(),
        Workload::Churn,
    ));
    let mut zipf_rows = Vec::new();
    for (s_index, s) in ZIPF_S.iter().enumerate() {
        for threads in [1, 2] {
            let label = format!(
                "Zipf {s} get-or-insert, {threads} thread{}",
                plural(threads)
            );
            eprintln!("throughput: {label}");
            let row = measure(cfg, &streams, label, Workload::Zipf { s_index, threads });
            zipf_rows.push(row);
        }
    }
    report(cfg, command, &rows, &zipf_rows, &expiry)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The peers that get a ratio column, with their index in [`KINDS`].
const RATIO_TO: [(usize, &str); 4] = [
    (3, "quick_cache"),
    (2, "moka"),
    (4, "mini-moka"),
    (5, "Mutex<lru>"),
];

fn header(first: &str) -> Vec<String> {
    let mut header = vec![first.to_string()];
    header.extend(KINDS.iter().map(|k| k.name().to_string()));
    header.extend(RATIO_TO.iter().map(|(_, name)| format!("S3-FIFO / {name}")));
    header
}

fn cells(label: &str, values: &[f64], digits: usize) -> Vec<String> {
    let mut cells = vec![label.to_string()];
    cells.extend(values.iter().map(|&v| fixed(v, digits)));
    cells.extend(RATIO_TO.iter().map(|&(i, _)| ratio(values[0], values[i])));
    cells
}

fn report(
    cfg: &Config,
    command: &str,
    rows: &[Row],
    zipf_rows: &[Row],
    expiry: &(Table, String),
) -> Section {
    let mut section = Section::new("throughput", "Throughput (100k u64 keys)", command);
    section.para(format!(
        "Median of {} runs, in M ops/s. get-hit: {} random gets per thread over {} keys \
         prefilled into a cache of capacity {}. Fill: {} fresh cache{} each filled with the {} \
         keys. Churn: {} inserts cycling over {} keys into a full cache of capacity {}. \
         Zipf: {} requests per thread (get, and insert on a miss; each thread its own \
         fixed-seed stream, the same for every cache) at capacity {}. The lazy caches (moka, \
         mini-moka) get one `run_pending_tasks` / `sync` after prefills and at the end of \
         each timed insert loop. Every cache uses its default hasher and sharding.",
        cfg.reps,
        thousands(cfg.get_ops),
        thousands(cfg.keys),
        thousands(cfg.keys + cfg.keys / 4),
        cfg.fill_rounds,
        plural(cfg.fill_rounds as usize),
        thousands(cfg.keys),
        thousands(cfg.churn_ops),
        thousands(cfg.keys),
        thousands(cfg.churn_capacity),
        thousands(cfg.zipf_ops as u64),
        thousands(cfg.keys / 10),
    ));

    let mut table = Table::new(header("workload (M ops/s)"));
    for row in rows.iter().chain(zipf_rows) {
        table.row(cells(&row.label, &row.mops, 2));
    }
    section.table(&table);

    section.para(
        "get-hit with expiry: the same gets on larder (S3-FIFO, LRU) and moka caches whose \
         entries have a 1 h TTL, or a 1 h time-to-idle, beside the same cache without; every \
         cache and setting interleaved in each repetition. The spread is the lowest and highest \
         per-repetition ratio.",
    );
    section.table(&expiry.0);
    section.para(expiry.1.clone());

    let mut hits = Table::new(header("Zipf get-or-insert @ 10% capacity: hit ratio"));
    for row in zipf_rows {
        hits.row(cells(&row.label, &row.hit_ratio, 4));
    }
    section.table(&hits);

    let mut notes = Vec::new();
    for row in &rows[..2] {
        for (kind, &h) in KINDS.iter().zip(&row.hit_ratio) {
            if h < 0.9999 {
                notes.push(format!(
                    "{} hit only {:.2}% of the gets in \"{}\" (it evicted part of the prefill).",
                    kind.name(),
                    h * 100.0,
                    row.label
                ));
            }
        }
    }
    if !notes.is_empty() {
        section.para(notes.join(" "));
    }

    let mut status = String::from("**Target: S3-FIFO get-hit throughput at least quick_cache's.**");
    for row in &rows[..2] {
        let (larder, quick) = (row.mops[0], row.mops[3]);
        status.push_str(&format!(
            " {}: {} ({} vs {} M ops/s, {}).",
            row.label,
            if larder >= quick { "met" } else { "not met" },
            fixed(larder, 2),
            fixed(quick, 2),
            ratio(larder, quick)
        ));
    }
    section.para(status);

    let mut inserts = String::from(
        "**Target: S3-FIFO's inserts (fill, churn, Zipf get-or-insert) at least 0.8x \
         quick_cache's.**",
    );
    for row in rows[2..].iter().chain(zipf_rows) {
        let (larder, quick) = (row.mops[0], row.mops[3]);
        inserts.push_str(&format!(
            " {}: {} ({}).",
            row.label,
            if larder >= 0.8 * quick {
                "met"
            } else {
                "not met"
            },
            ratio(larder, quick)
        ));
    }
    section.para(inserts);
    plots(&mut section, &rows[..2], zipf_rows);
    section
}

/// Throughput against threads, one SVG per multi-threaded workload, a line per cache.
fn plots(section: &mut Section, get_hit: &[Row], zipf_rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut groups: Vec<(String, String, Vec<&Row>)> =
        vec![("get-hit".into(), "Get-hit".into(), get_hit.iter().collect())];
    for (s_index, s) in ZIPF_S.iter().enumerate() {
        let rows = zipf_rows
            .iter()
            .skip(s_index * 2)
            .take(2)
            .collect::<Vec<_>>();
        groups.push((format!("zipf-{s}"), format!("Zipf {s} get-or-insert"), rows));
    }
    for (file, name, rows) in groups {
        let threads: Vec<usize> = rows.iter().map(|r| r.threads).collect();
        let series = KINDS
            .iter()
            .enumerate()
            .map(|(i, &kind)| {
                Series::of(
                    kind,
                    rows.iter().map(|r| (r.threads as f64, r.mops[i])).collect(),
                )
            })
            .collect();
        let chart = Chart {
            title: format!("{name}: throughput against threads"),
            x_label: "threads".into(),
            y_label: "M ops/s (median)".into(),
            x_ticks: threads.iter().map(|&t| t as f64).collect(),
            log_x: false,
            y_from_zero: true,
            series,
        };
        section.plot(
            &format!("throughput-{file}"),
            &chart,
            &format!(
                "{name}, M ops/s, measured on {} thread{} only: the machine has {cores} \
                 cores, shared with other work, so the 2-thread points are the noisiest.",
                threads
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and "),
                plural(threads.len())
            ),
        );
    }
}
