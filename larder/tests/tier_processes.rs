//! Tiers across OS processes: several `tier_node` processes (`larder/examples/tier_node.rs`),
//! each a `Tiered<String, String>` of its own, over one Redis, Redis Cluster or Memcached that
//! the test starts on loopback (a port of its own per test, so tests run in parallel):
//!
//! - a herd on one cold key across the processes makes one loader call in total with the
//!   lease, and at most one per process without; a lease holder that dies holds the others
//!   up only until its lease ends;
//! - a `remove` in one process, and a write by a plain Redis client, stop every other process
//!   from serving the old value (Redis and Redis Cluster: invalidations by `CLIENT TRACKING`);
//! - with Memcached, which has no invalidation, an instance serves its L1 copy until the L1
//!   TTL ends, and the new value after (the staleness bound);
//! - killing Redis mid-test: every read still answers (from L1 or the loader), without an
//!   error, and the breaker opens; once Redis is back, L2 answers again.
//!
//! Every wait is bounded: a node answers each command within 10 s (`nodes::REPLY_WAIT`), and
//! what arrives asynchronously (an invalidation, a reconnect) is polled for up to a fixed
//! bound. A missing `redis-server`/`memcached` skips the tests outside CI.

#![cfg(all(feature = "tier", feature = "redis-cluster", feature = "memcached"))]
#![allow(clippy::unwrap_used)] // a failed setup fails the test

mod nodes;
#[path = "faults/server.rs"]
mod server;

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use larder::store::{MemcachedStore, RedisStore, Store};
use nodes::{Node, start};
use redis::AsyncCommands;
use server::{Scratch, Server};

/// How long an invalidation may take to reach another process before the test fails. The
/// promise is "within one push-message delivery", asynchronous, well under a millisecond on
/// loopback; this bound only keeps a delivery that never comes from hanging the test.
const DELIVERY_BOUND: Duration = Duration::from_secs(5);

/// How long a process may take to use L2 again once Redis is back: the breaker's cooldown
/// (300 ms here), then the store's reconnect with its backoff.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// The namespace every node of a test shares.
const NS: &str = "procs";

/// The lease of the key `dead`, in the tier's documented layout (`v{n}!lease:{key}`).
const LEASE_OF_DEAD: &str = "v1!lease:dead";

const FOUR: [&str; 4] = ["n0", "n1", "n2", "n3"];

/// A redis-server of the test's own on `port` (`None`, reported, when not installed).
async fn redis(port: u16, dir: Option<&Scratch>) -> Option<Server> {
    let server = server::redis(port, dir, &[]).await;
    if server.is_none() {
        server::missing("redis-server");
    }
    server
}

fn redis_url(server: &Server) -> String {
    format!("redis://127.0.0.1:{}", server.port)
}

/// `tier_node` arguments: the backend, the shared namespace, then `extra`.
fn args(backend: &str, address: &str, extra: &[&str]) -> Vec<String> {
    [backend, address, "--namespace", NS]
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect()
}

/// The Redis key of a tier entry: the store's namespace, then the tier's `v1:{key}` layout.
fn entry_key(key: &str) -> String {
    format!("{NS}:v1:{key}")
}

/// A Redis Cluster of three primaries of the test's own.
struct Cluster {
    servers: Vec<Server>,
    _dirs: Vec<Scratch>,
}

