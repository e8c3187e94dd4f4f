//! Instructions per insert (issue 17 §3): fill, churn and Zipf get-or-insert on larder
//! (S3-FIFO) or quick_cache, for
//! `valgrind --tool=callgrind --toggle-collect='inserts::run*' target/release/examples/inserts MODE CACHE`.
//! Usage: inserts fill|churn|zipf|zipf8 larder|larder-ttl|quick [ops]
//! fill: 100k distinct keys into a fresh cache of 125k; churn: `ops` inserts cycling over 100k
//! keys into a full cache of 10k; zipf / zipf8: `ops` get-or-inserts over a Zipf(0.99 / 0.8)
//! stream of 100k keys at capacity 10k (the hit ratio is printed).

use std::hint::black_box;

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + 1)^s`, scrambled.
fn zipf_stream(n: u64, s: f64, len: usize) -> Vec<u64> {
    let mut total = 0.0;
    let mut cdf: Vec<f64> = (1..=n)
        .map(|rank| {
            total += (rank as f64).powf(-s);
            total
        })
        .collect();
    for p in &mut cdf {
        *p /= total;
    }
    let mut state = 0x5EEDu64;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(1);
            let u = (mix(state) >> 11) as f64 / (1u64 << 53) as f64;
            let rank = cdf.partition_point(|&p| p <= u).min(cdf.len() - 1);
            mix(rank as u64)
        })
        .collect()
}

trait Bench {
    fn insert(&self, k: u64, v: u64);
    fn get(&self, k: u64) -> Option<u64>;
}

impl Bench for larder::Cache<u64, u64> {
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        larder::Cache::insert(self, k, v);
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        larder::Cache::get(self, &k)
    }
}

impl Bench for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        quick_cache::sync::Cache::insert(self, k, v);
    }
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &k)
    }
}

#[inline(never)]
fn run_inserts(c: &impl Bench, keys: &[u64]) {
    for (i, &k) in keys.iter().enumerate() {
        c.insert(black_box(k), i as u64);
    }
}

#[inline(never)]
fn run_get_or_insert(c: &impl Bench, keys: &[u64]) -> u64 {
    let mut hits = 0;
    for (i, &k) in keys.iter().enumerate() {
        if black_box(c.get(black_box(k))).is_some() {
            hits += 1;
        } else {
            c.insert(k, i as u64);
        }
    }
    hits
}

fn go(mode: &str, ops: usize, build: impl Fn(u64) -> Box<dyn BenchBox>) {
    match mode {
        "fill" => {
            let keys: Vec<u64> = (0..100_000).map(mix).collect();
            let c = build(125_000);
            c.inserts(&keys);
        }
        "churn" => {
            let c = build(10_000);
            let pre: Vec<u64> = (0..10_000).map(|i| mix(1 << 40 | i)).collect();
            for &k in &pre {
                c.insert_one(k);
            }
            let keys: Vec<u64> = (0..ops as u64).map(|i| mix(i % 100_000)).collect();
            c.inserts(&keys);
        }
        "zipf" | "zipf8" => {
            let s = if mode == "zipf" { 0.99 } else { 0.8 };
            let keys = zipf_stream(100_000, s, ops);
            let c = build(10_000);
            let hits = c.get_or_inserts(&keys);
            println!("hit ratio {:.4}", hits as f64 / ops as f64);
        }
        _ => panic!("mode: fill|churn|zipf|zipf8"),
    }
}

trait BenchBox {
    fn inserts(&self, keys: &[u64]);
    fn insert_one(&self, k: u64);
    fn get_or_inserts(&self, keys: &[u64]) -> u64;
}

impl<T: Bench> BenchBox for T {
    fn inserts(&self, keys: &[u64]) {
        run_inserts(self, keys);
    }
    fn insert_one(&self, k: u64) {
        self.insert(k, 0);
    }
    fn get_or_inserts(&self, keys: &[u64]) -> u64 {
        run_get_or_insert(self, keys)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "churn".into());
    let which = args.next().unwrap_or_else(|| "larder".into());
    let ops: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    match which.as_str() {
        "larder" => go(&mode, ops, |cap| {
            Box::new(
                larder::Cache::<u64, u64>::builder()
                    .max_capacity(cap)
                    .build(),
            )
        }),
        // With a TTL, as a tier's L1 copies have: what the timer adds to an insert.
        "larder-ttl" => go(&mode, ops, |cap| {
            Box::new(
                larder::Cache::<u64, u64>::builder()
                    .max_capacity(cap)
                    .time_to_live(std::time::Duration::from_secs(60))
                    .build(),
            )
        }),
        "quick" => go(&mode, ops, |cap| {
            Box::new(quick_cache::sync::Cache::<u64, u64>::new(cap as usize))
        }),
        _ => panic!("cache: larder|larder-ttl|quick"),
    }
    println!("{mode} {which} {ops}: done");
}
