//! The tag index kept in step with the entries: whatever removes a key (eviction, expiry,
//! `remove`, `clear`, `invalidate_if`, `invalidate_tag`, an untagged store) drops it from the
//! index, so the index never outgrows the cache; and the epochs forget invalidations once no
//! tagged load is in flight. `Cache::tag_index_len` checks the index's invariants too.

use std::future::Future;
use std::time::Duration;

use crate::{Cache, Clock, Policy, Tag, Ttl};

fn tags(names: &[&str]) -> Vec<Tag> {
    names.iter().copied().map(Tag::from).collect()
}

#[test]
fn an_untagged_cache_never_touches_the_index() {
    let cache: Cache<u32, u32> = Cache::new(4);
    for i in 0..10 {
        cache.insert(i, i);
        cache.remove(&(i / 2));
    }
    cache.clear();
    assert_eq!(cache.invalidate_tag("t"), 0);
    assert!(!cache.engine().tags().in_use());
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[test]
fn eviction_drops_keys_from_the_index() {
    let cache: Cache<u32, u32> = Cache::new(8);
    for i in 0..100 {
        cache.insert_with_tags(i, i, [format!("t{}", i % 3), "all".to_string()]);
    }
    assert_eq!(cache.len(), 8);
    let (keys, groups) = cache.tag_index_len();
    assert_eq!(keys, 8);
    assert!(groups <= 4);
    assert_eq!(cache.invalidate_tag("all"), 8);
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[test]
fn expiry_drops_keys_from_the_index_without_a_read() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(100).clock(clock).build();
    for i in 0..10 {
        cache.insert_tagged(i, i, Ttl::After(Duration::from_secs(1)), tags(&["t"]));
    }
    cache.insert_with_tags(100, 100, ["t"]); // never expires
    assert_eq!(cache.tag_index_len(), (11, 1));
    mock.advance(Duration::from_secs(2));
    cache.insert(200, 200); // a write reclaims its shard's expired entries
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.tag_index_len(), (1, 1));
}

#[test]
fn lru_reads_that_reclaim_an_expired_entry_drop_its_tags() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(100)
        .policy(Policy::Lru)
        .clock(clock)
        .build();
    cache.insert_tagged(1, 1, Ttl::After(Duration::from_secs(1)), tags(&["t"]));
    mock.advance(Duration::from_secs(2));
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[test]
fn remove_clear_and_invalidate_if_drop_keys_from_the_index() {
    let cache: Cache<u32, u32> = Cache::new(100);
    for i in 0..10 {
        cache.insert_with_tags(i, i, [format!("t{i}")]);
    }
    cache.remove(&0);
    assert_eq!(cache.tag_index_len(), (9, 9));
    cache.invalidate_if(|k, _| k % 3 == 0);
    assert_eq!(cache.tag_index_len(), (6, 6));
    cache.clear();
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[test]
fn an_untagged_store_or_an_empty_tag_list_clears_the_keys_tags() {
    let cache: Cache<u32, u32> = Cache::new(100);
    cache.insert_with_tags(1, 1, ["a", "b"]);
    cache.insert_with_tags(2, 2, ["a"]);
    cache.insert(1, 10);
    assert_eq!(cache.tag_index_len(), (1, 1));
    cache.insert_with_tags(2, 20, Vec::<Tag>::new());
    assert_eq!(cache.tag_index_len(), (0, 0));
    assert_eq!(cache.invalidate_tag("a"), 0);
    assert_eq!(cache.get(&1), Some(10));
}

#[test]
fn a_rejected_store_leaves_no_index_entry() {
    let cache: Cache<u32, String> = Cache::builder()
        .max_capacity(4)
        .weigher(|_k: &u32, v: &String| v.len() as u32)
        .build();
    cache.insert_with_tags(1, "ab".to_string(), ["t"]);
    cache.insert_with_tags(1, "too heavy".to_string(), ["t"]); // over the capacity
    cache.insert_tagged(2, "a".to_string(), Ttl::After(Duration::ZERO), tags(&["t"]));
    assert!(cache.is_empty());
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[test]
fn duplicate_tags_count_once() {
    let cache: Cache<u32, u32> = Cache::new(10);
    cache.insert_with_tags(1, 1, ["b", "a", "b"]);
    assert_eq!(cache.tags_of(&1), tags(&["a", "b"]));
    assert_eq!(cache.tag_index_len(), (1, 2));
    assert_eq!(cache.invalidate_tag("b"), 1);
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[tokio::test]
async fn a_tagged_load_stores_its_tags_and_the_epochs_forget_it() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let v = cache
        .get_with_tags(1, async { (1, tags(&["x", "y"])) })
        .await;
    assert_eq!(v, 1);
    assert_eq!(cache.tags_of(&1), tags(&["x", "y"]));
    // An untagged load of the key afterwards (here, a refresh) clears them.
    cache.refresh(1, async { 2 }).await;
    assert!(cache.tags_of(&1).is_empty());
    assert_eq!(cache.engine().tags().epochs().in_flight(), 0);
    assert_eq!(cache.tag_records(), 0);
}

#[tokio::test]
async fn the_tiered_hook_loads_with_a_ttl_and_tags() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(10).clock(clock).build();
    let init =
        async { Ok::<_, String>(Some((5, Ttl::After(Duration::from_secs(1)), tags(&["t"])))) };
    let loaded = cache.load_tagged(1, crate::load::LoadOptions::FALLIBLE, init);
    assert_eq!(loaded.await.unwrap(), Some(5));
    assert_eq!(cache.tags_of(&1), tags(&["t"]));
    mock.advance(Duration::from_secs(2));
    assert!(!cache.contains_key(&1));
    cache.insert(2, 2); // reclaims
    assert_eq!(cache.tag_index_len(), (0, 0));
}

#[tokio::test]
async fn a_cancelled_tagged_load_leaves_no_ticket_behind() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    {
        let load = cache.get_with_tags(1, async move {
            let _ = rx.await;
            (1, tags(&["t"]))
        });
        let mut load = std::pin::pin!(load);
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(load.as_mut().poll(cx)));
        assert!(first.await.is_pending());
        assert_eq!(cache.engine().tags().epochs().in_flight(), 1);
        cache.invalidate_tag("t");
        assert_eq!(cache.tag_records(), 1);
    }
    assert_eq!(cache.engine().tags().epochs().in_flight(), 0);
    assert_eq!(cache.tag_records(), 0);
    assert_eq!(cache.loads_in_flight(), 0);
}
