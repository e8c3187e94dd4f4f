//! Interleavings of tags under shuttle: a tag invalidation racing a tagged load, and tagged
//! writes racing evictions and removals of the same key.
//!
//! Run with `RUSTFLAGS="--cfg larder_shuttle" cargo test -p larder --lib --release shuttle`.

use shuttle::future::{block_on, spawn, yield_now};

use crate::sync::{Arc, AtomicBool, Ordering};
use crate::{Cache, Tag};

fn iterations() -> usize {
    std::env::var("SHUTTLE_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

#[test]
fn shuttle_a_tag_invalidation_races_a_tagged_load() {
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(10);
                let called = Arc::new(AtomicBool::new(false));
                let began_before = Arc::new(AtomicBool::new(false));
                let loader = {
                    let (cache, called, began_before) = (
                        cache.clone(),
                        Arc::clone(&called),
                        Arc::clone(&began_before),
                    );
                    spawn(async move {
                        let init = async move {
                            // The load began (its ticket taken) before this first poll.
                            let before = !called.load(Ordering::SeqCst);
                            began_before.store(before, Ordering::SeqCst);
                            yield_now().await;
                            (7, vec![Tag::from("t")])
                        };
                        cache.get_with_tags(0, init).await
                    })
                };
                let invalidator = {
                    let (cache, called) = (cache.clone(), Arc::clone(&called));
                    spawn(async move {
                        called.store(true, Ordering::SeqCst);
                        cache.invalidate_tag("t")
                    })
                };
                let removed = invalidator.await.expect("not aborted");
                assert_eq!(loader.await.expect("not aborted"), 7);
                // A value whose load began before `invalidate_tag` was called is gone once
                // both are done; one whose load began during it may stay, fresh.
                if began_before.load(Ordering::SeqCst) || removed == 1 {
                    assert!(!cache.contains_key(&0), "a stale value stayed");
                }
                assert_eq!(cache.loads_in_flight(), 0);
                assert_eq!(cache.engine().tags().epochs().in_flight(), 0);
                assert_eq!(cache.tag_records(), 0);
                let (keys, _) = cache.tag_index_len();
                assert_eq!(keys, usize::from(cache.contains_key(&0)));
            });
        },
        iterations(),
    );
}

#[test]
fn shuttle_tagged_writes_race_evictions_and_removals() {
    shuttle::check_random(
        || {
            block_on(async {
                let cache: Cache<u8, u64> = Cache::new(1);
                let tasks = vec![
                    {
                        let cache = cache.clone();
                        spawn(async move { cache.insert_with_tags(0, 1, ["t"]) })
                    },
                    {
                        let cache = cache.clone();
                        spawn(async move { cache.insert(1, 2) }) // may evict key 0
                    },
                    {
                        let cache = cache.clone();
                        spawn(async move { cache.insert_with_tags(0, 3, ["t"]) })
                    },
                    {
                        let cache = cache.clone();
                        spawn(async move {
                            cache.remove(&0);
                        })
                    },
                ];
                for task in tasks {
                    task.await.expect("not aborted");
                }
                // Every key in the index is in the cache (checked by `tag_index_len`), and
                // key 0, stored only with the tag, is found by it whenever it is cached.
                let (keys, _) = cache.tag_index_len();
                let cached = cache.contains_key(&0);
                assert_eq!(keys, usize::from(cached));
                assert_eq!(cache.invalidate_tag("t"), usize::from(cached));
                assert!(!cache.contains_key(&0));
                cache.engine().check_invariants();
            });
        },
        iterations(),
    );
}
