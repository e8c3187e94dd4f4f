#[larder::cached(capacity = 10)]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
