//! `#[larder::cached]` and `#[larder::invalidates]`: the seeds' decorator scenarios (FEATURES
//! #10-#14, #44, #47, #61, #62, #66, #72), on tokio's paused clock.

#![allow(clippy::disallowed_types)] // a std Mutex plays the repository's database

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::{Cache, Policy};
use tokio::time::sleep;

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached(max_capacity = 100)]
async fn slow_square(n: u64) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_millis(50)).await;
    n * n
}

#[tokio::test(start_paused = true)]
async fn a_herd_through_the_macro_runs_the_body_once() {
    // FEATURES #10/#11/#14: 100 concurrent calls of a 50 ms function -> one execution.
    let calls: Vec<_> = (0..100).map(|_| tokio::spawn(slow_square(7))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 49);
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    let s = slow_square_cache().stats();
    assert_eq!((s.misses, s.coalesced, s.size), (100, 99, 1));
    assert_eq!(slow_square(7).await, 49);
    assert_eq!(slow_square_cache().stats().hits, 1);
}

static FALLIBLE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached]
async fn fallible(n: u32) -> Result<u32, String> {
    FALLIBLE_CALLS.fetch_add(1, Ordering::SeqCst);
    if n == 0 { Err("zero".into()) } else { Ok(n) }
}

#[tokio::test]
async fn errors_are_not_cached() {
    // FEATURES #6 through the macro.
    assert_eq!(fallible(0).await, Err("zero".to_string()));
    assert_eq!(fallible(0).await, Err("zero".to_string()));
    assert_eq!(FALLIBLE_CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(fallible(1).await, Ok(1));
    assert_eq!(fallible(1).await, Ok(1));
    assert_eq!(FALLIBLE_CALLS.load(Ordering::SeqCst), 3);
    assert!(fallible_contains(1) && !fallible_contains(0));
}

static FIND_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached]
async fn find(name: &str) -> Option<String> {
    FIND_CALLS.fetch_add(1, Ordering::SeqCst);
    (name != "nobody").then(|| name.to_uppercase())
}

#[tokio::test]
async fn none_is_not_cached_for_an_option() {
    // FEATURES #72: a function returning None runs every time.
    assert_eq!(find("nobody").await, None);
    assert_eq!(find("nobody").await, None);
    assert_eq!(find("ada").await.as_deref(), Some("ADA"));
    assert_eq!(find("ada").await.as_deref(), Some("ADA"));
    assert_eq!(FIND_CALLS.load(Ordering::SeqCst), 3);
}

static BYPASS_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached]
async fn stamp(id: u8) -> usize {
    BYPASS_CALLS.fetch_add(1, Ordering::SeqCst) + usize::from(id)
}

#[tokio::test]
async fn refresh_bypasses_and_stores_and_invalidate_reloads() {
    // FEATURES #61 and #62.
    assert!(
        !stamp_invalidate(1),
        "nothing to invalidate before any call"
    );
    let first = stamp(1).await;
    assert_eq!(stamp(1).await, first);
    let refreshed = stamp_refresh(1).await;
    assert_ne!(refreshed, first, "the body ran again");
    assert_eq!(stamp(1).await, refreshed, "and its result was stored");
    assert!(stamp_invalidate(1));
    assert!(!stamp_contains(1));
    let reloaded = stamp(1).await;
    assert_ne!(reloaded, refreshed);
    stamp_prime(9, 1000);
    assert_eq!(stamp(9).await, 1000);
    assert_eq!(stamp_cache().len(), 2);
    stamp_invalidate_all();
    assert!(stamp_cache().is_empty());
}

#[larder::cached]
async fn probe(id: u8) -> u8 {
    id
}

#[tokio::test]
async fn contains_has_no_side_effects() {
    // FEATURES #66: 10 contains calls change no counters. (Each test has cached functions of
    // its own: tests run at once, and a function's cache is one static.)
    probe_prime(42, 1);
    for _ in 0..10 {
        assert!(probe_contains(42));
    }
    let s = probe_cache().stats();
    assert_eq!((s.hits, s.misses, s.size), (0, 0, 1));
}

#[larder::cached]
async fn counted(n: u8) -> u8 {
    n
}

/// A function that is not async invalidates a generated cache: its companions are sync.
#[larder::invalidates(counted(n))]
fn forget_counted(n: u8) {
    let _ = n;
}

#[larder::invalidates(all(counted))]
fn forget_all_counted() {}

