//! `RedisStore::watch`: writes by anyone under the watched prefix reach the sink, without the
//! namespace; nothing outside it does; a flush is `All`; the watch reconnects by itself after
//! its server restarts and says `All` first; it stops when dropped or when the store closes;
//! on a cluster, every primary is watched. On the gate's servers, and on servers of the
//! tests' own where they must be killed.
//!
//! Every wait is on the sink's channel, bounded by [`WAIT`]: no sleeps, no timing asserted.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;
#[path = "faults/server.rs"]
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::{service, unique};
use larder::store::{Invalidation, InvalidationSink, RedisStore, Store, Watch};
use larder::{ErrorKind, Ttl};
use server::free_port;
#[cfg(feature = "redis-cluster")]
use server::{Scratch, Server};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// The longest a test waits for one report.
const WAIT: Duration = Duration::from_secs(5);

/// A sink that sends every report into a channel, and the channel.
fn recorder() -> (InvalidationSink, UnboundedReceiver<Invalidation>) {
    let (tx, rx) = unbounded_channel();
    let sink: InvalidationSink = Arc::new(move |invalidation| {
        let _ = tx.send(invalidation);
    });
    (sink, rx)
}

/// A watch of `store`'s keys under `prefix`, and its reports, once it reported the `All`
/// every watch starts with.
async fn watching(store: &RedisStore, prefix: &str) -> (Watch, UnboundedReceiver<Invalidation>) {
    let (sink, mut rx) = recorder();
    let watch = store.watch(prefix, sink).await.unwrap().unwrap();
    assert!(watch.is_connected());
    assert_eq!(next(&mut rx).await, Invalidation::All, "first, always");
    (watch, rx)
}

/// The next report, within [`WAIT`].
async fn next(rx: &mut UnboundedReceiver<Invalidation>) -> Invalidation {
    next_within(rx, WAIT).await
}

async fn next_within(rx: &mut UnboundedReceiver<Invalidation>, limit: Duration) -> Invalidation {
    tokio::time::timeout(limit, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("a report within {limit:?}"))
        .expect("the watch is running")
}

/// Every key reported until `last` is (which Redis may batch with others), in order.
async fn keys_until(rx: &mut UnboundedReceiver<Invalidation>, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match next(rx).await {
            Invalidation::Keys(keys) => {
                let done = keys.iter().any(|k| k == last);
                seen.extend(keys);
                if done {
                    return seen;
                }
            }
            other => panic!("expected keys, got {other:?}"),
        }
    }
}

