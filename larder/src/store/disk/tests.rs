//! Invariants of the blocking half, without a runtime: the tables agree with each other
//! after every kind of write, eviction approximates LRU, the record format is checked.

use std::path::PathBuf;
use std::time::Duration;

use super::db::Db;
use super::recency::Recency;
use super::tables::decode;
use crate::{Clock, MockClock};

/// A directory of its own (tempfile's, removed on drop), holding a store's file.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("larder-disk-unit-{name}-"))
            .tempdir()
            .expect("create the temp dir");
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.path().join("store.redb")
    }
}

fn open(dir: &TempDir, max_bytes: Option<u64>) -> (Db, MockClock) {
    let (clock, mock): (Clock, MockClock) = Clock::mock();
    let db = Db::open(&dir.file(), clock, max_bytes).expect("open");
    (db, mock)
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|k| k.to_string()).collect()
}

fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}

#[test]
fn the_index_and_the_byte_count_follow_every_write() {
    let dir = TempDir::new("index");
    let (db, mock) = open(&dir, None);
    let one = |k: &str, v: &[u8]| vec![(k.to_string(), v.to_vec())];
    db.set_many("a", &one("k", b"1234"), secs(10)).unwrap();
    db.set_many("a", &one("k", b"12"), secs(20)).unwrap(); // new expiry, new size
    db.set_many("a", &one("n", b"x"), None).unwrap();
    db.set_many("b", &one("k", b"xyz"), secs(5)).unwrap();
    db.check().unwrap();
    assert!(db.expire("a", "n", secs(30)).unwrap());
    assert!(db.expire("a", "k", None).unwrap());
    db.check().unwrap();
    assert_eq!(db.increment("a", "c", 41, secs(1)).unwrap(), 41);
    assert_eq!(db.increment("a", "c", 1, None).unwrap(), 42); // keeps its expiry
    assert!(db.add("a", "new", b"v", secs(1)).unwrap());
    assert!(db.delete("b", "k").unwrap());
    db.check().unwrap();
    let stats = db.stats().unwrap();
    assert_eq!((stats.entries, stats.expiring), (4, 3)); // k (never), n, c, new
    mock.advance(Duration::from_secs(1));
    assert_eq!(db.sweep().unwrap(), 2); // c and new
    db.check().unwrap();
    db.clear("a").unwrap();
    db.check().unwrap();
    assert_eq!(db.stats().unwrap(), super::DiskStats::default());
}

#[test]
fn a_read_deletes_what_it_finds_expired() {
    let dir = TempDir::new("lazy");
    let (db, mock) = open(&dir, None);
    db.set_many("a", &[("k".into(), b"v".to_vec())], secs(1))
        .unwrap();
    mock.advance(Duration::from_secs(1));
    assert_eq!(db.get("a", &keys(&["k"])).unwrap(), [None]);
    assert_eq!(db.stats().unwrap().entries, 0);
    db.check().unwrap();
}

#[test]
fn zero_and_sub_millisecond_ttls() {
    let dir = TempDir::new("ttl");
    let (db, _mock) = open(&dir, None);
    db.set_many("a", &[("k".into(), b"v".to_vec())], None)
        .unwrap();
    // Zero: already expired, so what was there goes.
    db.set_many("a", &[("k".into(), b"w".to_vec())], Some(Duration::ZERO))
        .unwrap();
    assert!(!db.exists("a", "k".into()).unwrap());
    // A microsecond rounds up to a millisecond: stored, not already expired.
    db.set_many(
        "a",
        &[("k".into(), b"w".to_vec())],
        Some(Duration::from_micros(1)),
    )
    .unwrap();
    assert!(db.exists("a", "k".into()).unwrap());
    // A TTL past the end of time never expires, and is not indexed.
    db.set_many("a", &[("far".into(), b"w".to_vec())], Some(Duration::MAX))
        .unwrap();
    db.check().unwrap();
    assert!(db.exists("a", "far".into()).unwrap());
    assert_eq!(db.stats().unwrap().expiring, 1, "only k is indexed");
}