#[tokio::test]
async fn a_sync_function_invalidates_a_generated_cache() {
    counted(1).await;
    counted(2).await;
    forget_counted(1);
    assert!(!counted_contains(1) && counted_contains(2));
    forget_all_counted();
    assert!(counted_cache().is_empty());
}

#[larder::cached(max_capacity = 3, policy = Policy::Lru)]
async fn lru(n: u32) -> u32 {
    n
}

#[tokio::test]
async fn the_lru_order_through_the_macro() {
    // FEATURES #44: maxsize 3, calls 3,4,5 then 3,2,1 -> hits 1, misses 5.
    for n in [3, 4, 5, 3, 2, 1] {
        lru(n).await;
    }
    let s = lru_cache().stats();
    assert_eq!((s.hits, s.misses), (1, 5));
    // FEATURES #47: contains does not touch the LRU order.
    assert!(lru_contains(3));
    lru(6).await; // evicts the least recently used: 3 (2 and 1 came after its hit)
    assert!(!lru_contains(3) && lru_contains(1) && lru_contains(2));
}

#[larder::cached(ttl = Duration::from_secs(60), key = (a.min(b), a.max(b)))]
async fn unordered_pair(a: u32, b: u32) -> u32 {
    a + b
}

#[tokio::test]
async fn a_key_expression_over_the_arguments() {
    assert_eq!(unordered_pair(1, 2).await, 3);
    assert_eq!(unordered_pair(2, 1).await, 3);
    let s = unordered_pair_cache().stats();
    assert_eq!((s.hits, s.misses), (1, 1));
    assert!(unordered_pair_contains(2, 1));
}

/// A repository: its methods are cached, and its writes invalidate them.
struct Users {
    db: std::sync::Mutex<std::collections::HashMap<u64, String>>,
    reads: AtomicUsize,
}

impl Users {
    /// A user's name. `self` is not part of the key: every `Users` shares this cache.
    #[larder::cached(max_capacity = 1_000, skip(self))]
    async fn name(&self, id: u64) -> Option<String> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.db.lock().expect("not poisoned").get(&id).cloned()
    }

    #[larder::invalidates(Self::name(id))]
    async fn rename(&self, id: u64, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("empty name".into());
        }
        self.db
            .lock()
            .expect("not poisoned")
            .insert(id, name.to_string());
        Ok(())
    }
}

#[tokio::test]
async fn methods_and_invalidation_on_writes() {
    let users = Users {
        db: std::sync::Mutex::new([(1, "ada".to_string())].into()),
        reads: AtomicUsize::new(0),
    };
    assert_eq!(users.name(1).await.as_deref(), Some("ada"));
    assert_eq!(users.name(1).await.as_deref(), Some("ada"));
    assert_eq!(users.reads.load(Ordering::SeqCst), 1);
    users.rename(1, "grace").await.unwrap();
    assert_eq!(users.name(1).await.as_deref(), Some("grace"));
    assert_eq!(users.reads.load(Ordering::SeqCst), 2);
    // A failing write has still invalidated.
    assert!(users.rename(1, "").await.is_err());
    assert!(!Users::name_contains(1));
}

static SHARED: std::sync::LazyLock<Cache<u64, u64>> = std::sync::LazyLock::new(|| Cache::new(10));

#[larder::cached(cache = SHARED)]
async fn doubled(n: u64) -> u64 {
    n * 2
}

/// With `cache = ..`, the companions are async (the cache might be tiered), so
/// `#[invalidates]` goes on an async function.
#[larder::invalidates(all(doubled))]
async fn reset_doubles() {}

#[tokio::test]
async fn a_cache_the_user_built() {
    assert_eq!(doubled(4).await, 8);
    assert_eq!(SHARED.get(&4), Some(8));
    reset_doubles().await;
    assert!(SHARED.is_empty());
}

static OWNED: std::sync::LazyLock<Cache<u64, u64>> = std::sync::LazyLock::new(|| Cache::new(10));

/// An owned expression: a handle cloned on each call, kept alive to the end of the call.
#[larder::cached(cache = OWNED.clone())]
async fn tripled(n: u64) -> u64 {
    n * 3
}

#[larder::invalidates(tripled(n))]
async fn forget_triple(n: u64) {
    let _ = n;
}

