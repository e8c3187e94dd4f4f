#[larder::cached]
fn f(n: u64) -> u64 {
    n
}

fn main() {}
