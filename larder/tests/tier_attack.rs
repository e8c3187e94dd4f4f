//! Attacks on the tiered cache from an adversarial review: each test asserts the documented
//! promise against an input or interleaving a hostile user would try (a clear or another
//! scope resetting tag state, a poisoned key, write-behind overtaking a removal, a lease with
//! write-behind, a store's own default TTL). Each failed on the first version of the tier.

#![allow(clippy::unwrap_used)] // a failed step fails the test

use std::time::Duration;

use larder::store::{MemoryStore, Store};
use larder::tier::Tiered;
use larder::{Cache, Error, Tag, Ttl};
use tokio::sync::oneshot;

fn tier(store: impl Store) -> Tiered<String, String> {
    Tiered::builder(Cache::new(100), store).build()
}

fn k(s: &str) -> String {
    s.to_string()
}

/// Starts a tagged load of `key` on `t` that reads the tag epoch, then waits for `go`.
/// Returns once the loader is running (so its epoch was read).
async fn tagged_load_in_flight(
    t: &Tiered<String, String>,
    key: &str,
    tag: &'static str,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<String>) {
    let (go, wait) = oneshot::channel::<()>();
    let (started_tx, started) = oneshot::channel::<()>();
    let t = t.clone();
    let key = k(key);
    let load = tokio::spawn(async move {
        t.get_with_tags(key, async move {
            let _ = started_tx.send(());
            let _ = wait.await;
            ("old".to_string(), vec![Tag::from(tag)])
        })
        .await
    });
    started.await.unwrap();
    (go, load)
}

/// `clear()` deletes the whole store namespace, the tag epoch counter (`v1!epoch`) with it.
/// A load that read a high epoch before the clear then writes an entry whose epoch is above
/// every tag record written after the clear: `invalidate_tag` returned, yet the value it
/// invalidated is served from L2 to every instance.
#[tokio::test]
async fn clear_resets_the_tag_epoch_so_a_racing_load_survives_invalidate_tag() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    let b = tier(store.clone());
    for _ in 0..5 {
        a.invalidate_tag("unrelated").await; // epoch is now 5
    }
    let (go, load) = tagged_load_in_flight(&b, "x", "t").await; // read epoch 5
    a.clear().await; // epoch key gone
    a.invalidate_tag("t").await; // epoch 1, tag t at 1: "nothing tagged t is cached"
    go.send(()).unwrap();
    assert_eq!(load.await.unwrap(), "old"); // its caller gets it: fine
    let c = tier(store.clone()); // a fresh instance, nothing in L1
    assert_eq!(
        c.get(&k("x")).await,
        None,
        "L2 serves a value loaded before invalidate_tag(\"t\") returned"
    );
}

/// Same, but the clear is another *scope's*: `#[cached(store = ..)]` scopes each function,
/// so clearing one function's cache breaks another function's tag invalidation.
#[tokio::test]
async fn another_scopes_clear_breaks_this_scopes_tag_invalidation() {
    let store = MemoryStore::new("t");
    let scoped = |s: &str| -> Tiered<String, String> {
        Tiered::builder(Cache::new(100), store.clone())
            .scope(s)
            .build()
    };
    let (f, g1, g2) = (scoped("f"), scoped("g"), scoped("g"));
    for _ in 0..5 {
        g1.invalidate_tag("unrelated").await;
    }
    let (go, load) = tagged_load_in_flight(&g2, "x", "t").await;
    f.clear().await; // clears function f's cache ... and g's epoch
    g1.invalidate_tag("t").await;
    go.send(()).unwrap();
    load.await.unwrap();
    let fresh = scoped("g");
    assert_eq!(fresh.get(&k("x")).await, None);
}

/// `clear()` clears the store's namespace, every scope and version in it (documented on
/// `Tiered::clear`): scopes keep keys apart, not clears. What matters is that nothing stale
/// comes back: another scope's entry is gone from L2, and its next read is a miss.
#[tokio::test]
async fn clear_of_one_scope_clears_the_namespace_as_documented() {
    let store = MemoryStore::new("t");
    let f: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone())
        .scope("f")
        .build();
    let g: Tiered<String, String> = Tiered::builder(Cache::new(100), store.clone())
        .scope("g")
        .build();
    g.insert(k("x"), k("kept")).await;
    f.clear().await;
    assert!(!store.exists("g/v1:x").await.unwrap());
    g.l1().clear(); // no watch on a MemoryStore
    assert_eq!(g.get(&k("x")).await, None);
}

/// A `MemoryStore` whose `set` takes `delay` (a slow, but working, L2 write).
#[derive(Clone)]
struct SlowSets {
    inner: MemoryStore,
    delay: Duration,
}

