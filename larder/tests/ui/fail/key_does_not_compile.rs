#[larder::cached(key = (n, missing))]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
