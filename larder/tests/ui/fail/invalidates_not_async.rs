use larder::Cache;
use larder::store::MemoryStore;
use larder::tier::Tiered;
use std::sync::LazyLock;

static TIER: LazyLock<Tiered<u64, u64>> =
    LazyLock::new(|| Tiered::builder(Cache::new(10), MemoryStore::new("t")).build());

#[larder::cached(cache = TIER)]
async fn double(n: u64) -> u64 {
    n * 2
}

// The companions of a `cache = ..` function are async: this fn cannot await them.
#[larder::invalidates(double(n))]
fn forget(n: u64) {}

fn main() {}
