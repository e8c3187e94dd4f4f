//! [`ToolCache`] and its builder: the tools' policies, the backing cache, and the path of one
//! call (loop check, invalidation, lookup, shared load).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::time::Instant;

use crate::sync::Mutex;
use serde::Serialize;

use super::backing::{ToolBacking, ToolEntry};
use super::canonical::write_value;
use super::error::{ToolError, failure_message};
use super::key::ToolKey;
use super::loops::{LoopAction, LoopDetected, LoopLimits};
use super::policy::{Scope, ToolPolicy, resource_tag};
use super::session::{Session, SessionNode};
use super::stats::{ToolCounters, ToolStats, bump};
use crate::{Cache, Error, ErrorKind, LoadError, Ttl};

/// The in-process backing of a [`ToolCache`] built by [`ToolCacheBuilder::build`].
pub type LocalBacking<V> = Cache<ToolKey, ToolEntry<V>>;

/// A cache of AI agents' tool calls: each call is keyed by the tool's name and its
/// [canonical arguments](super::canonical_args), cached by the tool's [`ToolPolicy`], shared
/// by concurrent identical calls, invalidated by resource, scoped globally or per
/// [`Session`], and watched for loops. See the [module docs](super) for the rules.
///
/// `V` is the tools' result type (`serde_json::Value` fits any tool). `B` is where entries
/// live: an in-process [`Cache`] by default, or a [`Tiered`](crate::tier::Tiered) cache
/// shared with other processes ([`ToolCacheBuilder::build_on`]).
///
/// Cloning is cheap: clones share the entries, policies and stats.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::agent::{ToolCache, ToolPolicy};
/// use serde_json::{Value, json};
/// use std::time::Duration;
///
/// let tools: ToolCache<Value> = ToolCache::builder()
///     .tool("get_weather", ToolPolicy::cached(Duration::from_secs(600)))
///     .build();
/// let args = json!({"city": "Oslo", "units": "metric"});
/// let weather = tools
///     .call("get_weather", &args, || async { Ok::<_, String>(json!({"temp": 4})) })
///     .await
///     .unwrap();
/// // The same call, its keys in another order: a hit; the tool does not run.
/// let again = tools
///     .call("get_weather", &json!({"units": "metric", "city": "Oslo"}), || async {
///         Err::<Value, _>("not run: the call is a hit".to_string())
///     })
///     .await
///     .unwrap();
/// assert_eq!(weather, again);
/// # }
/// ```
pub struct ToolCache<V, B = LocalBacking<V>> {
    pub(crate) shared: Arc<Shared<V, B>>,
}

impl<V, B> Clone for ToolCache<V, B> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<V, B> fmt::Debug for ToolCache<V, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCache")
            .field("tools", &self.shared.tools.keys().collect::<Vec<_>>())
            .field("limits", &self.shared.limits)
            .field("on_loop", &self.shared.action)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared<V, B> {
    pub(crate) backing: B,
    tools: HashMap<Box<str>, Tool>,
    default_policy: ToolPolicy,
    /// Counters of tools without a policy of their own, made on their first call.
    others: Mutex<HashMap<Box<str>, Arc<ToolCounters>>>,
    pub(crate) limits: LoopLimits,
    action: LoopAction,
    /// How a dropped session removes its results (set where `B: ToolBacking<V>` is known:
    /// `Drop` cannot ask for it).
    pub(crate) end_session: fn(&B, crate::Tag),
    _values: PhantomData<fn() -> V>,
}

fn end_session<V, B: ToolBacking<V>>(backing: &B, tag: crate::Tag) {
    backing.invalidate_tag_detached(tag);
}

struct Tool {
    policy: ToolPolicy,
    counters: Arc<ToolCounters>,
}

/// Builds a [`ToolCache`]: the tools' policies, the loop limits and action, and the backing.
///
/// # Examples
///
/// ```
/// use larder::agent::{LoopAction, ToolCache, ToolPolicy};
/// use serde_json::Value;
/// use std::time::Duration;
///
/// let tools: ToolCache<Value> = ToolCache::builder()
///     .capacity(50_000)
///     .tool("search", ToolPolicy::cached(Duration::from_secs(300)).depends_on("web"))
///     .tool("read_cart", ToolPolicy::cached(Duration::from_secs(60)).depends_on("cart:{user_id}"))
///     .tool("add_to_cart", ToolPolicy::mutating().invalidates("cart:{user_id}"))
///     .on_loop(LoopAction::ShortCircuit)
///     .build();
/// # let _ = tools;
/// ```
#[must_use]
pub struct ToolCacheBuilder<V> {
    capacity: u64,
    tools: Vec<(String, ToolPolicy)>,
    default_policy: ToolPolicy,
    limits: LoopLimits,
    action: LoopAction,
    _values: PhantomData<fn() -> V>,
}

