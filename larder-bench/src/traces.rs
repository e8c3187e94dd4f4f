//! The `traces` scenario: hit ratio of every larder policy and every peer on the public traces
//! in shared/traces, at the four cache sizes that shared/anchors.md lists for each trace.
//!
//! Replay is get-or-insert over the whole trace: for each request, `get`; on a miss, `insert`.
//! The jobs (trace, size, cache) of one trace run in parallel on all cores. Bélády's OPT
//! ([`crate::opt`]) is computed at every point as the ceiling. `--write` also draws one SVG
//! per trace: hit ratio against cache size, one line per cache and OPT.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::decode::{Format, decode};
use crate::peers::{Bench, Kind, Visit, dispatch};
use crate::plot::{Chart, Line, Series};
use crate::report::{Section, Table, fixed, ratio, thousands};

/// A trace file, its expected decoded counts (shared/traces/README.md) and its cache sizes
/// (shared/anchors.md).
#[derive(Debug)]
struct Spec {
    name: &'static str,
    file: &'static str,
    format: Format,
    requests: u64,
    distinct: u64,
    sizes: [u64; 4],
}

const fn spec(
    name: &'static str,
    file: &'static str,
    format: Format,
    requests: u64,
    distinct: u64,
    sizes: [u64; 4],
) -> Spec {
    Spec {
        name,
        file,
        format,
        requests,
        distinct,
        sizes,
    }
}

const ARC: [u64; 4] = [20_000, 32_768, 65_536, 160_000];
const LIRS: [u64; 4] = [128, 256, 512, 768];
const WEB: [u64; 4] = [500, 1_000, 2_000, 4_000];

/// In the order of shared/anchors.md.
const SPECS: [Spec; 19] = [
    spec(
        "OLTP",
        "OLTP.lis.zst",
        Format::ArcZstd,
        914_145,
        186_880,
        [1_000, 2_000, 5_000, 10_000],
    ),
    spec(
        "P12",
        "P12.lis.zst",
        Format::ArcZstd,
        13_208_930,
        3_153_310,
        ARC,
    ),
    spec(
        "P2",
        "P2.lis.zst",
        Format::ArcZstd,
        12_729_495,
        913_347,
        ARC,
    ),
    spec("P3", "P3.lis.zst", Format::ArcZstd, 3_912_296, 762_543, ARC),
    spec(
        "P6",
        "P6.lis.zst",
        Format::ArcZstd,
        12_672_123,
        773_770,
        ARC,
    ),
    spec(
        "cache2k-orm-night",
        "cache2k-orm-night.trace.xz",
        Format::BigEndianI32Xz,
        5_000_000,
        86_466,
        [1_000, 5_000, 10_000, 20_000],
    ),
    spec(
        "cache2k-web07",
        "cache2k-web07.trace.xz",
        Format::BigEndianI32Xz,
        76_118,
        20_484,
        WEB,
    ),
    spec(
        "cache2k-web12",
        "cache2k-web12.trace.xz",
        Format::BigEndianI32Xz,
        95_607,
        13_756,
        WEB,
    ),
    spec(
        "lirs-2_pools",
        "lirs-2_pools.trace.gz",
        Format::LirsGzip,
        100_000,
        9_939,
        LIRS,
    ),
    spec(
        "lirs-cpp",
        "lirs-cpp.trace.gz",
        Format::LirsGzip,
        9_047,
        1_223,
        LIRS,
    ),
    spec(
        "lirs-cs",
        "lirs-cs.trace.gz",
        Format::LirsGzip,
        6_781,
        1_409,
        LIRS,
    ),
    spec(
        "lirs-gli",
        "lirs-gli.trace.gz",
        Format::LirsGzip,
        6_015,
        2_529,
        [500, 1_000, 1_500, 2_000],
    ),
    spec(
        "lirs-loop",
        "lirs-loop.trace.gz",
        Format::LirsGzip,
        505_500,
        1_011,
        [256, 512, 768, 1_024],
    ),
    spec(
        "lirs-multi1",
        "lirs-multi1.trace.gz",
        Format::LirsGzip,
        15_858,
        2_606,
        LIRS,
    ),
    spec(
        "lirs-multi2",
        "lirs-multi2.trace.gz",
        Format::LirsGzip,
        26_311,
        5_684,
        LIRS,
    ),
    spec(
        "lirs-multi3",
        "lirs-multi3.trace.gz",
        Format::LirsGzip,
        30_241,
        7_454,
        LIRS,
    ),
    spec(
        "lirs-ps",
        "lirs-ps.trace.gz",
        Format::LirsGzip,
        10_448,
        3_083,
        LIRS,
    ),
    spec(
        "lirs-sprite",
        "lirs-sprite.trace.gz",
        Format::LirsGzip,
        133_996,
        7_075,
        LIRS,
    ),
    spec(
        "lirs-zigzag",
        "lirs-zigzag.trace.gz",
        Format::LirsGzip,
        52_001,
        2_001,
        LIRS,
    ),
];

