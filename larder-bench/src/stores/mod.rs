//! The `stores` scenario: 100,000 gets from 64 concurrent tasks through larder's remote
//! stores, against their plain clients in the same run, on servers this scenario starts on
//! loopback ports (Debian's `redis-server` and `memcached`; `scripts/services.sh` installs
//! them). One file per server: `redis.rs`, `memcached.rs`.

mod memcached;
mod redis;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::{Section, Table, fixed, median};

const KEYS: usize = 10_000;
const GETS: usize = 100_000;
const TASKS: usize = 64;
const VALUE: usize = 100;
const REPS: usize = 9;

/// A server process of this scenario's own (and the tiers scenario's), killed by its pid when
/// dropped.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Starts `program args…` and waits (up to 5 s) until it listens on `port`.
    pub(crate) fn start(program: &str, args: &[&str], port: u16) -> Option<Server> {
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn key(i: usize) -> String {
    format!("k{i}")
}

/// The key the `i`th get asks for: spread over all keys.
fn key_of_get(i: usize) -> usize {
    (i * 7919) % KEYS
}

/// `GETS` gets spread over `TASKS` tasks; M gets/s.
async fn many_tasks<F, Fut>(get: F) -> f64
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let get = get.clone();
            tokio::spawn(async move {
                for i in (t..GETS).step_by(TASKS) {
                    get(key(key_of_get(i))).await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    GETS as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// `tasks` tasks, each reading its share of the `GETS` keys in multi-key reads of `batch`
/// keys through `read`; M keys/s.
async fn batched_tasks<F, Fut>(tasks: usize, batch: usize, read: F) -> f64
where
    F: Fn(usize, Vec<String>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let read = read.clone();
            tokio::spawn(async move {
                let mine: Vec<String> = (t..GETS)
                    .step_by(tasks)
                    .map(|i| key(key_of_get(i)))
                    .collect();
                for chunk in mine.chunks(batch) {
                    read(t, chunk.to_vec()).await;
                }
            })
        })
        .collect();
    for handle in handles {
        let _ = handle.await;
    }
    GETS as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// `GETS` gets through `store` from `TASKS` tasks, each of a key that is there; M gets/s.
async fn store_gets<S: larder::store::Store>(store: &std::sync::Arc<S>) -> f64 {
    let store = std::sync::Arc::clone(store);
    many_tasks(move |k| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let v = store.get(&k).await.expect("get");
            assert!(v.is_some());
        }
    })
    .await
}

/// The most 64 single-key callers could get from multi-key reads with no per-get work:
/// the best of the ways to keep 64 keys in flight with `read`; M keys/s.
async fn best_with_64_in_flight<F, Fut>(read: F) -> f64
where
    F: Fn(usize, Vec<String>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut best: f64 = 0.0;
    for (tasks, keys) in [(1, 64), (2, 32), (4, 16), (8, 8)] {
        best = best.max(batched_tasks(tasks, keys, read.clone()).await);
    }
    best
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub(crate) fn run(command: &str) -> Option<Section> {
    let mut section = Section::new("stores", "Stores: single gets from 64 tasks", command);
    section.para(format!(
        "{GETS} gets of {VALUE}-byte values over {KEYS} keys from {TASKS} tokio tasks (2 worker \
         threads), against local servers started for the run. Each of {REPS} rounds measures every \
         client of a table once, one after the other, on the same server; a figure is the \
         median over the rounds, and a ratio the median of the ratios within each round (the \
         machine's speed drifts between rounds more than within one)."
    ));
    let redis = redis::measure(&mut section);
    let memcached = memcached::measure(&mut section);
    (redis || memcached).then_some(section)
}

/// Our store's figure (M gets/s) in each round, to compare each other client's with.
struct Rounds {
    ours: Vec<f64>,
}

impl Rounds {
    fn new(ours: Vec<f64>) -> Self {
        Self { ours }
    }

    /// Ours over `other`: the median of the ratios within each round.
    fn ratio(&self, other: &[f64]) -> f64 {
        median(self.ours.iter().zip(other).map(|(o, x)| o / x).collect())
    }

    /// A row of `table`: `label`, the median of `other`, and ours over it.
    fn row(&self, table: &mut Table, label: &str, other: &[f64]) {
        table.row([
            label.to_string(),
            fixed(median(other.to_vec()), 3),
            format!("{}x", fixed(self.ratio(other), 2)),
        ]);
    }

    /// The first row of `table`: ours.
    fn ours_row(&self, table: &mut Table, label: &str) {
        table.row([
            label.to_string(),
            fixed(median(self.ours.clone()), 3),
            "1.00x".to_string(),
        ]);
    }
}

/// Ours over each baseline of the targets, as [`Rounds::ratio`] gives them.
struct Ratios {
    per_key: f64,
    sequential: f64,
    concurrent: f64,
    ceiling: f64,
}

/// The verdict on the targets (at least 1.5x the per-key gets, at least 80% of the
/// batched reads) for `store`, against both batched baselines, and how close it is to what
/// 64 keys in flight allow.
fn target_note(store: &str, single: &str, multi: &str, r: &Ratios) -> String {
    let verdict = |ok: bool| if ok { "met" } else { "not met" };
    format!(
        "**Target: {store} at least 1.5x the per-key {single} and at least 80% of {multi} in \
         batches of 100.** Per-key: {:.2}x ({}). {multi} one batch at a time (the issue's \
         reference figure is of this kind): {:.0}% ({}). {multi} from 64 tasks at once: \
         {:.0}% ({}). 64 single-key callers have at most 64 keys in flight, where 64 tasks \
         of 100-key reads have 6,400: by Little's law no coalescing can beat 64 keys in \
         flight read with multi-key reads and no per-key work at all, the ceiling row; \
         {store} reaches {:.0}% of it.",
        r.per_key,
        verdict(r.per_key >= 1.5),
        100.0 * r.sequential,
        verdict(r.sequential >= 0.8),
        100.0 * r.concurrent,
        verdict(r.concurrent >= 0.8),
        100.0 * r.ceiling,
    )
}
