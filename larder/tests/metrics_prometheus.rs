//! The example's Prometheus endpoint (`examples/metrics_prometheus.rs`, run in-process on a
//! loopback port the system picked), scraped over HTTP with a real client: every counter of
//! the cache is there, labelled with its name, and equal to what `stats()` says.

#[path = "../examples/metrics_prometheus.rs"]
#[allow(dead_code)]
mod example;
mod prom;

use std::collections::HashMap;
use std::time::Duration;

use larder::metrics::MetricsPublisher;
use larder::{Cache, Clock, Stats};

/// GETs `http://{addr}/metrics` (blocking, so on a blocking thread).
async fn scrape(addr: std::net::SocketAddr) -> String {
    tokio::task::spawn_blocking(move || {
        ureq::get(&format!("http://{addr}/metrics"))
            .call()
            .expect("the endpoint answers")
            .body_mut()
            .read_to_string()
            .expect("a text body")
    })
    .await
    .expect("the scrape ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_shows_every_counter_of_the_cache_as_its_stats_say() {
    let addr = example::loopback(None).unwrap();
    example::serve(addr).unwrap();

    let (clock, mock) = Clock::mock();
    let users: Cache<u64, u64> = Cache::builder()
        .name("users")
        .max_capacity(10)
        .time_to_live(Duration::from_secs(60))
        .clock(clock)
        .build();
    let publisher = MetricsPublisher::new();
    publisher.register(users.clone());

    // Loads (more keys than room: evictions), hits, a failed load, a batch, an expiry.
    for k in 0..20 {
        users.get_with(k, async move { k * 10 }).await;
    }
    for k in 0..20 {
        users.get(&k);
    }
    let failed = users
        .try_get_with(50, async { Err::<u64, _>("down") })
        .await;
    assert!(failed.is_err());
    let batch = users
        .get_many_with([100, 101, 102], |keys: Vec<u64>| async move {
            Ok::<_, ()>(keys.iter().map(|k| (*k, *k)).collect::<HashMap<_, _>>())
        })
        .await;
    assert_eq!(batch, Ok(vec![Some(100), Some(101), Some(102)]));
    mock.advance(Duration::from_secs(61));
    assert_eq!(users.get(&100), None, "expired");

    publisher.publish();
    let stats = users.stats();
    let samples = prom::parse(&scrape(addr).await);
    let got = |name: &str| {
        prom::value(&samples, name, "users").unwrap_or_else(|| panic!("{name} not scraped"))
    };

    let Stats {
        hits,
        misses,
        size,
        weighted_size,
        loads,
        load_errors,
        coalesced,
        total_load_nanos,
        refreshes,
        stale_served,
        batches,
        batched_keys,
        evictions,
        expirations,
        hook_panics,
        ..
    } = stats;
    assert!(hits > 0 && misses > 0 && evictions > 0 && expirations > 0);
    assert_eq!((loads, load_errors, batches, batched_keys), (22, 1, 1, 3));
    for (name, want) in [
        ("larder_cache_hits_total", hits),
        ("larder_cache_misses_total", misses),
        ("larder_cache_size", size),
        ("larder_cache_weighted_size", weighted_size),
        ("larder_cache_loads_total", loads),
        ("larder_cache_load_errors_total", load_errors),
        ("larder_cache_coalesced_total", coalesced),
        ("larder_cache_refreshes_total", refreshes),
        ("larder_cache_stale_served_total", stale_served),
        ("larder_cache_batches_total", batches),
        ("larder_cache_batched_keys_total", batched_keys),
        ("larder_cache_evictions_total", evictions),
        ("larder_cache_expirations_total", expirations),
        ("larder_cache_hook_panics_total", hook_panics),
    ] {
        assert_eq!(got(name), want as f64, "{name}");
    }
    assert_eq!(
        got("larder_cache_load_time_seconds"),
        total_load_nanos as f64 / 1e9
    );
    // One sample per loader or batch call, timed on the cache's (mock) clock.
    assert_eq!(got("larder_load_duration_seconds_count"), loads as f64);
    assert_eq!(
        got("larder_load_duration_seconds_sum"),
        total_load_nanos as f64 / 1e9
    );

    // More traffic shows at the next publish, not before: hits are never recorded one by one.
    users.get_with(1000, async { 1 }).await;
    for _ in 0..5 {
        users.get(&1000);
    }
    let before = prom::parse(&scrape(addr).await);
    assert_eq!(
        prom::value(&before, "larder_cache_hits_total", "users"),
        Some(hits as f64)
    );
    publisher.publish();
    let after = prom::parse(&scrape(addr).await);
    assert_eq!(
        prom::value(&after, "larder_cache_hits_total", "users"),
        Some(users.stats().hits as f64)
    );
    assert_eq!(
        prom::value(&after, "larder_cache_hits_total", "users"),
        Some((hits + 5) as f64)
    );
}
