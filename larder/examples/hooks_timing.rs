//! aiocache's `TimingPlugin`, rewritten on larder's `Hooks`: for each operation, how many
//! calls, and their total, minimum, maximum and mean time.
//!
//! `cargo run --example hooks_timing` times a cache's gets, sets, deletes and loads (a load
//! here sleeps 2 ms, as a slow backend would), then a store's.
//!
//! aiocache's plugin keeps `profiling["get_total"]`, `["get_min"]`, `["get_max"]` and
//! `["get_avg"]` on the cache object; here each operation has a row of atomics, so hooks
//! called from many tasks at once never lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use larder::hooks::{Call, Hooks, Op, Outcome};
use larder::store::{Hooked, MemoryStore, Store};
use larder::{Cache, Ttl};

/// One operation's timings, in nanoseconds.
#[derive(Debug)]
struct Row {
    calls: AtomicU64,
    total: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for Row {
    fn default() -> Self {
        Self {
            calls: AtomicU64::new(0),
            total: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }
}

/// Timings of gets, sets, deletes and loads.
#[derive(Debug, Default)]
struct Timing {
    rows: [Row; 4],
}

const OPS: [Op; 4] = [Op::Get, Op::Set, Op::Delete, Op::Load];

impl Timing {
    fn row(&self, op: Op) -> Option<&Row> {
        OPS.iter().position(|o| *o == op).map(|i| &self.rows[i])
    }

    fn print(&self, title: &str) {
        println!("{title}");
        println!("  op       calls     total       min       max       avg");
        for (op, row) in OPS.iter().zip(&self.rows) {
            let calls = row.calls.load(Ordering::Relaxed);
            if calls == 0 {
                continue;
            }
            let total = row.total.load(Ordering::Relaxed);
            let micros = |nanos: u64| format!("{:.1}µs", nanos as f64 / 1e3);
            println!(
                "  {:<6} {:>7} {:>9} {:>9} {:>9} {:>9}",
                op.as_str(),
                calls,
                micros(total),
                micros(row.min.load(Ordering::Relaxed)),
                micros(row.max.load(Ordering::Relaxed)),
                micros(total / calls),
            );
        }
    }
}

impl Hooks for Timing {
    fn after(&self, call: &Call<'_>, _outcome: Outcome, elapsed: Duration) {
        let Some(row) = self.row(call.op) else {
            return; // an operation added after this plugin was written
        };
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        row.calls.fetch_add(1, Ordering::Relaxed);
        row.total.fetch_add(nanos, Ordering::Relaxed);
        row.min.fetch_min(nanos, Ordering::Relaxed);
        row.max.fetch_max(nanos, Ordering::Relaxed);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), larder::Error> {
    let timing = Arc::new(Timing::default());
    let cache: Cache<u64, u64> = Cache::builder().hooks(Arc::clone(&timing)).build();
    for key in 0..20 {
        cache
            .get_with(key % 5, async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                key * 10
            })
            .await;
        cache.insert(100 + key, key);
        cache.remove(&(100 + key));
    }
    timing.print("cache (5 loads of 2 ms, 20 lookups, 20 sets, 20 deletes)");

    let timing = Arc::new(Timing::default());
    let store = Hooked::new(MemoryStore::new("timed"), Arc::clone(&timing));
    for i in 0..100u32 {
        let key = format!("k{}", i % 10);
        store.set(&key, &i.to_le_bytes(), Ttl::Never).await?;
        store.get(&key).await?;
    }
    store.delete("k0").await?;
    timing.print("store (100 sets, 100 gets, 1 delete)");
    Ok(())
}
