static CACHE: std::sync::LazyLock<larder::Cache<u64, u64>> =
    std::sync::LazyLock::new(|| larder::Cache::new(10));

#[larder::cached(cache = CACHE, ttl = std::time::Duration::from_secs(1))]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
