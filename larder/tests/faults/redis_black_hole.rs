//! A Redis request lost in a black hole: the store's connection then never answers again,
//! as a real connection behind a firewall that drops its packets. It never fails either, so
//! the redis crate never reconnects by itself; the store replaces it after a run of timeouts
//! (`RedisStore`'s "Failures" docs). These tests pin down that it does, and that no caller
//! gets another caller's answer meanwhile.
//!
use std::time::Duration;

use larder::Ttl;
use larder::store::{RedisStore, Store};

use super::proxy::Proxy;
use super::server::{self, Server, free_port, missing};

/// A plain Redis (no persistence) behind the proxy, with `k1` and `k2` set, and a store
/// with a 200 ms timeout whose connection lost one `MGET` in a black hole that has ended.
async fn black_holed() -> Option<(Server, Proxy, RedisStore)> {
    let server = server::redis(free_port(), None, &[]).await?;
    let proxy = Proxy::start(server.address()).await.unwrap();
    let url = format!("redis://{}", proxy.address());
    let store = RedisStore::connect(&url, "black-hole")
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
async fn redis_a_lost_request_never_hands_one_callers_reply_to_another() {
    let Some((_server, _proxy, store)) = black_holed().await else {
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
async fn redis_answers_again_once_a_black_hole_ends() {
    let Some((_server, _proxy, store)) = black_holed().await else {
        return missing("redis-server");
    };
    // Ten gets in a row, each within its timeout: after three timeouts in a row the store
    // replaces the dead connection, and the next ones are answered.
    let mut answered = 0;
    for _ in 0..10 {
        answered += usize::from(store.get("k1").await.is_ok());
    }
    assert!(
        answered > 0,
        "no answer in 10 gets after the black hole ended"
    );
}
