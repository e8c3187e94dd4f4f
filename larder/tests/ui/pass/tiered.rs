use larder::Cache;
use larder::store::MemoryStore;
use larder::tier::{TieredFn, Tiered};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("app"));
static TIER: LazyLock<Arc<Tiered<String, String>>> =
    LazyLock::new(|| Arc::new(Tiered::builder(Cache::new(10), STORE.clone()).build()));

/// A `Tiered` behind an `Arc` in a `LazyLock`: auto-deref reaches it.
#[larder::cached(cache = TIER)]
async fn greeting(name: &str) -> Result<String, String> {
    Ok(format!("hello {name}"))
}

#[larder::cached(store = STORE.clone(), ttl = Duration::from_secs(5), max_capacity = 10, version = 2)]
async fn user(id: u64, region: &str) -> Option<String> {
    Some(format!("{region}:{id}"))
}

struct Repo {
    tier: Tiered<u64, u64>,
}

impl Repo {
    #[larder::cached(cache = &self.tier)]
    async fn get(&self, id: u64) -> u64 {
        id
    }

    #[larder::invalidates(Self::get(self, id), user(id, "eu"), all(greeting))]
    async fn put(&self, id: u64) {
        let _ = id;
    }
}

fn main() {
    let _ = greeting("ada");
    let _ = user(1, "eu");
    let _: &'static TieredFn = user_cache();
    let _ = user_invalidate(1, "eu");
    let _ = greeting_contains("ada");
    let repo = Repo {
        tier: Tiered::builder(Cache::new(10), MemoryStore::new("repo")).build(),
    };
    let _ = repo.get(1);
    let _ = repo.put(1);
    let _ = repo.get_invalidate_all();
}
