#[larder::cached]
async fn show(x: impl std::fmt::Debug) -> String {
    format!("{x:?}")
}

fn main() {}
