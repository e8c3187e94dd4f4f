//! `MemcachedStore`: the conformance suite on the gate's two Memcached servers, and what is
//! particular to Memcached (keys spread over servers, keys it cannot take as they are, TTLs
//! past 30 days, `clear` by generations, counters by compare-and-set, unreachable and
//! restarted servers).

#![cfg(feature = "memcached")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;
#[path = "faults/proxy.rs"]
mod proxy;
#[path = "faults/server.rs"]
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_memcached::{Client, MetaProtocol};
use conformance::{Harness, assert_unavailable, run_all, service, unique};
use larder::store::{MemcachedStore, Store};
use larder::{ErrorKind, Ttl};
use proxy::Proxy;
use server::{Server, free_port};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The gate's servers (`LARDER_MEMCACHED_ADDRS`, comma-separated), or `None` outside it.
fn servers() -> Option<Vec<String>> {
    let list = service("LARDER_MEMCACHED_ADDRS")?;
    Some(list.split(',').map(str::to_string).collect())
}

async fn connect(servers: &[String], ns: &str) -> MemcachedStore {
    MemcachedStore::connect(servers, ns).await.unwrap()
}

/// A connection of our own to one server, to see what the store left there.
async fn raw(address: &str) -> Client {
    Client::new(format!("tcp://{address}")).await.unwrap()
}

/// The value and seconds left of `key` on one server.
async fn raw_get(client: &mut Client, key: &str) -> Option<(Vec<u8>, i64)> {
    let found = client
        .meta_get(key, false, None, Some(&["v", "t"]))
        .await
        .unwrap()?;
    Some((found.data.unwrap_or_default(), found.ttl_remaining.unwrap()))
}

/// Each server's connection, and the namespace's generation, read from the one server that
/// holds it.
async fn inspect(servers: &[String], ns: &str) -> (Vec<Client>, u64) {
    let mut clients = Vec::new();
    let mut generations = Vec::new();
    for address in servers {
        let mut client = raw(address).await;
        if let Some((value, _)) = raw_get(&mut client, &format!("{ns}:gen")).await {
            generations.push(String::from_utf8(value).unwrap().trim().parse().unwrap());
        }
        clients.push(client);
    }
    assert_eq!(generations.len(), 1, "the generation lives on one server");
    (clients, generations[0])
}

/// The one server holding the memcached key `key`, with its value and seconds left.
async fn holder(clients: &mut [Client], key: &str) -> (usize, Vec<u8>, i64) {
    let mut found = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        if let Some((value, ttl)) = raw_get(client, key).await {
            found.push((i, value, ttl));
        }
    }
    assert_eq!(found.len(), 1, "held by exactly one server");
    found.pop().unwrap()
}

#[tokio::test]
async fn memcached_store_conforms() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("conform");
    run_all(Harness::new(
        connect(&servers, &ns).await,
        connect(&servers, &format!("{ns}-other")).await,
    ))
    .await;
}

#[tokio::test]
async fn memcached_keys_spread_over_the_servers_each_on_exactly_one() {
    let Some(servers) = servers() else {
        return;
    };
    assert!(servers.len() >= 2, "the gate starts two servers");
    let ns = unique("spread");
    let store = connect(&servers, &ns).await;
    let entries: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("k{i}"), format!("v{i}").into_bytes()))
        .collect();
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    store.set_many(&borrowed, Ttl::Never).await.unwrap();

    let (mut clients, generation) = inspect(&servers, &ns).await;
    let mut per_server = vec![0; servers.len()];
    for (key, value) in &entries {
        let (server, held, _) = holder(&mut clients, &format!("{ns}:{generation}:{key}")).await;
        assert_eq!(&held, value);
        per_server[server] += 1;
    }
    assert!(per_server.iter().all(|&n| n > 40), "{per_server:?}");

    // A second instance, listing the servers in another order, finds every key.
    let mut reversed = servers.clone();
    reversed.reverse();
    let other = connect(&reversed, &ns).await;
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let values = other.get_many(&keys).await.unwrap();
    for ((_, value), got) in entries.iter().zip(values) {
        assert_eq!(got.as_ref(), Some(value));
    }
}

