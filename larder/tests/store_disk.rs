//! `DiskStore`: the conformance suite and what is particular to it: restarts, a corrupt file,
//! the size cap, the sweep, close.

#![cfg(feature = "disk")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::path::PathBuf;
use std::time::Duration;

use conformance::{Harness, run_all};
use larder::store::{DiskStore, Store};
use larder::{Clock, ErrorKind, MockClock, Ttl};

/// A directory of its own (tempfile's, removed on drop), holding a store's file.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("larder-disk-it-{name}-"))
            .tempdir()
            .expect("create the temp dir");
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.path().join("store.redb")
    }
}

/// A store on a mock clock, without the background sweep (tests sweep when they mean to).
async fn open(dir: &TempDir, clock: &Clock) -> DiskStore {
    DiskStore::builder()
        .clock(clock.clone())
        .sweep_interval(None)
        .open(dir.file(), "ns")
        .await
        .unwrap()
}

fn secs(n: u64) -> Ttl {
    Ttl::After(Duration::from_secs(n))
}

#[tokio::test]
async fn disk_store_conforms() {
    let dir = TempDir::new("conformance");
    let (clock, mock): (Clock, MockClock) = Clock::mock();
    let store = DiskStore::builder()
        .clock(clock)
        .open(dir.file(), "ns")
        .await
        .unwrap();
    let sibling = store.with_namespace("other");
    run_all(Harness::new(store, sibling).with_time(move |d| mock.advance(d))).await;
}

