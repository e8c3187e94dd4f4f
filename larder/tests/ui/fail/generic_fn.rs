#[larder::cached]
async fn f<T: Clone>(n: T) -> T {
    n
}

fn main() {}
