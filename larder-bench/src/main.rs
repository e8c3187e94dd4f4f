//! larder's benchmarks: `cargo run --release -p larder-bench -- <scenario>`.
fn main() {}
