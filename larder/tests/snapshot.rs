//! Snapshots of an in-process cache: round trips, TTLs across a restart by the wall clock,
//! files that must be refused (corrupt, truncated, foreign, of a later version, of other
//! types) without loading anything or touching the file, failed saves, and autosave. The
//! `kill -9` test is in `snapshot_kill.rs`.

#![cfg(feature = "snapshot")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use larder::{Cache, Clock, CloseMode, ErrorKind, MockClock, Ttl};

/// A directory of its own (tempfile's, removed on drop), holding a snapshot file.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("larder-snapshot-it-{name}-"))
            .tempdir()
            .expect("create the temp dir");
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.path().join("cache.snapshot")
    }

    /// The names of the files in the directory, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// A mock clock whose wall time reads as 2023-11-14, so that saves have a plausible date.
fn clock() -> (Clock, MockClock) {
    let (clock, mock) = Clock::mock();
    mock.advance(Duration::from_secs(1_700_000_000));
    (clock, mock)
}

fn sorted<K, V>(cache: &Cache<K, V>) -> Vec<(K, V)>
where
    K: std::hash::Hash + Ord + Clone,
    V: Ord + Clone,
{
    let mut all: Vec<_> = cache.iter().collect();
    all.sort();
    all
}

/// A cache of `n` entries `i -> "value i"`, saved to `path`.
async fn saved(path: &Path, n: u64) -> Cache<u64, String> {
    let cache = Cache::builder().max_capacity(10_000).build();
    for i in 0..n {
        cache.insert(i, format!("value {i}"));
    }
    cache.save(path).await.unwrap();
    cache
}

#[tokio::test]
async fn a_saved_cache_restores_every_entry() {
    let dir = Dir::new("round-trip");
    let cache = Cache::builder().max_capacity(10_000).shards(8).build();
    for i in 0..500u64 {
        cache.insert(i, format!("value {i}"));
    }
    let report = cache.save(dir.file()).await.unwrap();
    assert_eq!(report.entries, 500);
    assert_eq!(report.bytes, fs::metadata(dir.file()).unwrap().len());
    assert_eq!(dir.listing(), ["cache.snapshot"], "no temporary file left");

    let restored: Cache<u64, String> = Cache::builder()
        .max_capacity(10_000)
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    assert_eq!(sorted(&restored), sorted(&cache));
}

#[tokio::test]
async fn a_save_replaces_the_previous_snapshot() {
    let dir = Dir::new("replace");
    let cache = saved(&dir.file(), 10).await;
    cache.clear();
    cache.insert(99, "new".to_string());
    cache.save(dir.file()).await.unwrap();

    let restored: Cache<u64, String> = Cache::builder()
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    assert_eq!(sorted(&restored), [(99, "new".to_string())]);
    assert_eq!(dir.listing(), ["cache.snapshot"]);
}

#[test]
fn a_missing_file_builds_an_empty_cache() {
    let dir = Dir::new("missing");
    let cache: Cache<u64, String> = Cache::builder()
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    assert!(cache.is_empty());
    assert!(dir.listing().is_empty(), "restoring creates no file");
}

