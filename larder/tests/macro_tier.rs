//! `#[larder::cached]` and `#[larder::invalidates]` over tiers: `cache = EXPR` with a
//! `Tiered` the user built, and `store = EXPR`, which builds one over the user's store. A
//! second `Tiered` over the same store plays another process: what it reads is what L2 holds.
//! Each test has cached functions and stores of its own (tests run at once).

#![cfg(feature = "tier")]

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::Cache;
use larder::store::{MemoryStore, Store};
use larder::tier::Tiered;

/// Another process's view of `store`: a tier with an empty L1, under `scope` if given.
fn another_process<V>(store: &MemoryStore, scope: Option<&str>) -> Tiered<u64, V>
where
    V: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let builder = Tiered::builder(Cache::new(100), store.clone());
    match scope {
        Some(scope) => builder.scope(scope).build(),
        None => builder.build(),
    }
}

// ---------------------------------------------------------------------------------------------
// `cache = EXPR`: a `Tiered` the user built.

static SQUARES_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("squares"));
static SQUARES: LazyLock<Tiered<u64, u64>> =
    LazyLock::new(|| Tiered::builder(Cache::new(100), SQUARES_STORE.clone()).build());
static SQUARE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(cache = SQUARES)]
async fn square(n: u64) -> u64 {
    SQUARE_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    n * n
}

#[larder::invalidates(square(n))]
async fn forget_square(n: u64) {
    let _ = n;
}

#[tokio::test(start_paused = true)]
async fn a_tier_passed_as_cache_loads_once_and_fills_both_tiers() {
    // A herd of spawned calls (the wrapper's future is `Send`) runs the body once.
    let calls: Vec<_> = (0..20).map(|_| tokio::spawn(square(7))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 49);
    }
    assert_eq!(SQUARE_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(SQUARES.l1().get(&7), Some(49));
    assert!(
        SQUARES_STORE.exists("v1:7").await.unwrap(),
        "the tier's own layout"
    );
    let other = another_process::<u64>(&SQUARES_STORE, None);
    assert_eq!(
        other.get(&7).await,
        Some(49),
        "another process reads it from L2"
    );

    // A hit is L1's.
    assert_eq!(square(7).await, 49);
    assert_eq!(SQUARE_CALLS.load(Ordering::SeqCst), 1);
    assert!(SQUARES.stats().l1_hits >= 1);

    // An L1 miss is answered by L2, without running the body.
    SQUARES.l1().remove(&7);
    assert_eq!(square(7).await, 49);
    assert_eq!(SQUARE_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(SQUARES.stats().l2_hits, 1);

    // `#[invalidates]` on an async fn removes the key from both tiers.
    forget_square(7).await;
    assert!(!SQUARES.l1().contains_key(&7));
    assert!(!SQUARES_STORE.exists("v1:7").await.unwrap());
    assert_eq!(square(7).await, 49);
    assert_eq!(SQUARE_CALLS.load(Ordering::SeqCst), 2, "loaded again");
}

static CHECKED_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("checked"));
static CHECKED: LazyLock<Tiered<u32, u32>> =
    LazyLock::new(|| Tiered::builder(Cache::new(100), CHECKED_STORE.clone()).build());
static CHECKED_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(cache = CHECKED)]
async fn checked(n: u32) -> Result<u32, String> {
    CHECKED_CALLS.fetch_add(1, Ordering::SeqCst);
    if n == 0 { Err("zero".into()) } else { Ok(n) }
}

static FOUND_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("found"));
static FOUND: LazyLock<Tiered<String, String>> =
    LazyLock::new(|| Tiered::builder(Cache::new(100), FOUND_STORE.clone()).build());
static FOUND_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(cache = FOUND)]
async fn found(name: &str) -> Option<String> {
    FOUND_CALLS.fetch_add(1, Ordering::SeqCst);
    (name != "nobody").then(|| name.to_uppercase())
}

