//! Instructions per hit (issue 17 §1, §2): N hits on larder S3-FIFO (untimed, with a TTL,
//! with a time-to-idle) or quick_cache over the same u64 keys, for
//! `valgrind --tool=callgrind --toggle-collect='hit_cost::hit_loop*'`.
//! Usage: hit_cost larder|larder-ttl|larder-tti|quick|base [hits]

use std::hint::black_box;

fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);
impl Rng {
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        ((u128::from(mix(self.0)) * u128::from(n)) >> 64) as u64
    }
}

#[inline(never)]
fn hit_loop(keys: &[u64], hits: u64, get: impl Fn(u64) -> Option<u64>) -> u64 {
    let mut rng = Rng(0x5EED);
    let n = keys.len() as u64;
    let mut found = 0;
    for _ in 0..hits {
        let key = keys[rng.below(n) as usize];
        if black_box(get(black_box(key))).is_some() {
            found += 1;
        }
    }
    found
}

#[inline(never)]
fn base_loop(keys: &[u64], hits: u64) -> u64 {
    hit_loop(keys, hits, Some)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "larder".into());
    let hits: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let keys: Vec<u64> = (0..100_000).map(mix).collect();
    let cap = 125_000;
    let found = match which.as_str() {
        "larder" | "larder-ttl" | "larder-tti" => {
            let hour = std::time::Duration::from_secs(3600);
            let mut builder = larder::Cache::builder().max_capacity(cap);
            if which == "larder-ttl" {
                builder = builder.time_to_live(hour);
            } else if which == "larder-tti" {
                builder = builder.time_to_idle(hour);
            }
            let c: larder::Cache<u64, u64> = builder.build();
            for (i, &k) in keys.iter().enumerate() {
                c.insert(k, i as u64);
            }
            hit_loop(&keys, hits, |k| c.get(&k))
        }
        "quick" => {
            let c = quick_cache::sync::Cache::<u64, u64>::new(cap as usize);
            for (i, &k) in keys.iter().enumerate() {
                c.insert(k, i as u64);
            }
            hit_loop(&keys, hits, |k| c.get(&k))
        }
        _ => base_loop(&keys, hits),
    };
    println!("{which}: {found} of {hits} hit");
}
