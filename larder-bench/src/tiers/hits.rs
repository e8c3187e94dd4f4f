//! Hits: an L1 hit through `Tiered` against a plain `Cache` hit (1 and 2 threads), and an L2
//! hit (an L1 miss that L2 answers) from 64 tasks against `RedisStore::get` plus decode.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use larder::codec::{Codec, Postcard};
use larder::store::{RedisStore, Store};
use larder::tier::Tiered;
use larder::{Cache, Ttl};

use super::{Size, ratio_with_spread, runtime, verdict};
use crate::report::{Section, Table, fixed, median, thousands};
use crate::workload::Rng;

/// Keys in L1 for the L1-hit rows.
const HIT_KEYS: u64 = 10_000;
/// Reads per thread per L1-hit measurement.
const HIT_OPS: u64 = 2_000_000;
/// Keys in L2 for the L2-hit rows: each measurement reads each once.
const L2_KEYS: usize = 100_000;
/// Concurrent readers of the L2-hit rows.
const TASKS: usize = 64;
/// Bytes of each L2-hit value.
const VALUE: usize = 100;

/// Runs `read` `ops` times on each of `threads` threads (each with a current-thread runtime
/// of its own, built before the clock starts), over random keys; M reads/s.
fn per_thread<F>(threads: usize, ops: u64, read: &F) -> f64
where
    F: AsyncFn(u64) -> u64 + Sync,
{
    let barrier = Barrier::new(threads);
    let walls: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a tokio runtime");
                    let mut rng = Rng::new(0x71E5 + t as u64);
                    barrier.wait();
                    let start = Instant::now();
                    let sum = rt.block_on(async {
                        let mut sum = 0u64;
                        for _ in 0..ops {
                            sum = sum.wrapping_add(read(black_box(rng.below(HIT_KEYS))).await);
                        }
                        sum
                    });
                    black_box(sum);
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let start = walls.iter().map(|w| w.0).min();
    let end = walls.iter().map(|w| w.1).max();
    let wall = match (start, end) {
        (Some(s), Some(e)) => e - s,
        _ => Duration::ZERO,
    };
    (ops * threads as u64) as f64 / wall.as_secs_f64().max(1e-9) / 1e6
}

