//! `agent::mcp::CachedServer`: a real rmcp tool server (`#[tool_router]`), cached, served over
//! an in-process pipe (`tokio::io::duplex`) to real rmcp clients: hits, argument order,
//! invalidation, failures, loops in each mode, and one session per client.
#![cfg(feature = "mcp")]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use larder::agent::mcp::CachedServer;
use larder::agent::{
    LocalBacking, LoopAction, LoopLimits, Scope, Session, ToolBacking, ToolCache, ToolCacheBuilder,
    ToolKey, ToolPolicy, canonical_args,
};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ServerCapabilities, ServerConfig,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::{RoleClient, RunningService, ServerInitializeError};
use rmcp::{
    ErrorData, RoleServer, ServerHandler, ServiceError, ServiceExt, tool, tool_handler, tool_router,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

const MINUTE: Duration = Duration::from_secs(60);

/// How many times each tool ran, shared by every connection's server.
#[derive(Default)]
struct Runs {
    read_cart: AtomicUsize,
    add_to_cart: AtomicUsize,
    draft: AtomicUsize,
    flaky: AtomicUsize,
    broken: AtomicUsize,
    now: AtomicUsize,
}

/// What the shop's tools see: the runs and the carts.
#[derive(Default)]
struct World {
    runs: Runs,
    carts: Mutex<HashMap<u64, Vec<String>>>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct Cart {
    user_id: u64,
    /// Anything: it only makes the arguments bigger (and their key order matter to a naive
    /// key).
    #[serde(default)]
    filter: Option<Value>,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct Item {
    user_id: u64,
    item: String,
}

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct Query {
    q: String,
}

/// An existing MCP tool server, written with rmcp's macros and knowing nothing of larder.
#[derive(Clone)]
struct Shop {
    world: Arc<World>,
}

#[tool_router]
impl Shop {
    fn new(world: Arc<World>) -> Self {
        Self { world }
    }

    #[tool(description = "The items in a user's cart.")]
    async fn read_cart(&self, Parameters(cart): Parameters<Cart>) -> String {
        self.world.runs.read_cart.fetch_add(1, Ordering::SeqCst);
        let _ = cart.filter;
        let carts = self.world.carts.lock().await;
        let items = carts.get(&cart.user_id).cloned().unwrap_or_default();
        json!(items).to_string()
    }

    #[tool(description = "Adds an item to a user's cart.")]
    async fn add_to_cart(&self, Parameters(item): Parameters<Item>) -> String {
        self.world.runs.add_to_cart.fetch_add(1, Ordering::SeqCst);
        let mut carts = self.world.carts.lock().await;
        carts.entry(item.user_id).or_default().push(item.item);
        "added".to_string()
    }

    #[tool(description = "A draft for this client alone: its text names the run that made it.")]
    async fn draft(&self, Parameters(cart): Parameters<Cart>) -> String {
        let run = self.world.runs.draft.fetch_add(1, Ordering::SeqCst) + 1;
        format!("draft {run} for user {}", cart.user_id)
    }

    #[tool(description = "Fails as a tool: an error result.")]
    async fn flaky(&self, Parameters(query): Parameters<Query>) -> Result<String, String> {
        let run = self.world.runs.flaky.fetch_add(1, Ordering::SeqCst) + 1;
        Err(format!("upstream down for {:?} (run {run})", query.q))
    }

    #[tool(description = "Fails as a server: a protocol error.")]
    async fn broken(&self, Parameters(query): Parameters<Query>) -> Result<String, ErrorData> {
        self.world.runs.broken.fetch_add(1, Ordering::SeqCst);
        Err(ErrorData::internal_error(
            format!("database gone while asked {:?}", query.q),
            None,
        ))
    }

    #[tool(description = "The number of this run: never the same answer twice.")]
    async fn now(&self) -> String {
        let run = self.world.runs.now.fetch_add(1, Ordering::SeqCst) + 1;
        format!("tick {run}")
    }
}

#[tool_handler]
impl ServerHandler for Shop {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The shop's policies, with `limits` and `on_loop` for loop detection.
fn policies(limits: LoopLimits, on_loop: LoopAction) -> ToolCache<CallToolResult> {
    shop_builder(limits, on_loop).build()
}

fn shop_builder(limits: LoopLimits, on_loop: LoopAction) -> ToolCacheBuilder<CallToolResult> {
    ToolCache::builder()
        .tool(
            "read_cart",
            ToolPolicy::cached(MINUTE).depends_on("cart:{user_id}"),
        )
        .tool(
            "add_to_cart",
            ToolPolicy::mutating().invalidates("cart:{user_id}"),
        )
        .tool("draft", ToolPolicy::cached(MINUTE).scope(Scope::Session))
        .tool("flaky", ToolPolicy::cached(MINUTE))
        .tool("broken", ToolPolicy::cached(MINUTE).negative_ttl(MINUTE))
        .tool("now", ToolPolicy::uncached())
        .loop_limits(limits)
        .on_loop(on_loop)
}

fn shop_tools() -> ToolCache<CallToolResult> {
    policies(LoopLimits::default(), LoopAction::Raise)
}

type Server<B> = RunningService<RoleServer, CachedServer<Shop, B>>;

/// One client connected to its own `CachedServer` over an in-process pipe.
struct Connection<B: ToolBacking<CallToolResult> = LocalBacking<CallToolResult>> {
    client: RunningService<RoleClient, ()>,
    server: JoinHandle<Result<Server<B>, ServerInitializeError>>,
}

impl Connection {
    async fn to(world: &Arc<World>, tools: &ToolCache<CallToolResult>) -> Self {
        Self::open(CachedServer::new(Shop::new(Arc::clone(world)), tools)).await
    }
}

impl<B: ToolBacking<CallToolResult>> Connection<B> {
    async fn open(server: CachedServer<Shop, B>) -> Self {
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(server.serve(server_end));
        let client = ().serve(client_end).await.expect("the client connects");
        Self { client, server }
    }

    async fn call(&self, tool: &'static str, args: Value) -> Result<CallToolResult, ServiceError> {
        let mut params = CallToolRequestParams::new(tool);
        if let Value::Object(args) = args {
            params = params.with_arguments(args);
        }
        self.client.call_tool(params).await
    }

    /// Disconnects, and waits until the server has finished and dropped its handler.
    async fn close(self) {
        self.client.cancel().await.expect("the client closes");
        let server = self
            .server
            .await
            .expect("the server task")
            .expect("the server started");
        server.waiting().await.expect("the server ends");
    }
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(ContentBlock::as_text)
        .map(|t| t.text.as_str())
        .collect()
}

fn runs(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

#[tokio::test]
async fn repeated_reads_run_the_tool_once() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    world.carts.lock().await.insert(7, vec!["pen".into()]);
    for _ in 0..3 {
        let cart = shop.call("read_cart", json!({"user_id": 7})).await.unwrap();
        assert_eq!(text(&cart), r#"["pen"]"#);
        assert_ne!(cart.is_error, Some(true));
    }
    assert_eq!(runs(&world.runs.read_cart), 1);
    let stats = &tools.stats()["read_cart"];
    assert_eq!((stats.calls, stats.misses, stats.hits), (3, 1, 2));
    shop.close().await;
}

#[tokio::test]
async fn argument_key_order_and_number_form_do_not_change_the_call() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    let first: Value = serde_json::from_str(
        r#"{"user_id": 7, "filter": {"colour": "red", "sizes": [1, 2], "max": 10}}"#,
    )
    .unwrap();
    let reordered: Value = serde_json::from_str(
        r#"{ "filter": {"max": 10.0, "sizes": [1, 2], "colour": "red"}, "user_id": 7 }"#,
    )
    .unwrap();
    let a = shop.call("read_cart", first).await.unwrap();
    let b = shop.call("read_cart", reordered).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(runs(&world.runs.read_cart), 1);
    // Other arguments are another call.
    shop.call("read_cart", json!({"user_id": 7, "filter": {"max": 11}}))
        .await
        .unwrap();
    assert_eq!(runs(&world.runs.read_cart), 2);
    shop.close().await;
}

#[tokio::test]
async fn the_mutating_tool_invalidates_the_read_of_its_resource_only() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    // Two carts cached, then seen again from a second client: global entries are shared.
    shop.call("read_cart", json!({"user_id": 7})).await.unwrap();
    shop.call("read_cart", json!({"user_id": 8})).await.unwrap();
    let other = Connection::to(&world, &tools).await;
    let before = other
        .call("read_cart", json!({"user_id": 7}))
        .await
        .unwrap();
    assert_eq!(text(&before), "[]");
    assert_eq!(runs(&world.runs.read_cart), 2);

    let added = shop
        .call("add_to_cart", json!({"user_id": 7, "item": "pen"}))
        .await
        .unwrap();
    assert_eq!(text(&added), "added");

    // Cart 7 is read again, by either client; cart 8 is still a hit.
    let after = other
        .call("read_cart", json!({"user_id": 7}))
        .await
        .unwrap();
    assert_eq!(text(&after), r#"["pen"]"#);
    shop.call("read_cart", json!({"user_id": 8})).await.unwrap();
    assert_eq!(runs(&world.runs.read_cart), 3);
    assert_eq!(tools.stats()["add_to_cart"].invalidations, 1);
    shop.close().await;
    other.close().await;
}

#[tokio::test]
async fn error_results_are_not_cached_and_go_back_as_they_are() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    for run in 1..=2 {
        let failed = shop.call("flaky", json!({"q": "x"})).await.unwrap();
        assert_eq!(failed.is_error, Some(true));
        assert_eq!(
            text(&failed),
            format!(r#"upstream down for "x" (run {run})"#)
        );
    }
    assert_eq!(runs(&world.runs.flaky), 2);
    let stats = &tools.stats()["flaky"];
    assert_eq!((stats.misses, stats.errors, stats.hits), (2, 2, 0));
    shop.close().await;
}

#[tokio::test]
async fn error_results_are_cached_within_a_negative_ttl_as_the_same_result() {
    let world = Arc::new(World::default());
    let tools: ToolCache<CallToolResult> = ToolCache::builder()
        .tool("flaky", ToolPolicy::cached(MINUTE).negative_ttl(MINUTE))
        .build();
    let shop = Connection::to(&world, &tools).await;
    let first = shop.call("flaky", json!({"q": "x"})).await.unwrap();
    let again = shop.call("flaky", json!({"q": "x"})).await.unwrap();
    assert_eq!(first.is_error, Some(true));
    assert_eq!(again, first);
    assert_eq!(runs(&world.runs.flaky), 1);
    shop.close().await;
}

#[tokio::test]
async fn protocol_errors_are_never_cached() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    // `broken` has a negative TTL: protocol errors still go uncached.
    for _ in 0..2 {
        match shop.call("broken", json!({"q": "x"})).await {
            Err(ServiceError::McpError(error)) => {
                assert_eq!(
                    error,
                    ErrorData::internal_error(r#"database gone while asked "x""#, None)
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(runs(&world.runs.broken), 2);
    // An unknown tool is the server's protocol error too, through the wrapper.
    match shop.call("no_such_tool", json!({})).await {
        Err(ServiceError::McpError(_)) => {}
        other => panic!("{other:?}"),
    }
    shop.close().await;
}

#[tokio::test]
async fn other_requests_reach_the_wrapped_server() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let shop = Connection::to(&world, &tools).await;
    let listed = shop.client.list_all_tools().await.unwrap();
    let mut names: Vec<_> = listed.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add_to_cart",
            "broken",
            "draft",
            "flaky",
            "now",
            "read_cart"
        ]
    );
    assert!(
        shop.client
            .peer_info()
            .unwrap()
            .capabilities
            .tools
            .is_some()
    );
    shop.close().await;
}

/// Limits under which the third identical call is a loop, and nothing else is.
fn two_repeats() -> LoopLimits {
    LoopLimits::default()
        .max_tool_repeats(2)
        .max_execution_depth(None)
}

#[tokio::test]
async fn raise_answers_a_loop_with_an_error_result_the_model_can_read() {
    let world = Arc::new(World::default());
    let tools = policies(two_repeats(), LoopAction::Raise);
    let shop = Connection::to(&world, &tools).await;
    for tick in 1..=2 {
        let fine = shop.call("now", json!({})).await.unwrap();
        assert_eq!(text(&fine), format!("tick {tick}"));
    }
    let caught = shop.call("now", json!({})).await.unwrap();
    assert_eq!(caught.is_error, Some(true));
    assert_eq!(
        text(&caught),
        "loop detected: tool `now` repeated 3 times. The tool was not run; stop repeating it: \
         use the results you already have, or try something else."
    );
    let meta = caught.meta.as_ref().unwrap();
    assert_eq!(
        meta.0["larder/loop"],
        json!({"kind": "repeat", "period": null, "tool": "now", "count": 3})
    );
    assert_eq!(runs(&world.runs.now), 2);
    assert_eq!(tools.stats()["now"].repeat_loops, 1);
    shop.close().await;
}

#[tokio::test]
async fn raise_catches_an_oscillation() {
    let world = Arc::new(World::default());
    let limits = LoopLimits::default()
        .max_cycle_repeats(1)
        .max_execution_depth(None);
    let tools = policies(limits, LoopAction::Raise);
    let shop = Connection::to(&world, &tools).await;
    // read A, read B, read A, read B: the second repetition of the cycle is caught.
    for user in [7, 8, 7] {
        let fine = shop
            .call("read_cart", json!({"user_id": user}))
            .await
            .unwrap();
        assert_ne!(fine.is_error, Some(true));
    }
    let caught = shop.call("read_cart", json!({"user_id": 8})).await.unwrap();
    assert_eq!(caught.is_error, Some(true));
    assert_eq!(
        caught.meta.as_ref().unwrap().0["larder/loop"],
        json!({"kind": "oscillation", "period": 2, "tool": "read_cart", "count": 2})
    );
    shop.close().await;
}

#[tokio::test]
async fn short_circuit_answers_from_the_cache_or_with_an_error_result() {
    let world = Arc::new(World::default());
    let tools = policies(two_repeats(), LoopAction::ShortCircuit);
    let shop = Connection::to(&world, &tools).await;
    world.carts.lock().await.insert(7, vec!["pen".into()]);
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(shop.call("read_cart", json!({"user_id": 7})).await.unwrap());
    }
    // The third call is caught and answered with the cached result.
    assert_eq!(answers[2], answers[0]);
    assert_eq!(text(&answers[2]), r#"["pen"]"#);
    assert_eq!(runs(&world.runs.read_cart), 1);

    // An uncached tool has nothing to answer with.
    shop.call("now", json!({})).await.unwrap();
    shop.call("now", json!({})).await.unwrap();
    let refused = shop.call("now", json!({})).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(
        text(&refused).starts_with(
            "loop detected: tool `now` repeated 3 times. The tool was not run and no earlier \
             result is cached"
        ),
        "{}",
        text(&refused)
    );
    assert_eq!(runs(&world.runs.now), 2);
    assert_eq!(tools.stats()["now"].short_circuits, 1);
    assert_eq!(tools.stats()["read_cart"].short_circuits, 1);
    shop.close().await;
}

#[tokio::test]
async fn warn_lets_a_loop_run_and_counts_it() {
    let world = Arc::new(World::default());
    let tools = policies(two_repeats(), LoopAction::Warn);
    let shop = Connection::to(&world, &tools).await;
    for tick in 1..=3 {
        let answer = shop.call("now", json!({})).await.unwrap();
        assert_eq!(text(&answer), format!("tick {tick}"));
    }
    assert_eq!(runs(&world.runs.now), 3);
    assert_eq!(tools.stats()["now"].repeat_loops, 1);
    shop.close().await;
}

#[tokio::test]
async fn each_client_has_its_own_loop_detection() {
    let world = Arc::new(World::default());
    let tools = policies(two_repeats(), LoopAction::Raise);
    let a = Connection::to(&world, &tools).await;
    let b = Connection::to(&world, &tools).await;
    // Two calls each: four in all, but no client repeats one more than twice.
    for client in [&a, &b, &a, &b] {
        let answer = client.call("now", json!({})).await.unwrap();
        assert_ne!(answer.is_error, Some(true));
    }
    assert_eq!(a.call("now", json!({})).await.unwrap().is_error, Some(true));
    a.close().await;
    b.close().await;
}

/// The key of a `draft` call by `session`.
fn draft_key(session: &str, user_id: u64) -> ToolKey {
    let args = canonical_args(&json!({"user_id": user_id})).expect("JSON arguments");
    ToolKey::new(Some(session), "draft", &args)
}

#[tokio::test]
async fn session_entries_are_per_client_and_go_when_it_disconnects() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let session = |id: &str| -> Session<CallToolResult, _> { tools.session(id) };
    let a = Connection::open(CachedServer::with_session(
        Shop::new(Arc::clone(&world)),
        session("client-a"),
    ))
    .await;
    let b = Connection::open(CachedServer::with_session(
        Shop::new(Arc::clone(&world)),
        session("client-b"),
    ))
    .await;

    let a1 = a.call("draft", json!({"user_id": 7})).await.unwrap();
    let a2 = a.call("draft", json!({"user_id": 7})).await.unwrap();
    let b1 = b.call("draft", json!({"user_id": 7})).await.unwrap();
    assert_eq!(text(&a1), "draft 1 for user 7");
    assert_eq!(a2, a1, "a's second call is a hit in a's session");
    assert_eq!(text(&b1), "draft 2 for user 7", "b does not see a's entry");
    assert!(tools.backing().contains_key(&draft_key("client-a", 7)));
    assert!(tools.backing().contains_key(&draft_key("client-b", 7)));

    // a disconnects: rmcp drops its handler, which ends its session.
    a.close().await;
    assert!(!tools.backing().contains_key(&draft_key("client-a", 7)));
    let b2 = b.call("draft", json!({"user_id": 7})).await.unwrap();
    assert_eq!(b2, b1, "b's entry outlives a");
    assert_eq!(runs(&world.runs.draft), 2);
    b.close().await;
    assert!(!tools.backing().contains_key(&draft_key("client-b", 7)));
}

#[tokio::test]
async fn new_opens_a_fresh_session_per_connection() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let a = Connection::to(&world, &tools).await;
    let b = Connection::to(&world, &tools).await;
    let a1 = a.call("draft", json!({"user_id": 7})).await.unwrap();
    let b1 = b.call("draft", json!({"user_id": 7})).await.unwrap();
    assert_ne!(a1, b1);
    assert_eq!(a.call("draft", json!({"user_id": 7})).await.unwrap(), a1);
    assert_eq!(runs(&world.runs.draft), 2);
    a.close().await;
    b.close().await;
    assert!(tools.backing().is_empty());
}

#[tokio::test]
async fn concurrent_identical_calls_from_two_clients_run_once() {
    let (world, tools) = (Arc::new(World::default()), shop_tools());
    let a = Connection::to(&world, &tools).await;
    let b = Connection::to(&world, &tools).await;
    // Hold the carts so that the first run waits inside the tool while the other call
    // arrives.
    let carts = world.carts.lock().await;
    let (ra, rb, ()) = tokio::join!(
        a.call("read_cart", json!({"user_id": 7})),
        b.call("read_cart", json!({"user_id": 7})),
        async {
            // Let both requests reach the cache before the tool can finish (a bounded wait:
            // if they never do, the assertions below say so).
            for _ in 0..100_000 {
                if tools.stats()["read_cart"].calls == 2 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            drop(carts);
        },
    );
    assert_eq!(ra.unwrap(), rb.unwrap());
    assert_eq!(runs(&world.runs.read_cart), 1);
    let stats = &tools.stats()["read_cart"];
    assert_eq!(stats.misses + stats.joins + stats.hits, 2);
    a.close().await;
    b.close().await;
}

#[cfg(all(feature = "tier", feature = "json"))]
#[tokio::test]
async fn over_a_tier_one_server_process_hits_what_another_cached_and_sees_its_invalidations() {
    use larder::Cache;
    use larder::agent::ToolEntry;
    use larder::codec::Json;
    use larder::store::MemoryStore;
    use larder::tier::Tiered;

    // Two server processes: each its own tool cache over its own tier, one shared store.
    let store = MemoryStore::new("agents");
    let process = || {
        let tier: Tiered<ToolKey, ToolEntry<CallToolResult>> =
            Tiered::builder(Cache::new(100), store.clone())
                .codec(Json)
                .build();
        shop_builder(LoopLimits::default(), LoopAction::Raise).build_on(tier)
    };
    let (one, two) = (process(), process());
    let world = Arc::new(World::default());
    let a = Connection::open(CachedServer::new(Shop::new(Arc::clone(&world)), &one)).await;
    let b = Connection::open(CachedServer::new(Shop::new(Arc::clone(&world)), &two)).await;

    let first = a.call("read_cart", json!({"user_id": 7})).await.unwrap();
    let again = b.call("read_cart", json!({"user_id": 7})).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(runs(&world.runs.read_cart), 1);

    // A write through one process invalidates the entry in the store for the other (the
    // other's own L1 copies would hear of it from a watching store, which a MemoryStore is
    // not: so cart 8, which only `a` has read).
    a.call("read_cart", json!({"user_id": 8})).await.unwrap();
    a.call("add_to_cart", json!({"user_id": 8, "item": "pen"}))
        .await
        .unwrap();
    let after = b.call("read_cart", json!({"user_id": 8})).await.unwrap();
    assert_eq!(text(&after), r#"["pen"]"#);
    assert_eq!(runs(&world.runs.read_cart), 3);
    a.close().await;
    b.close().await;
}