#[test]
fn eviction_keeps_recently_read_entries_beyond_one_sample() {
    let dir = TempDir::new("lru");
    // 200 entries of 15 bytes ("a" + "k000" + 10) fill the cap: far more than one sample of 16.
    let (db, _mock) = open(&dir, Some(3_000));
    let value = vec![7u8; 10];
    for i in 0..200 {
        db.set_many("a", &[(format!("k{i:03}"), value.clone())], None)
            .unwrap();
    }
    // Every tenth entry is read: those are the ones to keep.
    let hot: Vec<String> = (0..200).step_by(10).map(|i| format!("k{i:03}")).collect();
    assert!(db.get("a", &hot).unwrap().iter().all(Option::is_some));
    // 100 new entries (as large) evict 100 old ones.
    for i in 0..100 {
        db.set_many("a", &[(format!("n{i:03}"), value.clone())], None)
            .unwrap();
    }
    let stats = db.stats().unwrap();
    assert_eq!(stats.bytes, 3_000, "{stats:?}");
    assert_eq!(stats.entries, 200);
    let kept = db.get("a", &hot).unwrap();
    assert!(kept.iter().all(Option::is_some), "a hot entry was evicted");
    let new: Vec<String> = (0..100).map(|i| format!("n{i:03}")).collect();
    let new_kept = db.get("a", &new).unwrap().iter().flatten().count();
    assert!(
        new_kept >= 95,
        "only {new_kept} of the 100 newest entries kept"
    );
    db.check().unwrap();
}

#[test]
fn eviction_takes_expired_entries_first() {
    let dir = TempDir::new("expired-first");
    // "old" takes 14 bytes ("a" + "old" + 10), "b", "c" and "d" 12: three fit, not four.
    let (db, mock) = open(&dir, Some(38));
    let ten = vec![1u8; 10];
    db.set_many("a", &[("old".into(), ten.clone())], secs(1))
        .unwrap();
    db.set_many("a", &[("b".into(), ten.clone())], None)
        .unwrap();
    db.set_many("a", &[("c".into(), ten.clone())], None)
        .unwrap();
    mock.advance(Duration::from_secs(1));
    db.set_many("a", &[("d".into(), ten)], None).unwrap();
    let got = db.get("a", &keys(&["b", "c", "d"])).unwrap();
    assert!(got.iter().all(Option::is_some));
    db.check().unwrap();
}

#[test]
fn a_value_over_the_cap_is_not_stored_and_evicts_nothing() {
    let dir = TempDir::new("oversized");
    // "small" takes 56 bytes ("a" + "small" + 50), "big" 54: both fit.
    let (db, _mock) = open(&dir, Some(110));
    db.set_many("a", &[("small".into(), vec![1; 50])], None)
        .unwrap();
    db.set_many("a", &[("big".into(), vec![2; 50])], None)
        .unwrap();
    // 1 + 3 + 107 = 111 bytes: over the cap on its own.
    db.set_many("a", &[("big".into(), vec![3; 107])], None)
        .unwrap();
    assert_eq!(
        db.get("a", &keys(&["small", "big"])).unwrap(),
        [Some(vec![1; 50]), None]
    );
    assert!(db.add("a", "big", &[4; 107], None).unwrap()); // absent: "stored", and gone
    assert!(!db.exists("a", "big".into()).unwrap());
    db.check().unwrap();
}

#[test]
fn a_record_too_short_for_its_expiry_is_an_error_not_a_panic() {
    assert_eq!(
        decode(&[1, 2, 3]).unwrap_err().kind(),
        crate::ErrorKind::Backend
    );
    let mut record = 5u64.to_le_bytes().to_vec();
    assert_eq!(decode(&record).unwrap(), (5, &[][..]));
    record.push(9);
    assert_eq!(decode(&record).unwrap(), (5, &[9][..]));
}

