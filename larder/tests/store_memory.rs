//! `MemoryStore`: the conformance suite and what is particular to it.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use conformance::{Harness, run_all};
use larder::store::{MemoryStore, Store};
use larder::{Cache, Clock, ErrorKind, MockClock, Ttl};

/// A store, a sibling on the same cache in another namespace, and the cache's mock clock.
fn memory() -> (MemoryStore, MemoryStore, MockClock) {
    let (clock, mock): (Clock, MockClock) = Clock::mock();
    let shared: Cache<String, Arc<[u8]>> = Cache::builder().clock(clock).build();
    (
        MemoryStore::with_cache("ns", shared.clone()),
        MemoryStore::with_cache("other", shared),
        mock,
    )
}

#[tokio::test]
async fn memory_store_conforms() {
    let (store, sibling, mock) = memory();
    run_all(Harness::new(store, sibling).with_time(move |d| mock.advance(d))).await;
}

#[tokio::test]
async fn memory_store_debug_shows_no_bytes() {
    let store = MemoryStore::new("secret-ns");
    store.set("k", b"password123", Ttl::Never).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("password123"));
}

/// Defect 3: a namespace holding `:` collided with another (`a` + `b:c` = `a:b` + `c`), and
/// the first's `clear` wiped the second. Such a namespace is now refused.
#[test]
fn memory_store_namespace_with_a_colon_is_refused() {
    let shared: Cache<String, Arc<[u8]>> = Cache::builder().build();
    let made = std::panic::catch_unwind(AssertUnwindSafe(|| {
        MemoryStore::with_cache("a:b", shared.clone())
    }));
    assert!(made.is_err(), "with_cache accepted a namespace holding ':'");
    let made = std::panic::catch_unwind(|| MemoryStore::new("a:b"));
    assert!(made.is_err(), "new accepted a namespace holding ':'");
    let err = MemoryStore::try_with_cache("a:b", shared.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(
        MemoryStore::try_new("a:b").unwrap_err().kind(),
        ErrorKind::Config
    );
    assert!(MemoryStore::try_with_cache("a", shared).is_ok());
}

/// Defect 4: `increment` re-inserted the counter with the default TTL, so a rate-limit
/// window given by `expire` never ended. The remaining TTL is kept.
#[tokio::test]
async fn memory_store_increment_keeps_the_counter_ttl() {
    let (store, _, mock) = memory();
    let advance = |d| mock.advance(d);
    assert_eq!(store.increment("hits", 1).await.unwrap(), 1);
    assert!(
        store
            .expire("hits", Ttl::After(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    advance(Duration::from_secs(4));
    assert_eq!(store.increment("hits", 1).await.unwrap(), 2);
    advance(Duration::from_secs(6));
    assert_eq!(store.get("hits").await.unwrap(), None, "the window ended");
    assert_eq!(store.increment("hits", 1).await.unwrap(), 1, "a new window");
}

/// Defect 5: `expire` (like `add` and `increment`) read the value and re-inserted it,
/// serialised only against the other read-modify-writes, so it could put back the value a
/// concurrent `set` had just replaced. A `set` followed by a `get` must never see the older
/// value while `expire`s run alongside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_expire_never_brings_back_an_overwritten_value() {
    // One writer and one expirer per core: both run all along, in parallel.
    const WRITERS: u32 = 1;
    const ROUNDS: u32 = 200_000;
    let store = Arc::new(MemoryStore::new("race"));
    let done = Arc::new(AtomicBool::new(false));
    let expirers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            tokio::spawn(async move {
                let key = format!("k{w}");
                while !done.load(Ordering::Relaxed) {
                    store.expire(&key, Ttl::Never).await.unwrap();
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = format!("k{w}");
                let mut stale = 0u32;
                for round in 0..ROUNDS {
                    let value = round.to_le_bytes();
                    store.set(&key, &value, Ttl::Never).await.unwrap();
                    if store.get(&key).await.unwrap().as_deref() != Some(&value[..]) {
                        stale += 1;
                    }
                }
                stale
            })
        })
        .collect();
    let mut stale = 0;
    for writer in writers {
        stale += writer.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for expirer in expirers {
        expirer.await.unwrap();
    }
    assert_eq!(stale, 0, "{stale} gets saw the value their set replaced");
}