#[tokio::test]
async fn only_ok_and_some_reach_either_tier() {
    assert_eq!(checked(0).await, Err("zero".to_string()));
    assert_eq!(checked(0).await, Err("zero".to_string()));
    assert_eq!(
        CHECKED_CALLS.load(Ordering::SeqCst),
        2,
        "errors are not cached"
    );
    assert!(!CHECKED_STORE.exists("v1:0").await.unwrap());
    assert_eq!(checked(3).await, Ok(3));
    assert_eq!(checked(3).await, Ok(3));
    assert_eq!(CHECKED_CALLS.load(Ordering::SeqCst), 3);
    assert!(CHECKED_STORE.exists("v1:3").await.unwrap());

    assert_eq!(found("nobody").await, None);
    assert_eq!(found("nobody").await, None);
    assert!(!FOUND_STORE.exists("v1:nobody").await.unwrap());
    assert_eq!(found("ada").await.as_deref(), Some("ADA"));
    assert_eq!(found("ada").await.as_deref(), Some("ADA"));
    assert_eq!(FOUND_CALLS.load(Ordering::SeqCst), 3, "None is not cached");
    assert!(FOUND_STORE.exists("v1:ada").await.unwrap());
}

static STAMPS_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("stamps"));
static STAMPS: LazyLock<Tiered<u8, usize>> =
    LazyLock::new(|| Tiered::builder(Cache::new(100), STAMPS_STORE.clone()).build());
static STAMP_CALLS: AtomicUsize = AtomicUsize::new(0);

/// An owned handle, cloned on each call.
#[larder::cached(cache = STAMPS.clone())]
async fn stamp(id: u8) -> usize {
    STAMP_CALLS.fetch_add(1, Ordering::SeqCst) * 100 + usize::from(id)
}

#[tokio::test]
async fn the_async_companions_of_a_passed_tier() {
    let other = another_process::<usize>(&STAMPS_STORE, None);
    let first = stamp(1).await;
    // `_refresh` runs the body afresh and writes both tiers.
    let refreshed = stamp_refresh(1).await;
    assert_ne!(refreshed, first);
    assert_eq!(stamp(1).await, refreshed);
    assert_eq!(
        other.get(&1).await,
        Some(refreshed),
        "L2 has the refreshed value"
    );
    // `_contains` sees either tier, without loading.
    assert!(stamp_contains(1).await);
    STAMPS.l1().remove(&1);
    assert!(stamp_contains(1).await, "still in L2");
    assert!(!stamp_contains(2).await);
    // `_prime` writes both tiers.
    stamp_prime(2, 7).await;
    assert_eq!(stamp(2).await, 7);
    assert!(STAMPS_STORE.exists("v1:2").await.unwrap());
    // `_invalidate` removes from both tiers, and says whether L1 had it.
    assert!(stamp_invalidate(2).await);
    assert!(!STAMPS_STORE.exists("v1:2").await.unwrap());
    assert!(!stamp_contains(2).await);
    // `_invalidate_all` clears both.
    stamp(3).await;
    stamp_invalidate_all().await;
    assert!(!stamp_contains(3).await);
    assert!(!stamp_contains(1).await);
    assert!(STAMPS.l1().is_empty());
}

/// A repository holding its tier: `cache = self.tier`, and `#[invalidates]` by method.
struct Profiles {
    tier: Tiered<u64, String>,
    reads: AtomicUsize,
}

impl Profiles {
    #[larder::cached(cache = self.tier)]
    async fn profile(&self, id: u64) -> String {
        self.reads.fetch_add(1, Ordering::SeqCst);
        format!("profile {id}")
    }

    #[larder::invalidates(Self::profile(self, id))]
    async fn update(&self, id: u64) {
        let _ = id;
    }
}

