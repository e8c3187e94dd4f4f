//! The lookups and writes moka users expect (issue 17 §6): `peek`, `ttl`, `expire`,
//! `insert_many`, lookups by `Equivalent`, the entry API, `get_with_by_ref`, the lazy `iter`
//! and loaders that borrow.

use std::sync::mpsc;
use std::time::Duration;

use larder::{Cache, Clock, Policy, RemovalCause, Ttl};

#[test]
fn peek_counts_nothing_and_is_no_use_for_lru() {
    let cache = Cache::builder().max_capacity(2).policy(Policy::Lru).build();
    cache.insert(1, "a");
    cache.insert(2, "b");
    assert_eq!(cache.peek(&1), Some("a")); // not a use: 1 stays the least recent
    assert_eq!(cache.peek(&3), None);
    cache.insert(3, "c");
    assert!(!cache.contains_key(&1));
    assert!(cache.contains_key(&2));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, 0));
}

#[test]
fn peek_does_not_push_back_an_idle_deadline() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_idle(Duration::from_secs(10))
        .build();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(6));
    assert_eq!(cache.peek(&1), Some(1));
    mock.advance(Duration::from_secs(6));
    assert_eq!(cache.peek(&1), None);
}

#[test]
fn ttl_reports_the_remaining_time_or_max_or_none() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(100))
        .build();
    cache.insert(1, 1);
    cache.insert_with_ttl(2, 2, Ttl::Never);
    mock.advance(Duration::from_secs(40));
    assert_eq!(cache.ttl(&1), Some(Duration::from_secs(60)));
    assert_eq!(cache.ttl(&2), Some(Duration::MAX));
    assert_eq!(cache.ttl(&3), None);
    mock.advance(Duration::from_secs(60));
    assert_eq!(cache.ttl(&1), None); // expired
    assert_eq!(cache.stats().hits + cache.stats().misses, 0);
}

#[test]
fn ttl_with_time_to_idle_is_the_earlier_deadline() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(100))
        .time_to_idle(Duration::from_secs(10))
        .build();
    cache.insert(1, 1);
    cache.insert_with_ttl(2, 2, Ttl::Never);
    mock.advance(Duration::from_secs(4));
    assert_eq!(cache.ttl(&1), Some(Duration::from_secs(6)));
    assert_eq!(cache.ttl(&2), Some(Duration::from_secs(6)));
    assert_eq!(cache.get(&1), Some(1)); // a read pushes the idle deadline back
    assert_eq!(cache.ttl(&1), Some(Duration::from_secs(10)));
}

#[test]
fn expire_changes_a_live_entrys_deadline_in_place() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(10))
        .build();
    cache.insert_with_tags(1, "a", ["t"]);
    assert!(cache.expire(&1, Duration::from_secs(100)));
    mock.advance(Duration::from_secs(50));
    assert_eq!(cache.get(&1), Some("a"));
    assert_eq!(cache.ttl(&1), Some(Duration::from_secs(50)));
    // Shortened: gone when the new deadline passes, as an expiry.
    assert!(cache.expire(&1, Duration::from_secs(5)));
    mock.advance(Duration::from_secs(5));
    assert_eq!(cache.get(&1), None);
    assert!(!cache.expire(&1, Duration::from_secs(5)));
}

#[test]
fn expire_to_never_default_and_zero() {
    let (tx, rx) = mpsc::channel();
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(10))
        .eviction_listener(move |k: u32, _v: u32, cause| tx.send((k, cause)).unwrap())
        .build();
    cache.insert_with_ttl(1, 1, Ttl::Never);
    cache.insert(2, 2);
    assert!(cache.expire(&1, Ttl::Default));
    assert_eq!(cache.ttl(&1), Some(Duration::from_secs(10)));
    assert!(cache.expire(&2, Ttl::Never));
    mock.advance(Duration::from_secs(3600));
    assert_eq!(cache.get(&2), Some(2));
    assert!(cache.expire(&2, Duration::ZERO)); // removes it
    assert!(!cache.contains_key(&2));
    let events: Vec<_> = rx.try_iter().collect();
    assert!(events.contains(&(2, RemovalCause::Expired)), "{events:?}");
}

#[test]
fn insert_many_inserts_in_order_and_evicts_as_insert_does() {
    let cache = Cache::new(100);
    cache.insert_many((0..10).map(|i| (i, i * 2)));
    cache.insert_many(vec![(3, 0), (3, 33)]);
    assert_eq!(cache.len(), 10);
    assert_eq!(cache.get(&3), Some(33));
    assert_eq!(cache.get(&9), Some(18));
    let small = Cache::new(4);
    small.insert_many((0..100).map(|i| (i, i)));
    assert_eq!(small.len(), 4);
}