#[test]
fn recency_forgets_its_older_half_past_its_limit() {
    let recency = Recency::new(4);
    for key in [b"a", b"b", b"c", b"d", b"e"] {
        recency.touch(b"ns", key);
    }
    // Five over a limit of four: the older half went, the newest stayed.
    assert!(recency.tracked() <= 3, "{}", recency.tracked());
    let mut candidates = vec![
        (b"ns".to_vec(), b"e".to_vec()),
        (b"ns".to_vec(), b"a".to_vec()),
        (b"ns".to_vec(), b"d".to_vec()),
    ];
    recency.order(&mut candidates);
    let order: Vec<&[u8]> = candidates.iter().map(|(_, k)| k.as_slice()).collect();
    assert_eq!(order, [&b"a"[..], b"d", b"e"]); // a forgotten: least recent
}

#[test]
fn the_same_key_in_two_namespaces_is_two_entries() {
    let dir = TempDir::new("namespaces");
    let (db, _mock) = open(&dir, None);
    db.set_many("a:b", &[("c".into(), b"1".to_vec())], None)
        .unwrap();
    db.set_many("a", &[("b:c".into(), b"2".to_vec())], None)
        .unwrap();
    db.set_many("a\0", &[("x".into(), b"3".to_vec())], None)
        .unwrap();
    db.clear("a").unwrap();
    assert_eq!(db.get("a:b", &keys(&["c"])).unwrap(), [Some(b"1".to_vec())]);
    assert_eq!(db.get("a\0", &keys(&["x"])).unwrap(), [Some(b"3".to_vec())]);
    assert_eq!(db.get("a", &keys(&["b:c"])).unwrap(), [None]);
}

#[test]
fn candidates_deleted_after_they_were_pooled_are_passed_over() {
    let dir = TempDir::new("stale-pool");
    // 20 entries of 16 bytes ("a" + "old00" + 10) fill the cap.
    let (db, _mock) = open(&dir, Some(320));
    let ten = vec![1u8; 10];
    let fill = |prefix: &str| {
        for i in 0..21 {
            db.set_many("a", &[(format!("{prefix}{i:02}"), ten.clone())], None)
                .unwrap();
        }
    };
    // The 21st value evicts one, and leaves candidates in the pool...
    fill("old");
    // ...which all go: deleted, their recency forgotten (which would make them the oldest).
    for i in 0..21 {
        db.delete("a", &format!("old{i:02}")).unwrap();
    }
    assert_eq!(db.stats().unwrap().bytes, 0);
    fill("new");
    let stats = db.stats().unwrap();
    assert_eq!((stats.entries, stats.bytes), (20, 320));
    db.check().unwrap();
}

#[test]
fn a_redb_file_with_only_multimap_tables_is_foreign() {
    let dir = TempDir::new("foreign-multimap");
    {
        let other = redb::Database::create(dir.file()).unwrap();
        let txn = other.begin_write().unwrap();
        let def: redb::MultimapTableDefinition<&str, &str> =
            redb::MultimapTableDefinition::new("theirs");
        txn.open_multimap_table(def)
            .unwrap()
            .insert("a", "b")
            .unwrap();
        txn.commit().unwrap();
    }
    let (clock, _mock) = Clock::mock();
    let err = Db::open(&dir.file(), clock, None).err().expect("foreign");
    assert_eq!(err.kind(), crate::ErrorKind::Backend);
    assert!(err.to_string().contains("not a larder disk store"), "{err}");
    // Their file is left as it was: none of our tables were added.
    let other = redb::Database::create(dir.file()).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&other).unwrap();
    assert_eq!(txn.list_tables().unwrap().count(), 0);
}

