//! The kill switch from the environment: `LARDER_DISABLE`, read when a cache is built.
//!
//! The environment is the process's, and this crate forbids the `unsafe` that
//! `std::env::set_var` needs: so the parent test runs this test binary again, once per value
//! of `LARDER_DISABLE`, and the child test checks the caches it builds against what the
//! parent expects. Run directly (no `LARDER_KILL_SWITCH_EXPECT`), the child does nothing.

#![cfg(all(feature = "macros", feature = "tier"))]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::process::Command;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use larder::Cache;
use larder::store::{MemoryStore, Store};
use larder::{Ttl, cached};

const EXPECT: &str = "LARDER_KILL_SWITCH_EXPECT";

static PLAIN_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A generated cache, built on the first call, when `LARDER_DISABLE` is read.
#[cached]
async fn plain(n: u64) -> u64 {
    PLAIN_RUNS.fetch_add(1, Ordering::SeqCst);
    n + 1
}

static TIERED_RUNS: AtomicUsize = AtomicUsize::new(0);
static L2: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("kill-env"));

/// A tier the macro builds over `L2` on the first call.
#[cached(store = L2.clone())]
async fn tiered(n: u64) -> u64 {
    TIERED_RUNS.fetch_add(1, Ordering::SeqCst);
    n * 10
}

#[test]
fn larder_disable_is_read_when_a_cache_is_built() {
    let cases: [(Option<&str>, &str); 7] = [
        (Some("1"), "disabled"),
        (Some("true"), "disabled"),
        (Some(" ON "), "disabled"),
        (Some("0"), "enabled"),
        (Some("false"), "enabled"),
        (Some(""), "enabled"),
        (None, "enabled"),
    ];
    let exe = std::env::current_exe().unwrap();
    for (value, expect) in cases {
        let mut child = Command::new(&exe);
        child
            .args(["--exact", "child_checks_its_caches", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(EXPECT, expect);
        match value {
            Some(value) => child.env("LARDER_DISABLE", value),
            None => child.env_remove("LARDER_DISABLE"),
        };
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "LARDER_DISABLE={value:?}, expected {expect}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn child_checks_its_caches() {
    let disabled = match std::env::var(EXPECT).as_deref() {
        Ok("disabled") => true,
        Ok("enabled") => false,
        _ => return, // run by the harness itself, not by the parent test
    };
    // A cache built by hand, even with `enabled(true)`.
    let cache: Cache<u64, u64> = Cache::builder().enabled(true).build();
    assert_eq!(cache.is_enabled(), !disabled);
    cache.insert(1, 1);
    assert_eq!(cache.get(&1).is_none(), disabled);

    // `#[cached]`'s generated cache: the body runs every call when disabled.
    for _ in 0..3 {
        assert_eq!(plain(1).await, 2);
    }
    let runs = PLAIN_RUNS.load(Ordering::SeqCst);
    assert_eq!(runs, if disabled { 3 } else { 1 });

    // `#[cached(store = ..)]`'s tier: nothing in L1 nor in L2 when disabled.
    for _ in 0..3 {
        assert_eq!(tiered(2).await, 20);
    }
    let runs = TIERED_RUNS.load(Ordering::SeqCst);
    assert_eq!(runs, if disabled { 3 } else { 1 });
    let in_l2 = L2.get_many(&["tiered/v1:2"]).await.unwrap()[0].is_some();
    assert_eq!(in_l2, !disabled, "the tier's entry in L2");

    // A MemoryStore is a store, not a cache: the switch leaves it alone.
    let store = MemoryStore::new("kept");
    store.set("k", b"v", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));

    // So is the one `from_url("memory://")` makes, bounded or not: its writes are kept (an
    // `add` that always succeeded would make every lock on it granted to all).
    for url in ["memory://?namespace=kept", "memory://?capacity=10&ttl=1h"] {
        let store = larder::store::from_url(url).await.unwrap();
        store.set("k", b"v", Ttl::Never).await.unwrap();
        assert!(store.get("k").await.unwrap().is_some(), "{url}");
        assert!(!store.add("k", b"w", Ttl::Never).await.unwrap(), "{url}");
    }
}
