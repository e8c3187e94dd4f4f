//! The `metrics` feature: what a `MetricsPublisher` sets, read back through the Prometheus
//! recorder in-process (a thread-local recorder, so tests don't share one), for caches,
//! tiers and sources of one's own; and `publish_every`'s task on tokio's paused clock.

mod prom;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use larder::metrics::{MetricsPublisher, MetricsSource};
use larder::{Cache, ErrorKind};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

/// Runs `f` on a current-thread runtime (paused clock) with `recorder` as this thread's
/// recorder, so that the tasks it spawns record there too.
fn with_recorder<T>(recorder: &PrometheusRecorder, f: impl Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    metrics::with_local_recorder(recorder, || runtime.block_on(f))
}

fn samples(recorder: &PrometheusRecorder) -> Vec<prom::Sample> {
    prom::parse(&recorder.handle().render())
}

#[test]
fn an_unnamed_cache_is_published_with_an_empty_label_and_a_named_one_with_its_name() {
    let recorder = PrometheusBuilder::new().build_recorder();
    with_recorder(&recorder, async {
        let named: Cache<u8, u8> = Cache::builder().name("named").build();
        let unnamed: Cache<u8, u8> = Cache::new(10);
        named.get(&1);
        unnamed.insert(1, 1);
        unnamed.get(&1);
        let publisher = MetricsPublisher::new();
        publisher.register(named).register(unnamed);
        publisher.publish();
    });
    let samples = samples(&recorder);
    assert_eq!(
        prom::value(&samples, "larder_cache_misses_total", "named"),
        Some(1.0)
    );
    assert_eq!(
        prom::value(&samples, "larder_cache_hits_total", "named"),
        Some(0.0)
    );
    assert_eq!(
        prom::value(&samples, "larder_cache_hits_total", ""),
        Some(1.0)
    );
    assert_eq!(prom::value(&samples, "larder_cache_size", ""), Some(1.0));
}

/// A source of the application's own, published next to the caches.
struct Requests(AtomicU64);

impl MetricsSource for Requests {
    fn publish_metrics(&self) {
        metrics::counter!("app_requests_total").absolute(self.0.load(Ordering::Relaxed));
    }
}

#[test]
fn a_source_of_ones_own_is_published_with_the_others() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let requests = std::sync::Arc::new(Requests(AtomicU64::new(7)));
    with_recorder(&recorder, async {
        let publisher = MetricsPublisher::new();
        publisher.register(requests.clone());
        publisher.publish();
    });
    let samples = samples(&recorder);
    let requests = samples.iter().find(|s| s.name == "app_requests_total");
    assert_eq!(requests.map(|s| s.value), Some(7.0));
}

#[test]
fn publish_every_publishes_at_once_then_each_period_until_stopped() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let hits = |recorder: &PrometheusRecorder| {
        prom::value(&samples(recorder), "larder_cache_hits_total", "ticking")
    };
    with_recorder(&recorder, async {
        let cache: Cache<u8, u8> = Cache::builder().name("ticking").build();
        cache.insert(1, 1);
        cache.get(&1);
        let publisher = MetricsPublisher::new();
        publisher.register(cache.clone());
        let task = publisher.publish_every(Duration::from_secs(10)).unwrap();
        tokio::task::yield_now().await;
        assert_eq!(hits(&recorder), Some(1.0), "published at once");

        cache.get(&1);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(hits(&recorder), Some(1.0), "not before the period");
        tokio::time::sleep(Duration::from_secs(5)).await;
        tokio::task::yield_now().await;
        assert_eq!(hits(&recorder), Some(2.0), "a period later");

        task.stop();
        cache.get(&1);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(hits(&recorder), Some(2.0), "stopped");
    });
}

#[test]
fn publish_every_needs_a_runtime_and_a_period() {
    let publisher = MetricsPublisher::new();
    let outside = publisher.publish_every(Duration::from_secs(1));
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config);
    let recorder = PrometheusBuilder::new().build_recorder();
    with_recorder(&recorder, async {
        let zero = publisher.publish_every(Duration::ZERO);
        assert_eq!(zero.unwrap_err().kind(), ErrorKind::Config);
    });
}

