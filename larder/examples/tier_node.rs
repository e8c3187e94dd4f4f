//! One instance of a service with a tiered cache (`larder::tier::Tiered<String, String>`: an
//! L1 `Cache` over a Redis, Redis Cluster or Memcached L2), driven by a line protocol on stdin
//! and stdout. `larder/tests/tier_processes.rs` launches several of these as separate OS
//! processes over one shared L2; a person can drive one by hand:
//!
//! ```text
//! cargo run -p larder --all-features --example tier_node -- --redis redis://127.0.0.1:6379
//! ```
//!
//! Arguments (the backend defaults to `$LARDER_REDIS_URL`):
//!
//! ```text
//! --redis URL | --cluster URL[,URL…] | --memcached HOST:PORT[,HOST:PORT…]
//! --namespace NS            the store's namespace (default "tier-node")
//! --name NAME               this instance's name in the values it loads (default: its pid)
//! --lease MS                distributed_lock(MS): one load across processes (default: off)
//! --l1-ttl MS               L1's time to live (default: none)
//! --breaker N,COOLDOWN_MS   circuit_breaker(N, COOLDOWN_MS) (default: the tier's)
//! --l2-timeout MS           l2_timeout(MS) (default: the tier's)
//! ```
//!
//! Once built it prints `ready`, then answers each command with one line:
//!
//! | command | reply |
//! |---|---|
//! | `get K` | `value V` or `none` |
//! | `get_with K DELAY_MS` | `value V` (`try_get_with`; the loader sleeps DELAY_MS, then returns `K:NAME:n`, `n` its call number in this process), or `error KIND` |
//! | `herd K N DELAY_MS` | `value V` when N concurrent `get_with K DELAY_MS` all return V, else `error …` |
//! | `insert K V` | `ok` |
//! | `remove K` | `ok` |
//! | `stats` | the `TierStats` fields as `name=value`, space-separated, then `loads=` (loader calls in this process) |
//! | `quit` | `bye`, and the process exits |
//!
//! Anything else is answered `error …`. Keys and values are single words.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use larder::Cache;
use larder::store::{MemcachedStore, RedisStore};
use larder::tier::{TierStats, Tiered};

/// The tier every command runs on, and what its loader did.
struct Node {
    tier: Tiered<String, String>,
    name: String,
    loads: Arc<AtomicU64>,
}

/// Which L2 to connect to.
enum Backend {
    Redis(String),
    Cluster(Vec<String>),
    Memcached(Vec<String>),
}

/// The command line, parsed.
struct Options {
    backend: Backend,
    namespace: String,
    name: String,
    lease: Option<Duration>,
    l1_ttl: Option<Duration>,
    breaker: Option<(u32, Duration)>,
    l2_timeout: Option<Duration>,
}

fn millis(value: &str) -> Result<Duration, String> {
    value
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| format!("not a number of milliseconds: {value}"))
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::to_string).collect()
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        backend: match std::env::var("LARDER_REDIS_URL") {
            Ok(url) => Backend::Redis(url),
            Err(_) => Backend::Redis(String::new()),
        },
        namespace: "tier-node".to_string(),
        name: std::process::id().to_string(),
        lease: None,
        l1_ttl: None,
        breaker: None,
        l2_timeout: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--redis" => options.backend = Backend::Redis(value),
            "--cluster" => options.backend = Backend::Cluster(list(&value)),
            "--memcached" => options.backend = Backend::Memcached(list(&value)),
            "--namespace" => options.namespace = value,
            "--name" => options.name = value,
            "--lease" => options.lease = Some(millis(&value)?),
            "--l1-ttl" => options.l1_ttl = Some(millis(&value)?),
            "--l2-timeout" => options.l2_timeout = Some(millis(&value)?),
            "--breaker" => {
                let (failures, cooldown) = value
                    .split_once(',')
                    .ok_or("--breaker takes FAILURES,COOLDOWN_MS")?;
                let failures = failures.parse().map_err(|_| "not a failure count")?;
                options.breaker = Some((failures, millis(cooldown)?));
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if matches!(&options.backend, Backend::Redis(url) if url.is_empty()) {
        return Err("no backend: --redis, --cluster, --memcached or $LARDER_REDIS_URL".into());
    }
    Ok(options)
}

async fn build(options: &Options) -> Result<Tiered<String, String>, larder::Error> {
    let mut l1 = Cache::builder().max_capacity(100_000);
    if let Some(ttl) = options.l1_ttl {
        l1 = l1.time_to_live(ttl);
    }
    let l1 = l1.build();
    let ns = &options.namespace;
    let mut builder = match &options.backend {
        Backend::Redis(url) => Tiered::builder(l1, RedisStore::connect(url, ns).await?),
        Backend::Cluster(nodes) => {
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            Tiered::builder(l1, RedisStore::connect_cluster(&nodes, ns).await?)
        }
        Backend::Memcached(servers) => {
            Tiered::builder(l1, MemcachedStore::connect(servers, ns).await?)
        }
    };
    if let Some(lease) = options.lease {
        builder = builder.distributed_lock(lease);
    }
    if let Some((failures, cooldown)) = options.breaker {
        builder = builder.circuit_breaker(failures, cooldown);
    }
    if let Some(timeout) = options.l2_timeout {
        builder = builder.l2_timeout(timeout);
    }
    builder.try_build()
}

