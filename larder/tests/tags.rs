//! Tags on the in-process cache: `insert_with_tags`, the tagged loaders and `invalidate_tag`.
//! A tag invalidation that races a load of one of its entries never leaves the load's value
//! cached (the same generation rule as `remove`), and a proptest checks random operations
//! against a plain model. The index's bookkeeping (its size after evictions, expiry, removals)
//! is checked by the unit tests in `src/tags/tests.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;

use larder::{Cache, Clock, Policy, RemovalCause, Tag};
use proptest::prelude::*;
use tokio::sync::oneshot;

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().copied().map(Tag::from).collect()
}

#[test]
fn invalidate_tag_removes_every_entry_with_the_tag_and_no_other() {
    let cache: Cache<u32, u32> = Cache::new(100);
    for i in 0..10 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        cache.insert_with_tags(i, i, [parity, "all"]);
    }
    cache.insert(100, 100);
    assert_eq!(cache.invalidate_tag("even"), 5);
    assert_eq!(cache.len(), 6);
    assert!((0..10).all(|i| cache.contains_key(&i) == (i % 2 == 1)));
    assert_eq!(cache.invalidate_tag("even"), 0);
    assert_eq!(cache.invalidate_tag("missing"), 0);
    assert_eq!(cache.invalidate_tag("all"), 5);
    assert_eq!(cache.get(&100), Some(100));
}

#[test]
fn tags_are_replaced_on_reinsert() {
    let cache: Cache<&str, u32> = Cache::new(100);
    cache.insert_with_tags("a", 1, ["old"]);
    cache.insert_with_tags("a", 2, ["new"]);
    assert_eq!(cache.invalidate_tag("old"), 0);
    assert_eq!(cache.get("a"), Some(2));
    // An insert without tags leaves the key with none.
    cache.insert("a", 3);
    assert_eq!(cache.invalidate_tag("new"), 0);
    assert_eq!(cache.get("a"), Some(3));
    cache.insert_with_ttl("a", 4, Duration::from_secs(60));
    cache.insert_with_tags("a", 5, ["new"]);
    assert_eq!(cache.invalidate_tag("new"), 1);
}

#[tokio::test]
async fn an_untagged_load_replacing_a_tagged_value_leaves_it_untagged() {
    let cache: Cache<u32, u32> = Cache::new(100);
    cache.insert_with_tags(1, 1, ["t"]);
    assert_eq!(cache.refresh(1, async { 2 }).await, 2);
    assert_eq!(cache.invalidate_tag("t"), 0);
    assert_eq!(cache.get(&1), Some(2));
}

#[test]
fn tags_take_str_string_and_tag() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let tag = Tag::from("c");
    cache.insert_with_tags(1, 1, ["a"]);
    cache.insert_with_tags(2, 2, [String::from("b")]);
    cache.insert_with_tags(3, 3, [&tag]);
    cache.insert_with_tags(4, 4, vec![tag.clone()]);
    assert_eq!(cache.invalidate_tag("a"), 1);
    assert_eq!(cache.invalidate_tag(&String::from("b")), 1);
    assert_eq!(cache.invalidate_tag(&tag), 2);
    assert!(cache.is_empty());
    assert_eq!(format!("{tag} {tag:?}"), "c \"c\"");
}

#[test]
fn removed_keys_lose_their_tags() {
    // Eviction, remove and clear (expiry: `an_expired_tagged_entry_…`): a key stored again
    // without tags afterwards is not removed by its old tag.
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(1)
        .policy(Policy::Fifo)
        .build();
    cache.insert_with_tags(1, 1, ["t"]);
    cache.insert(2, 2); // evicts 1
    assert!(!cache.contains_key(&1));
    cache.insert(1, 10); // evicts 2
    assert_eq!(cache.invalidate_tag("t"), 0);
    assert_eq!(cache.get(&1), Some(10));

    cache.insert_with_tags(1, 11, ["t"]);
    cache.remove(&1);
    cache.insert(1, 12);
    assert_eq!(cache.invalidate_tag("t"), 0);

    cache.insert_with_tags(1, 13, ["t"]);
    cache.clear();
    cache.insert(1, 14);
    assert_eq!(cache.invalidate_tag("t"), 0);
}