#[cfg(feature = "tier")]
#[test]
fn a_tier_publishes_every_tier_counter_and_its_l1s_under_l1s_name() {
    use larder::store::MemoryStore;
    use larder::tier::{TierStats, Tiered};

    let recorder = PrometheusBuilder::new().build_recorder();
    let stats = with_recorder(&recorder, async {
        let store = MemoryStore::new("t");
        let writer: Tiered<String, String> = Tiered::builder(Cache::new(10), store.clone()).build();
        let reader: Tiered<String, String> = Tiered::builder(
            Cache::builder().name("profiles").max_capacity(10).build(),
            store,
        )
        .build();
        writer.insert("a".into(), "1".into()).await;
        assert_eq!(reader.get(&"a".into()).await.as_deref(), Some("1")); // L2 hit
        assert_eq!(reader.get(&"a".into()).await.as_deref(), Some("1")); // L1 hit
        assert_eq!(reader.get(&"b".into()).await, None); // L2 miss
        reader.get_with("c".into(), async { "3".into() }).await; // a load
        reader.remove(&"c".into()).await; // an invalidation sent
        let publisher = MetricsPublisher::new();
        publisher.register(reader.clone());
        publisher.publish();
        reader.stats()
    });
    let samples = samples(&recorder);
    let got = |name: &str| {
        prom::value(&samples, name, "profiles").unwrap_or_else(|| panic!("{name} not set"))
    };
    let TierStats {
        l1,
        l1_hits,
        l2_hits,
        l2_misses,
        l2_errors,
        l2_timeouts,
        l2_skipped,
        l2_write_errors,
        breaker_trips,
        lease_waits,
        lease_timeouts,
        invalidations_sent,
        invalidations_received,
        write_behind_drops,
        pending_invalidations,
        ..
    } = stats;
    assert!(l1_hits > 0 && l2_hits > 0 && l2_misses > 0 && invalidations_sent > 0);
    for (name, want) in [
        ("larder_tier_l1_hits_total", l1_hits),
        ("larder_tier_l2_hits_total", l2_hits),
        ("larder_tier_l2_misses_total", l2_misses),
        ("larder_tier_l2_errors_total", l2_errors),
        ("larder_tier_l2_timeouts_total", l2_timeouts),
        ("larder_tier_l2_skipped_total", l2_skipped),
        ("larder_tier_l2_write_errors_total", l2_write_errors),
        ("larder_tier_breaker_trips_total", breaker_trips),
        ("larder_tier_lease_waits_total", lease_waits),
        ("larder_tier_lease_timeouts_total", lease_timeouts),
        ("larder_tier_invalidations_sent_total", invalidations_sent),
        (
            "larder_tier_invalidations_received_total",
            invalidations_received,
        ),
        ("larder_tier_write_behind_drops_total", write_behind_drops),
        ("larder_tier_pending_invalidations", pending_invalidations),
        ("larder_cache_hits_total", l1.hits),
        ("larder_cache_misses_total", l1.misses),
        ("larder_cache_loads_total", l1.loads),
    ] {
        assert_eq!(got(name), want as f64, "{name}");
    }
    assert_eq!(got("larder_tier_breaker_state"), 0.0, "closed");
    assert_eq!(
        got("larder_load_duration_seconds_count"),
        l1.loads as f64,
        "L1's loads feed the histogram"
    );
}

#[cfg(feature = "macros")]
#[larder::cached(max_capacity = 10)]
async fn square(x: u64) -> u64 {
    x * x
}

#[cfg(feature = "macros")]
#[test]
fn a_cached_function_is_published_under_its_name() {
    let recorder = PrometheusBuilder::new().build_recorder();
    with_recorder(&recorder, async {
        square(3).await;
        square(3).await;
        let publisher = MetricsPublisher::new();
        publisher.register(square_cache());
        publisher.publish();
    });
    let samples = samples(&recorder);
    assert_eq!(
        prom::value(&samples, "larder_cache_hits_total", "square"),
        Some(1.0)
    );
    assert_eq!(
        prom::value(&samples, "larder_cache_loads_total", "square"),
        Some(1.0)
    );
}

/// The sample of `name` whose labels are exactly `labels`.
fn labelled(samples: &[prom::Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn a_store_publishes_its_counters_and_latency_buckets_by_name_and_backend() {
    use larder::Ttl;
    use larder::metrics::StoreMetrics;
    use larder::store::{MemoryStore, Store};

    let recorder = PrometheusBuilder::new().build_recorder();
    let stats = with_recorder(&recorder, async {
        let store = MemoryStore::new("sessions");
        store.set("a", b"1", Ttl::Never).await.unwrap();
        assert!(store.get("a").await.unwrap().is_some());
        assert!(store.get("b").await.unwrap().is_none());
        store.delete("a").await.unwrap();
        let publisher = MetricsPublisher::new();
        publisher.register(StoreMetrics::new("sessions", store.clone()));
        publisher.publish();
        store.store_stats().expect("a memory store counts")
    });
    let samples = samples(&recorder);
    let labels = [("store", "sessions"), ("backend", "memory")];
    for (name, want) in [
        ("larder_store_gets_total", stats.gets),
        ("larder_store_hits_total", stats.hits),
        ("larder_store_misses_total", stats.misses),
        ("larder_store_sets_total", stats.sets),
        ("larder_store_deletes_total", stats.deletes),
        ("larder_store_errors_total", stats.errors),
        ("larder_store_timeouts_total", stats.timeouts),
    ] {
        assert_eq!(
            labelled(&samples, name, &labels),
            Some(want as f64),
            "{name}"
        );
    }
    assert_eq!(
        (stats.gets, stats.hits, stats.sets, stats.deletes),
        (2, 1, 1, 1)
    );
    let read = [
        ("store", "sessions"),
        ("backend", "memory"),
        ("class", "read"),
    ];
    assert_eq!(
        labelled(
            &samples,
            "larder_store_operation_duration_seconds_count",
            &read
        ),
        Some(stats.reads.count as f64)
    );
    // The last bucket is cumulative: every read is at or below +Inf.
    let inf = [
        ("store", "sessions"),
        ("backend", "memory"),
        ("class", "read"),
        ("le", "+Inf"),
    ];
    assert_eq!(
        labelled(
            &samples,
            "larder_store_operation_duration_seconds_bucket",
            &inf
        ),
        Some(stats.reads.count as f64)
    );
}

/// A cache keeps its load-duration key, never a recorder's handle: a recorder installed
/// after the cache was built gets its loads, and so does the next one.
#[test]
fn load_durations_go_to_whichever_recorder_is_current_when_the_load_runs() {
    let cache: Cache<u8, u8> = Cache::builder().name("late").build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // No recorder yet: the sample goes nowhere.
    runtime.block_on(cache.get_with(1, async { 1 }));
    for (round, key) in [(1, 2u8), (2, 3)] {
        let recorder = PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(cache.get_with(key, async move { key }));
        });
        let samples = samples(&recorder);
        assert_eq!(
            prom::value(&samples, "larder_load_duration_seconds_count", "late"),
            Some(1.0),
            "recorder {round}"
        );
    }
}