/// The L1-hit table: `Tiered::get` and `get_with` against `Cache::get` and `get_with`.
pub(super) fn l1(section: &mut Section, size: Size, url: &str) {
    let ops = HIT_OPS / size.div as u64;
    let rt = runtime();
    let built = rt.block_on(async {
        let store = RedisStore::connect(url, &super::namespace())
            .await
            .map_err(|e| e.to_string())?;
        let tier: Tiered<u64, u64> =
            Tiered::builder(Cache::new(2 * HIT_KEYS), store.clone()).build();
        for k in 0..HIT_KEYS {
            tier.insert(k, k).await;
        }
        let peer = super::contenders::cachet::<u64>(
            url,
            &super::namespace(),
            super::contenders::L1_CAPACITY,
        )
        .await?;
        for k in 0..HIT_KEYS {
            let _ = peer.insert(k, cachet::CacheEntry::new(k)).await;
        }
        Ok::<_, String>((tier, store, peer))
    });
    let (tier, _store, peer) = match built {
        Ok(built) => built,
        Err(e) => {
            eprintln!("tiers: L1 hits skipped: {e}");
            return;
        }
    };
    let cache: Cache<u64, u64> = Cache::new(2 * HIT_KEYS);
    for k in 0..HIT_KEYS {
        cache.insert(k, k);
    }
    let tier_get = async |k: u64| tier.get(&k).await.unwrap_or(0);
    let cache_get = async |k: u64| cache.get(&k).unwrap_or(0);
    let tier_with = async |k: u64| tier.get_with(k, async { 0 }).await;
    let cache_with = async |k: u64| cache.get_with(k, async { 0 }).await;
    let peer_get = async |k: u64| peer.get(&k).await.ok().flatten().map_or(0, |e| *e.value());
    // [threads - 1][row]: tier get, cache get, tier get_with, cache get_with, cachet get.
    let mut runs: [[Vec<f64>; 5]; 2] = Default::default();
    for rep in 0..size.reps {
        for threads in [1, 2] {
            let r = &mut runs[threads - 1];
            r[0].push(per_thread(threads, ops, &tier_get));
            r[1].push(per_thread(threads, ops, &cache_get));
            r[2].push(per_thread(threads, ops, &tier_with));
            r[3].push(per_thread(threads, ops, &cache_with));
            r[4].push(per_thread(threads, ops, &peer_get));
        }
        eprintln!("  tiers: L1 hits, round {}/{}", rep + 1, size.reps);
    }
    let stats = tier.stats();
    let mut table = Table::new([
        "L1 hit (M reads/s)",
        "threads",
        "`Tiered`",
        "plain `Cache`",
        "cost of the tier (plain / tiered)",
    ]);
    let mut worst: f64 = 0.0;
    let mut peer = Table::new([
        "L1 hit of a peer with tiers",
        "threads",
        "M reads/s",
        "plain `Cache` / it",
    ]);
    for threads in [1, 2] {
        let r = &runs[threads - 1];
        let (_, text) = ratio_with_spread(&r[1], &r[4]);
        peer.row([
            "cachet 0.16 `get` (memory L1 over a Redis fallback tier)".to_string(),
            threads.to_string(),
            fixed(median(r[4].clone()), 2),
            text,
        ]);
        for (label, ours, theirs) in [("`get`", &r[0], &r[1]), ("`get_with`", &r[2], &r[3])] {
            let (cost, text) = ratio_with_spread(theirs, ours);
            worst = worst.max(cost);
            table.row([
                label.to_string(),
                threads.to_string(),
                fixed(median(ours.clone()), 2),
                fixed(median(theirs.clone()), 2),
                text,
            ]);
        }
    }
    section.para(format!(
        "**L1 hit.** {} keys (`u64` to `u64`) in L1, read at random, {} reads per \
         thread, each thread with a current-thread runtime of its own; the plain `Cache` rows \
         run the same loop. The tier counted {} L1 hits and {} L2 calls.",
        thousands(HIT_KEYS),
        thousands(ops),
        thousands(stats.l1_hits),
        stats.l2_hits + stats.l2_misses,
    ));
    section.table(&table);
    section.table(&peer);
    section.para(format!(
        "**Target: an L1 hit through the tier costs at most 1.1x a plain `Cache` hit.** {} \
         (worst row {}x).",
        verdict(worst <= 1.1),
        fixed(worst, 2)
    ));
}

/// Reads of `read(i)` for every `i` in `0..keys`, spread over `TASKS` tasks; M reads/s (NaN,
/// left out of the medians, if a read found nothing).
async fn many_tasks<F, Fut>(keys: usize, read: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|t| {
            let read = read.clone();
            tokio::spawn(async move {
                let mut found = 0usize;
                for i in (t..keys).step_by(TASKS) {
                    found += usize::from(read(i).await);
                }
                found
            })
        })
        .collect();
    let mut found = 0;
    for h in handles {
        found += h.await.unwrap_or(0);
    }
    let rate = keys as f64 / start.elapsed().as_secs_f64() / 1e6;
    if found == keys {
        rate
    } else {
        eprintln!(
            "tiers: {} of {keys} L2 reads missed; the round is left out",
            keys - found
        );
        f64::NAN
    }
}