/// `(tenant, user)`, borrowed: hashes as `(String, String)` does.
#[derive(Hash)]
struct UserRef<'a>(&'a str, &'a str);

impl larder::Equivalent<(String, String)> for UserRef<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

fn user(tenant: &str, name: &str) -> (String, String) {
    (tenant.to_string(), name.to_string())
}

#[test]
fn a_composite_key_is_probed_by_its_borrowed_twin() {
    // Enough entries for several shards, so the twin's hash must pick the right one.
    let cache = Cache::builder().max_capacity(100_000).shards(16).build();
    for i in 0..1000 {
        cache.insert(user("acme", &i.to_string()), i);
    }
    for i in 0..1000 {
        let name = i.to_string();
        assert_eq!(cache.get(&UserRef("acme", &name)), Some(i));
    }
    assert!(cache.contains_key(&UserRef("acme", "7")));
    assert!(!cache.contains_key(&UserRef("acme", "1000")));
    assert!(!cache.contains_key(&UserRef("other", "7")));
    assert_eq!(cache.peek(&UserRef("acme", "8")), Some(8));
    assert!(cache.ttl(&UserRef("acme", "8")).is_some());
    assert!(cache.expire(&UserRef("acme", "8"), Ttl::Never));
    assert_eq!(cache.remove(&UserRef("acme", "9")), Some(9));
    assert_eq!(cache.get(&user("acme", "9")), None);
    assert_eq!(cache.len(), 999);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1000, 1));
}

#[test]
fn borrowed_forms_still_work_through_the_blanket_impl() {
    let cache = Cache::new(10);
    cache.insert("k".to_string(), 1);
    cache.insert_with_tags("t".to_string(), 2, ["tag"]);
    assert_eq!(cache.get("k"), Some(1));
    assert_eq!(cache.get(&"k".to_string()), Some(1));
    assert_eq!(cache.remove("t"), Some(2)); // a tagged key, removed by &str
    assert_eq!(cache.invalidate_tag("tag"), 0);
    let bytes: Cache<Vec<u8>, u8> = Cache::new(10);
    bytes.insert(vec![1, 2], 3);
    assert_eq!(bytes.get(&[1u8, 2][..]), Some(3));
}

#[test]
fn or_insert_with_inserts_once_and_tells_fresh_from_found() {
    let cache = Cache::new(10);
    let mut runs = 0;
    let first = cache.entry("k".to_string()).or_insert_with(|| {
        runs += 1;
        1
    });
    assert!(first.is_fresh());
    assert_eq!((first.key().as_str(), *first.value()), ("k", 1));
    let second = cache.entry("k".to_string()).or_insert_with(|| {
        runs += 1;
        2
    });
    assert!(!second.is_fresh());
    assert_eq!(second.into_value(), 1);
    assert_eq!(runs, 1);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[test]
fn or_insert_with_keeps_a_value_stored_while_init_ran() {
    let cache = Cache::new(10);
    // `init` may call the cache: no lock is held while it runs.
    let entry = cache.entry(1).or_insert_with(|| {
        cache.insert(1, "theirs");
        "mine"
    });
    assert!(!entry.is_fresh());
    assert_eq!(entry.into_value(), "theirs");
    assert_eq!(cache.get(&1), Some("theirs"));
}

#[test]
fn or_insert_with_treats_an_expired_entry_as_absent() {
    let (clock, mock) = Clock::mock();
    let cache = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(1))
        .build();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(2));
    let entry = cache.entry(1).or_insert(2);
    assert!(entry.is_fresh());
    assert_eq!(cache.get(&1), Some(2));
}

#[test]
fn and_compute_with_counts_without_losing_increments() {
    let cache: Cache<String, u64> = Cache::new(100);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..500 {
                    let key = format!("k{}", i % 5);
                    cache
                        .entry(key)
                        .and_compute_with(|n| larder::Op::Put(n.map_or(1, |n| n + 1)));
                }
            });
        }
    });
    let total: u64 = (0..5).map(|i| cache.get(&format!("k{i}")).unwrap()).sum();
    assert_eq!(total, 2000);
    assert_eq!(cache.get("k0"), Some(400));
}