#[tokio::test]
async fn restore_into_a_cache_replaces_its_keys_and_keeps_the_others() {
    let dir = Dir::new("into");
    let (clock, _mock) = clock();
    let saving = Cache::builder().clock(clock.clone()).build();
    saving.insert(1u64, "saved one".to_string());
    saving.insert(2, "saved two".to_string());
    saving.save(dir.file()).await.unwrap();

    let cache = Cache::builder().clock(clock).build();
    cache.insert(2u64, "live two".to_string());
    cache.insert(3, "live three".to_string());
    let report = cache.restore(dir.file()).await.unwrap();
    assert_eq!((report.restored, report.expired), (2, 0));
    assert_eq!(
        report.saved_at,
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    assert_eq!(
        sorted(&cache),
        [
            (1, "saved one".to_string()),
            (2, "saved two".to_string()),
            (3, "live three".to_string())
        ]
    );

    let missing = cache.restore(dir.0.path().join("none")).await.unwrap();
    assert_eq!((missing.restored, missing.saved_at), (0, None));
}

#[tokio::test]
async fn ttls_resume_after_a_restore_less_the_time_the_process_was_down() {
    let dir = Dir::new("ttl");
    let (clock, mock) = clock();
    let cache = Cache::builder().clock(clock.clone()).build();
    cache.insert_with_ttl(1u64, "one minute".to_string(), Duration::from_secs(60));
    cache.insert_with_ttl(2, "ten minutes".to_string(), Duration::from_secs(600));
    cache.insert_with_ttl(3, "forever".to_string(), Ttl::Never);
    mock.advance(Duration::from_secs(10));
    cache.save(dir.file()).await.unwrap(); // 50 s and 590 s left
    drop(cache);

    mock.advance(Duration::from_secs(20)); // the process is down
    let restored: Cache<u64, String> = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(5)) // not applied to restored entries
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    assert_eq!(restored.len(), 3);

    mock.advance(Duration::from_secs(29)); // 1 s left of 1
    assert!(restored.contains_key(&1));
    mock.advance(Duration::from_secs(1));
    assert!(!restored.contains_key(&1));
    assert!(restored.contains_key(&2));

    mock.advance(Duration::from_secs(590 - 50 - 1)); // 1 s left of 2
    assert!(restored.contains_key(&2));
    mock.advance(Duration::from_secs(1));
    assert!(!restored.contains_key(&2));

    mock.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    assert_eq!(
        restored.get(&3).as_deref(),
        Some("forever"),
        "no TTL stays none"
    );
}

#[tokio::test]
async fn entries_that_expired_while_the_process_was_down_are_dropped() {
    let dir = Dir::new("expired");
    let (clock, mock) = clock();
    let cache = Cache::builder().clock(clock.clone()).build();
    cache.insert_with_ttl(1u64, "short".to_string(), Duration::from_secs(30));
    cache.insert_with_ttl(2, "long".to_string(), Duration::from_secs(300));
    cache.save(dir.file()).await.unwrap();

    mock.advance(Duration::from_secs(30)); // exactly the first one's TTL
    let restored: Cache<u64, String> = Cache::builder().clock(clock).build();
    let report = restored.restore(dir.file()).await.unwrap();
    assert_eq!((report.restored, report.expired), (1, 1));
    assert_eq!(sorted(&restored), [(2, "long".to_string())]);
}

#[tokio::test]
async fn a_wall_clock_set_back_counts_as_no_time_passed() {
    let dir = Dir::new("set-back");
    let (clock, mock) = clock();
    mock.advance(Duration::from_secs(3600));
    let cache = Cache::builder().clock(clock).build();
    cache.insert_with_ttl(1u64, "a".to_string(), Duration::from_secs(60));
    cache.save(dir.file()).await.unwrap();

    let (earlier, earlier_mock) = self::clock(); // an hour before the save
    let restored: Cache<u64, String> = Cache::builder()
        .clock(earlier)
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    earlier_mock.advance(Duration::from_secs(59));
    assert!(restored.contains_key(&1));
    earlier_mock.advance(Duration::from_secs(1));
    assert!(!restored.contains_key(&1));
}

#[tokio::test]
async fn time_to_idle_starts_afresh_on_restore() {
    let dir = Dir::new("idle");
    let (clock, mock) = clock();
    let idle = Duration::from_secs(10);
    let cache = Cache::builder()
        .clock(clock.clone())
        .time_to_idle(idle)
        .build();
    cache.insert(1u64, "a".to_string());
    mock.advance(Duration::from_secs(9));
    cache.save(dir.file()).await.unwrap();
    mock.advance(Duration::from_secs(9));

    let restored: Cache<u64, String> = Cache::builder()
        .clock(clock)
        .time_to_idle(idle)
        .restore_from(dir.file())
        .try_build()
        .unwrap();
    mock.advance(Duration::from_secs(9));
    assert!(restored.contains_key(&1));
    mock.advance(Duration::from_secs(1));
    assert!(!restored.contains_key(&1));
}

/// `path` is refused as `Codec` with a message holding `says`, by `try_build` and by
/// `restore`, which leaves the cache it restores into as it was; the file is left as it was.
async fn assert_refused(path: &Path, says: &str) {
    let before = fs::read(path).unwrap();
    let err = Cache::<u64, String>::builder()
        .restore_from(path)
        .try_build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec, "{err}");
    assert!(
        err.to_string().contains(says),
        "{err:?} should say {says:?}"
    );

    let cache: Cache<u64, String> = Cache::new(100);
    cache.insert(1000, "live".to_string());
    let err = cache.restore(path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec, "{err}");
    assert_eq!(
        sorted(&cache),
        [(1000, "live".to_string())],
        "nothing loaded"
    );
    assert_eq!(
        fs::read(path).unwrap(),
        before,
        "the file is left as it was"
    );
}

