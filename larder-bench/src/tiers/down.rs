//! Redis stopped: read latency of `Tiered` with its breaker open against an L1 plus loader
//! with no L2 at all (a plain `Cache` and `get_with`), and what the hand-written cache and
//! cachet do when their Redis is gone.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use larder::Cache;
use larder::tier::BreakerState;

use super::contenders::{Contender, L2_TTL, Who};
use super::{Redis, Size, quantile, ratio_with_spread, runtime, verdict};
use crate::report::{Section, Table, fixed, median, thousands};
use crate::workload::Rng;

/// Keys read, uniformly.
const KEYS: u64 = 10_000;
/// Every L1's capacity: about half the reads miss.
const L1_CAPACITY: u64 = 5_000;
/// Concurrent readers.
const TASKS: usize = 64;
/// Reads per task per measurement.
const READS: usize = 1_000;

/// The loaders: a 1 ms database, and one that only yields (so that the tier's own cost shows).
const LOADERS: [(&str, Option<Duration>); 2] = [
    ("loader 1 ms", Some(Duration::from_millis(1))),
    ("loader instant (a yield)", None),
];

/// What one measurement saw: every read's latency, and the reads that were errors.
struct Sample {
    latencies: Vec<Duration>,
    errors: u64,
}

impl Sample {
    fn p(&mut self, q: f64) -> f64 {
        quantile(&mut self.latencies, q).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    }
}

/// The value of key `k`: after `delay`, or a yield.
async fn load(delay: Option<Duration>, k: u64) -> u64 {
    match delay {
        Some(d) => tokio::time::sleep(d).await,
        None => tokio::task::yield_now().await,
    }
    k
}