impl<V> fmt::Debug for ToolCacheBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCacheBuilder")
            .field("capacity", &self.capacity)
            .field(
                "tools",
                &self.tools.iter().map(|t| &t.0).collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .field("on_loop", &self.action)
            .finish_non_exhaustive()
    }
}

impl<V> ToolCache<V> {
    /// A builder: no tools registered (every tool uncached), 10,000 entries, async-cache's
    /// loop limits, [`LoopAction::Raise`].
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolCache;
    ///
    /// let tools: ToolCache<String> = ToolCache::builder().build();
    /// # let _ = tools;
    /// ```
    pub fn builder() -> ToolCacheBuilder<V> {
        ToolCacheBuilder {
            capacity: 10_000,
            tools: Vec::new(),
            default_policy: ToolPolicy::uncached(),
            limits: LoopLimits::default(),
            action: LoopAction::default(),
            _values: PhantomData,
        }
    }
}

impl<V: Clone + Send + Sync + 'static> ToolCacheBuilder<V> {
    /// How many results the in-process backing holds ([`build`](Self::build) only).
    pub fn capacity(mut self, entries: u64) -> Self {
        self.capacity = entries;
        self
    }

    /// The policy of the tool called `name`; registering a name again replaces its policy.
    pub fn tool(mut self, name: impl Into<String>, policy: ToolPolicy) -> Self {
        self.tools.push((name.into(), policy));
        self
    }

    /// The policy of tools without one of their own: [`ToolPolicy::uncached`] unless set.
    pub fn default_policy(mut self, policy: ToolPolicy) -> Self {
        self.default_policy = policy;
        self
    }

    /// The limits of loop detection (see [`LoopLimits`]).
    pub fn loop_limits(mut self, limits: LoopLimits) -> Self {
        self.limits = limits;
        self
    }

    /// What a detected loop does (see [`LoopAction`]).
    pub fn on_loop(mut self, action: LoopAction) -> Self {
        self.action = action;
        self
    }

    /// A tiered backing for this tool cache: an L1 of [`capacity`](Self::capacity) entries
    /// over `store`, with the [`Json`](crate::codec::Json) codec, which tool results need when
    /// they are `serde_json::Value`s (the default codec, Postcard, cannot read a `Value` back:
    /// every L2 read would fail, counted as an L2 error). Set the tier's other settings on the
    /// builder returned, then pass the tier to [`build_on`](Self::build_on).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::agent::{ToolCache, ToolPolicy};
    /// use larder::store::MemoryStore;
    /// use serde_json::{Value, json};
    /// use std::time::Duration;
    ///
    /// let builder = ToolCache::<Value>::builder().tool("search", ToolPolicy::cached(Duration::from_secs(60)));
    /// let tier = builder.tiered(MemoryStore::new("agents")).build();
    /// let tools = builder.build_on(tier);
    /// let found = tools.call("search", &json!({"q": 1}), || async { Ok::<_, String>(json!("r")) }).await;
    /// assert_eq!(found.unwrap(), json!("r"));
    /// # }
    /// ```
    #[cfg(feature = "tier")]
    pub fn tiered(
        &self,
        store: impl crate::store::Store,
    ) -> crate::tier::TieredBuilder<ToolKey, ToolEntry<V>>
    where
        V: serde::Serialize + serde::de::DeserializeOwned,
    {
        crate::tier::Tiered::builder(Cache::new(self.capacity), store).codec(crate::codec::Json)
    }

    /// A tool cache over an in-process [`Cache`] of [`capacity`](Self::capacity) entries.
    ///
    /// # Panics
    ///
    /// On a bad resource template in a policy; [`try_build`](Self::try_build) returns it.
    pub fn build(self) -> ToolCache<V> {
        match self.try_build() {
            Ok(cache) => cache,
            // A builder may panic on a setting that cannot mean anything; the `try_` twin
            // returns it.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error}"),
        }
    }

    /// As [`build`](Self::build).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a bad resource template in a policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::{ToolCache, ToolPolicy};
    /// use larder::ErrorKind;
    ///
    /// let bad = ToolCache::<String>::builder()
    ///     .tool("add", ToolPolicy::mutating().invalidates("cart:{user_id"))
    ///     .try_build();
    /// assert_eq!(bad.unwrap_err().kind(), ErrorKind::Config);
    /// ```
    pub fn try_build(self) -> Result<ToolCache<V>, Error> {
        let backing = Cache::builder().max_capacity(self.capacity).build();
        self.try_build_on(backing)
    }

    /// A tool cache over `backing`: for example a [`Tiered`](crate::tier::Tiered) cache of
    /// `ToolKey` to `ToolEntry<V>`, so that global entries are shared by every process on its
    /// L2 store and invalidations reach them all.
    ///
    /// # Panics
    ///
    /// On a bad resource template in a policy; [`try_build_on`](Self::try_build_on) returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::agent::{ToolCache, ToolEntry, ToolKey, ToolPolicy};
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use serde_json::{Value, json};
    /// use std::time::Duration;
    ///
    /// let store = MemoryStore::new("agents");
    /// // Json: a `Value` needs a self-describing codec (see `tiered`, which sets it).
    /// let tier: Tiered<ToolKey, ToolEntry<Value>> = Tiered::builder(Cache::new(1_000), store)
    ///     .codec(larder::codec::Json)
    ///     .build();
    /// let tools = ToolCache::builder()
    ///     .tool("search", ToolPolicy::cached(Duration::from_secs(60)))
    ///     .build_on(tier);
    /// let found = tools.call("search", &json!({"q": "x"}), || async { Ok::<_, String>(json!(1)) }).await;
    /// assert_eq!(found.unwrap(), json!(1));
    /// # }
    /// ```
    pub fn build_on<B: ToolBacking<V>>(self, backing: B) -> ToolCache<V, B> {
        match self.try_build_on(backing) {
            Ok(cache) => cache,
            // A builder may panic on a setting that cannot mean anything; the `try_` twin
            // returns it.
            #[allow(clippy::panic)]
            Err(error) => panic!("{error}"),
        }
    }

    /// As [`build_on`](Self::build_on).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a bad resource template in a policy.
    pub fn try_build_on<B: ToolBacking<V>>(self, backing: B) -> Result<ToolCache<V, B>, Error> {
        if let Some(error) = &self.default_policy.error {
            return Err(error.clone());
        }
        let mut tools = HashMap::with_capacity(self.tools.len());
        for (name, policy) in self.tools {
            if let Some(error) = &policy.error {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("the policy of tool `{name}`: {error}"),
                ));
            }
            let tool = Tool {
                policy,
                counters: Arc::default(),
            };
            tools.insert(name.into_boxed_str(), tool);
        }
        Ok(ToolCache {
            shared: Arc::new(Shared {
                backing,
                tools,
                default_policy: self.default_policy,
                others: Mutex::new(HashMap::new()),
                limits: self.limits,
                action: self.action,
                end_session: end_session::<V, B>,
                _values: PhantomData,
            }),
        })
    }
}

