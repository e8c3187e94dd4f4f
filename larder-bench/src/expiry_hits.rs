//! The expiry rows of the `throughput` scenario: get-hit on a cache whose entries have a TTL,
//! or a time-to-idle, beside the same cache without either, in one interleaved run.
//!
//! The TTL and idle time are an hour, so nothing expires during a measurement: the rows show
//! what checking (and, for time-to-idle, recording) the time costs a hit.

use std::hint::black_box;
use std::time::Duration;

use larder::Policy;

use crate::report::{Table, fixed, median, ratio};
use crate::throughput::{Config, SEED, mops, run_threads};
use crate::workload::Rng;

/// How a cache's entries expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    Untimed,
    Ttl,
    Tti,
    /// A TTL on [`larder::Clock::exact`]: a clock read per hit, what opting out of the
    /// ticker costs (moka has no such setting: its row repeats its TTL).
    TtlExact,
}

const TIMINGS: [Timing; 4] = [Timing::Untimed, Timing::Ttl, Timing::Tti, Timing::TtlExact];

const LIFETIME: Duration = Duration::from_secs(3600);

/// The caches of these rows: larder's two main policies, and moka (which has both settings).
#[derive(Debug, Clone, Copy)]
enum Subject {
    Larder(Policy, &'static str),
    Moka,
}

const SUBJECTS: [Subject; 3] = [
    Subject::Larder(Policy::S3Fifo, "larder S3-FIFO"),
    Subject::Larder(Policy::Lru, "larder LRU"),
    Subject::Moka,
];

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Self::Larder(_, name) => name,
            Self::Moka => "moka",
        }
    }
}

/// Prefills a cache of `subject` with `timing`, then times random gets on `threads` threads.
fn once(subject: Subject, timing: Timing, cfg: &Config, keys: &[u64], threads: usize) -> f64 {
    let capacity = cfg.keys + cfg.keys / 4;
    match subject {
        Subject::Larder(policy, _) => {
            let builder = larder::Cache::builder()
                .max_capacity(capacity)
                .policy(policy);
            let builder = match timing {
                Timing::Untimed => builder,
                Timing::Ttl => builder.time_to_live(LIFETIME),
                Timing::Tti => builder.time_to_idle(LIFETIME),
                Timing::TtlExact => builder.time_to_live(LIFETIME).clock(larder::Clock::exact()),
            };
            let cache: larder::Cache<u64, u64> = builder.build();
            for (i, &k) in keys.iter().enumerate() {
                cache.insert(k, i as u64);
            }
            time_gets(cfg, keys, threads, |k| cache.get(&k))
        }
        Subject::Moka => {
            let builder = moka::sync::Cache::builder().max_capacity(capacity);
            let builder = match timing {
                Timing::Untimed => builder,
                Timing::Ttl => builder.time_to_live(LIFETIME),
                Timing::Tti => builder.time_to_idle(LIFETIME),
                Timing::TtlExact => builder.time_to_live(LIFETIME),
            };
            let cache: moka::sync::Cache<u64, u64> = builder.build();
            for (i, &k) in keys.iter().enumerate() {
                cache.insert(k, i as u64);
            }
            cache.run_pending_tasks();
            time_gets(cfg, keys, threads, |k| cache.get(&k))
        }
    }
}

fn time_gets(
    cfg: &Config,
    keys: &[u64],
    threads: usize,
    get: impl Fn(u64) -> Option<u64> + Sync,
) -> f64 {
    let n = keys.len() as u64;
    let (wall, _hits) = run_threads(threads, |t| {
        let mut rng = Rng::new(SEED + t as u64);
        let mut hits = 0;
        for _ in 0..cfg.get_ops {
            let key = keys[rng.below(n) as usize];
            if black_box(get(black_box(key))).is_some() {
                hits += 1;
            }
        }
        hits
    });
    mops(cfg.get_ops * threads as u64, wall)
}

/// Measures every subject and timing on 1 and 2 threads, repetitions interleaved as in the
/// other throughput rows, and returns the table: medians, with the min–max spread of the
/// timed/untimed ratio over the repetitions, and the status line of the TTL-hit target
/// (larder S3-FIFO's TTL hit at least 0.9x its untimed hit, on 1 and 2 threads).
pub(crate) fn table(cfg: &Config, keys: &[u64]) -> (Table, String) {
    let mut status =
        String::from("**Target: larder S3-FIFO's TTL hit at least 0.9x its no-expiry hit.**");
    let mut table = Table::new([
        "get-hit with expiry (M ops/s)",
        "no expiry",
        "TTL 1 h",
        "time-to-idle 1 h",
        "TTL / no expiry",
        "(spread)",
        "TTI / no expiry",
        "(spread)",
        "TTL, exact clock / no expiry",
        "(spread)",
    ]);
    for threads in [1, 2] {
        eprintln!("throughput: get-hit with expiry, {threads} thread(s)");
        // samples[subject][timing][rep]
        let mut samples = vec![vec![Vec::new(); TIMINGS.len()]; SUBJECTS.len()];
        for rep in 0..cfg.reps {
            for (s, &subject) in SUBJECTS.iter().enumerate() {
                for (t, &timing) in TIMINGS.iter().enumerate() {
                    let m = once(subject, timing, cfg, keys, threads);
                    eprintln!(
                        "  [{}/{}] {:<14} {:<8} {:>8.2} M ops/s",
                        rep + 1,
                        cfg.reps,
                        subject.name(),
                        format!("{timing:?}"),
                        m
                    );
                    samples[s][t].push(m);
                }
            }
        }
        for (s, subject) in SUBJECTS.iter().enumerate() {
            let med: Vec<f64> = samples[s].iter().map(|x| median(x.clone())).collect();
            let spread = |t: usize| {
                let rs: Vec<f64> = samples[s][t]
                    .iter()
                    .zip(&samples[s][0])
                    .map(|(a, b)| a / b)
                    .collect();
                let lo = rs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = rs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{}–{}", fixed(lo, 2), fixed(hi, 2))
            };
            if s == 0 {
                let r = med[1] / med[0];
                status.push_str(&format!(
                    " {threads} thread{}: {} ({}, spread {}).",
                    if threads == 1 { "" } else { "s" },
                    if r >= 0.9 { "met" } else { "not met" },
                    ratio(med[1], med[0]),
                    spread(1)
                ));
            }
            table.row([
                format!(
                    "{}, {threads} thread{}",
                    subject.name(),
                    if threads == 1 { "" } else { "s" }
                ),
                fixed(med[0], 2),
                fixed(med[1], 2),
                fixed(med[2], 2),
                ratio(med[1], med[0]),
                spread(1),
                ratio(med[2], med[0]),
                spread(2),
                ratio(med[3], med[0]),
                spread(3),
            ]);
        }
    }
    (table, status)
}
