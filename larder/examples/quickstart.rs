//! larder's quickstart: a slow backend behind a cache, under Zipf-distributed traffic.
//!
//! `cargo run --release --example quickstart` replays one trace of 200,000 requests over
//! 10,000 keys (a few keys far more popular than the rest) five times: straight to the
//! backend, then through a 1,000-entry cache with each eviction policy. Time is simulated
//! with a mock clock, so the run is quick and prints the same table every time. Then a herd:
//! 10,000 concurrent requests for one cold key, answered with a single backend call; and an
//! N+1: a page of 50 posts whose authors are fetched one by one, collapsed into one batch.

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use larder::{Cache, Clock, Policy};

const KEYS: usize = 10_000;
const REQUESTS: usize = 200_000;
const CAPACITY: u64 = 1_000;
const TTL: Duration = Duration::from_secs(30);
const JITTER: Duration = Duration::from_secs(3);
/// Simulated time between two requests: the trace spans 200 s, so the TTL matters.
const TICK: Duration = Duration::from_millis(1);
/// What one backend call would cost. We count calls instead of sleeping.
const LATENCY: Duration = Duration::from_micros(200);

/// std's hasher with fixed keys, so every run behaves identically (larder's default hasher
/// is seeded randomly per cache, which is what you want in production).
type Fixed = BuildHasherDefault<DefaultHasher>;

/// The slow service we want to spare: it only counts its calls.
#[derive(Default)]
struct Backend {
    calls: u64,
}

impl Backend {
    fn fetch(&mut self, user_id: u64) -> String {
        self.calls += 1;
        format!("user #{user_id}")
    }
}

/// Zipf's law: the key of rank r is asked for in proportion to 1/r. We draw ranks by
/// inverting the cumulative distribution (a binary search), with a seeded xorshift64.
fn zipf_trace(keys: usize, requests: usize, mut seed: u64) -> Vec<u64> {
    let mut total = 0.0;
    let mut cdf = Vec::with_capacity(keys);
    for rank in 1..=keys {
        total += 1.0 / rank as f64;
        cdf.push(total);
    }
    cdf.iter_mut().for_each(|p| *p /= total);
    let mut uniform = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 // in [0, 1)
    };
    (0..requests)
        .map(|_| {
            let u = uniform();
            cdf.partition_point(|&p| p < u).min(keys - 1) as u64
        })
        .collect()
}

fn print_row(name: &str, hit_ratio: f64, calls: u64, rest: [String; 4]) {
    let time = LATENCY.as_secs_f64() * calls as f64;
    let [evictions, expirations, len, listener] = rest;
    println!(
        "{name:<9}  {:>8.1}%  {calls:>13}  {time:>10.2} s  {evictions:>9}  {expirations:>11}  {len:>9}  {listener:>8}",
        hit_ratio * 100.0
    );
}

/// Replays `trace` through a cache with `policy`, calling the backend on every miss.
fn run(policy: Policy, trace: &[u64]) {
    // A mock clock: time moves only when we advance it, so entries expire on schedule.
    let (clock, mock) = Clock::mock();
    // The listener hears of every entry that leaves the cache (after the lock is released).
    let removed = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&removed);
    let cache: Cache<u64, String, Fixed> = Cache::builder()
        .max_capacity(CAPACITY)
        .policy(policy)
        .time_to_live(TTL)
        .ttl_jitter(JITTER) // entries loaded together don't all expire together
        .eviction_listener(move |_id, _user, _cause| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .clock(clock)
        .hasher(Fixed::default())
        .build();

    let mut backend = Backend::default();
    for &id in trace {
        mock.advance(TICK);
        // Cache-aside. (Next release: `cache.get_with(id, load).await`, which also makes
        // concurrent misses on one key share a single backend call.)
        if cache.get(&id).is_none() {
            let user = backend.fetch(id);
            cache.insert(id, user);
        }
    }

    let stats = cache.stats();
    let listener = removed.load(Ordering::Relaxed);
    // Every entry that left the cache was either evicted to make room or expired.
    assert_eq!(listener, stats.evictions + stats.expirations);
    let rest = [
        stats.evictions,
        stats.expirations,
        cache.len() as u64,
        listener,
    ];
    print_row(
        &format!("{policy:?}"),
        stats.hit_rate(),
        backend.calls,
        rest.map(|n| n.to_string()),
    );
}