/// The caches, in column order: larder's four policies, then the peers.
fn kinds() -> Vec<Kind> {
    Kind::LARDER_ALL
        .iter()
        .chain(&Kind::PEERS)
        .copied()
        .collect()
}

/// The lazy caches (moka, mini-moka) run their pending maintenance every this many requests,
/// on top of what they trigger themselves, so their eviction keeps up with the replay.
const MAINTAIN_EVERY: usize = 1024;

/// Settings of the scenario.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The folder holding the trace files.
    pub(crate) dir: PathBuf,
    /// How the report names that folder.
    shown: String,
    /// Only these traces (all when empty).
    pub(crate) only: Vec<String>,
    /// Only these caches, by their labels (all when empty).
    pub(crate) kinds: Vec<String>,
    /// Worker threads.
    pub(crate) workers: usize,
}

impl Config {
    /// `$LARDER_TRACES`, or `../shared/traces` relative to the workspace root.
    pub(crate) fn new(only: Vec<String>, kinds: Vec<String>) -> Self {
        let (dir, shown) = match std::env::var("LARDER_TRACES") {
            Ok(dir) => (PathBuf::from(&dir), format!("$LARDER_TRACES = {dir}")),
            Err(_) => (
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces"),
                "../shared/traces (relative to the workspace root)".to_string(),
            ),
        };
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            dir,
            shown,
            only,
            kinds,
            workers,
        }
    }
}

/// Replays one trace against one cache; returns the hit ratio.
struct Replay<'a> {
    keys: &'a [u64],
    capacity: u64,
}

impl Visit for Replay<'_> {
    type Output = (f64, &'static str);

    fn visit<B: Bench>(self, kind: Kind) -> (f64, &'static str) {
        let cache = B::build(kind, self.capacity);
        let mut hits = 0u64;
        for (i, &key) in self.keys.iter().enumerate() {
            if cache.get(key).is_some() {
                hits += 1;
            } else {
                cache.insert(key, key);
            }
            if i % MAINTAIN_EVERY == MAINTAIN_EVERY - 1 {
                cache.maintain();
            }
        }
        (hits as f64 / self.keys.len().max(1) as f64, cache.name())
    }
}

/// The decoded counts of one trace, against the README's.
struct Check {
    name: &'static str,
    requests: u64,
    distinct: u64,
    ok: bool,
}

/// The hit ratios at one trace@capacity point, one per [`kinds`], and OPT's.
struct Point {
    trace: &'static str,
    capacity: u64,
    hit: Vec<f64>,
    /// Bélády's OPT: the best any cache could do.
    opt: f64,
}