#[tokio::test]
async fn values_and_their_ttls_survive_a_reopen() {
    let dir = TempDir::new("reopen");
    let (clock, mock) = Clock::mock();
    mock.advance(Duration::from_secs(1_700_000_000)); // a plausible "now"
    let store = open(&dir, &clock).await;
    store.set("long", b"L", secs(3600)).await.unwrap();
    store.set("short", b"S", secs(10)).await.unwrap();
    store.set("forever", b"F", Ttl::Never).await.unwrap();
    assert_eq!(store.increment("count", 7).await.unwrap(), 7);
    let other = store.with_namespace("other");
    other.set("long", b"theirs", Ttl::Never).await.unwrap();
    drop((store, other));

    // Ten seconds pass while the file is closed: the short TTL runs out then.
    mock.advance(Duration::from_secs(10));
    let store = open(&dir, &clock).await;
    assert_eq!(store.get("short").await.unwrap(), None);
    assert_eq!(store.get("long").await.unwrap().as_deref(), Some(&b"L"[..]));
    assert_eq!(
        store.get("forever").await.unwrap().as_deref(),
        Some(&b"F"[..])
    );
    assert_eq!(store.increment("count", 1).await.unwrap(), 8);
    let theirs = store.with_namespace("other").get("long").await.unwrap();
    assert_eq!(theirs.as_deref(), Some(&b"theirs"[..]));
    // The long TTL kept its deadline: 3600 s after it was set, not after the reopen.
    mock.advance(Duration::from_secs(3590) - Duration::from_millis(1));
    assert!(store.exists("long").await.unwrap());
    mock.advance(Duration::from_millis(1));
    assert!(!store.exists("long").await.unwrap());
    assert!(store.exists("forever").await.unwrap());
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_file_is_opened_once_and_close_releases_it() {
    let dir = TempDir::new("once");
    let (clock, _mock) = Clock::mock();
    let store = open(&dir, &clock).await;
    store.set("k", b"v", Ttl::Never).await.unwrap();
    let again = DiskStore::open(dir.file(), "ns").await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Backend);
    assert!(again.to_string().contains("with_namespace"), "{again}");
    // A clone keeps the file open; close releases it for every handle, at once.
    let clone = store.clone();
    store.close().await.unwrap();
    let reopened = open(&dir, &clock).await;
    assert_eq!(reopened.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(clone.get("k").await.unwrap_err().kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_not_a_panic() {
    let dir = TempDir::new("corrupt");
    // Bytes that are no redb file: a pseudo-random 64 KiB (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(dir.file(), &garbage).unwrap();
    let err = DiskStore::open(dir.file(), "ns").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(&*dir.0.path().to_string_lossy()),
        "the path leaked: {shown}"
    );
    // The file is left as it was: nothing is overwritten to "repair" it.
    assert_eq!(std::fs::read(dir.file()).unwrap(), garbage);

    // A store's file cut short (a torn copy, a full disk) is reported too.
    let cut = TempDir::new("truncated");
    let (clock, _mock) = Clock::mock();
    let store = open(&cut, &clock).await;
    for i in 0..64 {
        store
            .set(&format!("k{i}"), &[7; 1024], Ttl::Never)
            .await
            .unwrap();
    }
    drop(store);
    let bytes = std::fs::read(cut.file()).unwrap();
    std::fs::write(cut.file(), &bytes[..bytes.len() / 3]).unwrap();
    let err = DiskStore::open(cut.file(), "ns").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[tokio::test]
async fn the_size_cap_evicts_the_least_recently_used() {
    let dir = TempDir::new("cap");
    let (clock, _mock) = Clock::mock();
    let store = DiskStore::builder()
        .clock(clock)
        .sweep_interval(None)
        .max_bytes(10 * 1024)
        .open(dir.file(), "ns")
        .await
        .unwrap();
    // Ten 1 KiB entries ("ns" + "k00" + 1019 bytes) fill the cap exactly.
    const VALUE: usize = 1024 - 2 - 3;
    for i in 0..10u8 {
        store
            .set(&format!("k{i:02}"), &[i; VALUE], Ttl::Never)
            .await
            .unwrap();
    }
    assert_eq!(store.stats().await.unwrap().bytes, 10 * 1024);
    // The first five are read: recently used now.
    for i in 0..5u8 {
        assert_eq!(
            store.get(&format!("k{i:02}")).await.unwrap(),
            Some(vec![i; VALUE])
        );
    }
    // Five more evict five: the ones not read.
    for i in 10..15u8 {
        store
            .set(&format!("k{i:02}"), &[i; VALUE], Ttl::Never)
            .await
            .unwrap();
        assert!(store.stats().await.unwrap().bytes <= 10 * 1024);
    }
    for i in (0..5).chain(10..15) {
        assert!(
            store.exists(&format!("k{i:02}")).await.unwrap(),
            "k{i} was evicted"
        );
    }
    for i in 5..10 {
        assert!(
            !store.exists(&format!("k{i:02}")).await.unwrap(),
            "k{i} was kept"
        );
    }
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.entries, stats.bytes), (10, 10 * 1024));
}

#[tokio::test]
async fn sweep_removes_expired_entries_and_keeps_the_index_in_step() {
    let dir = TempDir::new("sweep");
    let (clock, mock) = Clock::mock();
    let store = open(&dir, &clock).await;
    let other = store.with_namespace("other");
    for i in 0..10 {
        store.set(&format!("soon{i}"), b"s", secs(5)).await.unwrap();
        store
            .set(&format!("later{i}"), b"l", secs(60))
            .await
            .unwrap();
    }
    other.set("soon", b"o", secs(5)).await.unwrap();
    store.set("never", b"n", Ttl::Never).await.unwrap();
    // A TTL moved by expire moves its index row.
    store.expire("later0", secs(1)).await.unwrap();
    store.expire("soon0", Ttl::Never).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expiring), (22, 20));

    assert_eq!(store.sweep().await.unwrap(), 0, "nothing has expired yet");
    mock.advance(Duration::from_secs(5));
    // soon1..soon9, later0 and the other namespace's soon: the sweep covers the file.
    assert_eq!(store.sweep().await.unwrap(), 11);
    assert_eq!(store.sweep().await.unwrap(), 0);
    let stats = store.stats().await.unwrap();
    // "ns" + "soon0"/"never" + 1 byte, twice; "ns" + "laterN" + 1 byte, nine times.
    assert_eq!(
        (stats.entries, stats.expiring, stats.bytes),
        (11, 9, 2 * 8 + 9 * 9)
    );
    assert!(store.exists("soon0").await.unwrap());
    assert!(!store.exists("later0").await.unwrap());
    assert_eq!(other.get("soon").await.unwrap(), None);

    mock.advance(Duration::from_secs(55));
    assert_eq!(store.sweep().await.unwrap(), 9);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.entries, stats.expiring, stats.bytes), (2, 0, 2 * 8));
}