#[tokio::test]
async fn memcached_get_many_answers_in_key_order_across_servers() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("many")).await;
    for i in 0..40u32 {
        store
            .set(&i.to_string(), &i.to_le_bytes(), Ttl::Never)
            .await
            .unwrap();
    }
    let asked: Vec<String> = [0u32, 39, 77, 5, 5, 12, 100, 0, 38]
        .iter()
        .map(u32::to_string)
        .collect();
    let keys: Vec<&str> = asked.iter().map(String::as_str).collect();
    let got = store.get_many(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, value) in keys.iter().zip(got) {
        let i: u32 = key.parse().unwrap();
        let expected = (i < 40).then(|| i.to_le_bytes().to_vec());
        assert_eq!(value, expected, "key {key}");
    }
    assert_eq!(
        store.get_many(&[]).await.unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
}

#[tokio::test]
async fn memcached_takes_any_key() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("keys")).await;
    let long = "x".repeat(300);
    let long_too = format!("{}y", "x".repeat(299));
    let keys = [
        long.as_str(),
        long_too.as_str(),
        "with spaces in it",
        "new\r\nline",
        "tab\tand\0nul",
        "ключ",
        "#starts-with-hash",
        "",
    ];
    for (i, key) in keys.iter().enumerate() {
        store.set(key, &[i as u8], Ttl::Never).await.unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            store.get(key).await.unwrap(),
            Some(vec![i as u8]),
            "{key:?}"
        );
        assert!(store.exists(key).await.unwrap());
    }
    let many = store.get_many(&keys).await.unwrap();
    assert_eq!(
        many,
        (0..keys.len())
            .map(|i| Some(vec![i as u8]))
            .collect::<Vec<_>>()
    );
    assert!(store.delete("with spaces in it").await.unwrap());
    assert_eq!(store.get("with spaces in it").await.unwrap(), None);
    assert_eq!(
        store.increment(&long, 3).await.unwrap_err().kind(),
        ErrorKind::Codec
    );
    assert_eq!(store.increment("a b", 3).await.unwrap(), 3);
}

#[tokio::test]
async fn memcached_ttls_past_thirty_days_are_kept_and_expire_persists() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("ttl");
    let store = connect(&servers, &ns).await;
    let forty_days = 40 * 86_400;
    store
        .set("far", b"v", Ttl::After(Duration::from_secs(forty_days)))
        .await
        .unwrap();
    store
        .set("near", b"v", Ttl::After(Duration::from_millis(100_500)))
        .await
        .unwrap();
    assert_eq!(store.get("far").await.unwrap().as_deref(), Some(&b"v"[..]));

    let (mut clients, generation) = inspect(&servers, &ns).await;
    let (_, _, left) = holder(&mut clients, &format!("{ns}:{generation}:far")).await;
    // An absolute time on the server's clock, which ticks once a second: a second either way.
    let forty_days = i64::try_from(forty_days).unwrap();
    let about_forty_days = forty_days - 60..=forty_days + 2;
    assert!(about_forty_days.contains(&left), "{left} s left");
    let (_, _, left) = holder(&mut clients, &format!("{ns}:{generation}:near")).await;
    assert!(
        (95..=101).contains(&left),
        "100.5 s rounds up to 101: {left} s left"
    );

    assert!(
        store
            .expire("near", Ttl::After(Duration::from_secs(forty_days as u64)))
            .await
            .unwrap()
    );
    let (_, _, left) = holder(&mut clients, &format!("{ns}:{generation}:near")).await;
    assert!(about_forty_days.contains(&left), "{left} s left");
    assert!(store.expire("near", Ttl::Never).await.unwrap());
    let (_, _, left) = holder(&mut clients, &format!("{ns}:{generation}:near")).await;
    assert_eq!(left, -1, "persisted");
    assert!(
        store
            .expire("near", Ttl::After(Duration::ZERO))
            .await
            .unwrap()
    );
    assert!(!store.exists("near").await.unwrap());

    // The default TTL, for `Ttl::Default` and for new counters.
    let with_default = store.with_default_ttl(Duration::from_secs(300));
    with_default
        .set("default", b"v", Ttl::Default)
        .await
        .unwrap();
    with_default.increment("counter", 1).await.unwrap();
    for key in ["default", "counter"] {
        let (_, _, left) = holder(&mut clients, &format!("{ns}:{generation}:{key}")).await;
        assert!((290..=300).contains(&left), "{key}: {left} s left");
    }
}

