//! The tiered cache over stores in this process: reads through both tiers, L1 lifetimes from
//! L2's, degrading when L2 fails (the breaker, timeouts), write-behind, invalidation during a
//! load, tags and the key layout. Several processes: `tier_processes.rs`.

#![allow(clippy::disallowed_types)] // a std Mutex records the batch calls

#[path = "tier/flaky.rs"]
mod flaky;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flaky::Flaky;
use larder::store::{MemoryStore, Store};
use larder::tier::{BreakerState, Tiered};
use larder::{Cache, Clock, CloseMode, Ttl};

fn tier(store: impl Store) -> Tiered<String, String> {
    Tiered::builder(Cache::new(100), store).build()
}

fn k(s: &str) -> String {
    s.to_string()
}

#[tokio::test]
async fn an_l1_miss_reads_l2_and_a_miss_in_both_loads_once_and_writes_both() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    let b = tier(store.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let v = a
        .get_with(k("x"), async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "one".to_string()
        })
        .await;
    assert_eq!(v, "one");
    assert!(a.l1().contains_key("x"));
    assert!(store.exists("v1:x").await.unwrap());
    // b: L1 miss, L2 hit, no load; then an L1 hit.
    assert_eq!(b.get_with(k("x"), async { unreachable!() }).await, "one");
    assert_eq!(b.get(&k("x")).await.as_deref(), Some("one"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let stats = b.stats();
    assert_eq!((stats.l1_hits, stats.l2_hits, stats.l2_misses), (1, 1, 0));
    let stats = a.stats();
    assert_eq!((stats.l2_misses, stats.l1.loads), (1, 1));
}

#[tokio::test]
async fn concurrent_misses_in_one_process_share_one_l2_read_and_one_load() {
    let store = Flaky::new("t");
    let tiered = tier(store.clone());
    store.hold();
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (tiered, calls) = (tiered.clone(), calls.clone());
            tokio::spawn(async move {
                tiered
                    .get_with(k("hot"), async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        "v".to_string()
                    })
                    .await
            })
        })
        .collect();
    // Let every task reach the key's flight: only the leader's L2 read is waiting.
    while store.calls() == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(store.calls(), 1, "one L2 read for 16 callers");
    store.release(100);
    for task in tasks {
        assert_eq!(task.await.unwrap(), "v");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(tiered.stats().l1.coalesced, 15);
}

#[tokio::test]
async fn an_l2_hit_fills_l1_for_no_longer_than_it_has_left_in_l2() {
    let (clock, mock) = Clock::mock();
    let l1 = |ttl: u64| {
        Cache::builder()
            .max_capacity(10)
            .clock(clock.clone())
            .time_to_live(Duration::from_secs(ttl))
            .build()
    };
    let store = MemoryStore::new("t");
    let writer: Tiered<String, String> = Tiered::builder(l1(60), store.clone()).build();
    let reader: Tiered<String, String> = Tiered::builder(l1(60), store.clone()).build();
    writer
        .insert_with_ttl(k("x"), k("v"), Duration::from_secs(10))
        .await;
    mock.advance(Duration::from_secs(8));
    assert_eq!(reader.get(&k("x")).await.as_deref(), Some("v"));
    assert!(reader.l1().contains_key("x"));
    mock.advance(Duration::from_secs(2));
    assert!(!reader.l1().contains_key("x"), "L1 outlived L2");

    // L1's own, shorter TTL caps it too.
    let short: Tiered<String, String> = Tiered::builder(l1(1), store.clone()).build();
    writer
        .insert_with_ttl(k("y"), k("v"), Duration::from_secs(10))
        .await;
    assert!(short.get(&k("y")).await.is_some());
    mock.advance(Duration::from_secs(1));
    assert!(!short.l1().contains_key("y"));
}

#[tokio::test]
async fn an_entry_past_its_expiry_in_its_header_is_a_miss() {
    let (clock, mock) = Clock::mock();
    let l1 = || {
        Cache::builder()
            .max_capacity(10)
            .clock(clock.clone())
            .build()
    };
    let store = MemoryStore::new("t"); // its own clock does not move: only the header says
    let writer: Tiered<String, String> = Tiered::builder(l1(), store.clone()).build();
    let reader: Tiered<String, String> = Tiered::builder(l1(), store.clone()).build();
    writer
        .insert_with_ttl(k("x"), k("v"), Duration::from_secs(10))
        .await;
    mock.advance(Duration::from_secs(10));
    assert_eq!(reader.get(&k("x")).await, None);
}