#[tokio::test]
async fn a_tier_reached_through_self() {
    let store = MemoryStore::new("profiles");
    let profiles = Profiles {
        tier: Tiered::builder(Cache::new(10), store.clone()).build(),
        reads: AtomicUsize::new(0),
    };
    assert_eq!(profiles.profile(1).await, "profile 1");
    assert_eq!(profiles.profile(1).await, "profile 1");
    assert_eq!(profiles.reads.load(Ordering::SeqCst), 1);
    assert!(store.exists("v1:1").await.unwrap());
    profiles.update(1).await;
    assert!(!store.exists("v1:1").await.unwrap());
    assert!(!profiles.profile_contains(1).await);
    profiles.profile(1).await;
    assert_eq!(profiles.reads.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------------
// `store = EXPR`: a tier the macro builds over the user's store, scoped by the function's name.

static APP_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("app"));
static USER_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(store = APP_STORE.clone(), max_capacity = 100, ttl = Duration::from_secs(60))]
async fn user(id: u64) -> String {
    USER_CALLS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    format!("user {id}")
}

#[larder::invalidates(user(id))]
async fn rename_user(id: u64) {
    let _ = id;
}

#[tokio::test(start_paused = true)]
async fn a_tier_built_over_a_store() {
    let calls: Vec<_> = (0..10).map(|_| tokio::spawn(user(1))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "user 1");
    }
    assert_eq!(USER_CALLS.load(Ordering::SeqCst), 1);
    // The documented layout: `{name}/v{version}:{key}` in the store's namespace.
    assert!(APP_STORE.exists("user/v1:1").await.unwrap());
    let other = another_process::<String>(&APP_STORE, Some("user"));
    assert_eq!(other.get(&1).await.as_deref(), Some("user 1"));
    // Another process's write is what this one reads on an L1 miss.
    other.insert(2, "from elsewhere".to_string()).await;
    assert_eq!(user(2).await, "from elsewhere");
    assert_eq!(USER_CALLS.load(Ordering::SeqCst), 1);

    let stats = user_cache().stats();
    assert_eq!(user_cache().name(), "user");
    // One L2 miss (the herd's one read), one L2 hit (key 2).
    assert_eq!((stats.l2_misses, stats.l2_hits), (1, 1));

    rename_user(1).await;
    assert!(!APP_STORE.exists("user/v1:1").await.unwrap());
    // Gone from L2 for every process (`other`'s own L1 copy lives on until invalidations
    // across instances reach it, or its TTL ends: a fresh process shows L2).
    let fresh = another_process::<String>(&APP_STORE, Some("user"));
    assert_eq!(fresh.get(&1).await, None);
    assert_eq!(user(1).await, "user 1");
    assert_eq!(USER_CALLS.load(Ordering::SeqCst), 2);
}

/// A store on a mock clock, to see the TTL its entries were given.
static TTL_CLOCK: LazyLock<(larder::Clock, larder::MockClock)> = LazyLock::new(larder::Clock::mock);
static TTL_STORE: LazyLock<MemoryStore> = LazyLock::new(|| {
    let cache = Cache::builder()
        .max_capacity(100)
        .clock(TTL_CLOCK.0.clone())
        .build();
    MemoryStore::with_cache("ttl", cache)
});

#[larder::cached(store = TTL_STORE.clone(), ttl = Duration::from_secs(60))]
async fn session(id: u64) -> u64 {
    id
}

#[tokio::test]
async fn the_ttl_goes_on_both_tiers() {
    assert_eq!(session(1).await, 1);
    assert!(TTL_STORE.exists("session/v1:1").await.unwrap());
    TTL_CLOCK.1.advance(Duration::from_secs(59));
    assert!(TTL_STORE.exists("session/v1:1").await.unwrap());
    TTL_CLOCK.1.advance(Duration::from_secs(2));
    assert!(
        !TTL_STORE.exists("session/v1:1").await.unwrap(),
        "L2 kept it for the function's TTL"
    );
}

static PAIR_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("pairs"));

