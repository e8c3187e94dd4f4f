use larder::store::MemoryStore;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Point {
    x: i32,
    y: i32,
}

#[larder::cached(store = MemoryStore::new("points"))]
async fn distance(p: Point) -> u32 {
    p.x.unsigned_abs() + p.y.unsigned_abs()
}

fn main() {}
