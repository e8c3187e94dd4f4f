//! L2 hits over Redis from 64 tasks (issue 14), one mode per process, for `perf record` or
//! callgrind: `l2_redis URL MODE [rounds]`, with `N` keys (environment, default 100,000).
//!
//! MODE: `fill` writes the keys (run it once per server), then `base` (`RedisStore::get` plus
//! `Postcard::unpack`), `tier0` (`Tiered::get` with an L1 of capacity 0), `tiersmall` (an
//! L1 of 1,000 entries, which fills and evicts) or `tier`
//! (`Tiered::get` with a fresh L1 per round, which fills) read each key once per round and
//! print the rate. Instructions per read under callgrind: run 3 rounds and 1 round, and
//! divide the difference by 2N.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use larder::codec::{Codec, Postcard};
use larder::store::{RedisStore, Store};
use larder::tier::Tiered;
use larder::{Cache, Ttl};

const VALUE: usize = 100;
const TASKS: usize = 64;
static N: LazyLock<usize> = LazyLock::new(|| {
    std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
});

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: l2_redis URL MODE [rounds]")?;
    let mode = args.next().unwrap_or_else(|| "tier".into());
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let n = *N;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let store = RedisStore::connect(&url, "l2r").await?;
        let keys: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("k{i}")).collect());
        if mode == "fill" {
            let value = vec![0x5Au8; VALUE];
            let packed = Postcard.pack(&value)?;
            let filler: Tiered<String, Vec<u8>> =
                Tiered::builder(Cache::new(0), store.clone()).build();
            for k in keys.iter() {
                filler.insert(k.clone(), value.clone()).await;
                store.set(&format!("p:{k}"), &packed, Ttl::Never).await?;
            }
            return Ok(());
        }
        for _ in 0..rounds {
            let start = Instant::now();
            let tier: Option<Tiered<String, Vec<u8>>> = match mode.as_str() {
                "base" => None,
                "tier0" => Some(Tiered::builder(Cache::new(0), store.clone()).build()),
                "tiersmall" => Some(Tiered::builder(Cache::new(1_000), store.clone()).build()),
                _ => Some(Tiered::builder(Cache::new(2 * n as u64), store.clone()).build()),
            };
            let handles: Vec<_> = (0..TASKS)
                .map(|t| {
                    let (store, keys, tier) = (store.clone(), keys.clone(), tier.clone());
                    tokio::spawn(async move {
                        let mut found = 0usize;
                        for i in (t..n).step_by(TASKS) {
                            let ok = match &tier {
                                None => match store.get(&format!("p:{}", keys[i])).await {
                                    Ok(Some(b)) => Postcard.unpack::<Vec<u8>>(&b).is_ok(),
                                    _ => false,
                                },
                                Some(t) => t.get(&keys[i]).await.is_some(),
                            };
                            found += usize::from(ok);
                        }
                        found
                    })
                })
                .collect();
            let mut found = 0;
            for h in handles {
                found += h.await.unwrap_or(0);
            }
            let rate = n as f64 / start.elapsed().as_secs_f64() / 1e6;
            println!("{mode}: {rate:.3} M/s ({found} of {n} found)");
        }
        Ok::<_, larder::Error>(())
    })?;
    Ok(())
}
