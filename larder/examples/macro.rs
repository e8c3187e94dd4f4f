//! `#[larder::cached]` and `#[larder::invalidates]`: a free function and a repository's
//! methods, cached with one line each, and the writes that invalidate them.
//!
//! `cargo run --release --example macro`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::Policy;

/// Counts the "database" queries, to show what the cache saves.
static QUERIES: AtomicUsize = AtomicUsize::new(0);

/// A free function: the exchange rate between two currencies, good for a minute. The key is
/// the two arguments; concurrent calls for the same pair query once.
#[larder::cached(max_capacity = 1_000, ttl = Duration::from_secs(60))]
async fn rate(from: &str, to: &str) -> Result<f64, String> {
    QUERIES.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(20)).await; // a slow upstream
    match (from, to) {
        ("EUR", "USD") => Ok(1.08),
        ("USD", "EUR") => Ok(0.93),
        _ => Err(format!("no rate for {from}/{to}")), // errors are not cached
    }
}

/// A repository whose reads are cached and whose writes invalidate them.
struct Products {
    // The "database".
    rows: tokio::sync::Mutex<HashMap<u32, String>>,
}

impl Products {
    /// `self` is not part of the key: every `Products` shares one cache of names.
    #[larder::cached(max_capacity = 10_000, policy = Policy::Lru, skip(self))]
    async fn name(&self, id: u32) -> Option<String> {
        QUERIES.fetch_add(1, Ordering::Relaxed);
        self.rows.lock().await.get(&id).cloned()
    }

    /// Invalidates `name(id)` before writing, so no reader sees the old name afterwards.
    #[larder::invalidates(Self::name(id))]
    async fn rename(&self, id: u32, name: &str) {
        self.rows.lock().await.insert(id, name.to_string());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // 100 concurrent requests for the same rate: one upstream query.
    let requests = (0..100).map(|_| rate("EUR", "USD"));
    let rates = futures_util::future::join_all(requests).await;
    println!(
        "rate: 100 concurrent calls -> {} query, EUR/USD = {:?}",
        QUERIES.swap(0, Ordering::Relaxed),
        rates[0]
    );
    println!(
        "rate: unknown pair -> {:?} (not cached)",
        rate("EUR", "JPY").await
    );
    QUERIES.store(0, Ordering::Relaxed);
    println!("rate: cache {:?}", rate_cache());

    let products = Products {
        rows: tokio::sync::Mutex::new(HashMap::from([(1, "teapot".to_string())])),
    };
    for _ in 0..3 {
        products.name(1).await;
    }
    println!(
        "products: 3 reads of product 1 -> {} query",
        QUERIES.swap(0, Ordering::Relaxed)
    );
    products.rename(1, "kettle").await;
    println!(
        "products: after rename, name(1) = {:?} ({} query)",
        products.name(1).await,
        QUERIES.swap(0, Ordering::Relaxed)
    );
    println!("products: cached? {}", Products::name_contains(1));
}
