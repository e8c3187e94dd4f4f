//! The `stores` scenario: 100,000 gets from 64 concurrent tasks through `RedisStore`, against
//! the plain redis crate (per-key GETs on one multiplexed connection), `MGET` in batches of
//! 100, and `redis-benchmark -P 16`, all on one Redis server this scenario starts on a
//! loopback port (Debian's `redis-server`; `scripts/services.sh` installs it).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use larder::{RedisStore, Store, Ttl};

use crate::report::{Section, Table, fixed, median};

const PORT: u16 = 17379;
const KEYS: usize = 10_000;
const GETS: usize = 100_000;
const TASKS: usize = 64;
const VALUE: usize = 100;
const REPS: usize = 3;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Option<Server> {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &PORT.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn key(i: usize) -> String {
    format!("k{i}")
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
                    get(key((i * 7919) % KEYS)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    GETS as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// `redis-benchmark -P 16 -t get`: its GET requests per second, in millions.
fn redis_benchmark() -> Option<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &PORT.to_string(), "-h", "127.0.0.1"])
        .args(["-P", "16", "-t", "get", "-n", "1000000", "-c", "64", "-q"])
        .output()
        .ok()?;
    // "GET: 912408.75 requests per second, p50=..."
    let text = String::from_utf8_lossy(&out.stdout);
    // Progress is redrawn with carriage returns: the result is after the last one.
    let line = text
        .lines()
        .filter_map(|l| l.rsplit('\r').next())
        .rev()
        .find(|l| l.starts_with("GET") && l.contains("requests per second"))?;
    let number = line.split_whitespace().nth(1)?;
    number.parse::<f64>().ok().map(|n| n / 1e6)
}

pub(crate) fn run(command: &str) -> Option<Section> {
    let Some(_server) = start_server() else {
        eprintln!(
            "stores: redis-server is not installed (scripts/services.sh installs it); skipped"
        );
        return None;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let url = format!("redis://127.0.0.1:{PORT}");
    let (ours, plain, mget) = rt.block_on(async {
        let store = Arc::new(RedisStore::connect(&url, "bench").await.expect("connects"));
        let value = vec![0x5A; VALUE];
        for i in 0..KEYS {
            store.set(&key(i), &value, Ttl::Never).await.expect("set");
        }
        let client = redis::Client::open(url.as_str()).expect("a URL");
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connects");
        let (mut ours, mut plain, mut mget) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPS {
            let s = Arc::clone(&store);
            ours.push(
                many_tasks(move |k| {
                    let s = Arc::clone(&s);
                    async move {
                        let v = s.get(&k).await.expect("get");
                        assert!(v.is_some());
                    }
                })
                .await,
            );
            let c = conn.clone();
            plain.push(
                many_tasks(move |k| {
                    let mut c = c.clone();
                    async move {
                        let v: Option<Vec<u8>> = redis::cmd("GET")
                            .arg(format!("bench:{k}"))
                            .query_async(&mut c)
                            .await
                            .expect("GET");
                        assert!(v.is_some());
                    }
                })
                .await,
            );
            // MGET in batches of 100 from 64 tasks: keys per second.
            let start = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let mut c = conn.clone();
                    tokio::spawn(async move {
                        let mine: Vec<String> = (t..GETS)
                            .step_by(TASKS)
                            .map(|i| format!("bench:{}", key((i * 7919) % KEYS)))
                            .collect();
                        for chunk in mine.chunks(100) {
                            let v: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                                .arg(chunk)
                                .query_async(&mut c)
                                .await
                                .expect("MGET");
                            assert_eq!(v.len(), chunk.len());
                        }
                    })
                })
                .collect();
            for task in tasks {
                let _ = task.await;
            }
            mget.push(GETS as f64 / start.elapsed().as_secs_f64() / 1e6);
        }
        (median(ours), median(plain), median(mget))
    });
    let pipelined = redis_benchmark();
    let mut section = Section::new("stores", "Stores: RedisStore gets from 64 tasks", command);
    section.para(format!(
        "{GETS} gets of {VALUE}-byte values over {KEYS} keys from {TASKS} tokio tasks (2 worker \
         threads), against one local Redis server started for the run; median of {REPS} runs."
    ));
    let mut table = Table::new(["client", "M gets/s", "RedisStore / it"]);
    table.row([
        "larder `RedisStore::get` (coalesced into MGETs)".to_string(),
        fixed(ours, 3),
        "1.00x".to_string(),
    ]);
    table.row([
        "redis crate, per-key GET, one multiplexed connection".to_string(),
        fixed(plain, 3),
        format!("{}x", fixed(ours / plain, 2)),
    ]);
    table.row([
        "redis crate, MGET in batches of 100 (keys/s)".to_string(),
        fixed(mget, 3),
        format!("{}x", fixed(ours / mget, 2)),
    ]);
    if let Some(p) = pipelined {
        table.row([
            "`redis-benchmark -P 16 -t get`".to_string(),
            fixed(p, 3),
            format!("{}x", fixed(ours / p, 2)),
        ]);
    }
    section.table(&table);
    section.para(format!(
        "**Target: RedisStore at least 1.5x the per-key GETs and at least 80% of MGET.** \
         {:.2}x ({}) and {:.0}% ({}).",
        ours / plain,
        if ours >= 1.5 * plain {
            "met"
        } else {
            "not met"
        },
        100.0 * ours / mget,
        if ours >= 0.8 * mget { "met" } else { "not met" },
    ));
    Some(section)
}