#[tokio::test]
async fn a_failing_l2_is_a_miss_the_loader_answers_and_the_breaker_opens_then_probes() {
    let (clock, mock) = Clock::mock();
    let store = Flaky::new("t");
    let tiered: Tiered<String, String> = Tiered::builder(
        Cache::builder().max_capacity(100).clock(clock).build(),
        store.clone(),
    )
    .circuit_breaker(3, Duration::from_secs(5))
    .build();
    store.fail(true);
    for i in 0..10 {
        let key = format!("k{i}");
        let v = tiered.get_with(key.clone(), async move { key }).await;
        assert_eq!(v, format!("k{i}"));
    }
    let stats = tiered.stats();
    assert_eq!(stats.breaker, BreakerState::Open);
    assert_eq!(stats.breaker_trips, 1);
    // The first 3 reads failed; after them the epoch reads and writes of their loads fail
    // too until the breaker opens, after which L2 is skipped.
    assert_eq!(stats.l2_errors, 3);
    assert!(stats.l2_skipped > 0);
    assert_eq!(stats.l2_misses, 10);
    let calls_while_open = store.calls();
    tiered.get_with(k("more"), async { k("v") }).await;
    assert_eq!(store.calls(), calls_while_open, "an open breaker skips L2");
    // Counted as the skipped read (a miss) and the skipped write.
    let after = tiered.stats();
    assert_eq!(after.l2_skipped - stats.l2_skipped, 2);
    assert_eq!(after.l2_misses - stats.l2_misses, 1);
    // A loaded TTL still bounds L1 while L2 is skipped.
    let ttl = Duration::from_secs(1);
    let v = tiered
        .get_with_ttl(k("short"), async move { (k("s"), Ttl::After(ttl)) })
        .await;
    assert_eq!(v, "s");
    assert!(tiered.l1().contains_key("short"));
    mock.advance(ttl);
    assert!(
        !tiered.l1().contains_key("short"),
        "L1 keeps it no longer than its TTL"
    );

    // Values stay in L1 and are served from it.
    assert_eq!(tiered.get(&k("k0")).await.as_deref(), Some("k0"));

    // After the cooldown one probe goes; L2 is back, so the breaker closes.
    store.fail(false);
    mock.advance(Duration::from_secs(4));
    assert_eq!(tiered.stats().breaker, BreakerState::HalfOpen);
    assert_eq!(tiered.get(&k("absent")).await, None);
    assert_eq!(tiered.stats().breaker, BreakerState::Closed);
    tiered.insert(k("z"), k("v")).await;
    assert!(store.inner.exists("v1:z").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn an_l2_call_that_hangs_times_out_as_a_miss() {
    let store = Flaky::new("t");
    let tiered: Tiered<String, String> = Tiered::builder(Cache::new(10), store.clone())
        .l2_timeout(Duration::from_millis(100))
        .build();
    store.hold(); // never released: every L2 call hangs
    assert_eq!(tiered.get(&k("x")).await, None);
    let v = tiered.get_with(k("y"), async { k("loaded") }).await;
    assert_eq!(v, "loaded");
    let stats = tiered.stats();
    assert!(stats.l2_timeouts >= 2);
    assert_eq!(stats.l2_errors, stats.l2_timeouts);
}

#[tokio::test]
async fn a_failed_l2_write_keeps_the_value_in_l1_and_is_counted() {
    let store = Flaky::new("t");
    let tiered = tier(store.clone());
    store.fail(true);
    tiered.insert(k("x"), k("v")).await;
    assert_eq!(tiered.get(&k("x")).await.as_deref(), Some("v"));
    assert_eq!(tiered.stats().l2_write_errors, 1);
}

#[tokio::test]
async fn a_removal_during_an_l2_read_keeps_the_read_out_of_l1() {
    let store = Flaky::new("t");
    let writer = tier(store.inner.clone());
    writer.insert(k("x"), k("old")).await;
    let tiered = tier(store.clone());
    store.hold();
    let reading = tokio::spawn({
        let tiered = tiered.clone();
        async move { tiered.get(&k("x")).await }
    });
    while store.calls() == 0 {
        tokio::task::yield_now().await;
    }
    // The read is at L2. A removal now (its delete is held too: release both).
    let removing = tokio::spawn({
        let tiered = tiered.clone();
        async move { tiered.remove(&k("x")).await }
    });
    while store.calls() < 2 {
        tokio::task::yield_now().await;
    }
    store.release(2);
    removing.await.unwrap();
    let _ = reading.await.unwrap(); // either value is fine for the caller...
    assert!(!tiered.l1().contains_key("x"), "...but L1 must not keep it");
    assert_eq!(tiered.get(&k("x")).await, None);
}

#[tokio::test]
async fn write_behind_drops_on_a_full_queue_and_close_wait_drains_it() {
    let store = Flaky::new("t");
    let tiered: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone())
        .write_behind(2)
        .build();
    store.hold();
    for i in 0..10 {
        tiered.insert(format!("k{i}"), k("v")).await; // never blocks
    }
    let drops = tiered.stats().write_behind_drops;
    assert!((7..=8).contains(&drops), "{drops} dropped");
    // Every value is in L1 meanwhile.
    assert_eq!(tiered.get(&k("k9")).await.as_deref(), Some("v"));
    store.release(100);
    tiered.close(CloseMode::Wait).await;
    let mut written = 0;
    for i in 0..10 {
        written += u64::from(store.inner.exists(&format!("v1:k{i}")).await.unwrap());
    }
    assert_eq!(written, 10 - drops);
}

#[tokio::test]
async fn write_behind_removals_are_applied_in_order_after_queued_writes() {
    let store = Flaky::new("t");
    let tiered: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone())
        .write_behind(100)
        .build();
    tiered.insert(k("x"), k("v")).await;
    tiered.remove(&k("x")).await;
    tiered.close(CloseMode::Wait).await;
    assert!(!store.inner.exists("v1:x").await.unwrap());
}

