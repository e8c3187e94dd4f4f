static CACHE: std::sync::LazyLock<larder::Cache<u64, u64>> =
    std::sync::LazyLock::new(|| larder::Cache::new(10));

#[larder::cached(cache = CACHE, store = larder::store::MemoryStore::new("x"))]
async fn f(n: u64) -> u64 {
    n
}

#[larder::cached(version = 2)]
async fn g(n: u64) -> u64 {
    n
}

fn main() {}