impl Store for SlowSets {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.inner.get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        tokio::time::sleep(self.delay).await;
        self.inner.set(key, value, ttl).await
    }
    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        tokio::time::sleep(self.delay).await;
        self.inner.set_many(entries, ttl).await
    }
    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.inner.add(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.inner.exists(key).await
    }
    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.inner.expire(key, ttl).await
    }
    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.inner.increment(key, by).await
    }
    async fn clear(&self) -> Result<(), Error> {
        self.inner.clear().await
    }
    async fn close(&self) -> Result<(), Error> {
        self.inner.close().await
    }
}

/// Write-behind: a `remove` that finds the queue full for the L2 timeout deletes directly,
/// out of order with the value write for the same key still queued. That write lands after
/// the deletion, and `remove` has returned: L2 (so every instance, and this one's next L1
/// miss) serves the removed value again.
#[tokio::test(start_paused = true)]
async fn write_behind_remove_is_overtaken_by_its_own_queued_write() {
    let memory = MemoryStore::new("t");
    let slow = SlowSets {
        inner: memory.clone(),
        delay: Duration::from_millis(60),
    };
    let a: Tiered<String, String> = Tiered::builder(Cache::new(100), slow)
        .write_behind(1)
        .l2_timeout(Duration::from_millis(100))
        .build();
    a.insert(k("a"), k("filler")).await; // the worker takes it: busy until t=60
    tokio::time::sleep(Duration::from_millis(1)).await;
    a.insert(k("x"), k("old")).await; // queued: the queue (1) is full
    let other = a.clone();
    let first = tokio::spawn(async move { other.remove(&k("q")).await });
    tokio::task::yield_now().await; // first in line for room
    a.remove(&k("x")).await; // waits 100 ms for room, then deletes directly
    first.await.unwrap();
    a.close(larder::CloseMode::Wait).await; // drain the queue
    assert_eq!(
        memory.get("v1:x").await.unwrap(),
        None,
        "remove(x) returned, yet its earlier queued write put x back in L2"
    );
}

