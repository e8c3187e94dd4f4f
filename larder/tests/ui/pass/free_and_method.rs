use std::time::Duration;

#[larder::cached(max_capacity = 10, ttl = Duration::from_secs(5), name = "squares")]
async fn square(n: u64) -> u64 {
    n * n
}

struct Repo;

impl Repo {
    #[larder::cached(skip(self))]
    async fn get(&self, id: u64, label: &str) -> Result<String, String> {
        Ok(format!("{label}{id}"))
    }

    #[larder::invalidates(Self::get(id, label), all(square))]
    async fn put(&self, id: u64, label: &str) {
        let _ = (id, label);
    }
}

fn main() {
    let _ = square(2);
    let _ = Repo.get(1, "a");
    let _ = Repo.put(1, "a");
    let _: &'static larder::CachedFn = square_cache();
    let _: bool = Repo::get_contains(1, "a");
}