#[tokio::test]
async fn a_cache_given_as_an_owned_expression() {
    assert_eq!(tripled(2).await, 6);
    assert_eq!(OWNED.get(&2), Some(6));
    assert!(tripled_contains(2).await);
    tripled_prime(3, 10).await;
    assert_eq!(tripled(3).await, 10);
    assert_eq!(tripled_refresh(3).await, 9);
    forget_triple(2).await;
    assert!(!OWNED.contains_key(&2));
    assert!(tripled_invalidate(3).await);
    assert!(!OWNED.contains_key(&3));
    tripled_invalidate_all().await;
    assert!(OWNED.is_empty());
}

// Review regressions: code a user writes that the expansion must take as it is.
#[deny(warnings)]
#[allow(unreachable_pub)] // pub, to reach the items from the test below
mod user_code {
    use larder::Cache;

    /// A `mut` argument, an argument named like the expansion's own locals, a lifetime.
    #[larder::cached]
    pub async fn bump<'a>(mut value: u64, __larder_key: &'a str) -> u64 {
        value += 1;
        value + __larder_key.len() as u64
    }

    #[deprecated = "use bump"]
    #[larder::cached]
    pub async fn old(n: u64) -> u64 {
        n
    }

    /// `self` in a string literal is not `self`.
    #[larder::cached(key = format!("self:{id}"))]
    pub async fn labelled(id: u64) -> String {
        format!("item {id}")
    }

    pub struct Repo<T>(pub std::marker::PhantomData<T>);

    impl<T: Default + Clone + Send + Sync + 'static> Repo<T> {
        /// A generic impl: one cache per `T`.
        #[larder::cached(skip(self))]
        pub async fn get(&self, id: u64) -> T {
            let _ = id;
            T::default()
        }
    }

    pub struct Doubler {
        pub cache: Cache<u64, u64>,
    }

    impl Doubler {
        #[larder::cached(cache = self.cache)]
        pub async fn double(&self, n: u64) -> u64 {
            n * 2
        }

        #[larder::invalidates(Self::profile(&name))]
        pub async fn rename(&self, name: String) -> String {
            name // still ours: the invalidation only borrowed it
        }

        #[larder::cached(skip(self))]
        pub async fn profile(&self, name: String) -> usize {
            name.len()
        }
    }
}

#[tokio::test]
#[allow(deprecated)]
async fn the_expansion_takes_user_code_as_it_is() {
    use user_code::*;
    assert_eq!(bump(1, "ab").await, 4);
    assert!(bump_contains(1, "ab"));
    bump_prime(5, "x", 50);
    assert_eq!(bump(5, "x").await, 50);
    assert_eq!(old(3).await, 3);
    assert_eq!(labelled(2).await, "item 2");
    assert!(labelled_contains(2));
    let (a, b) = (
        Repo::<u32>(Default::default()),
        Repo::<String>(Default::default()),
    );
    assert_eq!(a.get(1).await, 0);
    assert_eq!(b.get(1).await, "");
    assert_eq!(
        Repo::<u32>::get_cache().len(),
        2,
        "one cache per T, counted together"
    );
    let d = Doubler {
        cache: Cache::new(10),
    };
    assert_eq!(d.double(2).await, 4);
    assert_eq!(d.cache.get(&2), Some(4));
    d.double_invalidate_all().await;
    assert!(d.cache.is_empty());
    assert_eq!(d.profile("ada".into()).await, 3);
    assert_eq!(d.rename("ada".into()).await, "ada");
    assert!(!Doubler::profile_contains("ada".to_string()));
}

// Issue 17: a hit is looked up by the borrowed arguments (a single one as itself, two or
// three as a `KeyRef` of them); the owned key is built on a miss only.

/// A key part whose clones are counted: the owned key is made of clones of the owned
/// arguments, so a hit that clones none built no owned key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Counted(u32);

static CLONES: AtomicUsize = AtomicUsize::new(0);

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Counted(self.0)
    }
}

static PAIR_CALLS: AtomicUsize = AtomicUsize::new(0);

#[larder::cached]
async fn pair(tenant: &str, item: Counted) -> String {
    PAIR_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{tenant}/{}", item.0)
}

#[larder::cached]
async fn triple(path: &[u8], item: Counted, n: u32) -> usize {
    path.len() + item.0 as usize + n as usize
}

#[larder::cached]
async fn words(a: String, b: &str) -> usize {
    a.len() + b.len()
}