#[tokio::test]
async fn memcached_clear_is_limited_to_the_namespace_and_seen_by_another_instance() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("clear");
    let store = connect(&servers, &ns).await;
    // A second instance that reads the generation on every call sees a clear at once.
    let other = connect(&servers, &ns)
        .await
        .with_generation_refresh(Duration::ZERO);
    let neighbour = connect(&servers, &format!("{ns}-next")).await;
    for i in 0..20 {
        store
            .set(&format!("k{i}"), b"mine", Ttl::Never)
            .await
            .unwrap();
    }
    neighbour.set("k1", b"theirs", Ttl::Never).await.unwrap();
    assert_eq!(
        other.get("k1").await.unwrap().as_deref(),
        Some(&b"mine"[..])
    );

    let (_, before) = inspect(&servers, &ns).await;
    store.clear().await.unwrap();
    let (_, after) = inspect(&servers, &ns).await;
    assert!(
        after > before,
        "the generation moved on: {before} -> {after}"
    );

    for i in 0..20 {
        assert_eq!(store.get(&format!("k{i}")).await.unwrap(), None);
        assert_eq!(other.get(&format!("k{i}")).await.unwrap(), None);
    }
    assert_eq!(
        neighbour.get("k1").await.unwrap().as_deref(),
        Some(&b"theirs"[..])
    );
    // Writes after the clear are shared again.
    other.set("k1", b"new", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k1").await.unwrap().as_deref(), Some(&b"new"[..]));
    // The other instance's clear, seen at once by an instance that reads every time.
    let watcher = store.clone().with_generation_refresh(Duration::ZERO);
    other.clear().await.unwrap();
    assert_eq!(watcher.get("k1").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_increments_are_signed_atomic_and_keep_the_ttl() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("incr");
    let store = Arc::new(connect(&servers, &ns).await);
    assert_eq!(store.increment("n", -5).await.unwrap(), -5);
    assert_eq!(store.increment("n", 7).await.unwrap(), 2);
    assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"2"[..]));
    store
        .set("max", i64::MAX.to_string().as_bytes(), Ttl::Never)
        .await
        .unwrap();
    assert_eq!(
        store.increment("max", 1).await.unwrap_err().kind(),
        ErrorKind::Codec
    );
    // Memcached added it, then took it back.
    assert_eq!(
        store.get("max").await.unwrap(),
        Some(i64::MAX.to_string().into_bytes())
    );
    assert_eq!(store.increment("max", -1).await.unwrap(), i64::MAX - 1);
    store.set("small", b"100", Ttl::Never).await.unwrap();
    assert_eq!(
        store.increment("small", i64::MAX).await.unwrap_err().kind(),
        ErrorKind::Codec
    );
    assert_eq!(store.increment("small", 0).await.unwrap(), 100);
    // Past i64 (written by someone else): not a counter, and left as it was, though
    // Memcached's arithmetic wrapped it past 2^64 and back.
    let past = u64::MAX.to_string().into_bytes();
    store.set("past", &past, Ttl::Never).await.unwrap();
    for by in [0, 1, 5] {
        let err = store.increment("past", by).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Codec, "{err}");
    }
    assert_eq!(store.get("past").await.unwrap(), Some(past));

    // 20 tasks add 10 times each, concurrently: no increment is lost.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..10 {
                    store.increment("shared", 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.increment("shared", 0).await.unwrap(), 200);

    // A counter with a TTL keeps it.
    store
        .set("ttl", b"1", Ttl::After(Duration::from_secs(100)))
        .await
        .unwrap();
    assert_eq!(store.increment("ttl", 1).await.unwrap(), 2);
    let (mut clients, generation) = inspect(&servers, &ns).await;
    let (_, value, left) = holder(&mut clients, &format!("{ns}:{generation}:ttl")).await;
    assert_eq!(value, b"2");
    assert!((90..=100).contains(&left), "{left} s left");
}