#[test]
fn and_compute_with_reports_each_outcome_and_tells_the_listener() {
    use larder::{Computed, Op};
    let (tx, rx) = mpsc::channel();
    let cache = Cache::builder()
        .max_capacity(10)
        .eviction_listener(move |k: u32, v: u32, cause| tx.send((k, v, cause)).unwrap())
        .build();
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Nop),
        Computed::StillAbsent
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Remove),
        Computed::StillAbsent
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|v| {
            assert_eq!(v, None);
            Op::Put(10)
        }),
        Computed::Inserted(10)
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Nop),
        Computed::Unchanged(10)
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|v| Op::Put(v.unwrap() + 1)),
        Computed::Replaced(11)
    );
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Remove),
        Computed::Removed(11)
    );
    assert!(cache.is_empty());
    let events: Vec<_> = rx.try_iter().collect();
    assert_eq!(
        events,
        [
            (1, 10, RemovalCause::Replaced),
            (1, 11, RemovalCause::Explicit)
        ]
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, 0));
}

#[test]
fn and_compute_with_drops_the_keys_tags_and_respects_the_capacity() {
    use larder::Op;
    let cache = Cache::new(3);
    cache.insert_with_tags(1, 1, ["t"]);
    cache
        .entry(1)
        .and_compute_with(|v| Op::Put(v.unwrap() * 10));
    assert_eq!(cache.invalidate_tag("t"), 0); // the Put took the tags away
    assert_eq!(cache.get(&1), Some(10));
    for k in 2..10 {
        cache.entry(k).and_compute_with(|_| Op::Put(k));
    }
    assert_eq!(cache.len(), 3);
}

#[tokio::test]
async fn and_compute_with_remove_stops_a_load_in_flight_from_storing() {
    use larder::Op;
    let cache: Cache<u32, u32> = Cache::new(10);
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let loader = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_with(1, async move {
                    started_tx.send(()).unwrap();
                    wait.await.unwrap();
                    1
                })
                .await
        })
    };
    started.await.unwrap(); // the load is in flight
    cache.insert(1, 0);
    cache.entry(1).and_compute_with(|_| Op::Remove);
    go.send(()).unwrap();
    assert_eq!(loader.await.unwrap(), 1);
    assert_eq!(cache.get(&1), None);
}

#[tokio::test]
async fn get_with_by_ref_loads_on_a_miss_and_answers_a_hit_without_loading() {
    let cache: Cache<String, usize> = Cache::new(10);
    let name = String::from("ada");
    let first = cache.get_with_by_ref(name.as_str(), async { 3 }).await;
    assert_eq!(first, 3);
    assert_eq!(cache.get("ada"), Some(3));
    let again = cache
        .get_with_by_ref("ada", async { unreachable!("a hit runs no loader") })
        .await;
    assert_eq!(again, 3);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 1));
}

#[tokio::test]
async fn get_with_by_ref_shares_one_load_between_callers() {
    let cache: Cache<String, u32> = Cache::new(10);
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let leader = cache.get_with_by_ref("k", async move {
        wait.await.unwrap();
        1
    });
    let follower = cache.get_with_by_ref("k", async { unreachable!("joins the leader") });
    let (a, b, ()) = tokio::join!(leader, follower, async { go.send(()).unwrap() });
    assert_eq!((a, b), (1, 1));
    assert_eq!(cache.stats().coalesced, 1);
}

#[test]
fn iter_is_lazy_shard_by_shard_and_sees_every_live_entry() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(100_000)
        .shards(8)
        .clock(clock)
        .build();
    for k in 0..1000 {
        cache.insert(k, k);
    }
    cache.insert_with_ttl(5000, 5, Duration::from_secs(1));
    mock.advance(Duration::from_secs(2)); // 5000 expires: never listed
    let mut iter = cache.iter();
    assert_eq!(iter.size_hint(), (0, None));
    let first = iter.next().unwrap();
    // Only the first non-empty shard was read: about an eighth of the entries.
    let (buffered, _) = iter.size_hint();
    assert!(buffered < 1000 - 1, "{buffered}");
    let mut all: Vec<u32> = iter.map(|(k, _)| k).collect();
    all.push(first.0);
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
}

#[test]
fn iter_shows_writes_to_shards_it_has_not_reached() {
    let cache: Cache<u32, u32> = Cache::builder().max_capacity(100_000).shards(8).build();
    // 64 keys fill every shard (all but one in a trillion), so the first item comes from the
    // first shard the iterator reads, whatever the hasher's seed.
    for k in 0..64 {
        cache.insert(k, k);
    }
    let mut iter = cache.iter();
    assert!(iter.next().is_some());
    // Keys inserted now land in shards not read yet, or in the one already read.
    for k in 64..263 {
        cache.insert(k, k);
    }
    let later = iter.filter(|&(k, _)| k >= 64).count();
    assert!(later > 0 && later < 199, "{later}");
}

#[test]
fn iter_can_be_held_across_an_await_in_a_send_future() {
    fn is_send<T: Send>(_: &T) {}
    let cache: Cache<u32, u32> = Cache::new(10);
    let fut = async {
        let mut iter = cache.iter();
        tokio::task::yield_now().await;
        iter.next()
    };
    is_send(&fut);
}

