//! A stalled file, its disk or its lock, holds at most [`MAX_BLOCKING`] blocking tasks however
//! many operations time out on it, and serves again once the stall ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::db::MAX_BLOCKING;
use super::store::DiskStore;
use crate::store::Store;
use crate::sync::Ordering;
use crate::{ErrorKind, Ttl};

/// Operations started during the stall: four times the bound, a quarter of them writes.
const STARTED: usize = 4 * MAX_BLOCKING;

// Holding the file's lock across the awaits is the stall this test makes.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_file_piles_up_no_more_blocking_tasks_than_its_bound() {
    let dir = tempfile::Builder::new()
        .prefix("larder-disk-stall-")
        .tempdir()
        .unwrap();
    let store = DiskStore::builder()
        .sweep_interval(None)
        .open(dir.path().join("store.redb"), "ns")
        .await
        .unwrap();
    store.set("k", b"v", Ttl::Never).await.unwrap();
    let db = Arc::clone(&store.shared.db);
    let quick = store.clone().with_timeout(Some(Duration::from_millis(100)));

    let stall = db.stall();
    let mut ops = JoinSet::new();
    for i in 0..STARTED {
        let quick = quick.clone();
        ops.spawn(async move {
            if i % 4 == 0 {
                quick.set("w", b"x", Ttl::Never).await.map(drop)
            } else {
                quick.get("k").await.map(drop)
            }
        });
    }
    while let Some(done) = ops.join_next().await {
        assert_eq!(done.unwrap().unwrap_err().kind(), ErrorKind::Timeout);
    }
    let outstanding = db.blocking_tasks.load(Ordering::SeqCst);
    assert!(
        outstanding <= MAX_BLOCKING,
        "{STARTED} timed-out operations left {outstanding} blocking tasks, over the bound of \
         {MAX_BLOCKING}"
    );
    drop(stall);

    // The stall over, as many operations at once as before all succeed: they wait for a
    // slot rather than fail.
    let mut ops = JoinSet::new();
    for _ in 0..STARTED {
        let store = store.clone();
        ops.spawn(async move { store.get("k").await });
    }
    while let Some(done) = ops.join_next().await {
        assert_eq!(done.unwrap().unwrap().as_deref(), Some(&b"v"[..]));
    }
}