#[tokio::test]
async fn tags_invalidate_entries_in_l2_for_every_instance() {
    // Tag records are wall-clock milliseconds (the tier's clock): a mock one decides exactly
    // which entries come before an invalidation.
    let (clock, mock) = Clock::mock();
    mock.advance(Duration::from_secs(1_700_000_000));
    let store = MemoryStore::new("t");
    let build = || -> Tiered<String, String> {
        Tiered::builder(
            Cache::builder()
                .max_capacity(100)
                .clock(clock.clone())
                .build(),
            store.clone(),
        )
        .build()
    };
    let (a, b) = (build(), build());
    a.insert_with_tags(k("p1"), k("post 1"), ["author:7"]).await;
    a.insert_with_tags(k("p2"), k("post 2"), ["author:8"]).await;
    let loaded = a
        .get_with_tags(k("p3"), async { (k("post 3"), vec!["author:7".into()]) })
        .await;
    assert_eq!(loaded, "post 3");
    b.invalidate_tag("author:7").await;
    // b's own L1 dropped them; a has no invalidations from a MemoryStore: drop its L1.
    a.l1().clear();
    for tiered in [&a, &b] {
        assert_eq!(tiered.get(&k("p1")).await, None);
        assert_eq!(tiered.get(&k("p3")).await, None);
        assert_eq!(tiered.get(&k("p2")).await.as_deref(), Some("post 2"));
    }
    // Entries tagged after the invalidation are fresh.
    mock.advance(Duration::from_millis(1));
    a.insert_with_tags(k("p1"), k("post 1 again"), ["author:7"])
        .await;
    a.l1().clear();
    assert_eq!(a.get(&k("p1")).await.as_deref(), Some("post 1 again"));
}