impl Cluster {
    /// Starts the servers, joins them with `redis-cli --cluster create`, and waits (bounded)
    /// until each reports `cluster_state:ok`; `None`, reported, when Redis is not installed.
    ///
    /// Its ports, and its nodes' bus ports, are free ones the system picks: a fixed port in
    /// the ephemeral range (a bus port is the port + 10,000 by default) can be taken by any
    /// client connection meanwhile.
    async fn start() -> Option<Self> {
        let ports: [u16; 3] = std::array::from_fn(|_| server::free_port());
        let mut servers = Vec::new();
        let mut dirs = Vec::new();
        for port in ports {
            let dir = Scratch::new("tier-cluster");
            let path = dir.path().display().to_string();
            let bus = server::free_port().to_string();
            let extra = [
                "--cluster-port",
                &bus,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--dir",
                &path,
                "--appendonly",
                "no",
            ];
            let Some(server) = server::redis(port, None, &extra).await else {
                server::missing("redis-server");
                return None;
            };
            servers.push(server);
            dirs.push(dir);
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("runs redis-cli");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        // Until every node agrees the cluster is up: a setup wait, bounded (10 s).
        for port in ports {
            let url = format!("redis://127.0.0.1:{port}");
            let mut conn = redis::Client::open(url.as_str())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster not up after 10 s: {info}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some(Self {
            servers,
            _dirs: dirs,
        })
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(redis_url).collect()
    }
}

/// Sends `herd KEY 250 300` to every node at once (250 concurrent `get_with` each, a 300 ms
/// loader, so that the processes' loads overlap) and returns each node's reply, then the
/// loader calls of all nodes together.
fn herd(nodes: &mut [Node], key: &str) -> (Vec<String>, u64) {
    for node in nodes.iter_mut() {
        node.send(&format!("herd {key} 250 300"));
    }
    let replies: Vec<String> = nodes.iter_mut().map(Node::reply).collect();
    for reply in &replies {
        assert!(
            reply.starts_with(&format!("value {key}:")),
            "every task of every process gets a loaded value: {replies:?}"
        );
    }
    let loads = nodes.iter_mut().map(|n| n.stats().count("loads")).sum();
    (replies, loads)
}

/// With the lease, the whole herd is answered by one loader call in one process.
fn herd_loads_once(nodes: &mut [Node]) {
    let (replies, loads) = herd(nodes, "cold");
    if loads != 1 {
        let stats: Vec<_> = nodes
            .iter_mut()
            .map(|n| format!("{:?}", n.stats()))
            .collect();
        panic!(
            "one load across {} processes, not {loads}: {replies:?}\n{stats:#?}",
            nodes.len()
        );
    }
    assert!(
        replies.iter().all(|r| r == &replies[0]),
        "every process serves the one loaded value: {replies:?}"
    );
    let waits: u64 = nodes
        .iter_mut()
        .map(|n| n.stats().count("lease_waits"))
        .sum();
    eprintln!("herd: {replies:?}, {waits} lease waits");
}

/// `remove` in one process stops the others from serving the old value, once the
/// invalidation is delivered; the remover reads its own write at once.
fn remove_reaches_every_process(nodes: &mut [Node]) {
    let loaded = nodes[0].get_with("k");
    for node in nodes.iter_mut() {
        // n0 has it in L1; the others read it from L2 into theirs.
        assert_eq!(node.get_with("k"), loaded, "{}", node.name);
        assert_eq!(
            node.call("get k"),
            format!("value {loaded}"),
            "{}",
            node.name
        );
    }
    assert_eq!(nodes[0].call("remove k"), "ok");
    assert_eq!(nodes[0].call("get k"), "none", "its own remove, at once");
    for node in &mut nodes[1..] {
        node.poll_until("get k", "none", DELIVERY_BOUND);
        let stats = node.stats();
        assert!(
            stats.count("invalidations_received") >= 1,
            "{}: dropped by an invalidation: {stats:?}",
            node.name
        );
    }
}

/// Stores `plain` = `old` through n0 into every node's L1, then `write(from, to)` (a client
/// that is not larder) replaces it in Redis by a copy of the entry n0 wrote for `donor`
/// (`new`); every node, n0 included, then serves `new`.
async fn plain_write_reaches_every_process<F, Fut>(nodes: &mut [Node], write: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    assert_eq!(nodes[0].call("insert plain old"), "ok");
    for node in nodes.iter_mut() {
        assert_eq!(node.call("get plain"), "value old", "{}", node.name);
    }
    // The donor's bytes are an entry in the tier's format, written by larder; the write that
    // matters is the plain client's SET of them under another key.
    assert_eq!(nodes[0].call("insert donor new"), "ok");
    write(entry_key("donor"), entry_key("plain")).await;
    for node in nodes.iter_mut() {
        node.poll_until("get plain", "value new", DELIVERY_BOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_herd_across_four_processes_with_the_lease_loads_once() {
    let Some(redis) = redis(45101, None).await else {
        return;
    };
    let mut nodes = start(
        &FOUR,
        &args("--redis", &redis_url(&redis), &["--lease", "5000"]),
    );
    herd_loads_once(&mut nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_herd_without_the_lease_loads_at_most_once_per_process() {
    let Some(redis) = redis(45131, None).await else {
        return;
    };
    let mut nodes = start(&FOUR, &args("--redis", &redis_url(&redis), &[]));
    let (replies, loads) = herd(&mut nodes, "cold");
    assert!((1..=4).contains(&loads), "{loads} loads: {replies:?}");
}

/// n0 takes the lease of a key and dies while loading it: n1 waits at most for the lease to
/// expire, then loads it itself. `lease_held` says whether the lease is in L2.
async fn a_dead_holders_lease_expires<F, Fut>(mut nodes: Vec<Node>, lease_held: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    nodes[0].send("get_with dead 60000"); // a loader that outlives its process
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lease_held().await {
        assert!(Instant::now() < deadline, "n0 took no lease within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(nodes.remove(0)); // killed by its pid, lease held
    let value = nodes[0].get_with("dead");
    assert!(
        value.starts_with("dead:n1:"),
        "n1 loaded it after the lease: {value}"
    );
    let stats = nodes[0].stats();
    assert!(
        stats.count("lease_waits") >= 1,
        "n1 waited on n0's lease: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_lease_holder_that_dies_holds_the_others_up_only_until_its_lease_ends() {
    let Some(redis) = redis(45151, None).await else {
        return;
    };
    let url = redis_url(&redis);
    let nodes = start(&FOUR[..2], &args("--redis", &url, &["--lease", "2000"]));
    let store = RedisStore::connect(&url, NS).await.unwrap();
    a_dead_holders_lease_expires(nodes, || store.exists(LEASE_OF_DEAD).map(Result::unwrap)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_remove_in_one_process_stops_the_others_serving_the_old_value() {
    let Some(redis) = redis(45111, None).await else {
        return;
    };
    let mut nodes = start(&FOUR, &args("--redis", &redis_url(&redis), &[]));
    remove_reaches_every_process(&mut nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_write_by_a_plain_client_stops_every_process_serving_the_old_value() {
    let Some(redis) = redis(45141, None).await else {
        return;
    };
    let url = redis_url(&redis);
    let mut nodes = start(&FOUR, &args("--redis", &url, &[]));
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    plain_write_reaches_every_process(&mut nodes, |from, to| async move {
        let bytes: Vec<u8> = conn.get(&from).await.unwrap();
        assert!(!bytes.is_empty(), "{from} is in Redis");
        let () = conn.set(&to, bytes).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_every_read_answers_and_the_breaker_opens_then_l2_is_used_again() {
    // Append-only, fsync always: what the nodes wrote is there again after the restart.
    let dir = Scratch::new("tier-kill");
    let Some(mut redis) = redis(45121, Some(&dir)).await else {
        return;
    };
    let extra = ["--l2-timeout", "200", "--breaker", "3,300"];
    let mut nodes = start(&FOUR, &args("--redis", &redis_url(&redis), &extra));

    // Warm: every node holds w0..w4 in L1; n0 writes `later`, which only L2 holds for the others.
    let mut warm = Vec::new();
    for i in 0..5 {
        let key = format!("w{i}");
        let value = nodes[0].get_with(&key);
        for node in &mut nodes[1..] {
            assert_eq!(node.get_with(&key), value, "{}: from L2", node.name);
        }
        warm.push((key, value));
    }
    assert_eq!(nodes[0].call("insert later v"), "ok");
    let hits_before: Vec<u64> = nodes
        .iter_mut()
        .map(|n| n.stats().count("l2_hits"))
        .collect();

    redis.kill();
    // Every read answers with a value, from L1 (warm keys) or the loader (cold keys, and warm
    // ones if L1 stops serving while its invalidations cannot arrive): never an error.
    for node in &mut nodes {
        for (key, _) in &warm {
            let value = node.get_with(key);
            assert!(
                value.starts_with(&format!("{key}:")),
                "{}: {key} = {value}",
                node.name
            );
        }
        for i in 0..5 {
            let key = format!("cold{i}");
            let value = node.get_with(&key);
            assert!(
                value.starts_with(&format!("{key}:{}:", node.name)),
                "{}: {key} = {value}, from its own loader",
                node.name
            );
        }
        let stats = node.stats();
        assert!(
            stats.count("breaker_trips") >= 1,
            "{}: the breaker opened: {stats:?}",
            node.name
        );
        assert!(stats.count("l2_errors") >= 3, "{}: {stats:?}", node.name);
    }

    assert!(
        redis.spawn().await,
        "redis-server restarts on the same port"
    );
    // After the breaker's cooldown and the store's reconnect, L2 answers again: the nodes
    // that never read `later` find it there (a failed read is a miss, not cached in L1).
    for (node, before) in nodes.iter_mut().zip(hits_before).skip(1) {
        node.poll_until("get later", "value v", RECOVERY_BOUND);
        let stats = node.stats();
        assert!(stats.count("l2_hits") > before, "{}: {stats:?}", node.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_herd_across_four_processes_with_the_lease_loads_once() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let urls = cluster.urls().join(",");
    let mut nodes = start(&FOUR, &args("--cluster", &urls, &["--lease", "5000"]));
    herd_loads_once(&mut nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_remove_or_a_plain_write_stops_the_others_serving_the_old_value() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let urls = cluster.urls();
    let mut nodes = start(&FOUR, &args("--cluster", &urls.join(","), &[]));
    remove_reaches_every_process(&mut nodes);

    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    plain_write_reaches_every_process(&mut nodes, |from, to| async move {
        let bytes: Vec<u8> = conn.get(&from).await.unwrap();
        assert!(!bytes.is_empty(), "{from} is in Redis");
        let () = conn.set(&to, bytes).await.unwrap();
    })
    .await;
}

/// A memcached of the test's own on `port` (`None`, reported, when not installed).
async fn memcached(port: u16) -> Option<Server> {
    let server = server::memcached(port, 64, &[]).await;
    if server.is_none() {
        server::missing("memcached");
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_a_herd_across_four_processes_with_the_lease_loads_once() {
    let Some(memcached) = memcached(45301).await else {
        return;
    };
    let address = memcached.address().to_string();
    let mut nodes = start(&FOUR, &args("--memcached", &address, &["--lease", "5000"]));
    herd_loads_once(&mut nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_a_lease_holder_that_dies_holds_the_others_up_only_until_its_lease_ends() {
    let Some(memcached) = memcached(45321).await else {
        return;
    };
    let address = memcached.address().to_string();
    let nodes = start(
        &FOUR[..2],
        &args("--memcached", &address, &["--lease", "2000"]),
    );
    let store = MemcachedStore::connect(&[&address], NS).await.unwrap();
    a_dead_holders_lease_expires(nodes, || store.exists(LEASE_OF_DEAD).map(Result::unwrap)).await;
}

/// The L1 TTL of the Memcached staleness test: the bound on how long an instance serves a
/// value another instance replaced or removed, since Memcached cannot tell it.
const L1_TTL: Duration = Duration::from_millis(400);

/// Fills n1's L1 with `key` = `old` (written by n0), runs `change` on n0 (`KEY` in it is
/// `key`), then asserts that n1
/// serves `old` while its L1 copy lives, and `after` once the L1 TTL has run out.
fn assert_stale_until_the_l1_ttl(nodes: &mut [Node], key: &str, change: &str, after: &str) {
    let get = format!("get {key}");
    assert_eq!(nodes[0].call(&format!("insert {key} old")), "ok");
    let fill_sent = Instant::now();
    assert_eq!(
        nodes[1].call(&get),
        "value old",
        "n1 reads it from L2 into L1"
    );
    let fill_replied = Instant::now();

    assert_eq!(nodes[0].call(&change.replace("KEY", key)), "ok");
    let read = nodes[1].call(&get);
    if fill_sent.elapsed() < L1_TTL {
        // The read ran before n1's L1 copy could expire (it was stored after `fill_sent`).
        assert_eq!(
            read, "value old",
            "no invalidation with Memcached: n1 serves its L1 copy"
        );
    } else {
        // A slow machine: the copy may have expired already.
        assert!(read == "value old" || read == after, "{read}");
    }
    // The one real-time wait of these tests, inherent to what they check: with no
    // invalidation, only the passing of the L1 TTL ends n1's copy (stored before
    // `fill_replied`). 20 ms more than needed, for the rounding of the two clocks' readings.
    let expired = fill_replied + L1_TTL + Duration::from_millis(20);
    std::thread::sleep(expired.saturating_duration_since(Instant::now()));
    assert_eq!(
        nodes[1].call(&get),
        after,
        "n1's L1 copy expired: L2 is read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_an_instance_serves_its_l1_copy_until_the_l1_ttl_and_the_new_value_after() {
    let Some(memcached) = memcached(45311).await else {
        return;
    };
    let address = memcached.address().to_string();
    let ttl = L1_TTL.as_millis().to_string();
    let mut nodes = start(
        &FOUR[..2],
        &args("--memcached", &address, &["--l1-ttl", &ttl]),
    );
    // An insert in n0, then a remove, reach n1 once its copy of the old value expires.
    assert_stale_until_the_l1_ttl(&mut nodes, "replaced", "insert KEY new", "value new");
    assert_stale_until_the_l1_ttl(&mut nodes, "removed", "remove KEY", "none");
}
