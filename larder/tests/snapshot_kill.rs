//! `kill -9` during [`Cache::save`] leaves a readable snapshot. A child process (this test
//! binary run again, with an environment variable naming the file) restores a large cache
//! from the file and saves it in a loop, each save of a new generation of every entry. The
//! test kills it with SIGKILL five times, at five depths of its second save (when the
//! temporary file it writes holds 0%, 20%, 40%, 60% and 80% of a snapshot's size), and each
//! time restores the file: it must hold one whole snapshot, the last one the child finished
//! or the one it was writing, never a mix or a part.

#![cfg(feature = "snapshot")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use larder::Cache;

/// Names the snapshot file in the child; unset in the test itself.
const CHILD: &str = "LARDER_SNAPSHOT_KILL_CHILD";
/// Entries in the child's cache: enough for a save to take a while (about 2 MB).
const ENTRIES: u64 = 20_000;
const PAYLOAD: usize = 100;
/// Saves a child makes at most, so that one the test lost track of still ends.
const MAX_SAVES: u64 = 100;
/// The longest the test waits for a line from the child, or for its save to get somewhere.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Every entry of one generation: `key -> (generation, PAYLOAD characters of it)`. (A
/// `String` rather than bytes: serde writes a `Vec<u8>` byte by byte, slowly in a debug
/// build.)
type Entries = Cache<u64, (u64, String)>;

/// The child's body, not a test of its own: it returns at once unless [`CHILD`] is set.
/// Restores the file, then for each next generation rewrites every entry, says
/// `@saving N`, saves, and says `@saved N`.
#[test]
fn child_saving_in_a_loop() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cache: Entries = Cache::builder().restore_from(&path).try_build().unwrap();
        let first = cache.get(&0).map_or(0, |(generation, _)| generation + 1);
        for generation in first..first + MAX_SAVES {
            for key in 0..ENTRIES {
                cache.insert(key, (generation, payload(generation)));
            }
            // stdout is line-buffered: each line reaches the test as it is printed. The `@`
            // sets them apart from the test harness's output, which may share a line.
            println!("@saving {generation}");
            cache.save(&path).await.unwrap();
            println!("@saved {generation}");
        }
    });
}

/// The text of every value of `generation`.
fn payload(generation: u64) -> String {
    let digit = char::from(b'a' + (generation % 26) as u8);
    std::iter::repeat_n(digit, PAYLOAD).collect()
}

/// A running child, killed (and reaped) when dropped, so that a failing test leaves none.
struct Saver {
    child: Child,
    lines: Receiver<String>,
}

impl Saver {
    fn spawn(path: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_saving_in_a_loop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        // Ends when the child's stdout closes, at its death.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The child's next line, waiting at most [`TIMEOUT`].
    fn line(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no line from the child: {e}"))
    }

    /// Waits until the save the child is making has written `bytes` to its temporary file
    /// (beside `target`, named with the child's pid), or has renamed it already, or
    /// [`TIMEOUT`] has passed: a bounded wait for the child to get that far.
    fn wait_for_write(&self, target: &Path, bytes: u64) {
        let dir = target.parent().unwrap();
        let prefix = format!(".cache.snapshot.{}-", self.child.id());
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = false;
        while Instant::now() < deadline {
            let written = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .max();
            match written {
                Some(len) if len >= bytes => return,
                Some(_) => seen = true,
                None if seen => return, // renamed (or removed): the save is done
                None => {}
            }
            std::thread::yield_now();
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), by the child's pid, and reaps it.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "killed, not ended: {status}");
        }
        #[cfg(not(unix))]
        assert!(!status.success());
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kill_9_during_save_leaves_a_readable_snapshot() {
    let dir = tempfile::Builder::new()
        .prefix("larder-snapshot-kill-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("cache.snapshot");
    // The last generation a child said it saved.
    let mut finished = None;
    let mut killed_mid_write = 0;
    for round in 0..5u64 {
        let saver = Saver::spawn(&path);
        // The second save of each child, so that there is always a previous snapshot (the
        // first round's child makes the first one).
        let mut started = 0;
        let writing: u64 = loop {
            let line = saver.line();
            let Some((_, said)) = line.split_once('@') else {
                continue;
            };
            if let Some(generation) = said.strip_prefix("saved ") {
                finished = Some(generation.parse::<u64>().unwrap());
            } else if let Some(generation) = said.strip_prefix("saving ") {
                started += 1;
                if started == 2 {
                    break generation.parse().unwrap();
                }
            }
        };
        let size = std::fs::metadata(&path).unwrap().len();
        saver.wait_for_write(&path, size * round / 5);
        let left_behind = format!(".cache.snapshot.{}-", saver.child.id());
        saver.kill_9();
        if std::fs::read_dir(dir.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&left_behind)
        }) {
            killed_mid_write += 1;
        }

        let cache: Entries = Cache::builder()
            .restore_from(&path)
            .try_build()
            .unwrap_or_else(|e| panic!("round {round}: the snapshot must read: {e}"));
        assert_eq!(
            cache.len() as u64,
            ENTRIES,
            "round {round}: a whole snapshot"
        );
        let generations: BTreeSet<u64> = cache.iter().map(|(_, (g, _))| g).collect();
        assert_eq!(generations.len(), 1, "round {round}: one save's entries");
        let generation = *generations.first().unwrap();
        let finished = finished.unwrap();
        assert!(
            generation == finished || generation == writing,
            "round {round}: generation {generation}, the child had saved {finished} and was \
             writing {writing}"
        );
        assert!(
            cache
                .iter()
                .all(|(_, (_, value))| value == payload(generation)),
            "round {round}: every value whole"
        );
    }
    // How often the kill landed before the rename: informative only, as it depends on timing.
    eprintln!("{killed_mid_write} of 5 kills left their save's temporary file behind");
}
