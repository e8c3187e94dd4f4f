static NOT_A_CACHE: std::sync::LazyLock<std::collections::HashMap<u64, u64>> =
    std::sync::LazyLock::new(Default::default);

#[larder::cached(cache = NOT_A_CACHE)]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