#[tokio::test]
async fn a_hit_builds_no_owned_key() {
    // The tests of this file run in parallel: this one alone clones a `Counted`.
    assert_eq!(pair("acme", Counted(1)).await, "acme/1");
    let after_miss = CLONES.load(Ordering::SeqCst);
    assert!(after_miss >= 1, "a miss builds the owned key");
    for _ in 0..10 {
        assert_eq!(pair("acme", Counted(1)).await, "acme/1");
    }
    assert_eq!(
        CLONES.load(Ordering::SeqCst),
        after_miss,
        "a hit clones no argument"
    );
    assert_eq!(PAIR_CALLS.load(Ordering::SeqCst), 1);
    let s = pair_cache().stats();
    assert_eq!((s.hits, s.misses), (10, 1));
    // Another tenant is another key.
    assert_eq!(pair("globex", Counted(1)).await, "globex/1");
    assert_eq!(PAIR_CALLS.load(Ordering::SeqCst), 2);
    assert!(pair_contains("acme", Counted(1)) && !pair_contains("acme", Counted(2)));

    // Three arguments: a slice, a counted value, a scalar.
    assert_eq!(triple(b"ab", Counted(3), 4).await, 9);
    let after_miss = CLONES.load(Ordering::SeqCst);
    assert_eq!(triple(b"ab", Counted(3), 4).await, 9);
    assert_eq!(triple("ab".as_bytes(), Counted(3), 4).await, 9);
    assert_eq!(CLONES.load(Ordering::SeqCst), after_miss);
    let s = triple_cache().stats();
    assert_eq!((s.hits, s.misses), (2, 1));
    assert_eq!(triple(b"ab", Counted(3), 5).await, 10);
    assert_eq!(triple_cache().stats().misses, 2);
}

#[tokio::test]
async fn an_owned_string_and_a_str_are_looked_up_borrowed() {
    assert_eq!(words("ab".to_string(), "c").await, 3);
    assert_eq!(words("ab".to_string(), "c").await, 3);
    assert_eq!(words("a".to_string(), "bc").await, 3); // not the same key
    let s = words_cache().stats();
    assert_eq!((s.hits, s.misses), (1, 2));
    let a = "a".to_string();
    assert!(words_contains("ab".to_string(), "c") && words_contains(&a, "bc"));
    assert_eq!(a, "a", "a companion borrows an owned argument");
}

/// The borrowed key a hit is looked up by must hash as the owned key it stands for (the
/// `Equivalent` contract), under the cache's hasher and std's.
#[test]
fn the_borrowed_key_hashes_as_the_owned_key() {
    use std::hash::BuildHasher;

    use larder::{DefaultHashBuilder, KeyRef};

    fn same<Q: std::hash::Hash + ?Sized, K: std::hash::Hash>(borrowed: &Q, owned: &K) {
        let larder = DefaultHashBuilder::default();
        let std = std::collections::hash_map::RandomState::new();
        assert_eq!(larder.hash_one(borrowed), larder.hash_one(owned));
        assert_eq!(std.hash_one(borrowed), std.hash_one(owned));
    }
    let (tenant, path, n) = ("acme", &b"ab"[..], 4_u32);
    let item = Counted(3);
    // One argument: itself.
    same(tenant, &tenant.to_owned());
    same(path, &path.to_owned());
    // Two and three: a `KeyRef` of references, as the expansion writes them.
    // (`Counted(3)` made anew: a clone here would count in `a_hit_builds_no_owned_key`.)
    same(&KeyRef((tenant, &item)), &(tenant.to_owned(), Counted(3)));
    same(
        &KeyRef((path, &item, &n)),
        &(path.to_owned(), Counted(3), n),
    );
    same(&KeyRef(("", "ab")), &(String::new(), "ab".to_owned()));
    // The prefix-free encoding of strings keeps ("a", "bc") and ("ab", "c") apart; both
    // forms agree on each.
    same(&KeyRef(("a", "bc")), &("a".to_owned(), "bc".to_owned()));
    same(&KeyRef(("ab", "c")), &("ab".to_owned(), "c".to_owned()));
}

proptest::proptest! {
    /// Any strings, byte strings and scalars: the borrowed key hashes as the owned one.
    #[test]
    fn any_borrowed_key_hashes_as_its_owned_key(
        a in ".{0,12}",
        b in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        n in proptest::num::u64::ANY,
    ) {
        use std::hash::BuildHasher;
        use larder::{DefaultHashBuilder, KeyRef};
        let h = DefaultHashBuilder::default();
        proptest::prop_assert_eq!(
            h.hash_one(KeyRef((a.as_str(), &b[..]))),
            h.hash_one((a.clone(), b.clone()))
        );
        proptest::prop_assert_eq!(
            h.hash_one(KeyRef((&b[..], &n, a.as_str()))),
            h.hash_one((b, n, a))
        );
    }
}
