#[larder::cached]
async fn f(n: u64) -> u64 {
    n
}

#[larder::invalidates(f)]
fn write() {}

fn main() {}
