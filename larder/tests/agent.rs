//! The agent tool cache: keys, policies, invalidation by resource, sessions, loop detection
//! in each mode, single-flight and per-tool stats.
#![cfg(feature = "agent")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::agent::{LoopAction, LoopKind, LoopLimits, Scope, ToolCache, ToolError, ToolPolicy};
use larder::{Cache, Clock, ErrorKind};
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

/// A tool that counts its runs and answers `answer`.
#[derive(Clone, Default)]
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn run(
        &self,
        answer: Value,
    ) -> impl FnOnce() -> std::future::Ready<Result<Value, String>> + Send + use<> {
        let runs = self.0.clone();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(answer))
        }
    }

    fn fail(
        &self,
        message: &str,
    ) -> impl FnOnce() -> std::future::Ready<Result<Value, String>> + Send + use<> {
        let runs = self.0.clone();
        let message = message.to_string();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Err(message))
        }
    }

    fn runs(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn shop() -> ToolCache<Value> {
    ToolCache::builder()
        .tool(
            "read_cart",
            ToolPolicy::cached(MINUTE).depends_on("cart:{user_id}"),
        )
        .tool(
            "cart_notes",
            ToolPolicy::cached(MINUTE)
                .depends_on("cart:{user_id}")
                .scope(Scope::Session),
        )
        .tool(
            "add_to_cart",
            ToolPolicy::mutating().invalidates("cart:{user_id}"),
        )
        .tool("clear_carts", ToolPolicy::mutating().invalidates("cart"))
        .build()
}

#[tokio::test]
async fn calls_that_mean_the_same_thing_hit_one_entry() {
    let tools = shop();
    let tool = Counted::default();
    let forms = [
        json!({"user_id": 7, "filter": {"b": 1, "a": [1.0, 2]}}),
        serde_json::from_str(r#"{ "filter": {"a": [1, 2.0], "b": 1e0}, "user_id": 7.0 }"#).unwrap(),
    ];
    for args in &forms {
        let cart = tools
            .call("read_cart", args, tool.run(json!(["pen"])))
            .await
            .unwrap();
        assert_eq!(cart, json!(["pen"]));
    }
    assert_eq!(tool.runs(), 1);
    let other = json!({"user_id": 7, "filter": {"b": 1, "a": [2, 1]}});
    tools
        .call("read_cart", &other, tool.run(json!([])))
        .await
        .unwrap();
    assert_eq!(tool.runs(), 2, "array order is part of the arguments");
    let stats = &tools.stats()["read_cart"];
    assert_eq!((stats.calls, stats.hits, stats.misses), (3, 1, 2));
}

#[tokio::test]
async fn a_mutation_invalidates_its_resource_in_every_scope_even_when_it_fails() {
    let tools = shop();
    let (reads, notes) = (Counted::default(), Counted::default());
    let a = tools.session("a");
    let b = tools.session("b");
    let seven = json!({"user_id": 7});
    let eight = json!({"user_id": 8});
    // Global entries for users 7 and 8, and session entries for 7 in two sessions.
    tools
        .call("read_cart", &seven, reads.run(json!(1)))
        .await
        .unwrap();
    tools
        .call("read_cart", &eight, reads.run(json!(1)))
        .await
        .unwrap();
    a.call("cart_notes", &seven, notes.run(json!("a")))
        .await
        .unwrap();
    b.call("cart_notes", &seven, notes.run(json!("b")))
        .await
        .unwrap();
    assert_eq!((reads.runs(), notes.runs()), (2, 2));

    let failing = Counted::default();
    let failed = a
        .call(
            "add_to_cart",
            &json!({"user_id": 7, "item": "pen"}),
            failing.fail("out of stock"),
        )
        .await;
    assert!(matches!(failed, Err(ToolError::Tool(ref e)) if **e == "out of stock"));
    assert_eq!(failing.runs(), 1, "a mutating tool runs");

    // Cart 7 is gone everywhere; cart 8 is not.
    tools
        .call("read_cart", &seven, reads.run(json!(2)))
        .await
        .unwrap();
    tools
        .call("read_cart", &eight, reads.run(json!(2)))
        .await
        .unwrap();
    assert_eq!(reads.runs(), 3);
    a.call("cart_notes", &seven, notes.run(json!("a2")))
        .await
        .unwrap();
    b.call("cart_notes", &seven, notes.run(json!("b2")))
        .await
        .unwrap();
    assert_eq!(notes.runs(), 4);
    let add = &tools.stats()["add_to_cart"];
    assert_eq!((add.invalidations, add.errors, add.hits), (1, 1, 0));
}

#[tokio::test]
async fn a_template_base_reaches_every_instance_and_a_mutation_without_the_field_too() {
    let tools = shop();
    let reads = Counted::default();
    for user in [1, 2] {
        tools
            .call("read_cart", &json!({"user_id": user}), reads.run(json!(0)))
            .await
            .unwrap();
    }
    // `clear_carts` invalidates "cart", the template's base.
    tools
        .call(
            "clear_carts",
            &json!({}),
            Counted::default().run(json!("ok")),
        )
        .await
        .unwrap();
    for user in [1, 2] {
        tools
            .call("read_cart", &json!({"user_id": user}), reads.run(json!(0)))
            .await
            .unwrap();
    }
    assert_eq!(reads.runs(), 4);
    // `add_to_cart` without a user id cannot tell which cart: it invalidates them all.
    tools
        .call(
            "add_to_cart",
            &json!({"item": "pen"}),
            Counted::default().run(json!("ok")),
        )
        .await
        .unwrap();
    tools
        .call("read_cart", &json!({"user_id": 1}), reads.run(json!(0)))
        .await
        .unwrap();
    assert_eq!(reads.runs(), 5);
    // A read without the field is not cached: nothing could invalidate it.
    for _ in 0..2 {
        tools
            .call("read_cart", &json!({}), reads.run(json!(0)))
            .await
            .unwrap();
    }
    assert_eq!(reads.runs(), 7);
}

#[tokio::test]
async fn sessions_are_isolated_and_their_entries_go_when_they_end_or_drop() {
    let cache: Cache<_, _> = Cache::new(100);
    let tools: ToolCache<Value> = ToolCache::builder()
        .tool("notes", ToolPolicy::cached(MINUTE).scope(Scope::Session))
        .tool("search", ToolPolicy::cached(MINUTE))
        .build_on(cache.clone());
    let (notes, search) = (Counted::default(), Counted::default());
    let a = tools.session("a");
    let b = tools.session("b");
    a.call("notes", &json!({}), notes.run(json!("a")))
        .await
        .unwrap();
    assert_eq!(
        b.call("notes", &json!({}), notes.run(json!("b")))
            .await
            .unwrap(),
        json!("b")
    );
    assert_eq!(
        a.call("notes", &json!({}), notes.run(json!("x")))
            .await
            .unwrap(),
        json!("a")
    );
    assert_eq!(notes.runs(), 2);
    // Global entries are shared by every session and by calls outside them.
    a.call("search", &json!({"q": 1}), search.run(json!(1)))
        .await
        .unwrap();
    b.call("search", &json!({"q": 1}), search.run(json!(2)))
        .await
        .unwrap();
    tools
        .call("search", &json!({"q": 1}), search.run(json!(3)))
        .await
        .unwrap();
    assert_eq!(search.runs(), 1);
    assert_eq!(cache.len(), 3);

    // A child sees its own scope and the global one, not its parent's.
    let child = a.child("sub");
    assert_eq!(child.id(), "a/sub");
    assert_eq!(
        child
            .call("notes", &json!({}), notes.run(json!("c")))
            .await
            .unwrap(),
        json!("c")
    );
    child
        .call("search", &json!({"q": 1}), search.run(json!(4)))
        .await
        .unwrap();
    assert_eq!((notes.runs(), search.runs()), (3, 1));
    assert_eq!(cache.len(), 4);

    // Ending a ends its child: both scopes' entries go, and the child's calls fail.
    a.end().await;
    assert_eq!(cache.len(), 2, "b's notes and the search remain");
    let ended = child
        .call("notes", &json!({}), notes.run(json!("late")))
        .await;
    assert!(matches!(ended, Err(ToolError::Cache(ref e)) if e.kind() == ErrorKind::Config));
    drop(child);
    drop(b);
    assert_eq!(cache.len(), 1, "dropping b removed its notes");

    // A session-scoped tool outside a session is a typed error, not a silent global entry.
    let outside = tools.call("notes", &json!({}), notes.run(json!("?"))).await;
    assert!(matches!(outside, Err(ToolError::Cache(ref e)) if e.kind() == ErrorKind::Config));
}

fn strict(limits: LoopLimits, action: LoopAction) -> ToolCache<Value> {
    ToolCache::builder()
        .tool("search", ToolPolicy::cached(MINUTE))
        .loop_limits(limits)
        .on_loop(action)
        .build()
}

/// Runs `calls` (tool names, arguments `{}`) through one session; the outcome of each.
async fn script(tools: &ToolCache<Value>, calls: &[&str]) -> Vec<Result<Value, ToolError<String>>> {
    let session = tools.session("s");
    let mut out = Vec::new();
    for (i, tool) in calls.iter().enumerate() {
        out.push(
            session
                .call(tool, &json!({}), Counted::default().run(json!(i)))
                .await,
        );
    }
    out
}

#[tokio::test]
async fn repeats_are_caught_at_one_past_the_limit_and_not_before() {
    let tools = strict(LoopLimits::default(), LoopAction::Raise);
    let outcomes = script(&tools, &["poll"; 6]).await;
    assert!(outcomes[..5].iter().all(Result::is_ok));
    match &outcomes[5] {
        Err(ToolError::Loop(caught)) => {
            assert_eq!(
                (caught.kind, caught.tool.as_str(), caught.count),
                (LoopKind::Repeat, "poll", 6)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tools.stats()["poll"].repeat_loops, 1);
}

#[tokio::test]
async fn oscillations_are_caught_at_their_threshold_and_not_before() {
    let tools = strict(LoopLimits::default(), LoopAction::Raise);
    let outcomes = script(&tools, &["a", "b", "a", "b", "a", "b", "a", "b"]).await;
    assert!(outcomes[..7].iter().all(Result::is_ok), "{outcomes:?}");
    let caught = outcomes[7]
        .as_ref()
        .unwrap_err()
        .loop_detected()
        .unwrap()
        .clone();
    assert_eq!(
        (caught.kind, caught.count),
        (LoopKind::Oscillation { period: 2 }, 4)
    );

    let three: Vec<&str> = ["x", "y", "z"].repeat(4);
    let outcomes = script(&tools, &three).await;
    assert!(outcomes[..11].iter().all(Result::is_ok));
    let caught = outcomes[11]
        .as_ref()
        .unwrap_err()
        .loop_detected()
        .unwrap()
        .clone();
    assert_eq!(caught.kind, LoopKind::Oscillation { period: 3 });
}

#[tokio::test]
async fn depth_counts_a_sessions_calls_and_its_childrens() {
    let limits = LoopLimits::default()
        .max_execution_depth(Some(4))
        .max_tool_repeats(100);
    let tools = strict(limits, LoopAction::Raise);
    let parent = tools.session("p");
    let child = parent.child("c");
    let run = || Counted::default().run(json!(0));
    for i in 0..2 {
        parent.call("t", &json!(i), run()).await.unwrap();
        child.call("t", &json!(i + 10), run()).await.unwrap();
    }
    // Four steps of the parent so far: the fifth call, through the child, breaks its limit.
    let caught = child.call("t", &json!(99), run()).await.unwrap_err();
    let caught = caught.loop_detected().unwrap();
    assert_eq!((caught.kind, caught.count), (LoopKind::Depth, 5));
    assert_eq!(tools.stats()["t"].depth_loops, 1);
}

#[tokio::test]
async fn warn_lets_the_call_run_and_counts_it() {
    let tools = strict(LoopLimits::default(), LoopAction::Warn);
    let runs = Counted::default();
    let session = tools.session("s");
    for _ in 0..7 {
        session
            .call("poll", &json!({}), runs.run(json!(1)))
            .await
            .unwrap();
    }
    assert_eq!(runs.runs(), 7);
    assert_eq!(tools.stats()["poll"].repeat_loops, 2);
}

#[tokio::test]
async fn short_circuit_answers_from_the_cache_or_refuses_without_running() {
    let tools = strict(LoopLimits::default(), LoopAction::ShortCircuit);
    let (searcher, poller) = (tools.session("searcher"), tools.session("poller"));
    let (search, poll) = (Counted::default(), Counted::default());
    for _ in 0..6 {
        let found = searcher
            .call("search", &json!({"q": 1}), search.run(json!("r")))
            .await;
        assert_eq!(found.unwrap(), json!("r"));
    }
    // The sixth `search` was caught and answered from the cache, without running.
    assert_eq!(search.runs(), 1);
    for i in 0..7 {
        let polled = poller.call("poll", &json!({}), poll.run(json!("p"))).await;
        if i < 5 {
            assert_eq!(polled.unwrap(), json!("p"));
        } else {
            // `poll` is not cacheable: nothing to answer with, so the call is refused.
            assert!(
                matches!(polled, Err(ToolError::ShortCircuited(ref c)) if c.kind == LoopKind::Repeat)
            );
        }
    }
    assert_eq!(poll.runs(), 5);
    let stats = tools.stats();
    assert_eq!(
        (stats["search"].short_circuits, stats["poll"].short_circuits),
        (1, 2)
    );
}

#[tokio::test]
async fn concurrent_identical_calls_run_the_tool_once() {
    let tools = shop();
    let runs = Arc::new(AtomicUsize::new(0));
    let (release, gate) = tokio::sync::watch::channel(false);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (tools, runs, mut gate) = (tools.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move {
                tools
                    .call("read_cart", &json!({"user_id": 1}), move || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let _ = gate.wait_for(|&open| open).await;
                        Ok::<_, String>(json!("cart"))
                    })
                    .await
            })
        })
        .collect();
    // Every call is in: one runs the tool and waits at the gate, the others wait on it.
    while tools.stats()["read_cart"].calls < 8 {
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    release.send(true).unwrap();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), json!("cart"));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let stats = &tools.stats()["read_cart"];
    assert_eq!((stats.misses, stats.joins, stats.hits), (1, 7, 0));
}