/// A stand-in for a database handle whose queries borrow it.
struct Db {
    rows: Vec<String>,
}

impl Db {
    async fn get(&self, pool: &Pool, id: usize) -> Result<String, String> {
        pool.queries.set(pool.queries.get() + 1);
        self.rows
            .get(id)
            .cloned()
            .ok_or_else(|| format!("no row {id}"))
    }
}

/// Not `Sync`: a loader borrowing it is not `Send`.
struct Pool {
    queries: std::cell::Cell<u32>,
}

#[tokio::test]
async fn local_loaders_borrow_locals_and_need_not_be_send() {
    let db = Db {
        rows: vec!["zero".into(), "one".into()],
    };
    let pool = Pool {
        queries: std::cell::Cell::new(0),
    };
    let cache: Cache<usize, String> = Cache::new(10);
    for _ in 0..2 {
        let id = 1;
        let row = cache
            .get_with_local(id, async { db.get(&pool, id).await.unwrap() })
            .await;
        assert_eq!(row, "one");
    }
    assert_eq!(pool.queries.get(), 1); // the second call was a hit
    let missing = cache
        .try_get_with_local(9, async { db.get(&pool, 9).await })
        .await;
    assert_eq!(**missing.unwrap_err().loader_error().unwrap(), "no row 9");
    assert!(!cache.contains_key(&9));
    let found = cache.try_get_with_local(0, db.get(&pool, 0)).await;
    assert_eq!(found.unwrap(), "zero");
}

#[test]
fn a_local_loader_that_is_send_gives_a_send_future() {
    fn is_send<T: Send>(_: &T) {}
    let cache: Cache<u32, String> = Cache::new(10);
    let prefix = String::from("user ");
    let fut = cache.get_with_local(1, async { format!("{prefix}1") });
    is_send(&fut);
}

#[tokio::test]
async fn local_and_static_loaders_share_one_load() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let local = 5;
    let leader = cache.get_with(1, async move {
        wait.await.unwrap();
        1
    });
    let follower = cache.get_with_local(1, async { local });
    let (a, b, ()) = tokio::join!(leader, follower, async { go.send(()).unwrap() });
    assert_eq!((a, b), (1, 1));
    assert_eq!(cache.stats().coalesced, 1);
}

// Stale-while-revalidate needs a spawner: the default one is tokio's.
#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn a_local_loader_reloads_a_stale_entry_in_the_foreground() {
    let (clock, mock) = Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(10))
        .stale_while_revalidate(Duration::from_secs(60))
        .build();
    cache.insert(1, 1);
    mock.advance(Duration::from_secs(11)); // stale, within the grace
    let reloaded = cache.get_with_local(1, async { 2 }).await;
    assert_eq!(reloaded, 2);
    assert_eq!(cache.get(&1), Some(2));
}

#[tokio::test]
async fn try_get_with_by_ref_caches_values_and_not_errors() {
    let cache: Cache<String, u32> = Cache::new(10);
    let failed = cache
        .try_get_with_by_ref("k", async { Err::<u32, _>("down") })
        .await;
    assert_eq!(**failed.unwrap_err().loader_error().unwrap(), "down");
    assert!(!cache.contains_key("k"));
    let loaded = cache
        .try_get_with_by_ref("k", async { Ok::<_, &str>(1) })
        .await;
    assert_eq!(loaded.unwrap(), 1);
    let hit = cache
        .try_get_with_by_ref("k", async { Err::<u32, &str>("not called") })
        .await;
    assert_eq!(hit.unwrap(), 1);
}

#[test]
fn key_ref_probes_tuple_keys_in_every_shard() {
    use larder::KeyRef;
    let cache = Cache::builder().max_capacity(100_000).shards(16).build();
    for i in 0..500u32 {
        cache.insert((format!("t{}", i % 7), i.to_string()), i);
    }
    for i in 0..500u32 {
        let (tenant, name) = (format!("t{}", i % 7), i.to_string());
        assert_eq!(
            cache.get(&KeyRef((tenant.as_str(), name.as_str()))),
            Some(i)
        );
    }
    assert!(!cache.contains_key(&KeyRef(("t0", "1"))));
    assert_eq!(cache.remove(&KeyRef(("t1", "1"))), Some(1));
    let triples: Cache<(String, u64, Vec<u8>), u8> = Cache::builder().shards(8).build();
    triples.insert(("a".to_string(), 9, vec![1, 2]), 5);
    assert_eq!(triples.peek(&KeyRef(("a", &9u64, &[1u8, 2][..]))), Some(5));
    assert_eq!(triples.get(&KeyRef(("a", &9u64, &[1u8][..]))), None);
}