/// distributed_lock + write_behind: the lease holder queues its value and releases the
/// lease at once; a waiter then sees "lease gone, no value" and loads again. Two loads
/// across instances for one cold key.
#[tokio::test(start_paused = true)]
async fn lease_with_write_behind_lets_a_waiter_load_a_second_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let memory = MemoryStore::new("t");
    let slow = |m: &MemoryStore| SlowSets {
        inner: m.clone(),
        delay: Duration::from_millis(60),
    };
    let a: Tiered<String, String> = Tiered::builder(Cache::new(100), slow(&memory))
        .write_behind(16)
        .l2_timeout(Duration::from_millis(100))
        .distributed_lock(Duration::from_secs(2))
        .build();
    let b: Tiered<String, String> = Tiered::builder(Cache::new(100), slow(&memory))
        .l2_timeout(Duration::from_millis(100))
        .distributed_lock(Duration::from_secs(2))
        .build();
    let loads = Arc::new(AtomicUsize::new(0));
    let (go, wait) = oneshot::channel::<()>();
    let (started_tx, started) = oneshot::channel::<()>();
    let counted = loads.clone();
    let holder = tokio::spawn({
        let a = a.clone();
        async move {
            a.get_with(k("x"), async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = started_tx.send(());
                let _ = wait.await;
                k("v")
            })
            .await
        }
    });
    started.await.unwrap(); // a holds the lease and is loading
    let counted = loads.clone();
    let waiter = tokio::spawn({
        let b = b.clone();
        async move {
            b.get_with(k("x"), async move {
                counted.fetch_add(1, Ordering::SeqCst);
                k("v")
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert_eq!(b.stats().lease_waits, 1, "b waits on a's lease");
    go.send(()).unwrap();
    holder.await.unwrap();
    waiter.await.unwrap();
    assert_eq!(loads.load(Ordering::SeqCst), 1, "one load across instances");
}

/// A store with its own default TTL (RedisStore::default_ttl, MemcachedStore's, a
/// MemoryStore over a cache with a TTL): the tier writes `Ttl::Default` with no expiry in its
/// header, so a reader fills L1 with no expiry while L2's entry expires. The value then lives
/// in L1 longer than in L2 ("a value never lives longer in L1 than in L2").
#[tokio::test]
async fn a_store_default_ttl_is_not_carried_to_a_readers_l1() {
    let (clock, mock) = larder::Clock::mock();
    let cache = Cache::builder()
        .max_capacity(100)
        .time_to_live(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    let store = MemoryStore::with_cache("t", cache);
    let l1 = || {
        Cache::builder()
            .max_capacity(100)
            .clock(clock.clone())
            .build()
    };
    let a: Tiered<String, String> = Tiered::builder(l1(), store.clone()).build();
    let b: Tiered<String, String> = Tiered::builder(l1(), store.clone()).build();
    a.insert(k("x"), k("v")).await;
    assert_eq!(b.get(&k("x")).await.as_deref(), Some("v")); // b's L1 filled from L2
    mock.advance(Duration::from_secs(11));
    assert!(!store.exists("v1:x").await.unwrap(), "L2's entry expired");
    assert_eq!(
        b.l1().get("x"),
        None,
        "b's L1 outlives the L2 entry it was filled from"
    );
}

/// Bytes another program wrote under the tier's keys: a non-integer at `v1!epoch` makes
/// every `invalidate_tag` fail in L2 and counts as an L2 *failure*, so a handful of tag
/// invalidations open the breaker, and every reader of every key loses L2.
#[tokio::test]
async fn a_poisoned_epoch_key_opens_the_breaker_for_everyone() {
    let store = MemoryStore::new("t");
    let a = tier(store.clone());
    let b = tier(store.clone());
    a.insert(k("x"), k("v")).await;
    store
        .set("v1!epoch", b"not a number", Ttl::Never)
        .await
        .unwrap();
    for _ in 0..5 {
        a.invalidate_tag("t").await;
    }
    assert_eq!(
        a.stats().breaker,
        larder::tier::BreakerState::Closed,
        "foreign bytes under one key took L2 away from the whole tier"
    );
    // And the tag invalidation never reaches L2: another instance serves tagged entries.
    let _ = b;
}

/// Sound: a `get_with` that joins a concurrent `try_get_with` of the same key whose loader
/// fails loads for itself; it does not reach the `unreachable!` in `get_with_ttl`.
#[tokio::test(start_paused = true)]
async fn get_with_joining_a_failing_try_get_with_does_not_panic() {
    let t = tier(MemoryStore::new("t"));
    let failing = tokio::spawn({
        let t = t.clone();
        async move {
            t.try_get_with(k("x"), async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Err::<String, &str>("boom")
            })
            .await
        }
    });
    tokio::task::yield_now().await;
    let joined = tokio::spawn({
        let t = t.clone();
        async move { t.get_with(k("x"), async { k("v") }).await }
    });
    assert!(failing.await.unwrap().is_err());
    assert_eq!(joined.await.expect("get_with panicked"), "v");
}

/// Sound: a `get_with` that arrives while a `refresh` of the key loads joins it: one load.
#[tokio::test]
async fn refresh_then_get_with_share_a_flight_without_a_second_load() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let t = tier(MemoryStore::new("t"));
    let loads = Arc::new(AtomicUsize::new(0));
    let (go, wait) = oneshot::channel::<()>();
    let counted = loads.clone();
    let r = tokio::spawn({
        let t = t.clone();
        async move {
            t.refresh(k("x"), async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = wait.await;
                k("v")
            })
            .await
        }
    });
    tokio::task::yield_now().await;
    let counted = loads.clone();
    let g = tokio::spawn({
        let t = t.clone();
        async move {
            t.get_with(k("x"), async move {
                counted.fetch_add(1, Ordering::SeqCst);
                k("w")
            })
            .await
        }
    });
    tokio::task::yield_now().await;
    go.send(()).unwrap();
    r.await.unwrap();
    g.await.unwrap();
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "one load per key at a time"
    );
}

/// Sound: `clear()` while a load of the key is in flight in this process keeps the loaded
/// value out of both tiers.
#[tokio::test]
async fn clear_during_a_load_keeps_its_value_out_of_both_tiers() {
    let store = MemoryStore::new("t");
    let t = tier(store.clone());
    let (go, load) = tagged_load_in_flight(&t, "x", "t").await;
    t.clear().await;
    go.send(()).unwrap();
    assert_eq!(load.await.unwrap(), "old");
    assert!(!t.l1().contains_key("x"));
    assert!(!store.exists("v1:x").await.unwrap());
}

/// Sound: the cross-instance half of the tag rule (the epoch), which tier.rs's
/// `a_tag_invalidation_during_a_load_keeps_its_value_stale_in_l2` never exercises: there the
/// invalidating instance is the loading one, so its write generations alone skip the L2 write.
#[tokio::test]
async fn a_tag_invalidation_by_another_instance_during_a_load_keeps_it_stale_in_l2() {
    let store = MemoryStore::new("t");
    let (a, b) = (tier(store.clone()), tier(store.clone()));
    let (go, load) = tagged_load_in_flight(&a, "x", "t").await;
    b.invalidate_tag("t").await;
    go.send(()).unwrap();
    load.await.unwrap();
    assert!(
        store.exists("v1:x").await.unwrap(),
        "a wrote it (it cannot know)"
    );
    assert_eq!(
        tier(store).get(&k("x")).await,
        None,
        "but it reads as stale"
    );
}