/// The counter at `key`, as Memcached holds it (not through the store): its number, or what
/// it holds that is not one.
async fn raw_counter(servers: &[String], ns: &str, key: &str) -> Result<i64, String> {
    let (mut clients, generation) = inspect(servers, ns).await;
    let (_, value, _) = holder(&mut clients, &format!("{ns}:{generation}:{key}")).await;
    let text = String::from_utf8(value).unwrap();
    text.trim().parse().map_err(|_| text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_an_increment_cut_off_after_overflowing_still_takes_it_back() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("incr-cut");
    // One server, reached directly and through the proxy: the same keys.
    let server = servers[0].clone();
    let direct = connect(std::slice::from_ref(&server), &ns).await;
    direct
        .set("cut", (i64::MAX - 1).to_string().as_bytes(), Ttl::Never)
        .await
        .unwrap();
    let proxy = Proxy::start(server.parse().unwrap()).await.unwrap();
    let address = proxy.address().to_string();
    // The namespace's generation read once, and kept: the next reply through the proxy is
    // the increment's.
    let proxied = MemcachedStore::connect(&[address.as_str()], &ns)
        .await
        .unwrap()
        .with_generation_refresh(Duration::from_secs(3600));
    assert!(proxied.exists("cut").await.unwrap());

    // Memcached adds 5, going past i64::MAX; the caller goes before it hears so.
    proxy.hold_replies();
    let (replies, open) = (proxy.replies(), proxy.open_connections());
    tokio::select! {
        result = proxied.increment("cut", 5) => panic!("answered while held: {result:?}"),
        () = proxy.holding() => {}
    }
    proxy.forward();
    // Until the increment's connection is done with the key: the held reply and the one to
    // a second increment passed on, or the connection closed (a guard against a hang, far
    // above the round trip it takes; not a wait for something to happen by itself).
    let settled = async {
        while proxy.replies() < replies + 2 && proxy.open_connections() >= open {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), settled)
        .await
        .expect("the connection neither took the increment back nor hung up");

    let servers = [server];
    assert_eq!(
        raw_counter(&servers, &ns, "cut").await,
        Ok(i64::MAX - 1),
        "the counter was left past i64::MAX"
    );
    // Still a counter: an overflow is refused as such, and it goes down.
    let err = direct.increment("cut", 5).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
    assert!(err.to_string().contains("overflow"), "{err}");
    assert_eq!(raw_counter(&servers, &ns, "cut").await, Ok(i64::MAX - 1));
    assert_eq!(direct.increment("cut", -1).await.unwrap(), i64::MAX - 2);
}

#[tokio::test]
async fn memcached_too_large_values_are_a_backend_error_and_the_store_goes_on() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("large")).await;
    let huge = vec![b'S'; 3 << 20]; // over the gate's -I 2m
    let err = store.set("huge", &huge, Ttl::Never).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert!(err.to_string().contains("item size"), "{err}");
    assert!(!format!("{err} {err:?}").contains("SSSS"));
    let err = store
        .set_many(&[("a", b"small"), ("huge", &huge)], Ttl::Never)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
    assert_eq!(store.get("huge").await.unwrap(), None);
    store.set("after", b"fine", Ttl::Never).await.unwrap();
    assert_eq!(
        store.get("after").await.unwrap().as_deref(),
        Some(&b"fine"[..])
    );
}

#[tokio::test]
async fn memcached_debug_shows_servers_and_namespace_never_bytes() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("debug-ns");
    let store = connect(&servers, &ns).await;
    store
        .set("secret-key", b"password123", Ttl::Never)
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(
        shown.contains(&ns) && shown.contains(&servers[0]),
        "{shown}"
    );
    assert!(!shown.contains("password123") && !shown.contains("secret-key"));
    store.delete("secret-key").await.unwrap();
}

#[tokio::test]
async fn memcached_settings_are_checked() {
    let none: [&str; 0] = [];
    for (servers, ns) in [
        (&none[..], "ns"),
        (&["127.0.0.1:11211", " 127.0.0.1:11211"][..], "ns"),
        (&[""][..], "ns"),
        (&["127.0.0.1:11211"][..], "with space"),
        (&["127.0.0.1:11211"][..], "a:b"),
        (&["127.0.0.1:11211"][..], ""),
    ] {
        let err = MemcachedStore::connect(servers, ns).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{servers:?} {ns:?}: {err}");
    }
}

#[tokio::test]
async fn memcached_unreachable_servers_fail_within_the_timeout() {
    // Nothing listens on port 1: refused at once.
    let started = Instant::now();
    let err = MemcachedStore::connect(&["127.0.0.1:1"], "ns")
        .await
        .unwrap_err();
    assert_unavailable(&err);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");

    // One of two servers down: still refused (every server must answer at connect).
    if let Some(servers) = servers() {
        let err = MemcachedStore::connect(&[servers[0].as_str(), "127.0.0.1:1"], "ns")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Backend, "{err:?}");
    }

    // A server that accepts but never answers an operation: a timeout, not a hang.
    let address = silent_server().await;
    let store = MemcachedStore::connect(&[address.as_str()], "ns")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(200)));
    for op in 0..3 {
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(5), async {
            match op {
                0 => store.get("k").await.map(drop),
                1 => store.set("k", b"v", Ttl::Never).await,
                _ => store.clear().await,
            }
        })
        .await
        .expect("answers within its timeout");
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // Counted as timeouts, not errors; the get as a key asked for and not found.
    let stats = store.store_stats().unwrap();
    assert_eq!((stats.timeouts, stats.errors), (3, 0));
    assert_eq!((stats.gets, stats.hits, stats.misses), (1, 0, 0));
    assert_eq!((stats.reads.count, stats.writes.count), (1, 1));
}