#[test]
fn an_expired_tagged_entry_is_not_counted_by_invalidate_tag() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(10)
        .time_to_live(Duration::from_secs(1))
        .clock(clock)
        .build();
    cache.insert_with_tags(1, 1, ["t"]);
    cache.insert_with_tags(2, 2, ["t"]);
    mock.advance(Duration::from_secs(2));
    assert_eq!(cache.invalidate_tag("t"), 0);
    assert!(cache.is_empty());
}

#[test]
fn the_listener_hears_a_tag_invalidation_as_explicit() {
    let (tx, rx) = mpsc::channel();
    let cache: Cache<u32, &str> = Cache::builder()
        .max_capacity(10)
        .eviction_listener(move |k, _v, cause| tx.send((k, cause)).unwrap())
        .build();
    cache.insert_with_tags(1, "a", ["t"]);
    cache.insert_with_tags(2, "b", ["u"]);
    assert_eq!(cache.invalidate_tag("t"), 1);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        [(1, RemovalCause::Explicit)]
    );
}

#[tokio::test]
async fn a_tagged_load_stores_its_value_with_its_tags() {
    let cache: Cache<u32, String> = Cache::new(100);
    let v = cache
        .get_with_tags(1, async { ("one".to_string(), tags(&["t"])) })
        .await;
    assert_eq!(v, "one");
    // A hit: the loader does not run.
    let again = cache.get_with_tags(1, async { unreachable!() }).await;
    assert_eq!(again, "one");
    let two = cache
        .try_get_with_tags(2, async {
            Ok::<_, String>(("two".to_string(), tags(&["t"])))
        })
        .await;
    assert_eq!(two.unwrap(), "two");
    assert_eq!(cache.invalidate_tag("t"), 2);
}

/// The race: a tagged load is in flight (held by a oneshot) when one of the tags it will
/// yield is invalidated; then it completes. Its callers, the joiner included, get the value;
/// the cache does not keep it.
#[tokio::test]
async fn a_tag_invalidated_while_its_load_runs_keeps_the_value_out() {
    let cache: Cache<u32, String> = Cache::new(100);
    let (release, hold) = oneshot::channel::<()>();
    let leader = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache
                .get_with_tags(1, async move {
                    hold.await.unwrap();
                    ("stale".to_string(), tags(&["a", "user:1"]))
                })
                .await
        }
    });
    // Wait until the load is in flight: a second caller then joins it.
    while cache.stats().loads == 0 {
        tokio::task::yield_now().await;
    }
    let joiner = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get_with(1, async { unreachable!() }).await }
    });
    while cache.stats().coalesced == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.invalidate_tag("user:1"), 0); // nothing stored yet
    release.send(()).unwrap();
    assert_eq!(leader.await.unwrap(), "stale");
    assert_eq!(joiner.await.unwrap(), "stale");
    assert!(!cache.contains_key(&1), "the stale value was kept");
    // The next call loads afresh, and that value is kept.
    let fresh = cache
        .get_with_tags(1, async { ("fresh".to_string(), tags(&["user:1"])) })
        .await;
    assert_eq!(fresh, "fresh");
    assert_eq!(cache.get(&1).as_deref(), Some("fresh"));
}

#[tokio::test]
async fn a_fallible_tagged_load_follows_the_same_rule() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let (release, hold) = oneshot::channel::<()>();
    let load = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache
                .try_get_with_tags(1, async move {
                    hold.await.unwrap();
                    Ok::<_, String>((1, tags(&["t"])))
                })
                .await
        }
    });
    while cache.stats().loads == 0 {
        tokio::task::yield_now().await;
    }
    cache.invalidate_tag("t");
    release.send(()).unwrap();
    assert_eq!(load.await.unwrap().unwrap(), 1);
    assert!(!cache.contains_key(&1));
}

#[tokio::test]
async fn invalidating_another_tag_or_before_the_load_began_does_not_keep_it_out() {
    let cache: Cache<u32, u32> = Cache::new(100);
    cache.invalidate_tag("t"); // before: irrelevant to a load that begins later
    let (release, hold) = oneshot::channel::<()>();
    let load = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache
                .get_with_tags(1, async move {
                    hold.await.unwrap();
                    (1, tags(&["t"]))
                })
                .await
        }
    });
    while cache.stats().loads == 0 {
        tokio::task::yield_now().await;
    }
    cache.invalidate_tag("other");
    release.send(()).unwrap();
    assert_eq!(load.await.unwrap(), 1);
    assert_eq!(cache.get(&1), Some(1));
}