impl<V, B> ToolCache<V, B>
where
    V: Clone + Send + Sync + 'static,
    B: ToolBacking<V>,
{
    /// Calls `tool` with `args` through the cache, in the global scope: a cached result if
    /// there is one, else `run`'s, cached by the tool's policy. Concurrent identical calls
    /// share one run. A mutating tool invalidates its resources first, even if it then fails.
    /// No loop detection: that is per [`Session`].
    ///
    /// # Errors
    ///
    /// [`ToolError::Tool`] with `run`'s error (never cached, unless the tool has a
    /// [negative TTL](ToolPolicy::negative_ttl)); [`ToolError::CachedFailure`] within one;
    /// [`ToolError::Cache`] for arguments that are not JSON, a
    /// [session-scoped](Scope::Session) tool (call it through a session) or a closed backing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::agent::{ToolCache, ToolPolicy};
    /// use serde_json::{Value, json};
    /// use std::time::Duration;
    ///
    /// let tools: ToolCache<Value> = ToolCache::builder()
    ///     .tool("search", ToolPolicy::cached(Duration::from_secs(60)))
    ///     .build();
    /// let args = json!({"q": "rust"});
    /// let hits = tools.call("search", &args, || async { Ok::<_, String>(json!(["rust-lang.org"])) });
    /// assert_eq!(hits.await.unwrap(), json!(["rust-lang.org"]));
    /// # }
    /// ```
    pub async fn call<A, F, Fut, E>(&self, tool: &str, args: &A, run: F) -> Result<V, ToolError<E>>
    where
        A: Serialize + ?Sized,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<V, E>> + Send,
        E: fmt::Display + Send + Sync + 'static,
    {
        self.call_in(None, tool, args, run, failure_message::<E>)
            .await
    }

    /// A session: its own scope for [session-scoped](Scope::Session) tools, and its own loop
    /// detection. Its entries go when it is [ended](Session::end) or dropped. Two sessions
    /// opened with one id share their scope (ending either drops its entries) but not their
    /// loop detection.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolCache;
    /// use serde_json::Value;
    ///
    /// let tools: ToolCache<Value> = ToolCache::builder().build();
    /// let session = tools.session("agent-a");
    /// assert_eq!(session.id(), "agent-a");
    /// ```
    pub fn session(&self, id: impl Into<String>) -> Session<V, B> {
        Session::open(
            self.clone(),
            SessionNode::root(id.into(), &self.shared.limits),
        )
    }

    /// Removes every cached result that depends on `resource`, in every scope (and, over a
    /// tiered backing, on every instance). What a mutating tool does before it runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::agent::{ToolCache, ToolPolicy};
    /// use serde_json::{Value, json};
    /// use std::time::Duration;
    ///
    /// let tools: ToolCache<Value> = ToolCache::builder()
    ///     .tool("read_cart", ToolPolicy::cached(Duration::from_secs(60)).depends_on("cart:{user_id}"))
    ///     .build();
    /// let args = json!({"user_id": 7});
    /// tools.call("read_cart", &args, || async { Ok::<_, String>(json!([])) }).await.unwrap();
    /// tools.invalidate_resource("cart:7").await;
    /// let ran = tools.call("read_cart", &args, || async { Ok::<_, String>(json!(["pen"])) }).await;
    /// assert_eq!(ran.unwrap(), json!(["pen"]));
    /// # }
    /// ```
    pub async fn invalidate_resource(&self, resource: &str) {
        let tag = resource_tag(resource);
        self.shared.backing.invalidate_tag(tag.as_str()).await;
    }

    /// Each tool's counters, by tool name (registered tools, and others once called).
    pub fn stats(&self) -> BTreeMap<String, ToolStats> {
        let mut all: BTreeMap<String, ToolStats> = self
            .shared
            .tools
            .iter()
            .map(|(name, tool)| (name.to_string(), tool.counters.snapshot()))
            .collect();
        for (name, counters) in self.shared.others.lock().iter() {
            all.insert(name.to_string(), counters.snapshot());
        }
        all
    }

    /// The cache the entries live in.
    pub fn backing(&self) -> &B {
        &self.shared.backing
    }

    /// Invalidates what a call of `tool` with `args` invalidates, without making the call:
    /// for an adapter that must let a call past the cache (it still counts as an
    /// invalidation in the tool's stats).
    #[cfg(feature = "mcp")]
    pub(crate) async fn invalidate_for(&self, tool: &str, args: &serde_json::Value) {
        let shared = &*self.shared;
        let (policy, counters) = shared.tool(tool);
        for resource in policy.invalidated(args) {
            shared
                .backing
                .invalidate_tag(resource_tag(&resource).as_str())
                .await;
            bump(&counters.invalidations);
        }
    }

    /// The path of one call, through `session` if there is one. `failure` says what a
    /// failure of the tool is kept as within a negative TTL: its message, or `None` for a
    /// failure that must never be cached (an adapter's pass-through answers).
    pub(crate) async fn call_in<A, F, Fut, E>(
        &self,
        session: Option<&SessionNode>,
        tool: &str,
        args: &A,
        run: F,
        failure: fn(&E) -> Option<String>,
    ) -> Result<V, ToolError<E>>
    where
        A: Serialize + ?Sized,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<V, E>> + Send,
        E: fmt::Display + Send + Sync + 'static,
    {
        let shared = &*self.shared;
        let (policy, counters) = shared.tool(tool);
        bump(&counters.calls);
        let value = serde_json::to_value(args).map_err(|e| {
            ToolError::Cache(Error::new(
                ErrorKind::Codec,
                format!("the arguments of `{tool}` are not JSON: {e}"),
            ))
        })?;
        let mut text = String::with_capacity(64);
        write_value(&value, &mut text);

        let mut caught = None;
        if let Some(session) = session {
            session.check_open()?;
            caught = session.record(tool, &text, &shared.limits);
            if let Some(caught) = &caught {
                counters.count_loop(caught.kind);
                match shared.action {
                    LoopAction::Raise => return Err(ToolError::Loop(caught.clone())),
                    LoopAction::Warn => warn(caught),
                    LoopAction::ShortCircuit => bump(&counters.short_circuits),
                }
            }
        }

        for resource in policy.invalidated(&value) {
            shared
                .backing
                .invalidate_tag(resource_tag(&resource).as_str())
                .await;
            bump(&counters.invalidations);
        }

        let cached = if policy.cacheable {
            policy.result_tags(&value)
        } else {
            None
        };
        let Some(mut tags) = cached else {
            if let (Some(caught), LoopAction::ShortCircuit) = (caught, shared.action) {
                return Err(ToolError::ShortCircuited(caught));
            }
            return run_uncached(&counters, run).await;
        };
        let scope = match policy.scope {
            Scope::Global => None,
            Scope::Session => match session {
                Some(session) => {
                    tags.extend(session.tags().iter().cloned());
                    Some(session.scope())
                }
                None => {
                    return Err(ToolError::Cache(Error::new(
                        ErrorKind::Config,
                        format!(
                            "tool `{tool}` is session-scoped: call it through a session \
                             (`ToolCache::session`)"
                        ),
                    )));
                }
            },
        };
        let key = ToolKey::new(scope, tool, &text);

        if let Some(caught) = caught.filter(|_| shared.action == LoopAction::ShortCircuit) {
            return match shared.backing.find(&key).await {
                Some(entry) => answer(tool, entry),
                None => Err(ToolError::ShortCircuited(caught)),
            };
        }
        if let Some(entry) = shared.backing.lookup(&key) {
            counters.count_hit(entry.took());
            return answer(tool, entry);
        }

        let ttl = policy.ttl.map_or(Ttl::Default, Ttl::After);
        let negative_ttl = policy.negative_ttl;
        let (ran, led) = (AtomicBool::new(false), AtomicBool::new(false));
        let own_failure: Mutex<Option<E>> = Mutex::new(None);
        let init = async {
            ran.store(true, Ordering::Relaxed);
            let start = Instant::now();
            let result = run().await;
            let took = start.elapsed();
            match (result, negative_ttl) {
                (Ok(value), _) => Ok(Some((ToolEntry::new(Ok(value), took), ttl, tags))),
                (Err(error), Some(negative)) => match failure(&error) {
                    Some(message) => {
                        *own_failure.lock() = Some(error);
                        let entry = ToolEntry::new(Err(message), took);
                        Ok(Some((entry, Ttl::After(negative), tags)))
                    }
                    None => Err(error),
                },
                (Err(error), None) => Err(error),
            }
        };
        let loaded = shared.backing.load(key, &led, init).await;
        let ran = ran.load(Ordering::Relaxed);
        match loaded {
            Ok(Some(entry)) => {
                if ran {
                    bump(&counters.misses);
                    if let Some(error) = own_failure.lock().take() {
                        bump(&counters.errors);
                        return Err(ToolError::Tool(Arc::new(error)));
                    }
                } else if led.load(Ordering::Relaxed) {
                    counters.count_hit(entry.took());
                } else {
                    bump(&counters.joins);
                }
                answer(tool, entry)
            }
            Ok(None) => Err(ToolError::Cache(Error::new(
                ErrorKind::Loader,
                format!("the load of `{tool}` yielded nothing"),
            ))),
            Err(LoadError::Loader(error)) => {
                if ran {
                    bump(&counters.misses);
                    bump(&counters.errors);
                } else {
                    bump(&counters.joins);
                }
                Err(ToolError::Tool(error))
            }
            Err(LoadError::Cache(error)) => Err(ToolError::Cache(error)),
        }
    }
}

