//! A tier over a store whose connection fell into a black hole: once the network heals,
//! the tier reads L2 again. The store's own timeout is what ends the lost read and, on
//! Redis, replaces the dead connection (a design that left the tier's timer alone on the
//! store's calls never recovered: found in review).

use std::time::Duration;

use larder::Cache;
use larder::store::{MemcachedStore, RedisStore, Store};
use larder::tier::Tiered;

use super::TIMEOUT;
use super::proxy::Proxy;
use super::server::{self, free_port, missing};

/// Values for `k0`..`k19`, written straight to the server; then a reader tier through
/// `proxy` (its store's timeout [`TIMEOUT`], the tier's the default 250 ms, a breaker that
/// never opens) loses one read to a black hole and reads again once it heals: how many of
/// the 17 reads after it L2 answered.
async fn reads_after_a_black_hole<S: Store + Clone>(direct: S, via: S, proxy: &Proxy) -> usize {
    let writer: Tiered<String, String> = Tiered::builder(Cache::new(100), direct)
        .watch(false)
        .build();
    for i in 0..20 {
        writer.insert(format!("k{i}"), format!("v{i}")).await;
    }
    let reader: Tiered<String, String> = Tiered::builder(Cache::new(100), via)
        .watch(false)
        .circuit_breaker(u32::MAX, Duration::from_millis(1))
        .build();
    assert_eq!(reader.get(&"k0".to_string()).await.as_deref(), Some("v0"));
    proxy.black_hole();
    assert_eq!(reader.get(&"k1".to_string()).await, None, "black-holed");
    proxy.forward();
    let mut answered = 0;
    for i in 3..20 {
        answered += usize::from(reader.get(&format!("k{i}")).await.is_some());
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_over_redis_reads_l2_again_after_a_black_hole() {
    let Some(server) = server::redis(free_port(), None, &[]).await else {
        return missing("redis-server");
    };
    let proxy = Proxy::start(server.address()).await.unwrap();
    let direct = RedisStore::connect(&format!("redis://{}", server.address()), "bh")
        .await
        .unwrap();
    let via = RedisStore::connect(&format!("redis://{}", proxy.address()), "bh")
        .await
        .unwrap()
        .with_timeout(Some(TIMEOUT));
    let answered = reads_after_a_black_hole(direct, via, &proxy).await;
    assert!(
        answered > 0,
        "no L2 answer in 17 reads after the black hole ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tier_over_memcached_reads_l2_again_after_a_black_hole() {
    let Some(server) = server::memcached(free_port(), 16, &[]).await else {
        return missing("memcached");
    };
    let proxy = Proxy::start(server.address()).await.unwrap();
    let direct = MemcachedStore::connect(&[server.address().to_string().as_str()], "bh")
        .await
        .unwrap();
    let via = MemcachedStore::connect(&[proxy.address().to_string().as_str()], "bh")
        .await
        .unwrap()
        .with_timeout(Some(TIMEOUT));
    let answered = reads_after_a_black_hole(direct, via, &proxy).await;
    assert!(
        answered > 0,
        "no L2 answer in 17 reads after the black hole ended"
    );
}
