//! `tier_node` processes (`larder/examples/tier_node.rs`) driven from a test: each is a
//! separate OS process with its own tiered cache over a shared L2, spoken to by lines on its
//! stdin and stdout, and killed by its pid when dropped.
//!
//! Cargo gives tests the path of binaries (`CARGO_BIN_EXE_…`) but not of examples, so the
//! binary is found next to the test's own: `target/<profile>/examples/tier_node`. `cargo test`
//! and `cargo nextest run` without `--test` build it; with `--test tier_processes`, build it
//! first (`cargo build -p larder --all-features --example tier_node`). A binary older than
//! larder's sources fails the test rather than test old code.

#![allow(dead_code)] // each test drives its own part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime};

/// The longest a node may take to start or to answer one command: a bound that turns a hung
/// node into a failure, not a timing assertion.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// The path of the `tier_node` example, built with the tests and not older than larder's
/// sources (a binary left from before a change would test the old code).
fn binary() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED.get_or_init(find_binary).clone()
}

fn find_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/tier_processes-<hash> → target/<profile>/examples/tier_node
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("tier_node{}", std::env::consts::EXE_SUFFIX));
    let rebuild = "build it with `cargo build -p larder --all-features --example tier_node` \
                   (`cargo test` and `cargo nextest run` build it unless given `--test`)";
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {rebuild}", path.display()));
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = [
        crate_dir.join("src"),
        crate_dir.join("examples/tier_node.rs"),
        crate_dir.join("Cargo.toml"),
    ];
    if let Some(newer) = sources.iter().find_map(|source| newer_than(source, built)) {
        panic!(
            "{} is older than {}: {rebuild}",
            path.display(),
            newer.display()
        );
    }
    path
}

/// A file at or under `path` modified after `time`.
fn newer_than(path: &Path, time: SystemTime) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(Result::ok)
            .find_map(|entry| newer_than(&entry.path(), time))
    } else {
        (meta.modified().ok()? > time).then(|| path.to_path_buf())
    }
}

/// One `tier_node` process.
pub(crate) struct Node {
    pub(crate) name: String,
    child: Child,
    stdin: ChildStdin,
    /// Its stdout, line by line, read on a thread of its own.
    lines: mpsc::Receiver<String>,
    /// The commands sent and not answered yet, for failure messages.
    pending: Vec<String>,
}

impl Node {
    /// Starts `tier_node --name NAME args…` without waiting for it: see [`start`].
    fn spawn(name: &str, args: &[String]) -> Self {
        let mut child = Command::new(binary())
            .args(["--name", name])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts tier_node");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Its stderr goes to the test's output (captured, shown on failure).
        let label = name.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{label}] {line}");
            }
        });
        Self {
            name: name.to_string(),
            child,
            stdin,
            lines,
            pending: vec!["(start)".to_string()],
        }
    }

    /// Sends one command without waiting for its reply (to start the same command on several
    /// nodes at once); [`reply`](Self::reply) reads it.
    pub(crate) fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("{}: cannot send {command:?}: {e}", self.name));
        self.pending.push(command.to_string());
    }

    /// The reply to the oldest command not answered yet, within [`REPLY_WAIT`].
    pub(crate) fn reply(&mut self) -> String {
        let command = self.pending.first().cloned().unwrap_or_default();
        match self.lines.recv_timeout(REPLY_WAIT) {
            Ok(line) => {
                self.pending.remove(0);
                line
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{}: no reply to {command:?} within {REPLY_WAIT:?}",
                self.name
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().ok();
                panic!(
                    "{}: exited ({status:?}) before replying to {command:?}",
                    self.name
                )
            }
        }
    }

    /// Sends `command` and returns its reply.
    pub(crate) fn call(&mut self, command: &str) -> String {
        self.send(command);
        self.reply()
    }

    /// `get_with key 0`, which must answer with a value: the value.
    pub(crate) fn get_with(&mut self, key: &str) -> String {
        let reply = self.call(&format!("get_with {key} 0"));
        match reply.strip_prefix("value ") {
            Some(value) => value.to_string(),
            None => panic!("{}: get_with {key}: {reply}", self.name),
        }
    }

    /// The node's `TierStats`, and its loader calls as `loads`.
    pub(crate) fn stats(&mut self) -> Stats {
        let reply = self.call("stats");
        let fields = reply
            .split_whitespace()
            .filter_map(|field| field.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>();
        assert!(
            fields.contains_key("loads"),
            "{}: stats: {reply}",
            self.name
        );
        Stats(fields)
    }

    /// Polls `command` on this node until its reply is `expected`, for at most `bound`; the
    /// replies seen on the way. For what arrives asynchronously (an invalidation), never to
    /// wait out a time.
    pub(crate) fn poll_until(
        &mut self,
        command: &str,
        expected: &str,
        bound: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + bound;
        let mut seen = Vec::new();
        loop {
            let reply = self.call(command);
            if reply == expected {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {command:?} still answers {reply:?} after {bound:?}, not {expected:?} \
                 (replies on the way: {seen:?})",
                self.name
            );
            if seen.last() != Some(&reply) {
                seen.push(reply);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // By its pid (SIGKILL); reaped so that no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one node per name with the same `args`, all at once, and waits until each has
/// built its tier (`ready`).
pub(crate) fn start(names: &[&str], args: &[String]) -> Vec<Node> {
    let mut nodes: Vec<Node> = names.iter().map(|name| Node::spawn(name, args)).collect();
    for node in &mut nodes {
        let ready = node.reply();
        assert_eq!(ready, "ready", "{}: did not start", node.name);
    }
    nodes
}

/// A node's counters, from its `stats` reply.
#[derive(Debug)]
pub(crate) struct Stats(BTreeMap<String, String>);

impl Stats {
    /// A counter's value.
    pub(crate) fn count(&self, name: &str) -> u64 {
        let value = self.field(name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a count"))
    }

    /// A field as it was printed (`breaker=Open`).
    pub(crate) fn field(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.0))
    }
}