#[tokio::test]
async fn a_tag_invalidation_during_a_load_keeps_its_value_stale_in_l2() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let loading = tokio::spawn({
        let a = a.clone();
        async move {
            a.get_with_tags(k("p"), async move {
                released.await.unwrap();
                (k("stale"), vec!["t".into()])
            })
            .await
        }
    });
    while a.stats().l1.loads == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    a.invalidate_tag("t").await;
    release.send(()).unwrap();
    assert_eq!(loading.await.unwrap(), "stale"); // its caller gets it
    let b = tier(store);
    assert_eq!(
        b.get(&k("p")).await,
        None,
        "L2 must not serve it after invalidate_tag"
    );
    assert!(!a.l1().contains_key("p"), "nor a's L1");
}

#[tokio::test]
async fn the_version_segment_separates_layouts_and_foreign_bytes_are_a_counted_miss() {
    let store = MemoryStore::new("t");
    let v1 = tier(store.clone());
    let v2: Tiered<String, String> = Tiered::builder(Cache::new(10), store.clone())
        .version(2)
        .build();
    v1.insert(k("x"), k("old layout")).await;
    assert_eq!(v2.get(&k("x")).await, None);

    store
        .set("v2:y", b"written by someone else", Ttl::Never)
        .await
        .unwrap();
    let v = v2.get_with(k("y"), async { k("loaded") }).await;
    assert_eq!(v, "loaded");
    assert_eq!(v2.stats().l2_errors, 1);
}

#[tokio::test]
async fn refresh_loads_afresh_and_writes_both_tiers() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    a.insert(k("x"), k("old")).await;
    assert_eq!(a.refresh(k("x"), async { k("new") }).await, "new");
    let b = tier(store);
    assert_eq!(b.get(&k("x")).await.as_deref(), Some("new"));
}

#[tokio::test]
async fn try_get_with_caches_only_ok_and_optionally_get_with_only_some() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    assert!(
        a.try_get_with(k("x"), async { Err::<String, _>("no") })
            .await
            .is_err()
    );
    assert!(!store.exists("v1:x").await.unwrap());
    assert_eq!(a.optionally_get_with(k("y"), async { None }).await, None);
    assert!(!store.exists("v1:y").await.unwrap());
    assert_eq!(
        a.try_get_with(k("x"), async { Ok::<_, &str>(k("v")) })
            .await
            .unwrap(),
        "v"
    );
    assert!(store.exists("v1:x").await.unwrap());
}

#[tokio::test]
async fn a_batch_reads_l2_once_for_its_l1_misses_and_loads_only_l2_misses() {
    let store = Flaky::new("t");
    let writer = tier(store.inner.clone());
    writer.insert(k("a"), k("A")).await;
    writer.insert(k("b"), k("B")).await;
    let tiered = tier(store.clone());
    tiered.insert(k("c"), k("C")).await; // in L1
    let before = store.calls();
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let got = tiered
        .get_many_with(
            [k("a"), k("b"), k("c"), k("d")],
            move |missing: Vec<String>| {
                seen.lock().unwrap().extend(missing.clone());
                async move {
                    Ok::<_, String>(missing.iter().map(|m| m.to_uppercase()).collect::<Vec<_>>())
                }
            },
        )
        .await
        .unwrap();
    let got: Vec<_> = got.into_iter().map(Option::unwrap).collect();
    assert_eq!(got, ["A", "B", "C", "D"]);
    assert_eq!(*asked.lock().unwrap(), [k("d")]);
    // One multi-get, one multi-set.
    assert_eq!(store.calls() - before, 2);
    assert!(store.inner.exists("v1:d").await.unwrap());

    let loader = tiered
        .batch_loader(|keys: Vec<String>| async move {
            Ok::<_, String>(keys.iter().map(|m| m.repeat(2)).collect::<Vec<_>>())
        })
        .build();
    assert_eq!(loader.load(k("a")).await.unwrap().as_deref(), Some("A")); // L1 now
    writer.insert(k("e"), k("E")).await;
    assert_eq!(loader.load(k("e")).await.unwrap().as_deref(), Some("E")); // L2
    assert_eq!(loader.load(k("f")).await.unwrap().as_deref(), Some("ff")); // loaded
    assert!(store.inner.exists("v1:f").await.unwrap());
}