/// A loopback server that answers `version` as Memcached 1.6 does, and nothing else.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("version") {
                        let _ = write.write_all(b"VERSION 1.6.18\r\n").await;
                    }
                }
            });
        }
    });
    address
}

/// A Memcached server of the test's own, restartable, on a free loopback port, with
/// `extra` server options after the usual ones.
async fn own_memcached(extra: &[&str]) -> Server {
    server::memcached(free_port(), 16, extra)
        .await
        .expect("memcached (scripts/services.sh installs it)")
}

#[tokio::test]
async fn memcached_a_restarted_server_is_used_again() {
    // Only where the gate runs servers (it installed memcached).
    if servers().is_none() {
        return;
    }
    let mut server = own_memcached(&[]).await;
    let address = format!("127.0.0.1:{}", server.port);
    let store = MemcachedStore::connect(&[address.as_str()], "restart")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(500)));
    store.set("before", b"1", Ttl::Never).await.unwrap();

    server.kill();
    // While it is down: a typed error within the timeout, not a hang.
    for _ in 0..2 {
        let down = tokio::time::timeout(Duration::from_secs(5), store.get("before")).await;
        let err = down.expect("answers within its timeout").unwrap_err();
        assert_unavailable(&err);
    }

    assert!(server.spawn().await, "the server starts again");
    // The broken connection was dropped: the next call reconnects (Memcached keeps nothing
    // over a restart).
    assert_eq!(store.get("before").await.unwrap(), None);
    store.set("after", b"2", Ttl::Never).await.unwrap();
    assert_eq!(
        store.get("after").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_increments_never_lengthen_a_counters_life() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("incr-life");
    let store = Arc::new(connect(&servers, &ns).await);
    let ttl = Ttl::After(Duration::from_secs(100));
    // The counter first, then keys nothing touches: the counter may expire no later than
    // one of them on its server (each server has a clock of its own, ticking out of step).
    store.set("hits", b"0", ttl).await.unwrap();
    let candidates: Vec<String> = (0..16).map(|i| format!("still{i}")).collect();
    for key in &candidates {
        store.set(key, b"0", ttl).await.unwrap();
    }
    let (mut clients, generation) = inspect(&servers, &ns).await;
    let hits = format!("{ns}:{generation}:hits");
    let (server, _, _) = holder(&mut clients, &hits).await;
    let mut still = None;
    for key in &candidates {
        let full = format!("{ns}:{generation}:{key}");
        if holder(&mut clients, &full).await.0 == server {
            still = Some(full);
            break;
        }
    }
    let still = still.expect("one of 16 keys on the counter's server");
    let (_, _, start) = holder(&mut clients, &still).await;

    // Eight tasks add to the counter while the server's clock ticks three times (watched
    // through the untouched key, no sleep). An increment that read the seconds left before
    // a tick and wrote them back after it would give the counter a second more each time:
    // under steady load, a rate-limit window that never closes.
    let done = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            tokio::spawn(async move {
                let mut added = 0u64;
                while !done.load(Ordering::Relaxed) {
                    store.increment("hits", 1).await.unwrap();
                    added += 1;
                }
                added
            })
        })
        .collect();
    while holder(&mut clients, &still).await.2 > start - 3 {}
    done.store(true, Ordering::Relaxed);
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    // The untouched key first: a tick between the two reads can only shorten the counter's.
    let (_, _, untouched) = holder(&mut clients, &still).await;
    let (_, value, left) = holder(&mut clients, &hits).await;
    assert_eq!(value, total.to_string().into_bytes());
    assert!(
        left <= untouched,
        "{total} increments lengthened the counter's life: {left} s left, {untouched} s for \
         a key set after it"
    );
}