impl Node {
    /// `get_with key` whose loader sleeps `delay`, then returns `key:name:n`.
    async fn get_with(&self, key: &str, delay: Duration) -> Result<String, String> {
        let (loads, name, owned) = (self.loads.clone(), self.name.clone(), key.to_string());
        let init = async move {
            let n = loads.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            Ok::<_, std::convert::Infallible>(format!("{owned}:{name}:{n}"))
        };
        self.tier
            .try_get_with(key.to_string(), init)
            .await
            .map_err(|e| format!("error {e:?}"))
    }

    async fn herd(self: &Arc<Self>, key: &str, tasks: usize, delay: Duration) -> String {
        let calls: Vec<_> = (0..tasks)
            .map(|_| {
                let (node, key) = (self.clone(), key.to_string());
                tokio::spawn(async move { node.get_with(&key, delay).await })
            })
            .collect();
        let mut values = std::collections::BTreeSet::new();
        for call in calls {
            match call.await {
                Ok(Ok(value)) => values.insert(value),
                Ok(Err(error)) => return error,
                Err(panicked) => return format!("error task: {panicked}"),
            };
        }
        match values.len() {
            1 => format!("value {}", values.pop_first().unwrap_or_default()),
            _ => format!("error the herd saw {} values: {values:?}", values.len()),
        }
    }

    fn stats(&self) -> String {
        let TierStats {
            l1_hits,
            l2_hits,
            l2_misses,
            l2_errors,
            l2_timeouts,
            l2_skipped,
            l2_write_errors,
            breaker,
            breaker_trips,
            lease_waits,
            lease_timeouts,
            invalidations_sent,
            invalidations_received,
            write_behind_drops,
            ..
        } = self.tier.stats();
        format!(
            "l1_hits={l1_hits} l2_hits={l2_hits} l2_misses={l2_misses} l2_errors={l2_errors} \
             l2_timeouts={l2_timeouts} l2_skipped={l2_skipped} l2_write_errors={l2_write_errors} \
             breaker={breaker:?} breaker_trips={breaker_trips} lease_waits={lease_waits} \
             lease_timeouts={lease_timeouts} invalidations_sent={invalidations_sent} \
             invalidations_received={invalidations_received} \
             write_behind_drops={write_behind_drops} loads={}",
            self.loads.load(Ordering::SeqCst)
        )
    }

    /// Runs one command line; `None` for `quit`.
    async fn run(self: &Arc<Self>, line: &str) -> Option<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let millis = |s: &str| s.parse().map(Duration::from_millis);
        let reply = match words.as_slice() {
            ["get", key] => match self.tier.get(&key.to_string()).await {
                Some(value) => format!("value {value}"),
                None => "none".to_string(),
            },
            ["get_with", key, delay] => match millis(delay) {
                Ok(delay) => match self.get_with(key, delay).await {
                    Ok(value) => format!("value {value}"),
                    Err(error) => error,
                },
                Err(_) => "error DELAY_MS is not a number".to_string(),
            },
            ["herd", key, tasks, delay] => match (tasks.parse(), millis(delay)) {
                (Ok(tasks), Ok(delay)) => self.herd(key, tasks, delay).await,
                _ => "error herd K N DELAY_MS takes two numbers".to_string(),
            },
            ["insert", key, value] => {
                self.tier.insert(key.to_string(), value.to_string()).await;
                "ok".to_string()
            }
            ["remove", key] => {
                self.tier.remove(&key.to_string()).await;
                "ok".to_string()
            }
            ["stats"] => self.stats(),
            ["quit"] => return None,
            _ => format!("error unknown command: {line}"),
        };
        Some(reply)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("tier_node: {error}");
            std::process::exit(2);
        }
    };
    let tier = match build(&options).await {
        Ok(tier) => tier,
        Err(error) => {
            eprintln!("tier_node: cannot build the tier: {error}");
            std::process::exit(1);
        }
    };
    // Redis reports writes by others: serve only once this node hears them (bounded: a
    // store that cannot watch, Memcached, never will).
    if !matches!(options.backend, Backend::Memcached(_)) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !tier.is_watching() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let node = Arc::new(Node {
        tier,
        name: options.name,
        loads: Arc::new(AtomicU64::new(0)),
    });
    // Lines from stdin, read on a thread of their own (std's blocking reads).
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    println!("ready");
    while let Some(line) = lines.recv().await {
        match node.run(&line).await {
            Some(reply) => println!("{reply}"),
            None => break,
        }
    }
    println!("bye");
}