/// Runs the jobs on `workers` threads, each taking the next job as it finishes one.
fn run_parallel<T: Send>(workers: usize, jobs: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    // The workspace bans std atomics outside larder's shuttle shim; this crate is never
    // shuttle-checked, and a shared job counter is all it needs.
    #[allow(clippy::disallowed_types)]
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.min(jobs))
            .map(|_| {
                let (next, job) = (&next, &job);
                s.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= jobs {
                            return done;
                        }
                        done.push((i, job(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|r| r.0);
    results.into_iter().map(|r| r.1).collect()
}

fn run_trace(cfg: &Config, spec: &Spec) -> std::io::Result<(Check, Vec<Point>)> {
    let started = Instant::now();
    let keys = decode(&cfg.dir.join(spec.file), spec.format)?;
    let distinct = keys.iter().collect::<HashSet<_>>().len() as u64;
    let check = Check {
        name: spec.name,
        requests: keys.len() as u64,
        distinct,
        ok: keys.len() as u64 == spec.requests && distinct == spec.distinct,
    };
    eprintln!(
        "traces: {}: {} requests, {} distinct keys ({}) decoded in {:.1}s",
        spec.name,
        thousands(check.requests),
        thousands(check.distinct),
        if check.ok {
            "as the README says"
        } else {
            "MISMATCH with the README"
        },
        started.elapsed().as_secs_f64()
    );
    let kinds = kinds();
    // Slow caches first so they don't trail at the end; big capacities first within a cache.
    let mut jobs: Vec<(usize, usize)> = (0..kinds.len())
        .flat_map(|k| (0..spec.sizes.len()).rev().map(move |s| (k, s)))
        .collect();
    jobs.sort_by_key(|&(k, _)| !matches!(kinds[k], Kind::Moka | Kind::MiniMoka));
    // `--kinds`: the other caches' points stay NaN in the report.
    jobs.retain(|&(k, _)| cfg.kinds.is_empty() || cfg.kinds.iter().any(|n| n == kinds[k].name()));
    let hits = run_parallel(cfg.workers, jobs.len(), |j| {
        let (k, s) = jobs[j];
        let started = Instant::now();
        let replay = Replay {
            keys: &keys,
            capacity: spec.sizes[s],
        };
        let (hit, name) = dispatch(kinds[k], replay);
        eprintln!(
            "  {} @ {} {:<14} {:.4}  ({:.1}s)",
            spec.name,
            spec.sizes[s],
            name,
            hit,
            started.elapsed().as_secs_f64()
        );
        hit
    });
    let started = Instant::now();
    let next = crate::opt::next_uses(&keys);
    let opt = run_parallel(cfg.workers, spec.sizes.len(), |s| {
        crate::opt::hit_ratio(&keys, &next, spec.sizes[s])
    });
    drop(next);
    eprintln!(
        "  {} OPT {}  ({:.1}s)",
        spec.name,
        opt.iter()
            .map(|h| format!("{h:.4}"))
            .collect::<Vec<_>>()
            .join(" "),
        started.elapsed().as_secs_f64()
    );
    let points = (0..spec.sizes.len())
        .map(|s| Point {
            opt: opt[s],
            trace: spec.name,
            capacity: spec.sizes[s],
            hit: (0..kinds.len())
                .map(|k| {
                    let j = jobs.iter().position(|&job| job == (k, s));
                    j.map_or(f64::NAN, |j| hits[j])
                })
                .collect(),
        })
        .collect();
    Ok((check, points))
}

/// Runs the scenario and returns its report section.
pub(crate) fn run(cfg: &Config, command: &str) -> std::io::Result<Section> {
    eprintln!(
        "traces: reading {} with {} workers",
        cfg.dir.display(),
        cfg.workers
    );
    if let Some(unknown) = cfg.only.iter().find(|o| SPECS.iter().all(|s| s.name != *o)) {
        let names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "unknown trace {unknown:?}; the traces are {}",
                names.join(", ")
            ),
        ));
    }
    let mut checks = Vec::new();
    let mut points = Vec::new();
    for spec in &SPECS {
        if !cfg.only.is_empty() && !cfg.only.iter().any(|o| o == spec.name) {
            continue;
        }
        let (check, mut p) = run_trace(cfg, spec)?;
        checks.push(check);
        points.append(&mut p);
    }
    Ok(report(cfg, command, &checks, &points))
}

/// Index of larder S3-FIFO and of each peer in [`kinds`].
const S3: usize = 0;
const MOKA: usize = 4;
const QUICK: usize = 5;
/// The `lru` crate behind a mutex.
const LRU_PEER: usize = 7;
const PEER_COLUMNS: [(usize, &str); 4] = [
    (4, "moka"),
    (5, "quick_cache"),
    (6, "mini-moka"),
    (7, "Mutex<lru>"),
];

/// Within this of moka's hit ratio counts as "within 2 points".
const TOLERANCE: f64 = 0.02;

