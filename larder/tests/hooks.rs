//! Hooks (aiocache's plugins): what a cache's and a store's hooks are told, and that a hook
//! that panics never breaks the operation (FEATURES.md §2 #75).

#![allow(clippy::disallowed_types)] // a std Mutex records the hooks' calls in these tests
#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use larder::hooks::{Call, HookKey, Hooks, Op, Outcome};
use larder::store::{Hooked, MemoryStore, Store};
use larder::{Cache, DefaultHashBuilder, ErrorKind, Ttl};

/// What a hook saw: `before`s as `(op, key, None)`, `after`s with their outcome.
type Seen = Vec<(Op, String, Option<Outcome>)>;

/// A hook that records every call, with keys as text (a store's) or `#hash` (a cache's).
#[derive(Default)]
struct Recorder(Mutex<Seen>);

impl Recorder {
    fn take(&self) -> Seen {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn key_text(key: HookKey<'_>) -> String {
    match key {
        HookKey::Str(key) => key.to_string(),
        HookKey::Hash(hash) => format!("#{hash}"),
        _ => unreachable!("no other key kind yet"),
    }
}

impl Hooks for Recorder {
    fn before(&self, call: &Call<'_>) {
        let seen = (call.op, key_text(call.key), None);
        self.0.lock().unwrap().push(seen);
    }

    fn after(&self, call: &Call<'_>, outcome: Outcome, _elapsed: Duration) {
        let seen = (call.op, key_text(call.key), Some(outcome));
        self.0.lock().unwrap().push(seen);
    }
}

/// A hook that panics in both methods.
struct Panicking;

impl Hooks for Panicking {
    fn before(&self, _: &Call<'_>) {
        panic!("a hook's bug, before");
    }

    fn after(&self, _: &Call<'_>, _: Outcome, _: Duration) {
        panic!("a hook's bug, after");
    }
}

/// How a cache with the default hasher shows `key` to its hooks.
fn hashed<K: std::hash::Hash + ?Sized>(hasher: &DefaultHashBuilder, key: &K) -> String {
    format!("#{}", hasher.hash_one(key))
}

#[test]
fn a_cache_tells_its_hooks_of_gets_sets_and_deletes_by_key_hash() {
    let recorder = Arc::new(Recorder::default());
    let hasher = DefaultHashBuilder::default();
    let cache: Cache<String, u32> = Cache::builder()
        .hasher(hasher.clone())
        .hooks(Arc::clone(&recorder))
        .build();
    cache.insert("a".to_string(), 1);
    assert_eq!(cache.get("a"), Some(1));
    assert_eq!(cache.get("b"), None);
    assert_eq!(cache.remove("a"), Some(1));
    assert_eq!(cache.remove("a"), None);
    let (a, b) = (hashed(&hasher, "a"), hashed(&hasher, "b"));
    assert_eq!(
        recorder.take(),
        [
            (Op::Set, a.clone(), None),
            (Op::Set, a.clone(), Some(Outcome::Done)),
            (Op::Get, a.clone(), None),
            (Op::Get, a.clone(), Some(Outcome::Hit)),
            (Op::Get, b.clone(), None),
            (Op::Get, b, Some(Outcome::Miss)),
            (Op::Delete, a.clone(), None),
            (Op::Delete, a.clone(), Some(Outcome::Hit)),
            (Op::Delete, a.clone(), None),
            (Op::Delete, a, Some(Outcome::Miss)),
        ]
    );
}

#[tokio::test]
async fn a_cache_tells_its_hooks_of_the_loads_its_callers_lead() {
    let recorder = Arc::new(Recorder::default());
    let hasher = DefaultHashBuilder::default();
    let cache: Cache<u32, u32> = Cache::builder()
        .hasher(hasher.clone())
        .hooks(Arc::clone(&recorder))
        .build();
    let k = hashed(&hasher, &7u32);
    assert_eq!(cache.get_with(7, async { 70 }).await, 70);
    assert_eq!(
        recorder.take(),
        [
            (Op::Get, k.clone(), None),
            (Op::Get, k.clone(), Some(Outcome::Miss)),
            (Op::Load, k.clone(), None),
            (Op::Load, k.clone(), Some(Outcome::Done)),
        ]
    );
    // A hit: the lookup alone.
    assert_eq!(cache.get_with(7, async { unreachable!() }).await, 70);
    assert_eq!(
        recorder.take(),
        [
            (Op::Get, k.clone(), None),
            (Op::Get, k.clone(), Some(Outcome::Hit))
        ]
    );
    // A loader's error and a loader's "no value".
    let k8 = hashed(&hasher, &8u32);
    let failed = cache.try_get_with(8, async { Err::<u32, _>("down") }).await;
    assert!(failed.is_err());
    let ended: Vec<_> = recorder.take().into_iter().filter_map(|s| s.2).collect();
    assert_eq!(ended, [Outcome::Miss, Outcome::Failed(None)]);
    assert_eq!(cache.optionally_get_with(8, async { None }).await, None);
    let seen = recorder.take();
    assert_eq!(seen.last(), Some(&(Op::Load, k8, Some(Outcome::Miss))));
}

#[tokio::test]
async fn a_panicking_hook_is_contained_and_counted() {
    let cache: Cache<u32, u32> = Cache::builder().hooks(Panicking).build();
    cache.insert(1, 10);
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.get_with(3, async { 30 }).await, 30);
    assert_eq!(cache.remove(&1), Some(10));
    // Each operation went through, and both hooks of each panicked: set, two gets, the
    // get_with's lookup and its load, the remove.
    let stats = cache.stats();
    assert_eq!(stats.hook_panics, 2 * 6);
    assert_eq!((stats.hits, stats.misses, stats.loads), (1, 2, 1));
    assert_eq!(cache.get(&3), Some(30), "the loaded value was stored");
}

#[test]
fn a_cache_without_hooks_counts_no_hook_panics() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.stats().hook_panics, 0);
}

