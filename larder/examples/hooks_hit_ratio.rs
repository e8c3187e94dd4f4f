//! aiocache's `HitMissRatioPlugin`, rewritten on larder's `Hooks`: the hit ratio of the gets
//! of a cache, or of a store.
//!
//! `cargo run --example hooks_hit_ratio` replays aiocache's own scenario on a store (set a;
//! get a; get b; multi-get a, c: 4 gets, 2 hits), then a skewed workload on a `Cache`.
//!
//! aiocache's plugin keeps `hits`, `total` and `hit_ratio` on the cache object; here the
//! plugin keeps its counts itself, and is shared with the cache through an `Arc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use larder::hooks::{Call, Hooks, Op, Outcome};
use larder::store::{Hooked, MemoryStore, Store};
use larder::{Cache, Ttl};

/// Counts gets and the ones that found a value.
#[derive(Debug, Default)]
struct HitMissRatio {
    hits: AtomicU64,
    total: AtomicU64,
}

impl HitMissRatio {
    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// `hits / total`, 0 before any get.
    fn hit_ratio(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => self.hits() as f64 / total as f64,
        }
    }
}

impl Hooks for HitMissRatio {
    fn after(&self, call: &Call<'_>, outcome: Outcome, _elapsed: Duration) {
        if call.op != Op::Get {
            return;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), larder::Error> {
    // aiocache's scenario, on a store: each key of a multi-get counts as a get.
    let ratio = Arc::new(HitMissRatio::default());
    let store = Hooked::new(MemoryStore::new("plugins"), Arc::clone(&ratio));
    store.set("a", b"1", Ttl::Never).await?;
    store.get("a").await?;
    store.get("b").await?;
    store.get_many(&["a", "c"]).await?;
    println!(
        "store: total {}, hits {}, hit_ratio {}",
        ratio.total(),
        ratio.hits(),
        ratio.hit_ratio()
    );
    assert_eq!((ratio.total(), ratio.hits()), (4, 2));

    // A cache of 50 entries: 10 hot keys asked for nine times in ten, 90 cold ones in turn.
    let ratio = Arc::new(HitMissRatio::default());
    let cache: Cache<u64, String> = Cache::builder()
        .max_capacity(50)
        .hooks(Arc::clone(&ratio))
        .build();
    for i in 0..10_000u64 {
        let key = if i % 10 == 0 {
            10 + (i / 10) % 90
        } else {
            i % 10
        };
        cache
            .get_with(key, async move { format!("value {key}") })
            .await;
    }
    println!(
        "cache: total {}, hits {}, hit_ratio {:.3} (the cache's own stats: {:.3})",
        ratio.total(),
        ratio.hits(),
        ratio.hit_ratio(),
        cache.stats().hit_rate()
    );
    assert_eq!(ratio.total(), 10_000);
    Ok(())
}