/// `TASKS` tasks of `n` random reads each through `read`, each read timed.
async fn reads<F, Fut>(n: usize, read: F) -> Sample
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let handles: Vec<_> = (0..TASKS)
        .map(|t| {
            let read = read.clone();
            tokio::spawn(async move {
                let mut rng = Rng::new(0xD0E5 + t as u64);
                let mut latencies = Vec::with_capacity(n);
                let mut errors = 0;
                for _ in 0..n {
                    let k = rng.below(KEYS);
                    let start = Instant::now();
                    let ok = read(k).await.is_ok_and(|v| v == k);
                    latencies.push(start.elapsed());
                    errors += u64::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut sample = Sample {
        latencies: Vec::with_capacity(TASKS * n),
        errors: 0,
    };
    for h in handles {
        let (l, e) = h.await.expect("a reader task");
        sample.latencies.extend(l);
        sample.errors += e;
    }
    sample
}

/// A fresh plain `Cache` with `get_with`: the L1-plus-loader setup without L2; with `ttl`,
/// its entries expire as the tier's L1 copies do (they live no longer than in L2).
async fn plain(n: usize, delay: Option<Duration>, ttl: Option<Duration>) -> Sample {
    let builder = Cache::builder().max_capacity(L1_CAPACITY);
    let cache: Cache<String, u64> = match ttl {
        Some(ttl) => builder.time_to_live(ttl).build(),
        None => builder.build(),
    };
    reads(n, move |k| {
        let cache = cache.clone();
        async move { Ok(cache.get_with(k.to_string(), load(delay, k)).await) }
    })
    .await
}

/// `contender` with its L1 emptied first.
async fn through(n: usize, contender: &Arc<Contender>, delay: Option<Duration>) -> Sample {
    // Each contender called directly, as `plain` calls its cache: no enum or box between.
    match &**contender {
        Contender::Tier(t) => {
            t.l1().clear();
            let t = t.clone();
            reads(n, move |k| {
                let t = t.clone();
                async move { Ok(t.get_with(k.to_string(), load(delay, k)).await) }
            })
            .await
        }
        Contender::Handmade(h) => {
            h.clear_l1();
            let h = h.clone();
            reads(n, move |k| {
                let h = h.clone();
                async move { Ok(h.get_with(k.to_string(), load(delay, k)).await) }
            })
            .await
        }
        Contender::Cachet(c) => {
            let _ = c.clear().await;
            let c = c.clone();
            reads(n, move |k| {
                let c = c.clone();
                async move {
                    c.get_or_insert(&k.to_string(), || load(delay, k))
                        .await
                        .map(|e| *e.value())
                        .map_err(|e| e.to_string())
                }
            })
            .await
        }
    }
}

fn row(
    table: &mut Table,
    label: &str,
    loader: &str,
    runs: &mut [Sample],
    plain_p99: &[f64],
) -> f64 {
    let p50 = median(runs.iter_mut().map(|s| s.p(0.5)).collect());
    let p99s: Vec<f64> = runs.iter_mut().map(|s| s.p(0.99)).collect();
    let errors: u64 = runs.iter().map(|s| s.errors).sum();
    let total: usize = runs.iter().map(|s| s.latencies.len()).sum();
    let (ratio, text) = ratio_with_spread(&p99s, plain_p99);
    table.row([
        label.to_string(),
        loader.to_string(),
        fixed(p50, 3),
        fixed(median(p99s), 3),
        text,
        format!("{} of {}", thousands(errors), thousands(total as u64)),
    ]);
    ratio
}

pub(super) fn measure(section: &mut Section, size: Size, redis: &mut Redis) {
    let n = READS / size.div;
    let rt = runtime();
    let namespace = super::namespace();
    let built = rt.block_on(async {
        let mut built = Vec::new();
        for who in [Who::Tier, Who::Handmade, Who::Cachet] {
            built.push(Arc::new(
                Contender::connect_with_l1(who, &redis.url, &namespace, L1_CAPACITY).await?,
            ));
        }
        Ok::<_, String>(built)
    });
    let contenders = match built {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tiers: Redis stopped skipped: {e}");
            return;
        }
    };
    let tier = match &*contenders[0] {
        Contender::Tier(t) => t.clone(),
        _ => unreachable!("the first contender is the tier"),
    };
    let mut table = Table::new([
        "read, 64 tasks",
        "loader",
        "p50 (ms)",
        "p99 (ms)",
        "p99 / L1 + loader's",
        "errors to callers",
    ]);
    // Redis up, for reference: the tier against the plain setup.
    for (loader, delay) in LOADERS {
        let (mut up, mut base) = (Vec::new(), Vec::new());
        for _ in 0..size.reps {
            up.push(rt.block_on(through(n, &contenders[0], delay)));
            base.push(rt.block_on(plain(n, delay, None)));
        }
        let base_p99: Vec<f64> = base.iter_mut().map(|s| s.p(0.99)).collect();
        row(
            &mut table,
            "`Tiered`, Redis up (reference)",
            loader,
            &mut up,
            &base_p99,
        );
    }
    eprintln!("  tiers: Redis up measured; stopping it");
    redis.stop();
    // Open the breaker: L1 misses until it trips (bounded).
    let opened = rt.block_on(async {
        for i in 0..1_000u64 {
            if tier.stats().breaker != BreakerState::Closed {
                return true;
            }
            tier.get_with(format!("trip{i}"), async { 0 }).await;
        }
        false
    });
    let before = tier.stats();
    let mut targets = Vec::new();
    for (loader, delay) in LOADERS {
        let mut runs: [Vec<Sample>; 5] = Default::default();
        for _ in 0..size.reps {
            runs[0].push(rt.block_on(plain(n, delay, None)));
            runs[1].push(rt.block_on(plain(n, delay, Some(L2_TTL))));
            for (i, c) in contenders.iter().enumerate() {
                runs[i + 2].push(rt.block_on(through(n, c, delay)));
            }
        }
        let base_p99: Vec<f64> = runs[0].iter_mut().map(|s| s.p(0.99)).collect();
        let [base, timed, tier_runs, hand, cachet] = &mut runs;
        row(
            &mut table,
            "L1 + loader, no L2 (plain `Cache::get_with`)",
            loader,
            base,
            &base_p99,
        );
        row(
            &mut table,
            "the same with the tier's 60 s TTL (as its L1 copies have)",
            loader,
            timed,
            &base_p99,
        );
        let ratio = row(
            &mut table,
            "`Tiered`, Redis stopped, breaker open",
            loader,
            tier_runs,
            &base_p99,
        );
        targets.push((loader, ratio));
        row(
            &mut table,
            "by hand (moka + redis crate), Redis stopped",
            loader,
            hand,
            &base_p99,
        );
        row(
            &mut table,
            "cachet, Redis stopped",
            loader,
            cachet,
            &base_p99,
        );
    }
    let after = tier.stats();
    section.para(format!(
        "**Redis stopped.** {TASKS} tasks x {n} reads of keys drawn uniformly from \
         {}, every L1 of capacity {} (about half the reads miss) and emptied \
         before each measurement; every read timed; {} rounds. First with Redis up (the \
         tier's rows, for reference), then the server is killed and the tier's breaker (its \
         defaults: 5 failures, 1 s cooldown, then a probe) is opened by L1 misses before the \
         rounds{}. During them the tier skipped L2 {} times, saw {} L2 errors, and its breaker \
         tripped {} times. The hand-written cache treats a Redis error as a miss (and pays \
         for the failed call each time); cachet returns the fallback tier's error to the \
         caller.",
        thousands(KEYS),
        thousands(L1_CAPACITY),
        size.reps,
        if opened {
            ""
        } else {
            " (**it did not open** within 1,000 misses)"
        },
        thousands(after.l2_skipped - before.l2_skipped),
        thousands(after.l2_errors - before.l2_errors),
        after.breaker_trips,
    ));
    section.table(&table);
    let verdicts: Vec<String> = targets
        .iter()
        .map(|(loader, r)| format!("{loader}: {} ({}x)", verdict(*r <= 1.5), fixed(*r, 2)))
        .collect();
    section.para(format!(
        "**Target: with Redis stopped and the breaker open, p99 read latency at most 1.5x an \
         L1-plus-loader setup without L2.** {}.",
        verdicts.join("; ")
    ));
}