/// A plain connection of the redis crate (not larder) to `url`.
async fn plain(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn set_raw(conn: &mut redis::aio::MultiplexedConnection, key: &str, value: &str) {
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(conn)
        .await
        .unwrap();
}

/// Waits until `watch` reads `connected` (its state changes on the watch's own tasks): a
/// bounded poll of a flag, 10 ms apart, up to [`WAIT`].
async fn until_connected(watch: &Watch, connected: bool) {
    until_connected_within(watch, connected, WAIT).await;
}

async fn until_connected_within(watch: &Watch, connected: bool, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if watch.is_connected() == connected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the watch is not connected={connected} after {limit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_a_plain_clients_write_under_the_prefix_without_the_namespace() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("watch-plain");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    let (sink, mut rx) = recorder();
    let watch = store
        .watch("v1:", sink)
        .await
        .unwrap()
        .expect("Redis watches");
    assert_eq!(next(&mut rx).await, Invalidation::All, "first, always");
    assert!(watch.is_connected());
    assert_eq!(watch.disconnected_since(), None);

    let mut raw = plain(&url).await;
    let written = Instant::now();
    set_raw(&mut raw, &format!("{ns}:v1:user:7"), "ada").await;
    assert_eq!(
        next(&mut rx).await,
        Invalidation::Keys(vec!["v1:user:7".into()])
    );
    // Informal, never asserted: how long a report took on this machine.
    eprintln!("reported {:?} after the write was sent", written.elapsed());
    let () = redis::cmd("DEL")
        .arg(format!("{ns}:v1:user:7"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        Invalidation::Keys(vec!["v1:user:7".into()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_another_handles_sets_and_deletes_and_nothing_outside_its_prefix() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("watch-store");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    let (_watch, mut rx) = watching(&store, "v1:").await;

    // Another instance: its own connection, the same namespace.
    let other = RedisStore::connect(&url, &ns).await.unwrap();
    other.set("v1:a", b"1", Ttl::Never).await.unwrap();
    assert_eq!(keys_until(&mut rx, "v1:a").await, ["v1:a"]);
    assert!(other.delete("v1:a").await.unwrap());
    assert_eq!(keys_until(&mut rx, "v1:a").await, ["v1:a"]);
    other
        .set_many(&[("v1:b", b"2"), ("v1:c", b"3")], Ttl::Never)
        .await
        .unwrap();
    let mut both = keys_until(&mut rx, "v1:c").await;
    both.sort();
    assert_eq!(both, ["v1:b", "v1:c"]);

    // Outside the prefix, in another namespace, and a namespace that only starts the same:
    // none is reported. The marker after them, from the same connection, arrives after
    // anything they would have caused.
    other.set("v2:a", b"x", Ttl::Never).await.unwrap();
    let elsewhere = RedisStore::connect(&url, &format!("{ns}-other"))
        .await
        .unwrap();
    elsewhere.set("v1:a", b"x", Ttl::Never).await.unwrap();
    let mut raw = plain(&url).await;
    set_raw(&mut raw, &format!("{ns}x:v1:a"), "x").await;
    set_raw(&mut raw, &format!("{ns}:v1:marker"), "m").await;
    assert_eq!(keys_until(&mut rx, "v1:marker").await, ["v1:marker"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_stops_when_dropped_and_when_its_store_closes() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let ns = unique("watch-stop");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    let writer = RedisStore::connect(&url, &ns).await.unwrap();

    // Dropped: the sink is never called again, and is released once the watch's tasks end.
    let (watch, mut dropped) = watching(&store, "").await;
    let (other, mut kept) = watching(&store, "").await;
    drop(watch);
    writer.set("k", b"1", Ttl::Never).await.unwrap();
    assert_eq!(keys_until(&mut kept, "k").await, ["k"]);
    let end = tokio::time::timeout(WAIT, dropped.recv()).await;
    assert_eq!(end.expect("released within 5 s"), None, "nothing reported");

    // The store closed: the watch stops and reads disconnected; its tasks end, so once the
    // handle goes too, the sink is released.
    store.close().await.unwrap();
    until_connected(&other, false).await;
    assert!(other.disconnected_since().is_some());
    drop(other);
    let end = tokio::time::timeout(WAIT, async { while kept.recv().await.is_some() {} }).await;
    assert!(end.is_ok(), "the sink is released within 5 s");

    let err = store.watch("", recorder().0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_says_all_on_a_flush_and_after_a_restart_then_reports_again() {
    // Only where the gate runs servers (it installed redis-server).
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let mut server = server::redis(free_port(), None, &[])
        .await
        .expect("redis-server (scripts/services.sh installs it)");
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "ns").await.unwrap();
    let (watch, mut rx) = watching(&store, "p:").await;
    let mut raw = plain(&url).await;
    set_raw(&mut raw, "ns:p:a", "1").await;
    assert_eq!(keys_until(&mut rx, "p:a").await, ["p:a"]);

    let () = redis::cmd("FLUSHALL").query_async(&mut raw).await.unwrap();
    assert_eq!(next(&mut rx).await, Invalidation::All, "a flush");

    server.kill();
    until_connected(&watch, false).await;
    let since = watch.disconnected_since().expect("disconnected");
    assert!(since <= Instant::now());

    assert!(server.spawn().await, "the server starts again");
    assert_eq!(next(&mut rx).await, Invalidation::All, "after reconnecting");
    until_connected(&watch, true).await;
    assert_eq!(watch.disconnected_since(), None);
    let mut raw = plain(&url).await;
    set_raw(&mut raw, "ns:p:b", "2").await;
    assert_eq!(keys_until(&mut rx, "p:b").await, ["p:b"]);
}

/// A server that stops answering without closing anything (frozen: the kernel still accepts
/// and buffers) is noticed by the watch's `PING`s, which get no answer; once it answers
/// again, the watch reconnects and says `All`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_notices_a_silent_server_and_recovers_when_it_answers_again() {
    if service("LARDER_REDIS_URL").is_none() {
        return;
    }
    let mut server = server::redis(free_port(), None, &[])
        .await
        .expect("redis-server (scripts/services.sh installs it)");
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "ns").await.unwrap();
    let (watch, mut rx) = watching(&store, "").await;

    server.freeze();
    // A PING a second, each given 2 s: noticed within about 3 s.
    until_connected_within(&watch, false, Duration::from_secs(10)).await;
    server.thaw();
    // A reconnect under way finishes once it answers; the next round is at most 2 s away.
    assert_eq!(next(&mut rx).await, Invalidation::All, "after reconnecting");
    until_connected(&watch, true).await;
    let mut raw = plain(&url).await;
    set_raw(&mut raw, "ns:k", "1").await;
    assert_eq!(keys_until(&mut rx, "k").await, ["k"]);
}

/// Polls `future` to completion on this thread, outside any runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A watch's tasks run on tokio: called outside a runtime, with or without a timeout, `watch`
/// fails with `Config` instead of panicking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_outside_a_runtime_fails_with_config_not_a_panic() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url, &unique("watch-no-runtime"))
        .await
        .unwrap();
    let untimed = store.clone().with_timeout(None);
    let outcome = std::thread::spawn(move || {
        [
            block_on(store.watch("", recorder().0)).map(drop),
            block_on(untimed.watch("", recorder().0)).map(drop),
        ]
    })
    .join()
    .expect("no panic");
    for result in outcome {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Config);
    }
}

#[tokio::test]
async fn a_store_that_cannot_watch_says_so() {
    let store = larder::store::MemoryStore::new("mem");
    assert!(store.watch("v1:", recorder().0).await.unwrap().is_none());
}

/// The gate's Redis Cluster, as node URLs.
#[cfg(feature = "redis-cluster")]
fn cluster_nodes() -> Option<Vec<String>> {
    let nodes = service("LARDER_REDIS_CLUSTER_NODES")?;
    Some(nodes.split(',').map(str::to_string).collect())
}

/// A key under `prefix` of `ns` that the node at `url` holds: written there directly, by a
/// plain connection to that node alone (the others answer `MOVED`), and returned without the
/// namespace. Bounded: each try has one chance in three.
#[cfg(feature = "redis-cluster")]
async fn write_on_node(url: &str, ns: &str, prefix: &str) -> String {
    let mut raw = plain(url).await;
    for i in 0..200 {
        let key = format!("{prefix}{i}");
        let written: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("{ns}:{key}"))
            .arg("v")
            .query_async(&mut raw)
            .await;
        if written.is_ok() {
            return key;
        }
    }
    panic!("no key of 200 lands on {url}");
}

#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_cluster_reports_writes_on_every_primary() {
    let Some(nodes) = cluster_nodes() else {
        return;
    };
    let ns = unique("watch-cluster");
    let urls: Vec<&str> = nodes.iter().map(String::as_str).collect();
    // One node given is enough: the watch finds the others.
    let store = RedisStore::connect_cluster(&urls[..1], &ns).await.unwrap();
    let (watch, mut rx) = watching(&store, "v1:").await;
    assert!(watch.is_connected());
    for (n, url) in urls.iter().enumerate() {
        let key = write_on_node(url, &ns, &format!("v1:node{n}-")).await;
        assert_eq!(keys_until(&mut rx, &key).await, [key.as_str()], "{url}");
    }
    // And through the store, to whichever node holds each key.
    let other = RedisStore::connect_cluster(&urls, &ns).await.unwrap();
    let keys: Vec<String> = (0..30).map(|i| format!("v1:k{i}")).collect();
    for key in &keys {
        other.set(key, b"1", Ttl::Never).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < keys.len() {
        match next(&mut rx).await {
            Invalidation::Keys(batch) => seen.extend(batch),
            other => panic!("expected keys, got {other:?}"),
        }
    }
    seen.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(seen, expected);
}

/// A cluster node of the test's own, with no slots, on a free port with a free bus port
/// (returned), keeping its cluster config in `dir` so that it comes back as the same node.
#[cfg(feature = "redis-cluster")]
async fn own_empty_cluster_node(dir: &Scratch) -> (Server, u16) {
    let bus = free_port();
    let bus_arg = bus.to_string();
    let extra = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-port",
        &bus_arg,
    ];
    let server = server::redis(free_port(), Some(dir), &extra)
        .await
        .expect("redis-server (scripts/services.sh installs it)");
    (server, bus)
}

/// A one-node cluster of the test's own (all slots), as [`own_empty_cluster_node`].
#[cfg(feature = "redis-cluster")]
async fn own_cluster_node(dir: &Scratch) -> Server {
    let (server, _) = own_empty_cluster_node(dir).await;
    let mut admin = plain(&format!("redis://127.0.0.1:{}", server.port)).await;
    let () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut admin)
        .await
        .unwrap();
    until_cluster_ok(&mut admin).await;
    server
}

/// Until the node on `admin` says the cluster is up (a setup wait, bounded).
#[cfg(feature = "redis-cluster")]
async fn until_cluster_ok(admin: &mut redis::aio::MultiplexedConnection) {
    for _ in 0..200 {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(admin)
            .await
            .unwrap();
        if info.contains("cluster_state:ok") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the cluster is not up after 10 s");
}

#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_cluster_reconnects_to_a_primary_that_restarts() {
    if service("LARDER_REDIS_CLUSTER_NODES").is_none() {
        return;
    }
    let dir = Scratch::new("larder-watch-cluster");
    let mut server = own_cluster_node(&dir).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect_cluster(&[url.as_str()], "ns")
        .await
        .unwrap();
    let (watch, mut rx) = watching(&store, "").await;
    let mut raw = plain(&url).await;
    set_raw(&mut raw, "ns:a", "1").await;
    assert_eq!(keys_until(&mut rx, "a").await, ["a"]);

    server.kill();
    until_connected(&watch, false).await;
    assert!(
        server.spawn().await,
        "the node starts again, as the same primary"
    );
    assert_eq!(next(&mut rx).await, Invalidation::All, "after reconnecting");
    until_connected(&watch, true).await;
    let mut raw = plain(&url).await;
    until_cluster_ok(&mut raw).await; // it takes writes again
    set_raw(&mut raw, "ns:b", "2").await;
    assert_eq!(keys_until(&mut rx, "b").await, ["b"]);
}

/// A primary that joins the cluster (a node met, given a slot) was not tracked: the watch
/// finds it by asking for the primaries (every 5 s), says `All`, and reports its writes.
#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_cluster_follows_a_new_primary_and_says_all() {
    if service("LARDER_REDIS_CLUSTER_NODES").is_none() {
        return;
    }
    let (dir_a, dir_b) = (
        Scratch::new("larder-watch-a"),
        Scratch::new("larder-watch-b"),
    );
    let a = own_cluster_node(&dir_a).await;
    let url_a = format!("redis://127.0.0.1:{}", a.port);
    let store = RedisStore::connect_cluster(&[url_a.as_str()], "ns")
        .await
        .unwrap();
    let (watch, mut rx) = watching(&store, "").await;

    // B meets A and takes the (empty) slot of key `ns:moved` from it.
    let (b, bus_b) = own_empty_cluster_node(&dir_b).await;
    let url_b = format!("redis://127.0.0.1:{}", b.port);
    let (mut admin_a, mut admin_b) = (plain(&url_a).await, plain(&url_b).await);
    let () = redis::cmd("CLUSTER")
        .arg("MEET")
        .arg("127.0.0.1")
        .arg(b.port)
        .arg(bus_b)
        .query_async(&mut admin_a)
        .await
        .unwrap();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("ns:moved")
        .query_async(&mut admin_a)
        .await
        .unwrap();
    let () = redis::cmd("CLUSTER")
        .arg("DELSLOTS")
        .arg(slot)
        .query_async(&mut admin_a)
        .await
        .unwrap();
    let () = redis::cmd("CLUSTER")
        .arg("ADDSLOTS")
        .arg(slot)
        .query_async(&mut admin_b)
        .await
        .unwrap();
    until_cluster_ok(&mut admin_a).await;
    until_cluster_ok(&mut admin_b).await;

    // Found at the next ask (5 s apart), after the gossip has told A of B.
    let found = next_within(&mut rx, Duration::from_secs(15)).await;
    assert_eq!(found, Invalidation::All, "a new primary");
    until_connected(&watch, true).await;
    set_raw(&mut admin_b, "ns:moved", "1").await;
    assert_eq!(keys_until(&mut rx, "moved").await, ["moved"]);
}
