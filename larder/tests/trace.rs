//! The `tracing` feature: the spans and events larder emits, with their fields, seen by a
//! real subscriber (the registry with a collecting layer), and nothing at all on a hit.

#![allow(clippy::disallowed_types)] // a std Mutex holds what the collecting layer saw

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use larder::spawn::{BackgroundTask, Spawner};
use larder::{Cache, Clock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// A closed span or an event, with its fields as strings.
#[derive(Debug, Clone)]
struct Seen {
    /// `span` or `event`.
    what: &'static str,
    name: String,
    fields: BTreeMap<String, String>,
    /// The name of the span it sits in (for a span: its parent).
    parent: Option<String>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.to_string());
    }
}

/// Records every span when it closes (with the fields recorded by then) and every event;
/// counts the spans created.
#[derive(Clone, Default)]
struct Collector {
    seen: Arc<Mutex<Vec<Seen>>>,
    spans_created: Arc<AtomicUsize>,
}

impl Collector {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().expect("not poisoned"))
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collector {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.spans_created.fetch_add(1, Ordering::SeqCst);
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.seen.lock().expect("not poisoned").push(Seen {
            what: "event",
            name: event.metadata().name().to_string(),
            fields: fields.0,
            parent: ctx.event_span(event).map(|s| s.name().to_string()),
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default();
        self.seen.lock().expect("not poisoned").push(Seen {
            what: "span",
            name: span.name().to_string(),
            fields: fields.0,
            parent: span.parent().map(|p| p.name().to_string()),
        });
    }
}

/// A collector, installed for this thread until the guard is dropped.
fn collect() -> (Collector, tracing::subscriber::DefaultGuard) {
    let collector = Collector::default();
    let guard = tracing::subscriber::set_default(Registry::default().with(collector.clone()));
    (collector, guard)
}

fn spans<'a>(seen: &'a [Seen], name: &str) -> Vec<&'a Seen> {
    seen.iter()
        .filter(|s| s.what == "span" && s.name == name)
        .collect()
}

fn events<'a>(seen: &'a [Seen], name: &str) -> Vec<&'a Seen> {
    seen.iter()
        .filter(|s| s.what == "event" && s.name == name)
        .collect()
}

/// No field of anything seen holds `text` (a key or a value).
fn nowhere(seen: &[Seen], text: &str) -> bool {
    seen.iter()
        .all(|s| s.fields.values().all(|v| !v.contains(text)))
}

#[tokio::test(flavor = "current_thread")]
async fn a_miss_that_loads_is_one_load_span_with_the_cache_the_key_hash_and_the_outcome() {
    let (collector, _guard) = collect();
    let cache: Cache<String, String> = Cache::builder().name("users").build();
    let v = cache
        .get_with("secret-key".into(), async { "secret-value".to_string() })
        .await;
    assert_eq!(v, "secret-value");
    let seen = collector.take();
    let loads = spans(&seen, "larder.load");
    assert_eq!(loads.len(), 1, "{seen:#?}");
    let load = loads[0];
    assert_eq!(load.field("cache"), Some("users"));
    assert_eq!(load.field("outcome"), Some("value"));
    let hash = load.field("key_hash").expect("a key hash");
    assert!(hash.parse::<u64>().is_ok(), "{hash}");
    let nanos = load.field("duration_ns").expect("a duration");
    assert!(nanos.parse::<u64>().is_ok(), "{nanos}");
    assert!(nowhere(&seen, "secret"), "neither key nor value: {seen:#?}");
    assert!(events(&seen, "larder.load.error").is_empty());

    // The same key hashes the same in the cache's next span; another key does not.
    cache.remove("secret-key");
    cache
        .get_with("secret-key".into(), async { "v".into() })
        .await;
    cache.get_with("other".into(), async { "v".into() }).await;
    let seen = collector.take();
    let loads = spans(&seen, "larder.load");
    assert_eq!(loads[0].field("key_hash"), Some(hash));
    assert_ne!(loads[1].field("key_hash"), Some(hash));
}

