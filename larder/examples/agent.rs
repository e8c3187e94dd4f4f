//! A scripted agent (no model, no network) that plans with tool calls through a
//! `larder::agent::ToolCache`: repeated reads hit the cache, a write invalidates what it
//! changes, two sessions keep their notes apart and drop them when they end, a loop is caught
//! in each of the three modes, and the per-tool stats close the run.
//!
//! ```text
//! cargo run -p larder --features agent --example agent
//! ```

#![allow(clippy::unwrap_used)] // a script: a failed step ends the run

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::agent::{LoopAction, Scope, Session, ToolCache, ToolError, ToolPolicy};
use serde_json::{Value, json};

/// The shop the tools talk to: a cart per user, and a count of real tool runs.
#[derive(Default)]
struct Shop {
    carts: tokio::sync::Mutex<std::collections::HashMap<u64, Vec<String>>>,
    runs: AtomicUsize,
}

type Tools = ToolCache<Value>;

fn tools(action: LoopAction) -> Tools {
    ToolCache::builder()
        .tool(
            "search_products",
            ToolPolicy::cached(Duration::from_secs(300)).depends_on("catalog"),
        )
        .tool(
            "read_cart",
            ToolPolicy::cached(Duration::from_secs(60)).depends_on("cart:{user_id}"),
        )
        .tool(
            "add_to_cart",
            ToolPolicy::mutating().invalidates("cart:{user_id}"),
        )
        .tool(
            "scratchpad",
            ToolPolicy::cached(Duration::from_secs(600)).scope(Scope::Session),
        )
        .on_loop(action)
        .build()
}

/// Runs one tool call of the script, with the tool's real work as `shop` does it.
async fn call(
    session: &Session<Value, larder::agent::LocalBacking<Value>>,
    shop: &Arc<Shop>,
    tool: &str,
    args: Value,
) -> Result<Value, ToolError<String>> {
    let (shop, name, a) = (shop.clone(), tool.to_string(), args.clone());
    session
        .call(tool, &args, move || async move {
            shop.runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await; // the tool's latency
            let user = a["user_id"].as_u64().unwrap_or(0);
            Ok(match name.as_str() {
                "search_products" => json!(["pen", "ink", "paper"]),
                "read_cart" => json!(
                    shop.carts
                        .lock()
                        .await
                        .get(&user)
                        .cloned()
                        .unwrap_or_default()
                ),
                "add_to_cart" => {
                    let item = a["item"].as_str().unwrap_or("?").to_string();
                    shop.carts.lock().await.entry(user).or_default().push(item);
                    json!("added")
                }
                "scratchpad" => a["note"].clone(),
                _ => json!(null),
            })
        })
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shop = Arc::new(Shop::default());
    let tools = tools(LoopAction::Raise);

    println!("## repeated reads hit the cache");
    let agent = tools.session("agent-a");
    for _ in 0..2 {
        // Same arguments, keys in another order each time: one entry. (Two rounds: a
        // sixth identical call would be a loop, as the last part shows.)
        call(
            &agent,
            &shop,
            "search_products",
            json!({"q": "pen", "limit": 3}),
        )
        .await
        .unwrap();
        call(
            &agent,
            &shop,
            "search_products",
            json!({"limit": 3.0, "q": "pen"}),
        )
        .await
        .unwrap();
    }
    println!(
        "4 searches, {} tool run(s)",
        shop.runs.load(Ordering::SeqCst)
    );

    println!("\n## a write invalidates the resource it changes");
    let cart = json!({"user_id": 7});
    println!(
        "cart before: {}",
        call(&agent, &shop, "read_cart", cart.clone())
            .await
            .unwrap()
    );
    println!(
        "cart again (cached): {}",
        call(&agent, &shop, "read_cart", cart.clone())
            .await
            .unwrap()
    );
    call(
        &agent,
        &shop,
        "add_to_cart",
        json!({"user_id": 7, "item": "ink"}),
    )
    .await
    .unwrap();
    println!(
        "cart after add_to_cart: {}",
        call(&agent, &shop, "read_cart", cart.clone())
            .await
            .unwrap()
    );

    println!("\n## two sessions keep their notes apart");
    let other = tools.session("agent-b");
    let note = |n: &str| json!({"key": "plan", "note": n});
    call(&agent, &shop, "scratchpad", note("a: buy ink"))
        .await
        .unwrap();
    call(&other, &shop, "scratchpad", note("b: compare pens"))
        .await
        .unwrap();
    println!("entries now: {}", tools.backing().len());
    agent.end().await;
    drop(other);
    println!(
        "after both sessions ended: {} entries (the shared search and cart stay)",
        tools.backing().len()
    );

    println!("\n## a loop caught in each mode");
    for action in [
        LoopAction::Raise,
        LoopAction::Warn,
        LoopAction::ShortCircuit,
    ] {
        let tools = self::tools(action);
        let stuck = tools.session("stuck");
        let mut last = None;
        // A -> B -> A -> B ...: the fourth repetition of the cycle is caught.
        for i in 0..8 {
            let (tool, args) = if i % 2 == 0 {
                ("search_products", json!({"q": "pen"}))
            } else {
                ("read_cart", json!({"user_id": 7}))
            };
            let before = shop.runs.load(Ordering::SeqCst);
            let outcome = call(&stuck, &shop, tool, args).await;
            last = Some((outcome, shop.runs.load(Ordering::SeqCst) > before));
        }
        match last.unwrap() {
            (Err(error), _) => println!("{action:?}: {error}"),
            (Ok(value), ran) if action == LoopAction::Warn => println!(
                "{action:?}: logged, and the call went on ({}): {value}",
                if ran { "the tool ran" } else { "a cache hit" }
            ),
            (Ok(value), _) => {
                println!("{action:?}: answered from the cache, the tool not run: {value}")
            }
        }
        let stats = &tools.stats()["read_cart"];
        println!(
            "  read_cart: oscillations caught {}, short-circuited {}",
            stats.oscillation_loops, stats.short_circuits
        );
    }

    println!("\n## per-tool stats");
    for (tool, stats) in tools.stats() {
        println!(
            "{tool:16} calls {:2}  hits {:2}  misses {:2}  joins {}  invalidations {}  saved {:?}",
            stats.calls,
            stats.hits,
            stats.misses,
            stats.joins,
            stats.invalidations,
            stats.time_saved
        );
    }
}
