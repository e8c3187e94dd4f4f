//! [`Session`]: one agent's run, with its own scope for session-scoped results, its own loop
//! detection, and sub-sessions for sub-agents.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::backing::ToolBacking;
use super::cache::ToolCache;
use super::error::{ToolError, failure_message};
use super::node::SessionNode;
use crate::Tag;

/// One agent's run through a [`ToolCache`]: calls made through it see its
/// [session-scoped](super::Scope::Session) results and the global ones, and are watched for
/// loops (see [`LoopLimits`](super::LoopLimits) for the rules).
///
/// **Sub-agents** open [`child`](Self::child) sessions. A child has its own scope: it sees
/// its own session-scoped results and the global ones, not its parent's (a sub-agent may work
/// for another user or with other rights; what every agent may share belongs in the global
/// scope). Its calls count towards its parent's depth limit too. Ending a session ends its
/// children: their results go with it, and their calls fail from then on.
///
/// **Scopes in keys.** A session's entries are keyed by its path of ids, each with `\` and
/// `/` escaped (as `\\` and `\/`), joined by `/`: a root session named `a/b` and
/// the child `b` of the session `a` have scopes of their own, although [`id`](Self::id)
/// spells both `a/b`.
///
/// **Ending.** [`end`](Self::end), or dropping the session, removes its session-scoped
/// results (over a tiered backing, on every instance: dropping spawns that part on tokio).
/// Calls through a child of an ended session fail with [`ErrorKind::Config`](crate::ErrorKind::Config).
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
            .field("id", &self.node.id)
            .field("steps", &self.node.steps.load(Ordering::Relaxed))
            .field("ended", &self.node.ended.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<V, B> ToolCache<V, B>
where
    V: Clone + Send + Sync + 'static,
    B: ToolBacking<V>,
{
    /// A session: its own scope for [session-scoped](super::Scope::Session) tools, and its own loop
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
        &self.node.id
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