#[tokio::test(start_paused = true)]
async fn the_background_sweep_runs_and_ends_with_the_store() {
    let dir = TempDir::new("background");
    let (clock, mock) = Clock::mock();
    let store = DiskStore::builder()
        .clock(clock.clone())
        .sweep_interval(Some(Duration::from_secs(10)))
        .open(dir.file(), "ns")
        .await
        .unwrap();
    store.set("k", b"v", secs(1)).await.unwrap();
    mock.advance(Duration::from_secs(1));
    // Paused time moves on when the runtime idles, and not while blocking work runs: the
    // sweep at 10 s has finished by the time this sleep ends.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(store.stats().await.unwrap().entries, 0);
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    assert_eq!(alive(), 1, "the sweep task");
    // Dropping the last handle (a clone is not the last) stops the task and closes the file:
    // it opens again at once.
    let clone = store.clone();
    drop(store);
    tokio::task::yield_now().await;
    assert_eq!(alive(), 1, "a handle is left: the sweep goes on");
    drop(clone);
    tokio::task::yield_now().await;
    assert_eq!(alive(), 0, "the sweep task outlived the store");
    let store = DiskStore::builder()
        .clock(clock)
        .sweep_interval(Some(Duration::from_secs(10)))
        .open(dir.file(), "ns")
        .await
        .unwrap();
    assert_eq!(alive(), 1);
    // Closing stops it too, with handles left.
    store.close().await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(alive(), 0, "the sweep task outlived close");
}

#[tokio::test]
async fn operations_after_close_fail_closed() {
    let dir = TempDir::new("closed");
    let (clock, _mock) = Clock::mock();
    let store = open(&dir, &clock).await;
    let other = store.with_namespace("other");
    store.set("k", b"v", Ttl::Never).await.unwrap();
    store.close().await.unwrap();
    store.close().await.unwrap(); // twice is harmless
    let closed =
        |r: Result<(), larder::Error>| assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    closed(store.get("k").await.map(drop));
    closed(store.get_many(&[]).await.map(drop));
    closed(store.set("k", b"v", Ttl::Never).await);
    closed(store.set_many(&[], Ttl::Never).await);
    closed(store.add("k", b"v", Ttl::Never).await.map(drop));
    closed(store.delete("k").await.map(drop));
    closed(store.exists("k").await.map(drop));
    closed(store.expire("k", Ttl::Never).await.map(drop));
    closed(store.increment("n", 1).await.map(drop));
    closed(store.clear().await);
    closed(store.sweep().await.map(drop));
    closed(store.stats().await.map(drop));
    // The file is closed for every handle on it.
    closed(other.get("k").await.map(drop));
    assert!(format!("{other:?}").contains("closed: true"));
}

#[test]
fn a_timed_out_operation_may_still_complete_on_disk() {
    // One blocking thread, held by the test: the store's work queues behind it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = TempDir::new("timeout");
        let (clock, _mock) = Clock::mock();
        let store = open(&dir, &clock).await;
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker = tokio::task::spawn_blocking(move || held.recv());
        let hasty = store.clone().with_timeout(Some(Duration::from_millis(50)));
        let err = hasty.set("k", b"v", Ttl::Never).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        // The set ran once the thread was free, before this read queued behind it.
        let patient = store.clone().with_timeout(None);
        assert_eq!(patient.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    });
}

#[tokio::test]
async fn debug_and_errors_show_no_bytes_and_no_path() {
    let dir = TempDir::new("secret-path");
    let (clock, _mock) = Clock::mock();
    let store = open(&dir, &clock)
        .await
        .with_default_ttl(Duration::from_secs(60));
    store.set("k", b"password123", Ttl::Default).await.unwrap();
    store.set("text", b"hunter2", Ttl::Never).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("password123"), "{debug}");
    assert!(!debug.contains("secret-path"), "{debug}");
    let err = store.increment("text", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_zero_sweep_interval_is_a_config_error() {
    let dir = TempDir::new("config");
    let err = DiskStore::builder()
        .sweep_interval(Some(Duration::ZERO))
        .open(dir.file(), "ns")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

/// Polls `future` once with no runtime around it; it must be ready.
fn poll_once_outside_a_runtime<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("pending outside a runtime"),
    }
}