#[tokio::test]
async fn a_hooked_store_tells_each_key_with_its_outcome() {
    let recorder = Arc::new(Recorder::default());
    let store = Hooked::new(MemoryStore::new("ns"), Arc::clone(&recorder));
    store.set("a", b"1", Ttl::Never).await.unwrap();
    store.get_many(&["a", "c"]).await.unwrap();
    assert!(store.delete("a").await.unwrap());
    // Operations without hooks go straight through.
    assert!(!store.exists("a").await.unwrap());
    let s = |k: &str| k.to_string();
    assert_eq!(
        recorder.take(),
        [
            (Op::Set, s("a"), None),
            (Op::Set, s("a"), Some(Outcome::Done)),
            (Op::Get, s("a"), None),
            (Op::Get, s("c"), None),
            (Op::Get, s("a"), Some(Outcome::Hit)),
            (Op::Get, s("c"), Some(Outcome::Miss)),
            (Op::Delete, s("a"), None),
            (Op::Delete, s("a"), Some(Outcome::Hit)),
        ]
    );
    // A failure reaches the hooks with its kind.
    store.close().await.unwrap();
    assert!(store.get("a").await.is_err());
    let ended = recorder.take().pop().unwrap();
    assert_eq!(ended.2, Some(Outcome::Failed(Some(ErrorKind::Closed))));
}