fn report(cfg: &Config, command: &str, checks: &[Check], points: &[Point]) -> Section {
    let kinds = kinds();
    let mut section = Section::new(
        "traces",
        "Hit ratio on traces (get-or-insert over the whole trace)",
        command,
    );
    section.para(format!(
        "Traces from {}, sizes from shared/anchors.md. Each request: `get`, \
         and on a miss `insert`. moka and mini-moka also run their pending maintenance every \
         {MAINTAIN_EVERY} requests. Every cache uses its default sharding. **Bold**: the best \
         hit ratio of the row (OPT aside). OPT: Bélády's offline optimum (on a miss, evict \
         the entry used again farthest in the future, or do not admit the key if its own next \
         use is farther), the ceiling of every cache. \"vs moka\": ≥ when S3-FIFO ≥ moka, ≈ when it is below by at \
         most {TOLERANCE}, otherwise the gap in points. Hashes are randomly seeded: moka's \
         hit ratio moves by about a point between runs on the small traces, the sharded \
         caches' in the fourth decimal.",
        cfg.shown
    ));

    let mut header: Vec<String> = vec!["trace @ capacity".into()];
    header.extend(kinds.iter().map(|k| k.name().to_string()));
    header.push("OPT".into());
    header.extend(PEER_COLUMNS.iter().map(|(_, n)| format!("S3-FIFO / {n}")));
    header.push("vs moka".into());
    header.push("best larder".into());
    let mut table = Table::new(header);
    for p in points {
        let best = p.hit.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut row = vec![format!("{} @ {}", p.trace, thousands(p.capacity))];
        row.extend(p.hit.iter().map(|&h| {
            if h == best {
                format!("**{}**", fixed(h, 4))
            } else {
                fixed(h, 4)
            }
        }));
        row.push(fixed(p.opt, 4));
        row.extend(
            PEER_COLUMNS
                .iter()
                .map(|&(i, _)| ratio(p.hit[S3], p.hit[i])),
        );
        let gap = p.hit[S3] - p.hit[MOKA];
        row.push(if gap >= 0.0 {
            "≥".into()
        } else if gap >= -TOLERANCE {
            "≈".into()
        } else {
            format!("{:+.1} pts", gap * 100.0)
        });
        row.push(
            best_larder(&kinds, p)
                .name()
                .trim_start_matches("larder ")
                .into(),
        );
        table.row(row);
    }
    section.table(&table);
    section.para(summary(&kinds, points));
    plots(&mut section, &kinds, points);

    let mut decoded = Table::new(["trace", "requests", "distinct keys", "matches README"]);
    for c in checks {
        decoded.row([
            c.name.to_string(),
            thousands(c.requests),
            thousands(c.distinct),
            if c.ok { "yes" } else { "**no**" }.to_string(),
        ]);
    }
    section.para(
        "Decoded in Rust (larder-bench/src/decode.rs) and checked against shared/traces/README.md:",
    );
    section.table(&decoded);
    section
}

fn best_larder(kinds: &[Kind], p: &Point) -> Kind {
    let mut best = 0;
    for (i, k) in kinds.iter().enumerate() {
        if matches!(k, Kind::Larder(_)) && p.hit[i] > p.hit[best] {
            best = i;
        }
    }
    kinds[best]
}

