//! [`Session`]: one agent's run, with its own scope for session-scoped results, its own loop
//! detection, and sub-sessions for sub-agents.

use std::fmt;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sync::Mutex;
use serde::Serialize;

use super::backing::ToolBacking;
use super::cache::ToolCache;
use super::error::{ToolError, failure_message};
use super::loops::{History, LoopDetected, LoopKind, LoopLimits};
use crate::{Error, ErrorKind, Tag};

/// One agent's run through a [`ToolCache`]: calls made through it see its
/// [session-scoped](super::Scope::Session) results and the global ones, and are watched for
/// loops (see [`LoopLimits`] for the rules).
///
/// **Sub-agents** open [`child`](Self::child) sessions. A child has its own scope: it sees
/// its own session-scoped results and the global ones, not its parent's (a sub-agent may work
/// for another user or with other rights; what every agent may share belongs in the global
/// scope). Its calls count towards its parent's depth limit too. Ending a session ends its
/// children: their results go with it, and their calls fail from then on.
///
/// **Ending.** [`end`](Self::end), or dropping the session, removes its session-scoped
/// results (over a tiered backing, on every instance: dropping spawns that part on tokio).
/// Calls through a child of an ended session fail with [`ErrorKind::Config`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::agent::{Scope, ToolCache, ToolPolicy};
/// use serde_json::{Value, json};
/// use std::time::Duration;
///
/// let tools: ToolCache<Value> = ToolCache::builder()
///     .tool("notes", ToolPolicy::cached(Duration::from_secs(60)).scope(Scope::Session))
///     .build();
/// let a = tools.session("a");
/// let b = tools.session("b");
/// a.call("notes", &json!({}), || async { Ok::<_, String>(json!("a's notes")) }).await.unwrap();
/// // b has its own scope: its call runs the tool.
/// let theirs = b.call("notes", &json!({}), || async { Ok::<_, String>(json!("b's notes")) }).await;
/// assert_eq!(theirs.unwrap(), json!("b's notes"));
/// a.end().await; // a's notes are gone
/// # }
/// ```
pub struct Session<V, B> {
    cache: ToolCache<V, B>,
    node: Arc<SessionNode>,
}