#[tokio::test]
async fn memcached_counters_work_on_a_server_without_cas() {
    // Only where the gate runs servers (it installed memcached).
    if servers().is_none() {
        return;
    }
    let server = own_memcached(&["-C"]).await; // compare-and-set turned off
    let store = MemcachedStore::connect(&[server.address().to_string()], "no-cas")
        .await
        .unwrap();
    assert_eq!(store.increment("n", 1).await.unwrap(), 1);
    assert_eq!(store.increment("n", 41).await.unwrap(), 42);
    // Going down needs compare-and-set: a plain error at once, not 64 lost races.
    let err = store.increment("n", -1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert!(err.to_string().contains("-C"), "{err}");
    assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"42"[..]));
}

#[tokio::test]
async fn memcached_close_closes_every_handle_on_the_same_connections() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("close")).await;
    let quick = store.clone().with_timeout(Some(Duration::from_secs(1)));
    let patient = store.clone().with_timeout(None);
    quick.set("k", b"v", Ttl::Never).await.unwrap();

    store.close().await.unwrap();
    let later = store.clone().with_default_ttl(Duration::from_secs(5));
    for handle in [&store, &quick, &patient, &later] {
        let err = handle.get("k").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed, "{handle:?}");
    }
    // Closing from a derived handle closes the one it came from.
    let other = connect(&servers, &unique("close")).await;
    other.clone().with_timeout(None).close().await.unwrap();
    assert_eq!(other.get("k").await.unwrap_err().kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn memcached_a_reply_cut_short_never_answers_the_next_request() {
    let address = late_server().await;
    let store = MemcachedStore::connect(&[address.as_str()], "ns")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(200)));
    assert_eq!(
        store.get("warm").await.unwrap().as_deref(),
        Some(&b"warm"[..])
    );
    // The server keeps this reply until the connection's next request comes in.
    let err = store.get("slow").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // On the same connection, this get would read the late reply as its own: "slow".
    for _ in 0..3 {
        assert_eq!(
            store.get("fast").await.unwrap().as_deref(),
            Some(&b"fast"[..])
        );
    }
}

/// A loopback server speaking just enough of memcached's meta protocol for `get`: the
/// namespace generation is 7 and every other key's value is its last part, but the reply
/// for a key ending in `:slow` is held back until that connection's next request, and then
/// sent before that request's own reply, as a reply cut short by a timeout would come to
/// whoever used the connection next.
async fn late_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut held: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut out = held.take().unwrap_or_default();
                    let mut words = line.split_whitespace();
                    match (words.next(), words.next()) {
                        (Some("version"), _) => out.push_str("VERSION 1.6.18\r\n"),
                        (Some("mg"), Some(key)) => {
                            let value = if key.ends_with(":gen") {
                                "7"
                            } else {
                                key.rsplit(':').next().unwrap_or_default()
                            };
                            let reply = format!("VA {}\r\n{value}\r\n", value.len());
                            if key.ends_with(":slow") {
                                held = Some(reply);
                            } else {
                                out.push_str(&reply);
                            }
                        }
                        _ => out.push_str("ERROR\r\n"),
                    }
                    if write.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn memcached_get_many_over_several_round_trips_keeps_order_and_repeats() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("many-trips")).await;
    // Even keys are there, odd ones are not.
    let entries: Vec<(String, Vec<u8>)> = (0..700)
        .step_by(2)
        .map(|i| (format!("k{i}"), format!("v{i}").into_bytes()))
        .collect();
    let borrowed: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    store.set_many(&borrowed, Ttl::Never).await.unwrap();
    // 1,400 asks over two servers: each server's share takes three round trips of at most
    // 256, and every key is asked twice, 100 places apart (mostly in another round trip),
    // some twice in a row.
    let asked: Vec<String> = (0..1_400)
        .map(|i: usize| format!("k{}", (i * 7 + i / 350) % 700))
        .chain(["k0", "k0", "k1", "k1"].map(String::from))
        .collect();
    let keys: Vec<&str> = asked.iter().map(String::as_str).collect();
    let got = store.get_many(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, value) in keys.iter().zip(&got) {
        let i: usize = key[1..].parse().unwrap();
        let expected = i.is_multiple_of(2).then(|| format!("v{i}").into_bytes());
        assert_eq!(value, &expected, "{key}");
    }
}

