//! A Redis request lost on the way (a black hole: the proxy read it and dropped it) leaves
//! the store's connection out of step with the server for good: the redis crate's
//! multiplexed connection matches replies to requests by order, still waits for the lost
//! request's reply, and hands every later reply to the request before it. A caller then gets
//! another caller's answer (another key's value), and once the callers in front have given
//! up, nobody gets an answer at all. The connection is never dropped, because it never
//! fails: only a reconnect after a timeout would set it right.
//!
//! Found by the fault suite (`redis_keeps_..._through_a_black_hole` sees every operation
//! fail after healing); these two tests pin it down deterministically. Both fail today.

use std::time::Duration;

use larder::Ttl;
use larder::store::{RedisStore, Store};

use super::proxy::Proxy;
use super::server::{self, Server, free_port, missing};

/// A plain Redis (no persistence) behind the proxy, with `k1` and `k2` set, and a store
/// with a 200 ms timeout whose connection lost one `MGET` in a black hole.
async fn desynced() -> Option<(Server, Proxy, RedisStore)> {
    let port = free_port();
    let args = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]
    .map(String::from)
    .to_vec();
    let server = Server::start("redis-server", args, port, server::REDIS).await?;
    let proxy = Proxy::start(server.address()).await.unwrap();
    let url = format!("redis://{}", proxy.address());
    let store = RedisStore::connect(&url, "desync")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(200)));
    store.set("k1", b"value-of:k1", Ttl::Never).await.unwrap();
    store.set("k2", b"value-of:k2", Ttl::Never).await.unwrap();
    proxy.black_hole();
    let lost = store.get_many(&["k1"]).await;
    assert!(lost.is_err(), "black-holed: {lost:?}");
    proxy.forward();
    Some((server, proxy, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "defect: a Redis request lost in a black hole desyncs the connection, and the next \
            caller gets the following caller's reply (k1 answered with k2's value); not fixed \
            in any branch yet, reported to the lead"]
async fn redis_a_lost_request_never_hands_one_callers_reply_to_another() {
    let Some((_server, _proxy, store)) = desynced().await else {
        return missing("redis-server");
    };
    // Two callers with time to wait, one after the other (100 ms apart: two MGETs).
    let patient = store.with_timeout(Some(Duration::from_secs(2)));
    let first = {
        let patient = patient.clone();
        tokio::spawn(async move { patient.get_many(&["k1"]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await; // orders the two requests
    let second = tokio::spawn(async move { patient.get_many(&["k2"]).await });
    for (asked, task) in [("k1", first), ("k2", second)] {
        if let Ok(values) = task.await.unwrap() {
            let expected = format!("value-of:{asked}").into_bytes();
            assert_eq!(values, [Some(expected)], "asked for {asked}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "defect: a Redis connection that lost a request in a black hole never answers \
            again (no reconnect after timeouts); not fixed in any branch yet, reported to the \
            lead"]
async fn redis_answers_again_once_a_black_hole_ends() {
    let Some((_server, _proxy, store)) = desynced().await else {
        return missing("redis-server");
    };
    // Ten gets in a row, each within its timeout: a healed connection answers the first.
    let mut answered = 0;
    for _ in 0..10 {
        answered += usize::from(store.get("k1").await.is_ok());
    }
    assert!(
        answered > 0,
        "no answer in 10 gets after the black hole ended"
    );
}