#[tokio::test]
async fn a_hooked_store_survives_a_panicking_hook() {
    let store = Hooked::new(MemoryStore::new("ns"), Panicking);
    store.set("k", b"v", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(store.hook_panics(), 4);
    // The store's own counters see every operation.
    let stats = store.store_stats().unwrap();
    assert_eq!((stats.sets, stats.hits), (1, 1));
}

/// aiocache's HitMissRatioPlugin scenario: set a; get a; get b; multi_get [a, c] -> total 4,
/// hits 2, ratio 0.5.
#[tokio::test]
async fn the_hit_ratio_of_aiocaches_scenario() {
    #[derive(Default)]
    struct Ratio(Mutex<(u64, u64)>);
    impl Hooks for Ratio {
        fn after(&self, call: &Call<'_>, outcome: Outcome, _: Duration) {
            if call.op == Op::Get {
                let mut counts = self.0.lock().unwrap();
                counts.0 += 1;
                counts.1 += u64::from(outcome == Outcome::Hit);
            }
        }
    }
    let ratio = Arc::new(Ratio::default());
    let store = Hooked::new(MemoryStore::new("ratio"), Arc::clone(&ratio));
    store.set("a", b"1", Ttl::Never).await.unwrap();
    store.get("a").await.unwrap();
    store.get("b").await.unwrap();
    store.get_many(&["a", "c"]).await.unwrap();
    let (total, hits) = *ratio.0.lock().unwrap();
    assert_eq!((total, hits), (4, 2));
}

#[cfg(feature = "tokio")] // the default spawner of background refreshes
#[tokio::test(start_paused = true)]
async fn a_revalidating_cache_tells_its_hooks_of_stale_hits() {
    let recorder = Arc::new(Recorder::default());
    let (clock, mock) = larder::Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .time_to_live(Duration::from_secs(10))
        .stale_while_revalidate(Duration::from_secs(60))
        .clock(clock)
        .hooks(Arc::clone(&recorder))
        .build();
    assert_eq!(cache.get_with(1, async { 1 }).await, 1);
    mock.advance(Duration::from_secs(11));
    // Stale: answered at once (a hit), refreshed in the background.
    assert_eq!(cache.get_with(1, async { 2 }).await, 1);
    let gets: Vec<_> = recorder
        .take()
        .into_iter()
        .filter(|seen| seen.0 == Op::Get)
        .filter_map(|seen| seen.2)
        .collect();
    assert_eq!(gets, [Outcome::Miss, Outcome::Hit]);
}

#[test]
fn get_many_and_tagged_inserts_are_told_per_key() {
    let recorder = Arc::new(Recorder::default());
    let cache: Cache<&str, u32> = Cache::builder().hooks(Arc::clone(&recorder)).build();
    cache.insert_with_tags("a", 1, ["t"]);
    assert_eq!(cache.get_many(&["a", "b"]), [Some(1), None]);
    let ended: Vec<_> = recorder
        .take()
        .into_iter()
        .filter_map(|seen| seen.2.map(|outcome| (seen.0, outcome)))
        .collect();
    assert_eq!(
        ended,
        [
            (Op::Set, Outcome::Done),
            (Op::Get, Outcome::Hit),
            (Op::Get, Outcome::Miss)
        ]
    );
}

/// A tiered cache's hooks are its parts': L1's builder and a `Hooked` L2.
#[cfg(feature = "tier")]
#[tokio::test]
async fn a_tiered_cache_is_hooked_through_its_parts() {
    use larder::tier::Tiered;

    let l1_seen = Arc::new(Recorder::default());
    let l2_seen = Arc::new(Recorder::default());
    let l1: Cache<u32, u32> = Cache::builder().hooks(Arc::clone(&l1_seen)).build();
    let l2 = Hooked::new(MemoryStore::new("tier"), Arc::clone(&l2_seen));
    let tiered = Tiered::builder(l1, l2).build();
    assert_eq!(tiered.get_with(1, async { 10 }).await, 10);
    let ended = |recorder: &Recorder| -> Vec<(Op, Outcome)> {
        let seen = recorder.take().into_iter();
        seen.filter_map(|s| s.2.map(|outcome| (s.0, outcome)))
            .collect()
    };
    // L1: a miss, then the tier's load (L2 read, loader, L2 write) as one load.
    assert_eq!(
        ended(&l1_seen),
        [(Op::Get, Outcome::Miss), (Op::Load, Outcome::Done)]
    );
    // L2, by its own keys: the read that missed, then the write.
    let l2_ops = l2_seen.take();
    let ends: Vec<_> = l2_ops.iter().filter(|s| s.2.is_some()).collect();
    assert_eq!(ends.len(), 2, "{l2_ops:?}");
    assert_eq!((ends[0].0, ends[0].1.as_str()), (Op::Get, "v1:1"));
    assert_eq!(ends[0].2, Some(Outcome::Miss));
    assert_eq!((ends[1].0, ends[1].2), (Op::Set, Some(Outcome::Done)));
}