#[tokio::test]
async fn a_tag_invalidation_keeps_out_a_plain_load_of_a_key_that_carried_it() {
    // As `remove` does: a refresh in flight for a tagged key stores nothing.
    let cache: Cache<u32, u32> = Cache::new(100);
    cache.insert_with_tags(1, 1, ["t"]);
    let (release, hold) = oneshot::channel::<()>();
    let refresh = tokio::spawn({
        let cache = cache.clone();
        async move {
            cache
                .refresh(1, async move {
                    hold.await.unwrap();
                    2
                })
                .await
        }
    });
    while cache.stats().loads == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.invalidate_tag("t"), 1);
    release.send(()).unwrap();
    assert_eq!(refresh.await.unwrap(), 2);
    assert!(!cache.contains_key(&1));
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8),
    InsertWithTags(u8, Vec<u8>),
    Remove(u8),
    InvalidateTag(u8),
    Get(u8),
    Clear,
}

const KEYS: u8 = 12;
const TAGS: u8 = 4;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..KEYS).prop_map(Op::Insert),
        5 => (0..KEYS, proptest::collection::vec(0..TAGS, 0..3))
            .prop_map(|(k, t)| Op::InsertWithTags(k, t)),
        2 => (0..KEYS).prop_map(Op::Remove),
        2 => (0..TAGS).prop_map(Op::InvalidateTag),
        2 => (0..KEYS).prop_map(Op::Get),
        1 => Just(Op::Clear),
    ]
}

fn tag_name(t: u8) -> String {
    format!("tag{t}")
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Random inserts (with and without tags), removals, tag invalidations and clears against
    /// a map of key to (value, tags). With room for every key the cache equals the model;
    /// with less, it holds a subset of it (evictions), and `invalidate_tag` removes exactly the
    /// model's keys with the tag that the cache still held.
    #[test]
    fn tags_match_a_model(
        ops in proptest::collection::vec(op(), 1..80),
        capacity in prop_oneof![Just(u64::from(KEYS)), 1..u64::from(KEYS)],
    ) {
        let cache: Cache<u8, u32> = Cache::builder().max_capacity(capacity).build();
        let mut model: BTreeMap<u8, (u32, BTreeSet<u8>)> = BTreeMap::new();
        let exact = capacity >= u64::from(KEYS);
        for (step, op) in ops.into_iter().enumerate() {
            let value = step as u32;
            match op {
                Op::Insert(k) => {
                    cache.insert(k, value);
                    model.insert(k, (value, BTreeSet::new()));
                }
                Op::InsertWithTags(k, ts) => {
                    cache.insert_with_tags(k, value, ts.iter().map(|&t| tag_name(t)));
                    model.insert(k, (value, ts.into_iter().collect()));
                }
                Op::Remove(k) => {
                    let removed = cache.remove(&k);
                    let expected = model.remove(&k).map(|(v, _)| v);
                    if exact || removed.is_some() {
                        prop_assert_eq!(removed, expected);
                    }
                }
                Op::InvalidateTag(t) => {
                    let doomed: Vec<u8> = model
                        .iter()
                        .filter(|(_, (_, ts))| ts.contains(&t))
                        .map(|(k, _)| *k)
                        .collect();
                    let held = doomed.iter().filter(|k| cache.contains_key(*k)).count();
                    prop_assert_eq!(cache.invalidate_tag(&tag_name(t)), held);
                    for k in doomed {
                        model.remove(&k);
                        prop_assert!(!cache.contains_key(&k));
                    }
                }
                Op::Get(k) => {
                    let got = cache.get(&k);
                    let expected = model.get(&k).map(|(v, _)| *v);
                    if exact || got.is_some() {
                        prop_assert_eq!(got, expected);
                    }
                }
                Op::Clear => {
                    cache.clear();
                    model.clear();
                }
            }
            // Whatever the cache holds, the model holds with the same value.
            for (k, v) in cache.iter() {
                prop_assert_eq!(model.get(&k).map(|(mv, _)| *mv), Some(v));
            }
            if exact {
                prop_assert_eq!(cache.len(), model.len());
            }
        }
    }
}