/// The L2-hit table: `Tiered::get` on L1 misses against `RedisStore::get` plus decode.
pub(super) fn l2(section: &mut Section, size: Size, url: &str) {
    let n = L2_KEYS / size.div;
    let rt = runtime();
    let runs = rt.block_on(async {
        let store = RedisStore::connect(url, &super::namespace()).await?;
        let keys: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("k{i}")).collect());
        let plain: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("p:k{i}")).collect());
        let value = vec![0x5Au8; VALUE];
        let filler: Tiered<String, Vec<u8>> = Tiered::builder(Cache::new(0), store.clone()).build();
        let packed = Postcard.pack(&value)?;
        let fills: Vec<_> = (0..TASKS)
            .map(|t| {
                let (filler, store) = (filler.clone(), store.clone());
                let (keys, plain) = (keys.clone(), plain.clone());
                let (value, packed) = (value.clone(), packed.clone());
                tokio::spawn(async move {
                    for i in (t..n).step_by(TASKS) {
                        filler.insert(keys[i].clone(), value.clone()).await;
                        store.set(&plain[i], &packed, Ttl::Never).await?;
                    }
                    Ok::<_, larder::Error>(())
                })
            })
            .collect();
        for fill in fills {
            fill.await.expect("a fill task")?;
        }
        let (mut baseline, mut fresh, mut zero) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..size.reps {
            let (s, p) = (store.clone(), plain.clone());
            baseline.push(
                many_tasks(n, move |i| {
                    let (s, p) = (s.clone(), p.clone());
                    async move {
                        let Ok(Some(bytes)) = s.get(&p[i]).await else {
                            return false;
                        };
                        Postcard
                            .unpack::<Vec<u8>>(&bytes)
                            .is_ok_and(|v| v.len() == VALUE)
                    }
                })
                .await,
            );
            for (capacity, runs) in [(2 * n as u64, &mut fresh), (0, &mut zero)] {
                let tier: Tiered<String, Vec<u8>> =
                    Tiered::builder(Cache::new(capacity), store.clone()).build();
                // A service's tier is long-lived: time it once its watch is up, not while it
                // connects (bounded: 5 s).
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while !tier.is_watching() && std::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                let k = keys.clone();
                runs.push(
                    many_tasks(n, move |i| {
                        let (tier, k) = (tier.clone(), k.clone());
                        async move { tier.get(&k[i]).await.is_some_and(|v| v.len() == VALUE) }
                    })
                    .await,
                );
            }
            eprintln!("  tiers: L2 hits, round {}/{}", rep + 1, size.reps);
        }
        Ok::<_, larder::Error>((baseline, fresh, zero))
    });
    let (baseline, fresh, zero) = match runs {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("tiers: L2 hits skipped: {e}");
            return;
        }
    };
    let mut table = Table::new(["L2 hit from 64 tasks", "M reads/s", "of the baseline"]);
    table.row([
        "baseline: `RedisStore::get` plus `Postcard::unpack`".to_string(),
        fixed(median(baseline.clone()), 3),
        "100%".to_string(),
    ]);
    let (ratio, text) = ratio_with_spread(&fresh, &baseline);
    table.row([
        "`Tiered::get`, each key missing from L1 (a fresh L1 per round), filling L1".to_string(),
        fixed(median(fresh), 3),
        text,
    ]);
    let (_, zero_text) = ratio_with_spread(&zero, &baseline);
    table.row([
        "`Tiered::get` with an L1 of capacity 0 (no fill, no single-flight)".to_string(),
        fixed(median(zero), 3),
        zero_text,
    ]);
    section.para(format!(
        "**L2 hit.** {} keys of {VALUE}-byte values in Redis, each read once per round from \
         {TASKS} tokio tasks (2 worker threads), all through one `RedisStore` connection \
         (which coalesces concurrent gets into MGETs). The tier's rows read its own entries \
         (`v1:k{{i}}`: a header, then the Postcard envelope); the baseline reads a Postcard \
         envelope of the same value stored by `Store::set`.",
        thousands(n as u64)
    ));
    section.table(&table);
    section.para(format!(
        "**Target: an L2 hit at least 90% of `RedisStore::get` plus decode.** {} ({:.0}%).",
        verdict(ratio >= 0.9),
        100.0 * ratio
    ));
}
