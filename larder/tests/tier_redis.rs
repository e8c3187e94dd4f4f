//! Tiers over the gate's Redis in one process: invalidation through the store's watch
//! (another instance's write, a plain client's write, a tag), and a report that arrives
//! while a read is in flight. Each wait for a report is bounded (5 s), never a sleep.

#![cfg(all(feature = "redis", feature = "tier"))]
#![allow(clippy::unwrap_used)]

mod conformance;

use std::time::Duration;

use conformance::{service, unique};
use larder::Cache;
use larder::store::RedisStore;
use larder::tier::Tiered;

async fn instance(url: &str, ns: &str) -> Tiered<String, String> {
    let store = RedisStore::connect(url, ns).await.unwrap();
    let tiered = Tiered::builder(Cache::new(1_000), store).build();
    until("the watch connects", || tiered.is_watching()).await;
    tiered
}

/// Waits, yielding, until `done` holds; fails after 5 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn k(s: &str) -> String {
    s.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_another_instance_or_a_plain_client_drops_every_l1_copy() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("tier-watch");
    let a = instance(&url, &ns).await;
    let b = instance(&url, &ns).await;

    a.insert(k("user:1"), k("ada")).await;
    // The write's own report reaches b too; a read racing it would (rightly) not fill L1.
    until("b hears of the write", || {
        b.stats().invalidations_received >= 2
    })
    .await;
    assert_eq!(b.get(&k("user:1")).await.as_deref(), Some("ada"));
    assert!(b.l1().contains_key("user:1"));

    // Another instance writes: b's L1 copy goes, and b reads the new value.
    a.insert(k("user:1"), k("grace")).await;
    until("b drops its copy", || !b.l1().contains_key("user:1")).await;
    assert_eq!(b.get(&k("user:1")).await.as_deref(), Some("grace"));
    assert!(b.stats().invalidations_received > 0);

    // A client that is not larder writes the key: every copy goes.
    assert!(a.get(&k("user:1")).await.is_some() && b.get(&k("user:1")).await.is_some());
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{ns}:v1:user:1"))
        .query_async(&mut raw)
        .await
        .unwrap();
    until("a and b drop their copies", || {
        !a.l1().contains_key("user:1") && !b.l1().contains_key("user:1")
    })
    .await;
    assert_eq!(b.get(&k("user:1")).await, None);

    // remove on one instance reaches the other.
    a.insert(k("user:2"), k("x")).await;
    assert!(b.get(&k("user:2")).await.is_some());
    a.remove(&k("user:2")).await;
    until("b drops user:2", || !b.l1().contains_key("user:2")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_invalidation_reaches_every_instances_l1() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("tier-tags");
    let a = instance(&url, &ns).await;
    let b = instance(&url, &ns).await;
    a.insert_with_tags(k("post:1"), k("hello"), ["author:7"])
        .await;
    a.insert_with_tags(k("post:2"), k("other"), ["author:8"])
        .await;
    // "All" on connecting, then the two writes' reports.
    until("b hears of the writes", || {
        b.stats().invalidations_received >= 3
    })
    .await;
    assert!(b.get(&k("post:1")).await.is_some() && b.get(&k("post:2")).await.is_some());
    assert!(b.l1().contains_key("post:1") && b.l1().contains_key("post:2"));
    a.invalidate_tag("author:7").await;
    until("b drops the tagged entry", || {
        !b.l1().contains_key("post:1")
    })
    .await;
    assert!(b.l1().contains_key("post:2"), "another tag's entry stays");
    assert_eq!(b.get(&k("post:1")).await, None);
}
