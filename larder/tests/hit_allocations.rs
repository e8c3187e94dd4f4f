//! A cache hit allocates nothing: not one byte, under every policy, with a TTL and with
//! time-to-idle on the system clock, through `get_with` and `get_with_by_ref`, and through
//! `#[cached]` functions called with borrowed arguments (`&str`, `&[u8]`; one, two and three
//! of them), on a generated cache and on a tier's L1 (issue 17).
//!
//! This binary installs a counting global allocator (the `cap` crate: larder forbids the
//! `unsafe` a hand-written one needs). The allocator counts the whole process, so the binary
//! has no test harness (`harness = false` in Cargo.toml): `main` runs each check in turn on
//! the only thread there is (a current-thread tokio runtime starts none), and nothing else
//! can allocate while a hit loop is measured. The checks therefore demand exactly zero bytes,
//! and a first check makes sure that a deliberate allocation inside a measured loop is seen.
//!
//! Run it with `cargo test -p larder --test hit_allocations`; it needs the `macros` and
//! `tokio` features (both default).

use std::hint::black_box;
use std::time::Duration;

use larder::{Cache, Clock, KeyRef, Policy};

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Hits per measured loop.
const HITS: u64 = 100_000;
/// Keys a loop cycles over (all present).
const KEYS: u64 = 1_000;

/// Bytes the process allocated while `work` ran.
fn allocated_by(work: impl FnOnce()) -> usize {
    let before = ALLOCATOR.total_allocated();
    work();
    ALLOCATOR.total_allocated() - before
}

/// Fails, naming `what`, unless `work` allocated nothing.
fn assert_allocates_nothing(what: &str, work: impl FnOnce()) {
    let bytes = allocated_by(work);
    assert_eq!(bytes, 0, "{what}: {bytes} bytes allocated over {HITS} hits");
    println!("ok: {what}: 0 bytes over {HITS} hits");
}

/// A cache holding keys `0..KEYS`, each hit once (the thread's first lookup may register
/// per-thread state; the clock may start on its first read).
fn filled(cache: Cache<u64, u64>) -> Cache<u64, u64> {
    for k in 0..KEYS {
        cache.insert(k, k);
    }
    for k in 0..KEYS {
        assert_eq!(cache.get(&k), Some(k));
    }
    cache
}

/// `HITS` hits, over every key in a scattered order.
fn hit_loop(cache: &Cache<u64, u64>) {
    let mut sum = 0;
    for i in 0..HITS {
        let k = (i * 7 + i / KEYS) % KEYS;
        sum += cache.get(&k).expect("every key is present");
    }
    black_box(sum);
}

/// The measurement sees an allocation made inside the measured loop: without this, a
/// counter that saw nothing would pass every check below.
fn the_counter_counts() {
    let cache = filled(Cache::new(2 * KEYS));
    let bytes = allocated_by(|| {
        hit_loop(&cache);
        black_box(Box::new(black_box(7_u64)));
    });
    assert!(bytes >= 8, "a Box<u64> allocated {bytes} bytes");
    // A miss of `get_with` stores a new entry through the (boxed) load path.
    let rt = runtime();
    let bytes = allocated_by(|| {
        rt.block_on(async {
            for k in KEYS..KEYS + 100 {
                black_box(cache.get_with(k, async move { k }).await);
            }
        });
    });
    assert!(
        bytes > 0,
        "100 loads allocated nothing: is the counter installed?"
    );
    println!("ok: the counter counts ({bytes} bytes over 100 loads)");
}

