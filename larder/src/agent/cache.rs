//! [`ToolCache`] and its builder: the tools' policies, the backing cache, and the path of one
//! call (loop check, invalidation, lookup, shared load).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::sync::Mutex;

use super::backing::{ToolBacking, ToolEntry};
use super::key::ToolKey;
use super::loops::{LoopAction, LoopLimits};
use super::policy::{ToolPolicy, resource_tag};
use super::stats::{ToolCounters, ToolStats};
use crate::{Cache, Error, ErrorKind};

/// The in-process backing of a [`ToolCache`] built by [`ToolCacheBuilder::build`].
pub type LocalBacking<V> = Cache<ToolKey, ToolEntry<V>>;

/// A cache of AI agents' tool calls: each call is keyed by the tool's name and its
/// [canonical arguments](super::canonical_args), cached by the tool's [`ToolPolicy`], shared
/// by concurrent identical calls, invalidated by resource, scoped globally or per
/// [`Session`](super::Session), and watched for loops. See the [module docs](super) for the rules.
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
    pub(super) action: LoopAction,
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
    /// use larder::agent::{ToolCache, ToolPolicy};
    /// use serde_json::{Value, json};
    /// use std::time::Duration;
    ///
    /// // A cache of your own making: here, to look at its entries (`tiered` makes a tier).
    /// let entries = Cache::builder().max_capacity(1_000).name("tools").build();
    /// let tools: ToolCache<Value, _> = ToolCache::builder()
    ///     .tool("search", ToolPolicy::cached(Duration::from_secs(60)))
    ///     .build_on(entries.clone());
    /// let found = tools.call("search", &json!({"q": "x"}), || async { Ok::<_, String>(json!(1)) }).await;
    /// assert_eq!(found.unwrap(), json!(1));
    /// assert_eq!(entries.len(), 1);
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
}

impl<V, B> Shared<V, B> {
    /// The policy and counters of `tool`.
    pub(super) fn tool(&self, tool: &str) -> (&ToolPolicy, Arc<ToolCounters>) {
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
