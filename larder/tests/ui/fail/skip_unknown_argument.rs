#[larder::cached(skip(db))]
async fn f(n: u64) -> u64 {
    n
}

fn main() {}