#[tokio::test]
async fn a_flipped_byte_anywhere_is_refused() {
    let dir = Dir::new("flip");
    saved(&dir.file(), 50).await;
    let good = fs::read(dir.file()).unwrap();
    let len = good.len();
    let cases = [
        (0, "not a larder snapshot"),
        (7, "not a larder snapshot"),
        (8, "format version"),
        (11, "unknown flags"),
        (12, "corrupt header"), // the save's time
        (20, "corrupt header"), // the entry count
        (30, "corrupt header"), // the body's length
        (40, "corrupt header"), // the body's checksum
        (51, "corrupt header"), // the header's checksum
        (52, "corrupt body"),
        (len / 2, "corrupt body"),
        (len - 1, "corrupt body"),
    ];
    for (at, says) in cases {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        fs::write(dir.file(), &bad).unwrap();
        assert_refused(&dir.file(), says).await;
    }
}

#[tokio::test]
async fn a_truncated_or_extended_file_is_refused() {
    let dir = Dir::new("truncated");
    saved(&dir.file(), 50).await;
    let good = fs::read(dir.file()).unwrap();
    for len in [0, 5, 8, 51, 52, 53, good.len() / 2, good.len() - 1] {
        fs::write(dir.file(), &good[..len]).unwrap();
        assert_refused(&dir.file(), "truncated").await;
    }
    let mut longer = good.clone();
    longer.extend_from_slice(b"more");
    fs::write(dir.file(), &longer).unwrap();
    assert_refused(&dir.file(), "4 bytes after the end of the body").await;
}

#[tokio::test]
async fn foreign_files_are_refused() {
    let dir = Dir::new("foreign");
    // Pseudo-random bytes (a fixed-seed xorshift), not starting with the magic.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR and the rest of an image, long enough for a header";
    for file in [&random[..], &png[..], b"{\"a\": 1}\n"] {
        fs::write(dir.file(), file).unwrap();
        assert_refused(&dir.file(), "not a larder snapshot").await;
    }
}

#[tokio::test]
async fn a_later_format_version_is_refused() {
    let dir = Dir::new("version");
    saved(&dir.file(), 5).await;
    let mut later = fs::read(dir.file()).unwrap();
    later[8..10].copy_from_slice(&2u16.to_le_bytes());
    fs::write(dir.file(), &later).unwrap();
    assert_refused(&dir.file(), "format version 2").await;
}

#[tokio::test]
async fn a_snapshot_of_other_types_is_refused() {
    let dir = Dir::new("types");
    let cache: Cache<u64, u64> = Cache::new(100);
    for i in 0..10 {
        cache.insert(i, u64::MAX - i); // 10-byte varints: no `String` length fits
    }
    cache.save(dir.file()).await.unwrap();
    assert_refused(
        &dir.file(),
        "does not decode as this cache's key and value types",
    )
    .await;
}

#[test]
#[should_panic(expected = "not a larder snapshot")]
fn build_panics_on_a_file_it_cannot_restore() {
    let dir = Dir::new("panic");
    fs::write(dir.file(), b"nonsense").unwrap();
    let _cache: Cache<u64, String> = Cache::builder().restore_from(dir.file()).build();
}

/// A value whose `Serialize` fails when asked to.
#[derive(Clone, Debug)]
struct Fragile(bool);

impl serde::Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 {
            Err(serde::ser::Error::custom("refuses to be encoded"))
        } else {
            serializer.serialize_bool(false)
        }
    }
}

