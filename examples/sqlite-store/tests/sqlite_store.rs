//! `SqliteStore` through larder's conformance suite (feature `test-util`), as a third-party
//! store runs it, and what is particular to it: restarts, purging, use under a tier, and
//! calls outside a runtime.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::time::Duration;

use larder::store::Store;
use larder::test_util::conformance::{Harness, run_all};
use larder::tier::Tiered;
use larder::{Cache, Clock, ErrorKind, Ttl};
use larder_example_sqlite_store::SqliteStore;

#[tokio::test]
async fn a_file_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, mock) = Clock::mock();
    let store = SqliteStore::open_with_clock(dir.path().join("c.sqlite"), "ns", clock)
        .await
        .unwrap();
    let sibling = store.with_namespace("other");
    run_all(Harness::new(store, sibling).with_time(move |d| mock.advance(d))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_store_conforms_on_a_multi_threaded_runtime() {
    let (clock, mock) = Clock::mock();
    let store = SqliteStore::in_memory_with_clock("ns", clock)
        .await
        .unwrap();
    let sibling = store.with_namespace("other");
    run_all(Harness::new(store, sibling).with_time(move |d| mock.advance(d))).await;
}

#[tokio::test]
async fn values_and_their_expiries_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let (clock, mock) = Clock::mock();
    mock.advance(Duration::from_secs(1_700_000_000)); // a plausible "now"
    let store = SqliteStore::open_with_clock(&path, "ns", clock.clone())
        .await
        .unwrap();
    store.set("forever", b"F", Ttl::Never).await.unwrap();
    store
        .set("short", b"S", Ttl::After(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(store.increment("count", 7).await.unwrap(), 7);
    store.close().await.unwrap();
    assert_eq!(
        store.get("forever").await.unwrap_err().kind(),
        ErrorKind::Closed
    );

    mock.advance(Duration::from_secs(10)); // while the file is closed
    let store = SqliteStore::open_with_clock(&path, "ns", clock)
        .await
        .unwrap();
    let forever = store.get("forever").await.unwrap();
    assert_eq!(forever.as_deref(), Some(&b"F"[..]));
    assert_eq!(store.get("short").await.unwrap(), None);
    assert_eq!(store.increment("count", 1).await.unwrap(), 8);
    assert_eq!(
        store.purge_expired().await.unwrap(),
        1,
        "the short entry's row"
    );
}

#[tokio::test]
async fn the_default_ttl_applies_to_ttl_default_and_new_counters() {
    let (clock, mock) = Clock::mock();
    let store = SqliteStore::in_memory_with_clock("ns", clock)
        .await
        .unwrap()
        .with_default_ttl(Some(Duration::from_secs(5)));
    store.set("k", b"v", Ttl::Default).await.unwrap();
    store.increment("n", 1).await.unwrap();
    store.set("kept", b"v", Ttl::Never).await.unwrap();
    mock.advance(Duration::from_secs(5));
    assert_eq!(
        store.get_many(&["k", "n", "kept"]).await.unwrap(),
        [None, None, Some(b"v".to_vec())]
    );
}

#[tokio::test]
async fn it_is_the_l2_of_a_tier_shared_by_two_instances() {
    let store = SqliteStore::in_memory("users").await.unwrap();
    let a: Tiered<u64, String> = Tiered::builder(Cache::new(10), store.clone()).build();
    let b: Tiered<u64, String> = Tiered::builder(Cache::new(10), store.clone()).build();
    assert_eq!(a.get_with(1, async { "ada".to_string() }).await, "ada");
    // b's L1 misses; L2, the SQLite table, has it: b's loader does not run.
    assert_eq!(b.get_with(1, async { unreachable!() }).await, "ada");
    assert!(store.exists("v1:1").await.unwrap());
    a.remove(&1).await;
    assert!(!store.exists("v1:1").await.unwrap());
}

#[test]
fn outside_a_runtime_a_call_fails_with_config_not_a_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = runtime.block_on(SqliteStore::in_memory("ns")).unwrap();
    drop(runtime);
    let err = futures_executor_block_on(store.get("k")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

/// Polls `future` to completion on this thread, outside any tokio runtime.
fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