#[test]
fn outside_a_tokio_runtime_operations_fail_with_config_not_a_panic() {
    let dir = TempDir::new("no-runtime");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (clock, _mock) = Clock::mock();
    let store = runtime.block_on(open(&dir, &clock));
    // The handle outlives its runtime's context: polled elsewhere, it answers an error.
    let err = poll_once_outside_a_runtime(store.get("k")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    let err = poll_once_outside_a_runtime(store.set("k", b"v", Ttl::Never)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = poll_once_outside_a_runtime(store.sweep()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = poll_once_outside_a_runtime(store.close()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let other = TempDir::new("no-runtime-open");
    let err = poll_once_outside_a_runtime(DiskStore::open(other.file(), "ns")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // Still usable (and closable) back in a runtime.
    runtime.block_on(async {
        store.set("k", b"v", Ttl::Never).await.unwrap();
        store.close().await.unwrap();
    });
}

#[tokio::test]
async fn the_size_cap_counts_keys_and_namespaces_too() {
    let dir = TempDir::new("cap-keys");
    let (clock, _mock) = Clock::mock();
    let store = DiskStore::builder()
        .clock(clock)
        .sweep_interval(None)
        .max_bytes(1_000)
        .open(dir.file(), "ns")
        .await
        .unwrap();
    // Counters under long keys: tiny values, yet each entry takes 2 + 100 + 1 bytes.
    for i in 0..100 {
        store.increment(&format!("{i:0>100}"), 1).await.unwrap();
    }
    let stats = store.stats().await.unwrap();
    assert!(stats.bytes <= 1_000, "{stats:?}");
    assert_eq!((stats.entries, stats.bytes), (9, 9 * 103), "{stats:?}");
}

#[tokio::test]
async fn reopening_with_a_smaller_cap_evicts_at_once() {
    let dir = TempDir::new("cap-reopen");
    let (clock, _mock) = Clock::mock();
    let store = open(&dir, &clock).await;
    for i in 0..10 {
        store
            .set(&format!("k{i}"), &[0; 96], Ttl::Never)
            .await
            .unwrap();
    }
    assert_eq!(store.stats().await.unwrap().bytes, 1_000); // "ns" + "kN" + 96 bytes, ten times
    store.close().await.unwrap();
    let store = DiskStore::builder()
        .clock(clock)
        .sweep_interval(None)
        .max_bytes(500)
        .open(dir.file(), "ns")
        .await
        .unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.entries, stats.bytes), (5, 500), "{stats:?}");
}

#[tokio::test]
async fn a_long_sweep_lets_writes_in_between_its_batches() {
    use std::task::Poll;
    let dir = TempDir::new("sweep-batches");
    let (clock, mock) = Clock::mock();
    let store = open(&dir, &clock).await;
    let keys: Vec<String> = (0..2_500).map(|i| format!("k{i}")).collect();
    let entries: Vec<(&str, &[u8])> = keys.iter().map(|k| (k.as_str(), &b"v"[..])).collect();
    store.set_many(&entries, secs(1)).await.unwrap();
    mock.advance(Duration::from_secs(1));

    let mut sweep = std::pin::pin!(store.sweep());
    // One poll: the sweep takes the writer and starts its first batch.
    let first = std::future::poll_fn(|cx| Poll::Ready(sweep.as_mut().poll(cx))).await;
    assert!(first.is_pending());
    let writer = store.clone();
    let write = tokio::spawn(async move { writer.set("w", b"v", Ttl::Never).await });
    assert_eq!(sweep.await.unwrap(), 2_500);
    // The write went in between two batches, not after the last.
    assert!(write.is_finished(), "the write waited for the whole sweep");
    write.await.unwrap().unwrap();
}

#[tokio::test]
async fn zero_settings_are_config_errors() {
    let dir = TempDir::new("zero-settings");
    for builder in [
        DiskStore::builder().max_bytes(0),
        DiskStore::builder().timeout(Some(Duration::ZERO)),
    ] {
        let err = builder.open(dir.file(), "ns").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
}