#[test]
fn a_read_leaves_expired_entries_to_the_sweep_while_a_writer_is_queued() {
    let dir = TempDir::new("lazy-busy");
    let (db, mock) = open(&dir, None);
    db.set_many("a", &[("k".into(), b"v".to_vec())], secs(1))
        .unwrap();
    mock.advance(Duration::from_secs(1));
    // A writer holds the permit: the read must not queue for redb's writer behind it.
    let permit = db.writers.try_acquire().unwrap();
    assert_eq!(db.get("a", &keys(&["k"])).unwrap(), [None]);
    assert_eq!(db.stats().unwrap().entries, 1, "deleted without the permit");
    drop(permit);
    assert_eq!(db.get("a", &keys(&["k"])).unwrap(), [None]);
    assert_eq!(db.stats().unwrap().entries, 0);
    db.check().unwrap();
}

#[test]
fn a_panicking_blocking_task_is_a_backend_error_that_shows_no_panic_message() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let join = runtime.block_on(async {
        tokio::task::spawn_blocking(|| std::panic::panic_any(String::from("value hunter2"))).await
    });
    let err = super::blocking::join_failed(join.unwrap_err());
    assert_eq!(err.kind(), crate::ErrorKind::Backend);
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        shown.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(shown.contains("panicked"), "{shown}");
    assert!(
        !shown.contains("hunter2"),
        "the panic message leaked: {shown}"
    );
}

/// Writes `record` under ("a", `key`) straight into the file, bypassing the store, and an
/// index row for it if `indexed_at` is given.
fn plant(dir: &TempDir, key: &str, record: &[u8], indexed_at: Option<u64>) {
    use super::tables::{ENTRIES, EXPIRY};
    let file = redb::Database::create(dir.file()).unwrap();
    let txn = file.begin_write().unwrap();
    txn.open_table(ENTRIES)
        .unwrap()
        .insert((&b"a"[..], key.as_bytes()), record)
        .unwrap();
    if let Some(at) = indexed_at {
        txn.open_table(EXPIRY)
            .unwrap()
            .insert((at, &b"a"[..], key.as_bytes()), ())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_corrupt_record_reads_as_an_error_and_can_be_replaced_or_removed() {
    let dir = TempDir::new("corrupt-record");
    drop(open(&dir, None));
    let short = [1u8, 2, 3]; // too short for its expiry
    plant(&dir, "bad", &short, None);
    let (db, mock) = open(&dir, None);
    let backend =
        |r: Result<_, crate::Error>| assert_eq!(r.unwrap_err().kind(), crate::ErrorKind::Backend);
    backend(db.get("a", &keys(&["bad"])).map(drop));
    backend(db.exists("a", "bad".into()).map(drop));
    // Deleted, overwritten, cleared: each repairs it.
    assert!(db.delete("a", "bad").unwrap());
    assert_eq!(db.get("a", &keys(&["bad"])).unwrap(), [None]);
    drop(db);
    plant(&dir, "bad", &short, None);
    let (db, _) = open(&dir, None);
    db.set_many("a", &[("bad".into(), b"good".to_vec())], None)
        .unwrap();
    assert_eq!(
        db.get("a", &keys(&["bad"])).unwrap(),
        [Some(b"good".to_vec())]
    );
    drop(db);
    plant(&dir, "bad", &short, None);
    let (db, _) = open(&dir, None);
    db.clear("a").unwrap();
    assert_eq!(db.stats().unwrap().entries, 0);
    drop(db);
    // The sweep removes one that its index row says is due.
    plant(&dir, "bad", &short, Some(1));
    let (db, mock2) = open(&dir, None);
    mock2.advance(Duration::from_secs(1));
    assert_eq!(db.sweep().unwrap(), 1);
    assert_eq!(db.stats().unwrap(), super::DiskStats::default());
    drop(db);
    // Eviction takes it as any other entry.
    plant(&dir, "bad", &short, None);
    let (db, _) = open(&dir, Some(30));
    for i in 0..10 {
        db.set_many("a", &[(format!("k{i}"), vec![0; 8])], None)
            .unwrap();
    }
    assert!(db.stats().unwrap().bytes <= 30);
    drop((db, mock));
}
