//! The `agent` scenario: what a tool-cache hit costs. A hit through
//! `larder::agent::ToolCache::call` (the arguments canonicalised, the key built, the lookup,
//! the per-tool counters) and through a `Session` (loop detection as well), on typical
//! 200-byte JSON arguments, next to a plain `Cache` hit and a `serde_json` round trip of the
//! same arguments. One thread, a current-thread runtime; medians of the rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use larder::Cache;
use larder::agent::{LoopLimits, ToolCache, ToolPolicy};
use serde_json::{Value, json};

use crate::report::{Section, Table, fixed, median};

const ROUNDS: usize = 7;

/// Arguments as an agent sends them to a search tool: 200 bytes of JSON.
fn args() -> Value {
    json!({
        "query": "rust async cache library benchmarks",
        "filters": {"language": "en", "year": {"min": 2020, "max": 2026}, "safe": true},
        "limit": 10,
        "offset": 0,
        "sort": "relevance",
        "include": ["title", "url", "snippet", "published"]
    })
}

/// ns per call of `f`, over `ops` calls.
fn per_op(ops: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..ops {
        f();
    }
    start.elapsed().as_nanos() as f64 / ops as f64
}

pub(crate) fn run(quick: bool, command: &str) -> Section {
    let ops: u64 = if quick { 20_000 } else { 200_000 };
    let mut section = Section::new("agent", "Agent tool caching: the cost of a hit", command);
    let args = args();
    let text = serde_json::to_string(&args).unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("a tokio runtime: {e}"),
    };

    let plain: Cache<String, Value> = Cache::new(1_000);
    plain.insert(text.clone(), json!(["result"]));
    let tools: ToolCache<Value> = ToolCache::builder()
        .tool("search", ToolPolicy::cached(Duration::from_secs(3_600)))
        // A session repeating one call is a loop by default: lift the limits for the bench.
        .loop_limits(
            LoopLimits::default()
                .max_tool_repeats(usize::MAX)
                .max_execution_depth(None),
        )
        .build();
    let session = tools.session("bench");
    runtime.block_on(async {
        let first = tools
            .call("search", &args, || async {
                Ok::<_, String>(json!(["result"]))
            })
            .await;
        assert!(first.is_ok());
    });

    let mut rows: [(&str, Vec<f64>); 5] = [
        (
            "plain `Cache<String, Value>::get` hit (the arguments' JSON text as the key)",
            Vec::new(),
        ),
        (
            "`serde_json` round trip of the arguments (`to_string` + `from_str`)",
            Vec::new(),
        ),
        ("canonical arguments alone (`canonical_args`)", Vec::new()),
        ("`ToolCache::call` hit", Vec::new()),
        ("`Session::call` hit (with loop detection)", Vec::new()),
    ];
    for _ in 0..ROUNDS {
        rows[0].1.push(per_op(ops, || {
            black_box(plain.get(black_box(&text)));
        }));
        rows[1].1.push(per_op(ops, || {
            let s = serde_json::to_string(black_box(&args)).unwrap_or_default();
            black_box(serde_json::from_str::<Value>(&s).ok());
        }));
        rows[2].1.push(per_op(ops, || {
            black_box(larder::agent::canonical_args(black_box(&args)).ok());
        }));
        rows[3].1.push(runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..ops {
                let hit = tools
                    .call("search", black_box(&args), || async {
                        Err::<Value, String>("not a hit".into())
                    })
                    .await;
                black_box(hit.is_ok());
            }
            start.elapsed().as_nanos() as f64 / ops as f64
        }));
        rows[4].1.push(runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..ops {
                let hit = session
                    .call("search", black_box(&args), || async {
                        Err::<Value, String>("not a hit".into())
                    })
                    .await;
                black_box(hit.is_ok());
            }
            start.elapsed().as_nanos() as f64 / ops as f64
        }));
    }
    let stats = &tools.stats()["search"];
    assert_eq!(stats.misses, 1, "every measured call was a hit");

    let plain_ns = median(rows[0].1.clone());
    let mut table = Table::new(["", "ns per call (median)", "range", "vs plain hit"]);
    for (label, runs) in &rows {
        let low = runs.iter().copied().fold(f64::INFINITY, f64::min);
        let high = runs.iter().copied().fold(0.0, f64::max);
        let mid = median(runs.clone());
        table.row([
            label.to_string(),
            fixed(mid, 0),
            format!("{}–{}", fixed(low, 0), fixed(high, 0)),
            format!("{}x", fixed(mid / plain_ns, 1)),
        ]);
    }
    section.para(format!(
        "Arguments of {} bytes of JSON (nested objects, an array, numbers, a bool), {} calls \
         per measurement, {ROUNDS} rounds; one thread. A tool-cache hit converts the arguments \
         to a `serde_json::Value`, writes their canonical text (keys sorted), builds the key \
         and looks it up; a session also records the call and checks the loop rules.",
        text.len(),
        crate::report::thousands(ops),
    ));
    section.table(&table);
    section.para("No target: the figure is for choosing where to put a tool cache.");
    section
}
