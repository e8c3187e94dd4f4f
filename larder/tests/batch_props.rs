//! A property test of batching: random concurrent loads (some given up on) against a model.
//! Every caller that finishes gets exactly the batch function's answer for its key; a batch
//! never holds a key twice; a key with a value is requested at most once (it is stored); a
//! key without one is never in two batches running at the same time.

#![allow(clippy::disallowed_types)] // a std Mutex records the batch calls

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use larder::Cache;
use proptest::prelude::*;
use tokio::time::{Instant, sleep, timeout};

const BATCH_TIME: Duration = Duration::from_millis(3);

/// Keys the backend has no value for.
fn missing(key: u64) -> bool {
    key % 5 == 3
}

#[derive(Debug, Clone)]
struct Request {
    key: u64,
    after_ms: u64,
    /// Give up after this long, if set.
    give_up_ms: Option<u64>,
}

fn request() -> impl Strategy<Value = Request> {
    (
        0..16u64,
        0..30u64,
        proptest::option::weighted(0.3, 0..15u64),
    )
        .prop_map(|(key, after_ms, give_up_ms)| Request {
            key,
            after_ms,
            give_up_ms,
        })
}

type Batches = Arc<Mutex<Vec<(Instant, Instant, Vec<u64>)>>>;

fn run(requests: Vec<Request>, max_batch_size: usize, window_ms: u64) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let cache: Cache<u64, u64> = Cache::new(1_000);
        let batches: Batches = Arc::default();
        let recorded = Arc::clone(&batches);
        let loader = cache
            .batch_loader(move |keys: Vec<u64>| {
                let recorded = Arc::clone(&recorded);
                async move {
                    let start = Instant::now();
                    sleep(BATCH_TIME).await;
                    let values: HashMap<u64, u64> = keys
                        .iter()
                        .filter(|&&k| !missing(k))
                        .map(|&k| (k, k * 10))
                        .collect();
                    recorded
                        .lock()
                        .expect("not poisoned")
                        .push((start, Instant::now(), keys));
                    Ok::<_, String>(values)
                }
            })
            .window(Duration::from_millis(window_ms))
            .max_batch_size(max_batch_size)
            .build();
        let tasks: Vec<_> = requests
            .iter()
            .cloned()
            .map(|r| {
                let loader = loader.clone();
                tokio::spawn(async move {
                    sleep(Duration::from_millis(r.after_ms)).await;
                    let load = loader.load(r.key);
                    match r.give_up_ms {
                        Some(ms) => timeout(Duration::from_millis(ms), load).await.ok(),
                        None => Some(load.await),
                    }
                })
            })
            .collect();
        for (request, task) in requests.iter().zip(tasks) {
            let outcome = timeout(Duration::from_secs(60), task)
                .await
                .expect("no hang")
                .expect("no panic");
            if let Some(result) = outcome {
                let expected = (!missing(request.key)).then_some(request.key * 10);
                prop_assert_eq!(result, Ok(expected), "key {}", request.key);
            }
        }
        let batches = batches.lock().expect("not poisoned").clone();
        let mut asked: HashMap<u64, usize> = HashMap::new();
        for (_, _, keys) in &batches {
            prop_assert!(!keys.is_empty() && keys.len() <= max_batch_size);
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), keys.len(), "a key twice in one batch");
            for k in keys {
                *asked.entry(*k).or_default() += 1;
            }
        }
        for (key, times) in &asked {
            if !missing(*key) {
                prop_assert_eq!(*times, 1, "key {} with a value was requested again", key);
            }
        }
        for (i, (start_a, end_a, keys_a)) in batches.iter().enumerate() {
            for (start_b, end_b, keys_b) in &batches[i + 1..] {
                let overlap = start_a < end_b && start_b < end_a;
                if overlap {
                    prop_assert!(
                        keys_a.iter().all(|k| !keys_b.contains(k)),
                        "a key in two batches at once"
                    );
                }
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn batched_loads_match_the_model(
        requests in proptest::collection::vec(request(), 1..60),
        max_batch_size in 1..6usize,
        window_ms in 1..8u64,
    ) {
        run(requests, max_batch_size, window_ms)?;
    }
}