fn get_under_every_policy() {
    for policy in [Policy::S3Fifo, Policy::Lru, Policy::Lfu, Policy::Fifo] {
        let plain = filled(
            Cache::builder()
                .max_capacity(2 * KEYS)
                .policy(policy)
                .build(),
        );
        assert_allocates_nothing(&format!("{policy:?} get"), || hit_loop(&plain));
        let ttl = filled(
            Cache::builder()
                .max_capacity(2 * KEYS)
                .policy(policy)
                .clock(Clock::system())
                .time_to_live(Duration::from_secs(3600))
                .build(),
        );
        assert_allocates_nothing(&format!("{policy:?} get, TTL, system clock"), || {
            hit_loop(&ttl)
        });
        let tti = filled(
            Cache::builder()
                .max_capacity(2 * KEYS)
                .policy(policy)
                .clock(Clock::system())
                .time_to_idle(Duration::from_secs(600))
                .build(),
        );
        assert_allocates_nothing(
            &format!("{policy:?} get, time-to-idle, system clock"),
            || hit_loop(&tti),
        );
        let mock = filled(
            Cache::builder()
                .max_capacity(2 * KEYS)
                .policy(policy)
                .clock(Clock::mock().0)
                .time_to_live(Duration::from_secs(3600))
                .time_to_idle(Duration::from_secs(600))
                .build(),
        );
        assert_allocates_nothing(&format!("{policy:?} get, TTL and TTI, mock clock"), || {
            hit_loop(&mock)
        });
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time() // a tier's L2 calls have timeouts
        .build()
        .expect("a current-thread runtime")
}

fn get_with_on_a_hit() {
    let rt = runtime();
    let cache = filled(
        Cache::builder()
            .max_capacity(2 * KEYS)
            .time_to_live(Duration::from_secs(3600))
            .build(),
    );
    // The runtime's own first-use work happens here, outside the measurement.
    rt.block_on(async { black_box(cache.get_with(0, async { 0 }).await) });
    assert_allocates_nothing("get_with on a hit, TTL", || {
        rt.block_on(async {
            let mut sum = 0;
            for i in 0..HITS {
                let k = i % KEYS;
                sum += cache.get_with(k, async move { k + 1 }).await;
            }
            assert_eq!(sum, (0..HITS).map(|i| i % KEYS).sum::<u64>(), "all hits");
        });
    });

    // `get_with_by_ref` builds the owned key with `ToOwned`: a `String` probed by a `&str`.
    let names: Vec<String> = (0..KEYS).map(|k| format!("user-{k}")).collect();
    let by_name: Cache<String, u64> = Cache::new(2 * KEYS);
    for (k, name) in names.iter().enumerate() {
        by_name.insert(name.clone(), k as u64);
    }
    rt.block_on(async {
        black_box(
            by_name
                .get_with_by_ref(names[0].as_str(), async { 0 })
                .await,
        )
    });
    assert_allocates_nothing("get_with_by_ref on a hit, String key by &str", || {
        rt.block_on(async {
            for i in 0..HITS {
                let name = names[(i % KEYS) as usize].as_str();
                black_box(by_name.get_with_by_ref(name, async { u64::MAX }).await);
            }
        });
    });

    // A `(String, String)` key probed by `KeyRef` through `get`.
    let pairs: Cache<(String, String), u64> = Cache::new(2 * KEYS);
    for (k, name) in names.iter().enumerate() {
        pairs.insert(("acme".to_string(), name.clone()), k as u64);
    }
    black_box(pairs.get(&KeyRef(("acme", names[0].as_str()))));
    assert_allocates_nothing("get of a (String, String) key by KeyRef", || {
        for i in 0..HITS {
            let name = names[(i % KEYS) as usize].as_str();
            black_box(pairs.get(&KeyRef(("acme", name))).expect("present"));
        }
    });
}

#[larder::cached(max_capacity = 2_000)]
async fn user_id(tenant: &str, name: &str) -> u64 {
    tenant.len() as u64 + name.len() as u64
}

#[larder::cached(max_capacity = 2_000, ttl = Duration::from_secs(3600))]
async fn name_len(name: &str) -> usize {
    name.len()
}

#[larder::cached(max_capacity = 2_000)]
async fn scoped(tenant: &str, path: &[u8], version: u32) -> usize {
    tenant.len() + path.len() + version as usize
}

fn a_cached_function_hit_with_borrowed_arguments() {
    let rt = runtime();
    let names: Vec<String> = (0..KEYS).map(|k| format!("user-{k}")).collect();
    // Misses: each stores its key (and allocates, which the counter sees).
    let bytes = allocated_by(|| {
        rt.block_on(async {
            for name in &names {
                user_id("acme", name).await;
                name_len(name).await;
                scoped("acme", name.as_bytes(), 2).await;
            }
        });
    });
    assert!(bytes > 0, "{KEYS} misses allocated nothing");
    assert_allocates_nothing("#[cached] hit, two &str arguments", || {
        rt.block_on(async {
            for i in 0..HITS {
                let name = names[(i % KEYS) as usize].as_str();
                black_box(user_id(black_box("acme"), name).await);
            }
        });
    });
    assert_allocates_nothing("#[cached] hit, one &str argument, TTL", || {
        rt.block_on(async {
            for i in 0..HITS {
                black_box(name_len(names[(i % KEYS) as usize].as_str()).await);
            }
        });
    });
    assert_allocates_nothing("#[cached] hit, &str, &[u8] and u32 arguments", || {
        rt.block_on(async {
            for i in 0..HITS {
                let name = names[(i % KEYS) as usize].as_bytes();
                black_box(scoped("acme", name, 2).await);
            }
        });
    });
    let stats = user_id_cache().stats();
    assert_eq!((stats.hits, stats.misses), (HITS, KEYS));
    assert_eq!(scoped_cache().stats().misses, KEYS);
}

#[cfg(feature = "tier")]
static PROFILE_STORE: std::sync::LazyLock<larder::store::MemoryStore> =
    std::sync::LazyLock::new(|| larder::store::MemoryStore::new("profiles"));

/// A tier the macro builds over a store: a hit is an L1 hit.
#[cfg(feature = "tier")]
#[larder::cached(store = PROFILE_STORE.clone(), max_capacity = 2_000)]
async fn profile(tenant: &str, name: &str) -> u64 {
    (tenant.len() + name.len()) as u64
}

#[cfg(feature = "tier")]
fn a_cached_function_over_a_tier_hit_in_l1() {
    let rt = runtime();
    let names: Vec<String> = (0..KEYS).map(|k| format!("user-{k}")).collect();
    rt.block_on(async {
        for name in &names {
            profile("acme", name).await;
        }
    });
    assert_allocates_nothing("#[cached(store = ..)] L1 hit, two &str arguments", || {
        rt.block_on(async {
            for i in 0..HITS {
                let name = names[(i % KEYS) as usize].as_str();
                black_box(profile("acme", name).await);
            }
        });
    });
}

/// The checks, by name; each runs alone in its process under nextest, in turn under `cargo
/// test`.
const CHECKS: &[(&str, fn())] = &[
    ("the_counter_counts", the_counter_counts),
    ("get_under_every_policy", get_under_every_policy),
    ("get_with_on_a_hit", get_with_on_a_hit),
    (
        "a_cached_function_hit_with_borrowed_arguments",
        a_cached_function_hit_with_borrowed_arguments,
    ),
    #[cfg(feature = "tier")]
    (
        "a_cached_function_over_a_tier_hit_in_l1",
        a_cached_function_over_a_tier_hit_in_l1,
    ),
];

/// libtest's command line, as much of it as `cargo test` and nextest use (nextest's rules
/// for a custom harness): `--list --format terse [--ignored]` lists the checks (none is
/// ignored), `NAME --exact` runs one, a bare `NAME` runs those whose names contain it, and
/// `--skip NAME` leaves out those whose names contain it.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--skip" => skips.extend(rest.next()),
            "--format" | "--test-threads" | "--color" | "--logfile" | "-Z" => {
                rest.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter),
        }
    }
    if has("--list") {
        if !has("--ignored") {
            for (name, _) in CHECKS {
                println!("{name}: test");
            }
        }
        return;
    }
    if has("--ignored") {
        return; // no check is ignored
    }
    let wanted = |name: &str| {
        let matches = |f: &&str| {
            if has("--exact") {
                name == *f
            } else {
                name.contains(*f)
            }
        };
        (filters.is_empty() || filters.iter().any(matches))
            && !skips.iter().any(|s| name.contains(s.as_str()))
    };
    let mut ran = 0;
    for (name, check) in CHECKS.iter().filter(|(name, _)| wanted(name)) {
        println!("test {name} ...");
        check();
        ran += 1;
    }
    println!("test result: ok. {ran} passed");
}