#[tokio::test]
async fn memcached_set_many_with_a_zero_ttl_removes_the_keys() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("many-zero")).await;
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let entries: Vec<(&str, &[u8])> = keys.iter().map(|k| (k.as_str(), &b"v"[..])).collect();
    store.set_many(&entries, Ttl::Never).await.unwrap();
    store
        .set_many(&entries, Ttl::After(Duration::ZERO))
        .await
        .unwrap();
    let borrowed: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert!(
        store
            .get_many(&borrowed)
            .await
            .unwrap()
            .iter()
            .all(Option::is_none)
    );
}

#[tokio::test]
async fn memcached_values_no_memcached_can_hold_are_refused_before_sending() {
    let Some(servers) = servers() else {
        return;
    };
    let store = connect(&servers, &unique("huge")).await;
    // Memcached holds at most 1 GiB in an item, and reads a value of 2 GiB or more as
    // commands. Zeroed memory the test never touches costs no real memory.
    let huge = vec![0u8; (1 << 30) + 1];
    let results = [
        store.set("k", &huge, Ttl::Never).await,
        store.add("k", &huge, Ttl::Never).await.map(drop),
        store.set_many(&[("k", &huge)], Ttl::Never).await,
    ];
    for result in results {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Backend, "{err}");
        assert!(err.to_string().contains("1 GiB"), "{err}");
    }
    store.set("k", b"small", Ttl::Never).await.unwrap();
    assert_eq!(
        store.get("k").await.unwrap().as_deref(),
        Some(&b"small"[..])
    );
}

#[tokio::test]
async fn memcached_instances_follow_the_generation_memcached_holds_even_a_lower_one() {
    let Some(servers) = servers() else {
        return;
    };
    let ns = unique("lower");
    let a = connect(&servers, &ns)
        .await
        .with_generation_refresh(Duration::ZERO);
    a.set("k", b"a", Ttl::Never).await.unwrap();
    let (mut clients, generation) = inspect(&servers, &ns).await;

    // The generation is lost (evicted, or its server restarted) and made again, lower, by
    // an instance whose clock is behind.
    let key = format!("{ns}:gen");
    let (server, _, _) = holder(&mut clients, &key).await;
    let lower = (generation - 1_000_000).to_string();
    clients[server]
        .meta_set(&key, lower.as_bytes(), false, None, Some(&["T0"]))
        .await
        .unwrap();
    let b = connect(&servers, &ns)
        .await
        .with_generation_refresh(Duration::ZERO);
    b.set("k", b"b", Ttl::Never).await.unwrap();
    // One namespace: both instances see the same keys.
    assert_eq!(a.get("k").await.unwrap().as_deref(), Some(&b"b"[..]));
    // And a clear empties it for the instance that made it too.
    a.clear().await.unwrap();
    assert_eq!(a.get("k").await.unwrap(), None);
    assert_eq!(b.get("k").await.unwrap(), None);
    a.set("k", b"a2", Ttl::Never).await.unwrap();
    assert_eq!(b.get("k").await.unwrap().as_deref(), Some(&b"a2"[..]));
}

#[tokio::test]
async fn memcached_close_closes_the_connections() {
    // Only where the gate runs servers (it installed memcached).
    if servers().is_none() {
        return;
    }
    let server = own_memcached(&[]).await; // its connections are ours alone
    let mut watcher = raw(&server.address().to_string()).await;
    // Maybe with the probe that saw the server start, not yet closed on the server's side.
    let baseline = open_connections(&mut watcher).await;
    let store = MemcachedStore::connect(&[server.address().to_string()], "conns")
        .await
        .unwrap();
    let writes = (0..8).map(|i| {
        let store = store.clone();
        async move { store.set(&format!("k{i}"), b"v", Ttl::Never).await }
    });
    for result in futures_util::future::join_all(writes).await {
        result.unwrap();
    }
    assert!(open_connections(&mut watcher).await > baseline);

    store.close().await.unwrap();
    // The server sees them go as it handles each close: ask until it has (bounded).
    let mut open = 0;
    for _ in 0..2_000 {
        open = open_connections(&mut watcher).await;
        if open <= baseline {
            break;
        }
    }
    assert!(
        open <= baseline,
        "{open} connections open after closing, {baseline} before connecting"
    );
}

/// The connections the server has open (with the watcher's own).
async fn open_connections(watcher: &mut Client) -> u64 {
    let stats = watcher.stats().await.unwrap();
    stats["curr_connections"].parse().unwrap()
}