#[tokio::test(flavor = "current_thread")]
async fn a_hit_creates_no_span_and_emits_no_event() {
    let (collector, _guard) = collect();
    let cache: Cache<u64, u64> = Cache::builder().name("hits").build();
    cache.get_with(1, async { 10 }).await;
    cache.insert(2, 20);
    let created = collector.spans_created.load(Ordering::SeqCst);
    collector.take();

    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.get(&2), Some(20));
    assert_eq!(cache.get_with(1, async { unreachable!() }).await, 10);
    assert_eq!(
        cache.try_get_with(2, async { Err::<u64, ()>(()) }).await,
        Ok(20)
    );
    assert_eq!(cache.optionally_get_with(1, async { None }).await, Some(10));
    assert_eq!(cache.get_many(&[1, 2]), [Some(10), Some(20)]);

    assert_eq!(collector.spans_created.load(Ordering::SeqCst), created);
    assert!(collector.take().is_empty());
    assert_eq!(cache.stats().hits, 7);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_load_ends_its_span_as_an_error_with_an_error_event_inside() {
    let (collector, _guard) = collect();
    let cache: Cache<u64, u64> = Cache::builder().name("flaky").build();
    let failed = cache.try_get_with(1, async { Err::<u64, _>("down") }).await;
    assert!(failed.is_err());
    let seen = collector.take();
    let load = spans(&seen, "larder.load");
    assert_eq!(load.len(), 1);
    assert_eq!(load[0].field("outcome"), Some("error"));
    let errors = events(&seen, "larder.load.error");
    assert_eq!(errors.len(), 1, "{seen:#?}");
    assert_eq!(errors[0].field("cache"), Some("flaky"));
    assert_eq!(errors[0].field("outcome"), Some("error"));
    assert_eq!(errors[0].parent.as_deref(), Some("larder.load"));
    assert!(
        nowhere(&seen, "down"),
        "the loader's error is not in any field"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn absent_panicked_and_dropped_loads_say_so() {
    let (collector, _guard) = collect();
    let cache: Cache<u64, u64> = Cache::builder().name("c").build();

    assert_eq!(cache.optionally_get_with(1, async { None }).await, None);
    let panicked = AssertUnwindSafe(cache.get_with(2, async { panic!("loader bug") }))
        .catch_unwind()
        .await;
    assert!(panicked.is_err());
    // Polled once, then dropped mid-load.
    let dropped = cache.get_with(3, std::future::pending()).now_or_never();
    assert_eq!(dropped, None);

    let seen = collector.take();
    let outcomes: Vec<_> = spans(&seen, "larder.load")
        .iter()
        .map(|s| s.field("outcome").unwrap_or("none").to_string())
        .collect();
    assert_eq!(outcomes, ["absent", "panicked", "cancelled"]);
    let errors = events(&seen, "larder.load.error");
    assert_eq!(errors.len(), 1, "only the panic is a failure");
    assert_eq!(errors[0].field("outcome"), Some("panicked"));
}

#[tokio::test(flavor = "current_thread")]
async fn an_explicit_refresh_is_a_refresh_span_around_its_load() {
    let (collector, _guard) = collect();
    let cache: Cache<u64, u64> = Cache::builder().name("rates").build();
    cache.insert(1, 1);
    assert_eq!(cache.refresh(1, async { 2 }).await, 2);
    let seen = collector.take();
    let refresh = spans(&seen, "larder.refresh");
    assert_eq!(refresh.len(), 1, "{seen:#?}");
    assert_eq!(refresh[0].field("cache"), Some("rates"));
    assert_eq!(refresh[0].field("trigger"), Some("explicit"));
    assert_eq!(refresh[0].field("outcome"), Some("value"));
    let load = spans(&seen, "larder.load");
    assert_eq!(load.len(), 1);
    assert_eq!(load[0].parent.as_deref(), Some("larder.refresh"));
    assert_eq!(load[0].field("key_hash"), refresh[0].field("key_hash"));
}

/// A spawner that keeps the tasks for the test to run.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<BackgroundTask>>>);

impl Spawner for Kept {
    fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
        self.0.lock().expect("not poisoned").push(task);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_background_refresh_of_a_stale_value_is_a_refresh_span() {
    let (collector, _guard) = collect();
    let (clock, mock) = Clock::mock();
    let spawner = Kept::default();
    let cache: Cache<u64, u64> = Cache::builder()
        .name("swr")
        .time_to_live(Duration::from_secs(1))
        .stale_while_revalidate(Duration::from_secs(60))
        .spawner(spawner.clone())
        .clock(clock)
        .build();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(2));
    assert_eq!(cache.get_with(1, async { 2 }).await, 1, "the stale value");
    let task = spawner
        .0
        .lock()
        .unwrap()
        .pop()
        .expect("a background refresh");
    task.await;
    assert_eq!(cache.get(&1), Some(2));
    let seen = collector.take();
    let refresh = spans(&seen, "larder.refresh");
    assert_eq!(refresh.len(), 1, "{seen:#?}");
    assert_eq!(refresh[0].field("trigger"), Some("stale"));
    assert_eq!(refresh[0].field("outcome"), Some("value"));
    assert_eq!(
        spans(&seen, "larder.load")[0].parent.as_deref(),
        Some("larder.refresh")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_batch_call_is_a_batch_span_with_its_size() {
    let (collector, _guard) = collect();
    let cache: Cache<u64, u64> = Cache::builder().name("batched").build();
    cache.insert(1, 10);
    let got = cache
        .get_many_with([1, 2, 3, 4], |keys: Vec<u64>| async move {
            Ok::<_, ()>(keys.iter().map(|k| (*k, k * 10)).collect::<HashMap<_, _>>())
        })
        .await;
    assert_eq!(got, Ok(vec![Some(10), Some(20), Some(30), Some(40)]));
    let failed = cache
        .get_many_with([5, 6], |_keys: Vec<u64>| async {
            Err::<HashMap<u64, u64>, _>("down")
        })
        .await;
    assert!(failed.is_err());
    let seen = collector.take();
    let batches = spans(&seen, "larder.batch");
    assert_eq!(batches.len(), 2, "{seen:#?}");
    assert_eq!(batches[0].field("cache"), Some("batched"));
    assert_eq!(batches[0].field("size"), Some("3"), "the misses only");
    assert_eq!(batches[0].field("outcome"), Some("value"));
    assert!(batches[0].field("duration_ns").is_some());
    assert_eq!(batches[1].field("size"), Some("2"));
    assert_eq!(batches[1].field("outcome"), Some("error"));
    let errors = events(&seen, "larder.load.error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].parent.as_deref(), Some("larder.batch"));
}

#[cfg(feature = "tier")]
#[path = "tier/flaky.rs"]
#[allow(dead_code)]
mod flaky;

#[cfg(feature = "tier")]
mod tier {
    use super::*;
    use larder::tier::Tiered;

    use super::flaky::Flaky;

    #[tokio::test(flavor = "current_thread")]
    async fn the_breaker_opening_half_opening_and_closing_are_events() {
        let (collector, _guard) = collect();
        let (clock, mock) = Clock::mock();
        let store = Flaky::new("t");
        let tiered: Tiered<String, String> = Tiered::builder(
            Cache::builder().name("profiles").clock(clock).build(),
            store.clone(),
        )
        .circuit_breaker(2, Duration::from_secs(5))
        .build();
        store.fail(true);
        for i in 0..3 {
            tiered.get_with(format!("k{i}"), async { "v".into() }).await;
        }
        store.fail(false);
        mock.advance(Duration::from_secs(5));
        assert_eq!(tiered.get(&"absent".to_string()).await, None);

        let seen = collector.take();
        let states: Vec<_> = events(&seen, "larder.tier.breaker")
            .iter()
            .map(|e| {
                assert_eq!(e.field("cache"), Some("profiles"));
                e.field("state").unwrap_or("none").to_string()
            })
            .collect();
        assert_eq!(states, ["open", "half_open", "closed"], "{seen:#?}");
        // The loads (and the tier's L2 reads, which go through L1's load protocol too) ran
        // inside load spans named after L1.
        let loads = spans(&seen, "larder.load");
        assert!(loads.len() >= 3, "{loads:#?}");
        assert!(loads.iter().all(|l| l.field("cache") == Some("profiles")));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_behind_drop_is_an_event() {
        let (collector, _guard) = collect();
        let store = Flaky::new("t");
        let tiered: Tiered<String, String> =
            Tiered::builder(Cache::builder().name("wb").build(), store.clone())
                .write_behind(1)
                .build();
        store.hold();
        for i in 0..5 {
            tiered.insert(format!("k{i}"), "v".into()).await;
        }
        let drops = tiered.stats().write_behind_drops;
        assert!(drops > 0);
        let seen = collector.take();
        let dropped = events(&seen, "larder.tier.write_behind_drop");
        assert_eq!(dropped.len() as u64, drops, "{seen:#?}");
        assert_eq!(dropped[0].field("cache"), Some("wb"));
        store.release(100);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn an_l2_timeout_is_an_event() {
        let (collector, _guard) = collect();
        let store = Flaky::new("t");
        let tiered: Tiered<String, String> =
            Tiered::builder(Cache::builder().name("slow").build(), store.clone())
                .l2_timeout(Duration::from_millis(100))
                .build();
        store.hold_reads();
        // The L2 read waits for ever; the tier gives up after its timeout and loads.
        let v = tiered.get_with("k".into(), async { "v".into() }).await;
        assert_eq!(v, "v");
        assert!(tiered.stats().l2_timeouts >= 1);
        let seen = collector.take();
        let timeouts = events(&seen, "larder.tier.l2_timeout");
        assert_eq!(timeouts.len() as u64, tiered.stats().l2_timeouts);
        assert_eq!(timeouts[0].field("cache"), Some("slow"));
        assert_eq!(timeouts[0].field("timeout_ms"), Some("100"));
        store.release(100);
    }
}