#[tokio::test]
async fn a_failed_save_leaves_the_previous_snapshot_and_no_temporary_file() {
    let dir = Dir::new("failed");
    let cache = Cache::new(100);
    for i in 0..20u64 {
        cache.insert(i, Fragile(false));
    }
    cache.save(dir.file()).await.unwrap();
    let before = fs::read(dir.file()).unwrap();

    cache.insert(20, Fragile(true));
    let err = cache.save(dir.file()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
    assert_eq!(fs::read(dir.file()).unwrap(), before);
    assert_eq!(
        dir.listing(),
        ["cache.snapshot"],
        "the temporary file is removed"
    );

    let err = cache
        .save(dir.0.path().join("no such dir").join("cache.snapshot"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
}

/// Polls `future` once, with no runtime: it must be ready.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("outside a runtime, the work runs on the calling thread"),
    }
}

#[test]
fn save_and_restore_run_on_the_calling_thread_outside_a_runtime() {
    let dir = Dir::new("no-runtime");
    let cache = Cache::new(10);
    cache.insert(1u64, "one".to_string());
    assert_eq!(ready(cache.save(dir.file())).unwrap().entries, 1);
    let restored: Cache<u64, String> = Cache::new(10);
    assert_eq!(ready(restored.restore(dir.file())).unwrap().restored, 1);
    assert_eq!(restored.get(&1).as_deref(), Some("one"));
}

/// The snapshot at `path`, restored into a new cache.
fn restored(path: &Path) -> Vec<(u64, String)> {
    let cache = Cache::builder().restore_from(path).try_build().unwrap();
    sorted(&cache)
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test(start_paused = true)]
async fn autosave_saves_every_period() {
    let dir = Dir::new("autosave");
    let every = Duration::from_secs(60);
    let cache = Cache::builder()
        .autosave(dir.file(), every)
        .try_build()
        .unwrap();
    cache.insert(1u64, "one".to_string());
    assert!(
        dir.listing().is_empty(),
        "nothing saved before the first period"
    );

    // Paused time: the sleeps end at once, after the autosave task has run (tokio does not
    // move paused time on while a blocking task, the save, is running).
    tokio::time::sleep(every + Duration::from_secs(1)).await;
    assert_eq!(restored(&dir.file()), [(1, "one".to_string())]);
    cache.insert(2, "two".to_string());
    tokio::time::sleep(every).await;
    assert_eq!(
        restored(&dir.file()),
        [(1, "one".to_string()), (2, "two".to_string())]
    );
}

#[tokio::test(start_paused = true)]
async fn close_saves_once_more_and_ends_autosave() {
    let dir = Dir::new("autosave-close");
    let before = alive_tasks();
    let every = Duration::from_secs(3600);
    let cache = Cache::builder()
        .autosave(dir.file(), every)
        .try_build()
        .unwrap();
    assert_eq!(alive_tasks(), before + 1, "one autosave task");
    cache.insert(1u64, "one".to_string());
    cache.close(CloseMode::Wait).await;
    assert_eq!(restored(&dir.file()), [(1, "one".to_string())]);

    fs::remove_file(dir.file()).unwrap();
    tokio::time::sleep(every * 3).await;
    assert!(dir.listing().is_empty(), "no save after close");
    assert_eq!(alive_tasks(), before, "the task ended");
    cache.close(CloseMode::Wait).await; // closing twice is harmless
}

#[tokio::test(start_paused = true)]
async fn dropping_the_cache_ends_autosave_without_a_last_save() {
    let dir = Dir::new("autosave-drop");
    let before = alive_tasks();
    let every = Duration::from_secs(60);
    let cache = Cache::builder()
        .autosave(dir.file(), every)
        .try_build()
        .unwrap();
    cache.insert(1u64, "one".to_string());
    drop(cache);
    tokio::time::sleep(every * 3).await;
    assert!(dir.listing().is_empty());
    assert_eq!(alive_tasks(), before, "the task ended");
}

#[test]
fn autosave_settings_that_cannot_work_are_config_errors() {
    let dir = Dir::new("autosave-config");
    let outside = Cache::<u64, String>::builder()
        .autosave(dir.file(), Duration::from_secs(1))
        .try_build()
        .unwrap_err();
    assert_eq!(outside.kind(), ErrorKind::Config);
    assert!(outside.to_string().contains("tokio runtime"), "{outside}");

    let zero = Cache::<u64, String>::builder()
        .autosave(dir.file(), Duration::ZERO)
        .try_build()
        .unwrap_err();
    assert_eq!(zero.kind(), ErrorKind::Config);
    assert!(zero.to_string().contains("interval"), "{zero}");

    let reordered = Cache::<u64, String>::builder()
        .autosave(dir.file(), Duration::from_secs(1))
        .hasher(std::collections::hash_map::RandomState::new())
        .try_build()
        .unwrap_err();
    assert_eq!(reordered.kind(), ErrorKind::Config);
    assert!(
        reordered.to_string().contains("after hasher"),
        "{reordered}"
    );
}
