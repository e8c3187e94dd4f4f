//! The agent tool cache over a tiered cache on the gate's Redis, across OS processes: a
//! global entry one process writes is a hit in another, and a mutating tool in one process
//! invalidates the other's copy.
//!
//! The parent test runs this test binary again as the other process (`AGENT_TIER_ROLE`), and
//! waits for it by its own pid (`Child::wait`); run by the harness itself, the child test
//! does nothing.

#![cfg(all(feature = "agent", feature = "tier", feature = "redis"))]
#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use conformance::{service, unique};
use larder::agent::{ToolCache, ToolEntry, ToolKey, ToolPolicy};
use larder::store::RedisStore;
use larder::tier::Tiered;
use serde_json::{Value, json};

const ROLE: &str = "AGENT_TIER_ROLE";
const NAMESPACE: &str = "AGENT_TIER_NAMESPACE";

type Tools = ToolCache<Value, Tiered<ToolKey, ToolEntry<Value>>>;

async fn tools(url: &str, namespace: &str) -> Tools {
    let store = RedisStore::connect(url, namespace).await.unwrap();
    let builder = ToolCache::builder()
        .tool(
            "read_cart",
            ToolPolicy::cached(Duration::from_secs(600)).depends_on("cart:{user_id}"),
        )
        .tool(
            "add_to_cart",
            ToolPolicy::mutating().invalidates("cart:{user_id}"),
        );
    let tier = builder.tiered(store).build();
    builder.build_on(tier)
}

/// Waits (at most 5 s) until `done`: for a report that crosses processes through Redis.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn cart_key() -> ToolKey {
    ToolKey::new(None, "read_cart", r#"{"user_id":7}"#)
}

/// Runs this binary's `child` test as the other process, in `role`, and waits for it; what
/// it printed.
fn other_process(role: &str, url: &str, namespace: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env(ROLE, role)
        .env(NAMESPACE, namespace)
        .env("LARDER_REDIS_URL", url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the {role} process failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_entry_written_in_one_process_is_a_hit_in_another() {
    let Some(url) = service("LARDER_REDIS_URL") else {
        return;
    };
    let namespace = unique("agent-tier");
    let tools = tools(&url, &namespace).await;
    until("the tier watches", || tools.backing().is_watching()).await;
    // The other process runs the tool once: its result goes to L2.
    let heard = tools.backing().stats().invalidations_received;
    let printed = other_process("writer", &url, &namespace);
    // Its write's report reaches this process too; a read racing it would (rightly) keep
    // the value out of L1, so let it arrive first.
    until("this process hears of the write", || {
        tools.backing().stats().invalidations_received > heard
    })
    .await;
    let took: u64 = printed
        .lines()
        .find_map(|line| line.split_once("took_nanos=").map(|(_, n)| n))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("the writer says how long its call took");

    let cart = json!({"user_id": 7});
    let found = tools
        .call("read_cart", &cart, || async {
            Err::<Value, _>("the tool ran here: the other process's result was not found")
        })
        .await
        .unwrap();
    assert_eq!(found, json!(["pen"]));
    let stats = &tools.stats()["read_cart"];
    assert_eq!(
        (stats.hits, stats.misses),
        (1, 0),
        "an L2 hit, counted as a hit"
    );
    assert_eq!(
        stats.time_saved,
        Duration::from_nanos(took),
        "the writer's call time"
    );
    assert!(tools.backing().l1().contains_key(&cart_key()));

    // The other process mutates cart 7: this process's copy (now in its L1) goes too.
    other_process("mutator", &url, &namespace);
    until("the invalidation reaches this process", || {
        !tools.backing().l1().contains_key(&cart_key())
    })
    .await;
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let after = tools
        .call("read_cart", &cart, move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(json!(["pen", "ink"]))
        })
        .await
        .unwrap();
    assert_eq!(after, json!(["pen", "ink"]));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child() {
    let (Ok(role), Ok(namespace), Ok(url)) = (
        std::env::var(ROLE),
        std::env::var(NAMESPACE),
        std::env::var("LARDER_REDIS_URL"),
    ) else {
        return; // run by the harness itself, not by the parent test
    };
    let tools = tools(&url, &namespace).await;
    match role.as_str() {
        "writer" => {
            let cart = tools
                .call("read_cart", &json!({"user_id": 7}), || async {
                    Ok::<_, String>(json!(["pen"]))
                })
                .await
                .unwrap();
            assert_eq!(cart, json!(["pen"]));
            // The entry records how long the call took; the parent's hit saves exactly that.
            // (Read through the tier: this process's own write may have dropped its L1 copy.)
            let entry = tools.backing().get(&cart_key()).await.unwrap();
            println!("took_nanos={}", entry.took().as_nanos());
        }
        "mutator" => {
            tools
                .call(
                    "add_to_cart",
                    &json!({"user_id": 7, "item": "ink"}),
                    || async { Ok::<_, String>(json!("added")) },
                )
                .await
                .unwrap();
        }
        other => panic!("unknown role {other}"),
    }
}
