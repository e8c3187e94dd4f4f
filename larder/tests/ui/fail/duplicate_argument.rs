#[larder::cached(max_capacity = 10, max_capacity = 20)]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