impl<V, B> fmt::Debug for Session<V, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.node.scope)
            .field("steps", &self.node.steps.load(Ordering::Relaxed))
            .field("ended", &self.node.ended.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A session's state, shared with its children.
#[derive(Debug)]
pub(crate) struct SessionNode {
    /// Its scope: its id, after its parents' (`parent/child`).
    scope: Box<str>,
    /// The tags its session-scoped results carry: its own, then each parent's.
    tags: Vec<Tag>,
    parent: Option<Arc<SessionNode>>,
    history: Mutex<History>,
    /// Calls made through it and its children.
    steps: AtomicUsize,
    ended: AtomicBool,
}

fn session_tag(scope: &str) -> Tag {
    Tag::from(format!("larder.agent.session:{scope}"))
}

impl SessionNode {
    pub(crate) fn root(id: String, limits: &LoopLimits) -> Arc<Self> {
        Arc::new(Self {
            tags: vec![session_tag(&id)],
            scope: id.into(),
            parent: None,
            history: Mutex::new(History::new(limits)),
            steps: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
        })
    }

    fn child(parent: &Arc<Self>, id: &str, limits: &LoopLimits) -> Arc<Self> {
        let scope = format!("{}/{id}", parent.scope);
        let mut tags = vec![session_tag(&scope)];
        tags.extend(parent.tags.iter().cloned());
        Arc::new(Self {
            scope: scope.into(),
            tags,
            parent: Some(Arc::clone(parent)),
            history: Mutex::new(History::new(limits)),
            steps: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
        })
    }

    pub(crate) fn scope(&self) -> &str {
        &self.scope
    }

    pub(crate) fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Fails if this session or a parent of it has ended.
    pub(crate) fn check_open<E>(&self) -> Result<(), ToolError<E>> {
        let mut node = Some(self);
        while let Some(n) = node {
            if n.ended.load(Ordering::Acquire) {
                return Err(ToolError::Cache(Error::new(
                    ErrorKind::Config,
                    format!("session `{}` has ended", n.scope),
                )));
            }
            node = n.parent.as_deref();
        }
        Ok(())
    }

    /// Records a call of `tool` with canonical arguments `args` and says whether a loop rule
    /// catches it: depth first (on this session and each parent), then repeat, then
    /// oscillation.
    pub(crate) fn record(
        &self,
        tool: &str,
        args: &str,
        limits: &LoopLimits,
    ) -> Option<LoopDetected> {
        let mut depth = None;
        let mut node = Some(self);
        while let Some(n) = node {
            let step = n.steps.fetch_add(1, Ordering::Relaxed) + 1;
            if depth.is_none() && limits.max_execution_depth.is_some_and(|max| step > max) {
                depth = Some(step);
            }
            node = n.parent.as_deref();
        }
        let mut hasher = DefaultHasher::new();
        tool.hash(&mut hasher);
        args.hash(&mut hasher);
        let caught = self.history.lock().record(hasher.finish(), limits);
        let (kind, count) = match (depth, caught) {
            (Some(step), _) => (LoopKind::Depth, step),
            (None, Some(caught)) => caught,
            (None, None) => return None,
        };
        Some(LoopDetected::new(kind, tool, count))
    }
}

impl<V, B> Session<V, B>
where
    V: Clone + Send + Sync + 'static,
    B: ToolBacking<V>,
{
    pub(crate) fn open(cache: ToolCache<V, B>, node: Arc<SessionNode>) -> Self {
        Self { cache, node }
    }

    /// The session's id; a child's is its parent's, a `/`, and its own.
    pub fn id(&self) -> &str {
        &self.node.scope
    }

    /// How many calls were made through this session and its children.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::agent::ToolCache;
    /// use serde_json::{Value, json};
    ///
    /// let tools: ToolCache<Value> = ToolCache::builder().build();
    /// let parent = tools.session("run-1");
    /// let child = parent.child("researcher");
    /// child.call("t", &json!(1), || async { Ok::<_, String>(json!(1)) }).await.unwrap();
    /// assert_eq!((child.steps(), parent.steps()), (1, 1));
    /// # }
    /// ```
    pub fn steps(&self) -> usize {
        self.node.steps.load(Ordering::Relaxed)
    }

    /// Calls `tool` with `args` through the cache within this session: as
    /// [`ToolCache::call`], with this session's scope for session-scoped tools, and loop
    /// detection first.
    ///
    /// # Errors
    ///
    /// As [`ToolCache::call`], and [`ToolError::Loop`] or [`ToolError::ShortCircuited`] for a
    /// call caught by loop detection, or [`ToolError::Cache`] of kind
    /// [`Config`](crate::ErrorKind::Config) once the session (or a parent) has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::agent::{LoopKind, ToolCache, ToolError};
    /// use serde_json::{Value, json};
    ///
    /// let tools: ToolCache<Value> = ToolCache::builder().build();
    /// let session = tools.session("stuck");
    /// let mut last = None;
    /// for _ in 0..6 {
    ///     last = Some(session.call("poll", &json!({}), || async { Ok::<_, String>(json!(null)) }).await);
    /// }
    /// match last.unwrap() {
    ///     Err(ToolError::Loop(caught)) => assert_eq!((caught.kind, caught.count), (LoopKind::Repeat, 6)),
    ///     other => panic!("{other:?}"),
    /// }
    /// # }
    /// ```
    pub async fn call<A, F, Fut, E>(&self, tool: &str, args: &A, run: F) -> Result<V, ToolError<E>>
    where
        A: Serialize + ?Sized,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<V, E>> + Send,
        E: fmt::Display + Send + Sync + 'static,
    {
        self.cache
            .call_in(Some(&self.node), tool, args, run, failure_message::<E>)
            .await
    }

    /// As [`call`](Self::call), with `failure` saying what a failure is kept as within a
    /// negative TTL (`None`: never cached). For adapters.
    #[cfg(feature = "mcp")]
    pub(crate) async fn call_keeping<A, F, Fut, E>(
        &self,
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
        self.cache
            .call_in(Some(&self.node), tool, args, run, failure)
            .await
    }

    /// The tool cache this session belongs to.
    #[cfg(feature = "mcp")]
    pub(crate) fn tools(&self) -> &ToolCache<V, B> {
        &self.cache
    }

    /// A sub-session for a sub-agent, with its own scope and loop history (see [`Session`]
    /// for what it sees).
    pub fn child(&self, id: &str) -> Session<V, B> {
        let node = SessionNode::child(&self.node, id, &self.cache.shared.limits);
        Session::open(self.cache.clone(), node)
    }

    /// Ends the session: its session-scoped results (and its children's) are removed from
    /// every tier before this returns.
    pub async fn end(self) {
        if !self.node.ended.swap(true, Ordering::AcqRel) {
            let tag = self.node.tags[0].clone();
            self.cache.shared.backing.invalidate_tag(tag.as_str()).await;
        }
    }
}

impl<V, B> Drop for Session<V, B> {
    fn drop(&mut self) {
        if !self.node.ended.swap(true, Ordering::AcqRel) {
            let tag = self.node.tags[0].clone();
            end_detached(&self.cache, tag);
        }
    }
}

/// Removes a dropped session's results: `Drop` has no bounds on `V` and `B`, so this goes
/// through a function pointer the cache set up when it was built.
fn end_detached<V, B>(cache: &ToolCache<V, B>, tag: Tag) {
    (cache.shared.end_session)(&cache.shared.backing, tag);
}
