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