#[tokio::test]
async fn warmup_fills_l1_from_l2_and_loads_the_rest_into_both() {
    let store = MemoryStore::new("t");
    let writer = tier(store.clone());
    writer.insert(k("a"), k("A")).await;
    let tiered = tier(store.clone());
    let report = tiered
        .warmup([k("a"), k("b")].map(|key| {
            (key.clone(), async move {
                if key == "a" {
                    unreachable!("a is in L2")
                }
                Ok::<_, String>(key.to_uppercase())
            })
        }))
        .await;
    assert_eq!(
        (report.loaded, report.skipped, report.failed.len()),
        (2, 0, 0)
    );
    assert!(tiered.l1().contains_key("a") && tiered.l1().contains_key("b"));
    assert!(store.exists("v1:b").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn with_a_distributed_lock_two_instances_load_a_cold_key_once() {
    let store = MemoryStore::new("t");
    let calls = Arc::new(AtomicUsize::new(0));
    let instances: Vec<Tiered<String, String>> = (0..3)
        .map(|_| {
            Tiered::builder(Cache::new(100), store.clone())
                .distributed_lock(Duration::from_secs(5))
                .build()
        })
        .collect();
    let tasks: Vec<_> = instances
        .iter()
        .flat_map(|tiered| (0..20).map(move |_| tiered.clone()))
        .map(|tiered| {
            let calls = calls.clone();
            tokio::spawn(async move {
                tiered
                    .get_with(k("cold"), async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        k("v")
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "v");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one load across instances");
    let waits: u64 = instances.iter().map(|t| t.stats().lease_waits).sum();
    assert_eq!(waits, 2, "the two other instances waited for the lease");
    assert!(!store.exists("v1!lease:cold").await.unwrap(), "released");
}

#[tokio::test(start_paused = true)]
async fn a_lease_holder_that_fails_lets_a_waiter_load_at_once() {
    let store = MemoryStore::new("t");
    let build = || {
        Tiered::<String, String>::builder(Cache::new(100), store.clone())
            .distributed_lock(Duration::from_secs(60))
            .build()
    };
    let (a, b) = (build(), build());
    let (fail, failed) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn({
        let a = a.clone();
        async move {
            a.try_get_with(k("x"), async move {
                failed.await.unwrap();
                Err::<String, _>("backend down")
            })
            .await
        }
    });
    while !store.exists("v1!lease:x").await.unwrap() {
        tokio::task::yield_now().await;
    }
    let waiter = tokio::spawn(async move { b.get_with(k("x"), async { k("from b") }).await });
    tokio::time::sleep(Duration::from_millis(20)).await; // b is polling
    fail.send(()).unwrap();
    assert!(holder.await.unwrap().is_err());
    let started = tokio::time::Instant::now();
    assert_eq!(waiter.await.unwrap(), "from b");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "b did not wait out the lease"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_load_gives_its_lease_back() {
    let store = MemoryStore::new("t");
    let a: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone())
        .distributed_lock(Duration::from_secs(60))
        .build();
    let loading = tokio::spawn({
        let a = a.clone();
        async move { a.get_with(k("x"), std::future::pending()).await }
    });
    while !store.exists("v1!lease:x").await.unwrap() {
        tokio::task::yield_now().await;
    }
    loading.abort();
    let _ = loading.await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!store.exists("v1!lease:x").await.unwrap());
}

#[tokio::test]
async fn an_insert_during_a_read_or_a_load_of_its_key_wins_in_both_tiers() {
    let store = Flaky::new("t");
    let tiered = tier(store.clone());
    tiered.insert(k("x"), k("v1")).await;
    tiered.l1().remove("x");

    // A read of the old value, held at L2, then an insert of a new one.
    store.hold_reads();
    let before = store.calls();
    let reading = tokio::spawn({
        let tiered = tiered.clone();
        async move { tiered.get(&k("x")).await }
    });
    while store.calls() == before {
        tokio::task::yield_now().await; // until the read is at L2
    }
    tiered.insert(k("x"), k("v2")).await;
    store.release(1);
    let _ = reading.await.unwrap();
    assert_eq!(tiered.get(&k("x")).await.as_deref(), Some("v2"));

    // A load running across an insert does not write its value over it in L2.
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let loading = tokio::spawn({
        let tiered = tiered.clone();
        async move {
            tiered
                .get_with(k("y"), async move {
                    finished.await.unwrap();
                    k("loaded")
                })
                .await
        }
    });
    while tiered.stats().l1.loads == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tiered.insert(k("y"), k("inserted")).await;
    finish.send(()).unwrap();
    assert_eq!(loading.await.unwrap(), "loaded"); // its callers get it...
    let other = tier(store.inner.clone());
    assert_eq!(other.get(&k("y")).await.as_deref(), Some("inserted")); // ...L2 keeps the insert
    assert_eq!(tiered.get(&k("y")).await.as_deref(), Some("inserted"));
}

#[tokio::test]
async fn a_removal_l2_did_not_take_is_retried_and_never_read_back_meanwhile() {
    let store = Flaky::new("t");
    let tiered = tier(store.clone());
    tiered.insert(k("x"), k("v1")).await;
    tiered.insert_with_tags(k("t"), k("tagged"), ["red"]).await;
    store.fail(true);
    assert_eq!(tiered.remove(&k("x")).await.as_deref(), Some("v1"));
    tiered.invalidate_tag("red").await;
    assert_eq!(tiered.stats().pending_invalidations, 2);
    assert!(store.inner.exists("v1:x").await.unwrap(), "L2 still has it");

    // L2 is back: the removal is retried on the next L2 call, and the value not read back.
    store.fail(false);
    assert_eq!(tiered.get(&k("x")).await, None);
    assert_eq!(tiered.get(&k("t")).await, None);
    assert_eq!(tiered.stats().pending_invalidations, 0);
    assert!(!store.inner.exists("v1:x").await.unwrap());
    let other = tier(store.inner.clone());
    assert_eq!(other.get(&k("t")).await, None, "the tag reached L2 too");
}

#[test]
fn a_get_with_future_leaves_the_fills_state_out_of_line() {
    // Only a load's leader reads L2, takes a lease and writes back; that state is boxed when
    // it runs, so every caller's future (joiners' too, copied into each spawned task) stays
    // near a plain `Cache::get_with`'s. Inline it measured 2,104 bytes for `Tiered<u64, u64>`.
    let t: Tiered<u64, u64> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    let plain: Cache<u64, u64> = Cache::new(10);
    let tiered = std::mem::size_of_val(&t.get_with(1, async { 1 }));
    let cache = std::mem::size_of_val(&plain.get_with(1, async { 1 }));
    assert!(
        tiered <= cache + 512,
        "Tiered::get_with's future is {tiered} bytes, Cache::get_with's {cache}"
    );
}

#[tokio::test]
async fn a_joiner_that_takes_a_load_over_after_l2_is_back_reads_l2() {
    // Whether to skip L2 is decided when a caller leads the load, not when it joins one.
    let (clock, mock) = Clock::mock();
    let store = Flaky::new("t");
    let tiered: Tiered<String, String> = Tiered::builder(
        Cache::builder().max_capacity(100).clock(clock).build(),
        store.clone(),
    )
    .circuit_breaker(1, Duration::from_secs(5))
    .build();
    store.fail(true);
    tiered.get_with(k("trip"), async { k("v") }).await;
    assert_eq!(tiered.stats().breaker, BreakerState::Open);

    let leader = tokio::spawn({
        let tiered = tiered.clone();
        async move { tiered.get_with(k("x"), std::future::pending()).await }
    });
    tokio::task::yield_now().await;
    let loads = Arc::new(AtomicUsize::new(0));
    let joiner = tokio::spawn({
        let (tiered, loads) = (tiered.clone(), loads.clone());
        async move {
            tiered
                .get_with(k("x"), async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    k("loaded")
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(
        tiered.stats().l1.coalesced,
        1,
        "the second caller joined the first"
    );

    // L2 comes back with the value, the cooldown ends, and the leader goes away.
    store.fail(false);
    let other: Tiered<String, String> =
        Tiered::builder(Cache::new(10), store.inner.clone()).build();
    other.insert(k("x"), k("from_l2")).await;
    mock.advance(Duration::from_secs(5));
    leader.abort();

    assert_eq!(joiner.await.unwrap(), "from_l2");
    assert_eq!(loads.load(Ordering::SeqCst), 0);
    assert_eq!(
        tiered.stats().breaker,
        BreakerState::Closed,
        "its read was the probe"
    );
}