#[tokio::test]
async fn failures_are_cached_only_with_a_negative_ttl() {
    let (clock, time) = Clock::mock();
    let cache = Cache::builder().max_capacity(100).clock(clock).build();
    let tools: ToolCache<Value> = ToolCache::builder()
        .tool("plain", ToolPolicy::cached(MINUTE))
        .tool(
            "sticky",
            ToolPolicy::cached(MINUTE).negative_ttl(Duration::from_secs(5)),
        )
        .build_on(cache);
    let runs = Counted::default();
    for _ in 0..2 {
        let failed = tools.call("plain", &json!({}), runs.fail("down")).await;
        assert!(matches!(failed, Err(ToolError::Tool(_))));
    }
    assert_eq!(
        runs.runs(),
        2,
        "a failure without a negative TTL is never cached"
    );

    let sticky = Counted::default();
    let first = tools.call("sticky", &json!({}), sticky.fail("down")).await;
    assert!(matches!(first, Err(ToolError::Tool(ref e)) if **e == "down"));
    let second = tools.call("sticky", &json!({}), sticky.fail("again")).await;
    match second {
        Err(ToolError::CachedFailure { tool, message }) => {
            assert_eq!((tool.as_str(), message.as_str()), ("sticky", "down"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sticky.runs(), 1);
    time.advance(Duration::from_secs(5));
    let third = tools
        .call("sticky", &json!({}), sticky.run(json!("up")))
        .await;
    assert_eq!(third.unwrap(), json!("up"));
    assert_eq!(sticky.runs(), 2);
}

#[tokio::test(start_paused = true)]
async fn hits_record_the_time_they_saved() {
    let tools = shop();
    let args = json!({"user_id": 3});
    tools
        .call("read_cart", &args, || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, String>(json!([]))
        })
        .await
        .unwrap();
    for _ in 0..3 {
        tools
            .call("read_cart", &args, Counted::default().run(json!(0)))
            .await
            .unwrap();
    }
    let saved = tools.stats()["read_cart"].time_saved;
    // Paused time: the load took exactly 20 ms, and each of the 3 hits saved that.
    assert_eq!(saved, Duration::from_millis(60));
}

#[tokio::test]
async fn bad_arguments_and_bad_templates_are_typed_errors() {
    let tools = shop();
    let mut bad = std::collections::HashMap::new();
    bad.insert(vec![1], 2);
    let failed = tools
        .call("read_cart", &bad, Counted::default().run(json!(0)))
        .await;
    assert!(matches!(failed, Err(ToolError::Cache(ref e)) if e.kind() == ErrorKind::Codec));
    let built = ToolCache::<Value>::builder()
        .tool("x", ToolPolicy::cached(MINUTE).depends_on("{user}"))
        .try_build();
    assert_eq!(built.unwrap_err().kind(), ErrorKind::Config);
}

// ---- Review (issue 16): defects found by an adversarial pass. ----

#[tokio::test]
async fn a_root_session_whose_id_has_a_slash_does_not_share_a_childs_scope() {
    let tools = shop();
    let parent = tools.session("user");
    let child = parent.child("7");
    let other = tools.session("user/7");
    let runs = Counted::default();
    let args = json!({"user_id": 1});
    child
        .call("cart_notes", &args, runs.run(json!("the child's notes")))
        .await
        .unwrap();
    // Another root session, whose id happens to spell the child's path: its own scope.
    let seen = other
        .call("cart_notes", &args, runs.run(json!("its own notes")))
        .await
        .unwrap();
    assert_eq!(seen, json!("its own notes"));
    assert_eq!(runs.runs(), 2);
}

#[tokio::test]
async fn a_read_that_runs_during_a_mutation_is_not_left_cached_after_it() {
    let tools = shop();
    let cart = json!({"user_id": 7});
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = tools.clone();
    let write = tokio::spawn(async move {
        writer
            .call(
                "add_to_cart",
                &json!({"user_id": 7, "item": "pen"}),
                || async move {
                    // The invalidation has been made; the write has not landed yet.
                    let _ = started_tx.send(());
                    let _ = release_rx.await;
                    Ok::<_, String>(json!("ok"))
                },
            )
            .await
    });
    started_rx.await.unwrap();
    // A read in the meantime sees the cart before the write, and caches it.
    let before = tools
        .call("read_cart", &cart, || async { Ok::<_, String>(json!([])) })
        .await
        .unwrap();
    assert_eq!(before, json!([]));
    release_tx.send(()).unwrap();
    write.await.unwrap().unwrap();
    // The write has returned: the read before it must not be what the cache answers now.
    let after = tools
        .call("read_cart", &cart, || async {
            Ok::<_, String>(json!(["pen"]))
        })
        .await
        .unwrap();
    assert_eq!(after, json!(["pen"]));
}

/// A documented limit, not a wish: JSON has no NaN or infinity, and `serde_json` writes them
/// as `null`, so a typed argument holding one is the same argument as `null`.
#[test]
fn non_finite_floats_are_written_as_null_as_documented() {
    let null = larder::agent::canonical_args(&json!({"x": null})).unwrap();
    #[derive(serde::Serialize)]
    struct X {
        x: f64,
    }
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(larder::agent::canonical_args(&X { x }).unwrap(), null);
    }
}

#[allow(clippy::panic)]
fn broken_tool() -> Result<Value, String> {
    panic!("the tool broke")
}

#[tokio::test]
async fn a_tool_that_panics_does_not_strand_the_calls_that_joined_it() {
    let tools = shop();
    let args = json!({"user_id": 3});
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let leader = tools.clone();
    let led = tokio::spawn(async move {
        let args = json!({"user_id": 3});
        leader
            .call("read_cart", &args, || async move {
                let _ = started_tx.send(());
                let _ = release_rx.await;
                broken_tool()
            })
            .await
    });
    started_rx.await.unwrap();
    let joiner = tools.clone();
    let joined = tokio::spawn(async move {
        joiner
            .call("read_cart", &args, || async {
                Ok::<_, String>(json!(["x"]))
            })
            .await
    });
    tokio::task::yield_now().await;
    release_tx.send(()).unwrap();
    assert!(led.await.unwrap_err().is_panic());
    assert_eq!(joined.await.unwrap().unwrap(), json!(["x"]));
}

#[tokio::test]
async fn a_zero_ttl_or_negative_ttl_is_not_an_error() {
    let tools: ToolCache<Value> = ToolCache::builder()
        .tool("now", ToolPolicy::cached(Duration::ZERO))
        .tool(
            "flaky",
            ToolPolicy::cached(MINUTE).negative_ttl(Duration::ZERO),
        )
        .build();
    let runs = Counted::default();
    for _ in 0..2 {
        let got = tools.call("now", &json!({}), runs.run(json!(1))).await;
        assert_eq!(got.unwrap(), json!(1));
    }
    for _ in 0..2 {
        let got = tools.call("flaky", &json!({}), runs.fail("down")).await;
        assert!(matches!(got, Err(ToolError::Tool(_))), "{got:?}");
    }
    assert_eq!(runs.runs(), 4);
}

#[tokio::test]
async fn a_short_circuited_mutation_invalidates_nothing() {
    let tools: ToolCache<Value> = ToolCache::builder()
        .tool(
            "read_cart",
            ToolPolicy::cached(MINUTE).depends_on("cart:{user_id}"),
        )
        .tool(
            "add_to_cart",
            ToolPolicy::mutating().invalidates("cart:{user_id}"),
        )
        .on_loop(LoopAction::ShortCircuit)
        .build();
    let session = tools.session("s");
    let (adds, reads) = (Counted::default(), Counted::default());
    let add = json!({"user_id": 1, "item": "pen"});
    for _ in 0..5 {
        session
            .call("add_to_cart", &add, adds.run(json!("ok")))
            .await
            .unwrap();
    }
    session
        .call(
            "read_cart",
            &json!({"user_id": 1}),
            reads.run(json!(["pen"])),
        )
        .await
        .unwrap();
    // The sixth identical add is caught: its tool does not run, so the cart did not change
    // and the cached read stays.
    let caught = session
        .call("add_to_cart", &add, adds.run(json!("ok")))
        .await;
    assert!(matches!(caught, Err(ToolError::ShortCircuited(_))));
    assert_eq!(adds.runs(), 5);
    assert_eq!(tools.stats()["add_to_cart"].invalidations, 5);
    session
        .call("read_cart", &json!({"user_id": 1}), reads.run(json!(["?"])))
        .await
        .unwrap();
    assert_eq!(reads.runs(), 1);
}