/// Several arguments: the key is their tuple, a `&str` as a `String`.
#[larder::cached(store = PAIR_STORE.clone(), version = 3)]
async fn label(kind: &str, id: u32) -> Option<String> {
    (id != 0).then(|| format!("{kind}#{id}"))
}

#[tokio::test]
async fn a_tuple_key_and_a_version() {
    assert_eq!(label("a:b", 7).await.as_deref(), Some("a:b#7"));
    // The tuple's parts are escaped (`:` as `%3A`) and joined with `:`.
    assert!(PAIR_STORE.exists("label/v3:a%3Ab:7").await.unwrap());
    assert_eq!(label("x", 0).await, None);
    assert!(!label_contains("x", 0).await);
    assert!(label_contains("a:b", 7).await);
    label_prime("y", 1, "primed".to_string()).await;
    assert!(PAIR_STORE.exists("label/v3:y:1").await.unwrap());
    assert_eq!(label("y", 1).await.as_deref(), Some("primed"));
    assert_eq!(label_refresh("y", 1).await.as_deref(), Some("y#1"));
    assert_eq!(label("y", 1).await.as_deref(), Some("y#1"));
    label_invalidate_all().await;
    assert!(!PAIR_STORE.exists("label/v3:a%3Ab:7").await.unwrap());
    assert!(!label_contains("y", 1).await);
}

static SHARED_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("shared"));
static ALPHA_CALLS: AtomicUsize = AtomicUsize::new(0);
static BETA_CALLS: AtomicUsize = AtomicUsize::new(0);
static GAMMA_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(store = SHARED_STORE.clone())]
async fn alpha(id: u64) -> String {
    ALPHA_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("alpha {id}")
}

#[larder::cached(store = SHARED_STORE.clone())]
async fn beta(id: u64) -> String {
    BETA_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("beta {id}")
}

/// Named like `alpha`: the same scope, so the same entries, by design.
#[larder::cached(store = SHARED_STORE.clone(), name = "alpha")]
async fn alpha_reader(id: u64) -> String {
    GAMMA_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("reader {id}")
}

#[tokio::test]
async fn functions_sharing_a_store_meet_only_by_name() {
    // Same arguments, different functions: each its own entry.
    assert_eq!(alpha(1).await, "alpha 1");
    assert_eq!(beta(1).await, "beta 1");
    assert_eq!(alpha(1).await, "alpha 1");
    assert_eq!(
        (
            ALPHA_CALLS.load(Ordering::SeqCst),
            BETA_CALLS.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
    assert!(SHARED_STORE.exists("alpha/v1:1").await.unwrap());
    assert!(SHARED_STORE.exists("beta/v1:1").await.unwrap());
    // The same name: `alpha_reader` reads what `alpha` stored, and does not run its body.
    assert_eq!(alpha_reader(1).await, "alpha 1");
    assert_eq!(GAMMA_CALLS.load(Ordering::SeqCst), 0);
    // Removing one function's entry leaves the other's.
    assert!(beta_invalidate(1).await);
    assert!(!SHARED_STORE.exists("beta/v1:1").await.unwrap());
    assert!(SHARED_STORE.exists("alpha/v1:1").await.unwrap());
    assert_eq!(alpha(1).await, "alpha 1");
    assert_eq!(ALPHA_CALLS.load(Ordering::SeqCst), 1);
}

static ZERO_STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::new("zero"));

/// No arguments: the key is `()`, written as nothing.
#[larder::cached(store = ZERO_STORE.clone())]
async fn config() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

#[larder::invalidates(all(config))]
async fn reload_config() {}

#[tokio::test]
async fn a_function_without_arguments() {
    assert_eq!(config().await, ["a", "b"]);
    assert!(ZERO_STORE.exists("config/v1:").await.unwrap());
    reload_config().await;
    assert!(!ZERO_STORE.exists("config/v1:").await.unwrap());
    assert!(!config_contains().await);
}