fn summary(kinds: &[Kind], points: &[Point]) -> String {
    let n = points.len();
    let count = |f: &dyn Fn(&Point) -> bool| points.iter().filter(|p| f(p)).count();
    let at_least = count(&|p| p.hit[S3] >= p.hit[MOKA]);
    let within = count(&|p| p.hit[S3] >= p.hit[MOKA] - TOLERANCE);
    let best_at_least = count(&|p| {
        let b = kinds
            .iter()
            .position(|&k| k == best_larder(kinds, p))
            .unwrap_or(S3);
        p.hit[b] >= p.hit[MOKA]
    });
    let vs_quick = count(&|p| p.hit[S3] >= p.hit[QUICK]);
    let mut out = format!(
        "**Summary over {n} points.** larder S3-FIFO ≥ moka on **{at_least}/{n}**; within \
         {TOLERANCE} of moka (or above) on **{within}/{n}**; the best larder policy of each row \
         ≥ moka on {best_at_least}/{n}; S3-FIFO ≥ quick_cache on {vs_quick}/{n}."
    );
    let means: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mean = points.iter().map(|p| p.hit[i]).sum::<f64>() / n.max(1) as f64;
            format!("{} {:.4}", k.name(), mean)
        })
        .collect();
    let opt_mean = points.iter().map(|p| p.opt).sum::<f64>() / n.max(1) as f64;
    out.push_str(&format!(
        " Mean hit ratio over the points: {}; Bélády's OPT (the ceiling) {opt_mean:.4}.",
        means.join(", ")
    ));
    let wins: Vec<String> = kinds
        .iter()
        .filter(|k| matches!(k, Kind::Larder(_)))
        .map(|&k| {
            let wins = count(&|p| best_larder(kinds, p) == k);
            format!("{} {wins}", k.name().trim_start_matches("larder "))
        })
        .collect();
    out.push_str(&format!(
        " Best larder policy per row: {}.",
        wins.join(", ")
    ));
    let below: Vec<String> = points
        .iter()
        .filter(|p| p.hit[S3] < p.hit[MOKA] - TOLERANCE)
        .map(|p| {
            format!(
                "{} @ {} ({:+.1} pts)",
                p.trace,
                thousands(p.capacity),
                (p.hit[S3] - p.hit[MOKA]) * 100.0
            )
        })
        .collect();
    if below.is_empty() {
        out.push_str(" No point has S3-FIFO more than 2 points below moka.");
    } else {
        out.push_str(&format!(
            " S3-FIFO is more than 2 points below moka at: {}.",
            below.join(", ")
        ));
    }
    // The envelope: the best of the LRU peer, moka and quick_cache at each point.
    let peers = [LRU_PEER, MOKA, QUICK];
    let envelope = points
        .iter()
        .map(|p| peers.iter().map(|&i| p.hit[i]).fold(0.0, f64::max))
        .sum::<f64>()
        / n.max(1) as f64;
    let s3_mean = points.iter().map(|p| p.hit[S3]).sum::<f64>() / n.max(1) as f64;
    let wanted = (n * 60).div_ceil(76);
    let status = |ok: bool| if ok { "met" } else { "not met" };
    out.push_str(&format!(
        "\n\n**Target (issue 17): S3-FIFO ≥ moka on at least 60 of 76 points ({wanted} of {n} \
         here): {} ({at_least}); never more than 2 points below moka: {} ({} below); mean over \
         the points at least the mean of the best peer at each point (LRU, moka, quick_cache): \
         {} ({s3_mean:.4} vs {envelope:.4}).**",
        status(at_least >= wanted),
        status(within == n),
        n - within,
        status(s3_mean >= envelope),
    ));
    out
}

/// One SVG per trace: hit ratio against cache size, a line per cache (larder's solid, the
/// peers' dashed) and OPT (black). The x axis is logarithmic when the sizes span a decade.
fn plots(section: &mut Section, kinds: &[Kind], points: &[Point]) {
    section.para(
        "Hit ratio against cache size, per trace: larder's policies solid, the peers dashed, \
         Bélády's OPT in black.",
    );
    for trace in points.chunk_by(|a, b| a.trace == b.trace) {
        let (Some(first), Some(last)) = (trace.first(), trace.last()) else {
            continue;
        };
        let xs: Vec<f64> = trace.iter().map(|p| p.capacity as f64).collect();
        let mut series: Vec<Series> = kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                Series::of(
                    k,
                    trace
                        .iter()
                        .map(|p| (p.capacity as f64, p.hit[i]))
                        .collect(),
                )
            })
            .collect();
        series.push(Series {
            name: "OPT (Bélády)".into(),
            points: trace.iter().map(|p| (p.capacity as f64, p.opt)).collect(),
            color: 0,
            line: Line::Bound,
        });
        let chart = Chart {
            title: format!("{}: hit ratio against cache size", first.trace),
            x_label: "cache size (entries)".into(),
            y_label: "hit ratio".into(),
            x_ticks: xs,
            log_x: last.capacity >= 10 * first.capacity.max(1),
            y_from_zero: false,
            series,
        };
        section.plot(
            &format!("traces-{}", first.trace),
            &chart,
            &format!(
                "{}: hit ratio at {} entries.",
                first.trace,
                trace
                    .iter()
                    .map(|p| thousands(p.capacity))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_constants_name_their_caches() {
        let kinds = kinds();
        assert_eq!(kinds[S3], Kind::Larder(larder::Policy::S3Fifo));
        assert_eq!(kinds[MOKA], Kind::Moka);
        assert_eq!(kinds[QUICK], Kind::QuickCache);
        assert_eq!(kinds[LRU_PEER], Kind::Lru);
    }
}
