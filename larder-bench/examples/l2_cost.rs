//! Instructions per L2 hit (issue 14): reads that L1 misses, through `Tiered` over a
//! `MemoryStore`, against the store's own `get` plus decode, on one current-thread runtime,
//! for `valgrind --tool=callgrind --toggle-collect='l2_cost::read_loop*'
//! target/release/examples/l2_cost MODE [reads]`.
//! MODE: base (`MemoryStore::get` + `Postcard::unpack`), tier0 (`Tiered::get` with an L1 of
//! capacity 0: no fill, no single-flight) or tier (`Tiered::get` with a fresh L1 that fills).
//! The difference between tier0 and base is the tier's own cost per L2 read; between tier
//! and tier0, the L1 miss's single-flight and fill.

use std::future::Future;

use larder::codec::{Codec, Postcard};
use larder::store::{MemoryStore, Store};
use larder::tier::Tiered;
use larder::{Cache, Ttl};
use tokio::runtime::Runtime;

const VALUE: usize = 100;

/// Every key read once, in turn, on `rt`: a plain function, so that callgrind's toggle
/// names it.
#[inline(never)]
fn read_loop<F, Fut>(rt: &Runtime, keys: &[String], read: F) -> usize
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = bool>,
{
    rt.block_on(async {
        let mut found = 0;
        for key in keys {
            found += usize::from(read(key.clone()).await);
        }
        found
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "tier".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = MemoryStore::new("l2");
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let value = vec![0x5Au8; VALUE];
    let found = match mode.as_str() {
        "base" => {
            let packed = Postcard.pack(&value)?;
            rt.block_on(async {
                for key in &keys {
                    store.set(key, &packed, Ttl::Never).await?;
                }
                Ok::<_, larder::Error>(())
            })?;
            read_loop(&rt, &keys, |key| {
                let store = &store;
                async move {
                    let Ok(Some(bytes)) = store.get(&key).await else {
                        return false;
                    };
                    Postcard
                        .unpack::<Vec<u8>>(&bytes)
                        .is_ok_and(|v| v.len() == VALUE)
                }
            })
        }
        "tier0" | "tier" => {
            let capacity = if mode == "tier" { 2 * n as u64 } else { 0 };
            let tier: Tiered<String, Vec<u8>> = rt.block_on(async {
                let filler: Tiered<String, Vec<u8>> =
                    Tiered::builder(Cache::new(0), store.clone()).build();
                for key in &keys {
                    filler.insert(key.clone(), value.clone()).await;
                }
                Tiered::builder(Cache::new(capacity), store.clone()).build()
            });
            read_loop(&rt, &keys, |key| {
                let tier = &tier;
                async move { tier.get(&key).await.is_some_and(|v| v.len() == VALUE) }
            })
        }
        other => return Err(format!("mode {other:?}: base|tier0|tier").into()),
    };
    assert_eq!(found, n, "every read found its value");
    Ok(())
}