impl<V, B> Shared<V, B> {
    /// The policy and counters of `tool`.
    fn tool(&self, tool: &str) -> (&ToolPolicy, Arc<ToolCounters>) {
        match self.tools.get(tool) {
            Some(known) => (&known.policy, Arc::clone(&known.counters)),
            None => {
                let mut others = self.others.lock();
                let counters = match others.get(tool) {
                    Some(counters) => Arc::clone(counters),
                    None => {
                        let counters = Arc::<ToolCounters>::default();
                        others.insert(tool.into(), Arc::clone(&counters));
                        counters
                    }
                };
                (&self.default_policy, counters)
            }
        }
    }
}

/// A cached entry as a call's answer.
fn answer<V, E>(tool: &str, entry: ToolEntry<V>) -> Result<V, ToolError<E>> {
    entry
        .into_result()
        .map_err(|message| ToolError::CachedFailure {
            tool: tool.to_string(),
            message,
        })
}

/// Runs a call that is not cached.
async fn run_uncached<V, E, F, Fut>(counters: &ToolCounters, run: F) -> Result<V, ToolError<E>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    bump(&counters.misses);
    run().await.map_err(|error| {
        bump(&counters.errors);
        ToolError::Tool(Arc::new(error))
    })
}

/// A `WARN` event for a loop that [`LoopAction::Warn`] lets through.
fn warn(caught: &LoopDetected) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        tool = %caught.tool,
        kind = ?caught.kind,
        count = caught.count,
        "larder agent: loop detected; the call goes on"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = caught;
}