fn main() {
    let trace = zipf_trace(KEYS, REQUESTS, 0x5EED_1A4D_E400_0001);
    println!("{REQUESTS} requests, Zipf(s = 1) over {KEYS} keys, one every {TICK:?} (simulated);");
    println!(
        "cache of {CAPACITY} entries, TTL {TTL:?} + up to {JITTER:?} jitter; a backend call: {LATENCY:?}"
    );
    println!(
        "\npolicy     hit ratio  backend calls  backend time  evictions  expirations  final len  listener"
    );

    // Without a cache, every request is a backend call.
    let mut backend = Backend::default();
    trace.iter().for_each(|&id| drop(backend.fetch(id)));
    print_row("no cache", 0.0, backend.calls, ["-"; 4].map(String::from));

    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        run(policy, &trace);
    }
    println!(
        "\nlistener: how often the eviction listener ran, once per entry that left the cache (with its\n\
         key, value and RemovalCause: Size or Expired); it always equals evictions + expirations."
    );
    herd();
    n_plus_one();
}

/// N+1: rendering 50 posts asks for each post's author separately. A `BatchLoader` gathers
/// the concurrent requests into one call of the batch function (one `WHERE id IN (..)`).
fn n_plus_one() {
    const POSTS: u64 = 50;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let cache: Cache<u64, String> = Cache::new(CAPACITY);
    let queries = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&queries);
    let authors = cache
        .batch_loader(move |ids: Vec<u64>| {
            counted.fetch_add(1, Ordering::Relaxed);
            async move {
                // SELECT id, name FROM authors WHERE id IN (ids)
                Ok::<_, String>(
                    ids.iter()
                        .map(|id| format!("author #{id}"))
                        .collect::<Vec<_>>(),
                )
            }
        })
        .build();
    let rendered = runtime.block_on(async {
        // Each post's author: post i was written by author i % 20.
        let pages = (0..POSTS).map(|post| {
            let authors = authors.clone();
            async move { authors.load(post % 20).await }
        });
        futures_util::future::join_all(pages).await
    });
    let ok = rendered.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    let stats = cache.stats();
    println!(
        "n+1: {POSTS} posts' authors ({ok} rendered) -> {} query for {} distinct authors \
         (batches: {}, keys in them: {})",
        queries.load(Ordering::Relaxed),
        stats.batched_keys,
        stats.batches,
        stats.batched_keys
    );
}

/// The thundering herd: a burst of requests for one cold key. With cache-aside code every
/// request would miss and call the backend; `get_with` lets the first one load and the rest
/// wait for its value.
fn herd() {
    const HERD: usize = 10_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let cache: Cache<u64, String> = Cache::new(CAPACITY);
    let calls = Arc::new(AtomicU64::new(0));
    let answers = runtime.block_on(async {
        let requests: Vec<_> = (0..HERD)
            .map(|_| {
                let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                tokio::spawn(async move {
                    cache
                        .get_with(42, async move {
                            calls.fetch_add(1, Ordering::Relaxed);
                            // The backend takes a while: every other request arrives meanwhile.
                            tokio::task::yield_now().await;
                            format!("user #{}", 42)
                        })
                        .await
                })
            })
            .collect();
        let mut answers = 0;
        for request in requests {
            if request.await.is_ok_and(|user| user == "user #42") {
                answers += 1;
            }
        }
        answers
    });
    let stats = cache.stats();
    println!(
        "\nherd: {HERD} concurrent requests for one cold key -> {answers} answers, {} backend call \
         ({} callers joined the load in flight)",
        calls.load(Ordering::Relaxed),
        stats.coalesced
    );
}
