//! The path of one tool call: the loop check (in a session), the invalidations a mutating
//! tool makes, the lookup, and the shared load that runs the tool.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tokio::time::Instant;

use super::backing::{ToolBacking, ToolEntry};
use super::cache::ToolCache;
use super::canonical::write_value;
use super::error::{ToolError, failure_message};
use super::key::ToolKey;
use super::loops::{LoopAction, LoopDetected};
use super::node::SessionNode;
use super::policy::{Scope, resource_tag};
use super::stats::{ToolCounters, bump};
use crate::sync::Mutex;
use crate::{Error, ErrorKind, LoadError, Tag, Ttl};

impl<V, B> ToolCache<V, B>
where
    V: Clone + Send + Sync + 'static,
    B: ToolBacking<V>,
{
    /// Calls `tool` with `args` through the cache, in the global scope: a cached result if
    /// there is one, else `run`'s, cached by the tool's policy. Concurrent identical calls
    /// share one run. A mutating tool invalidates its resources first, even if it then fails.
    /// No loop detection: that is per [`Session`](super::Session).
    ///
    /// # Errors
    ///
    /// [`ToolError::Tool`] with `run`'s error (never cached, unless the tool has a
    /// [negative TTL](super::ToolPolicy::negative_ttl)); [`ToolError::CachedFailure`] within one;
    /// [`ToolError::Cache`] for arguments that are not JSON, a
    /// [session-scoped](super::Scope::Session) tool (call it through a session) or a closed backing.
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

    /// Invalidates what a call of `tool` with `args` invalidates, without making the call:
    /// for an adapter that must let a call past the cache (it still counts as an
    /// invalidation in the tool's stats).
    /// Returns the guard that invalidates them again once the call is done.
    #[cfg(feature = "mcp")]
    pub(crate) async fn invalidate_for(
        &self,
        tool: &str,
        args: &serde_json::Value,
    ) -> Reinvalidate<'_, V, B> {
        let shared = &*self.shared;
        let (policy, counters) = shared.tool(tool);
        let tags: Vec<Tag> = policy
            .invalidated(args)
            .iter()
            .map(|resource| resource_tag(resource))
            .collect();
        for tag in &tags {
            shared.backing.invalidate_tag(tag.as_str()).await;
            bump(&counters.invalidations);
        }
        Reinvalidate::new(&shared.backing, tags)
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

        let invalidated: Vec<Tag> = policy
            .invalidated(&value)
            .iter()
            .map(|resource| resource_tag(resource))
            .collect();
        // A call short-circuited by loop detection does not run its tool, so it changes
        // nothing: it invalidates nothing either.
        let short_circuited = caught.is_some() && shared.action == LoopAction::ShortCircuit;
        if !short_circuited {
            for tag in &invalidated {
                shared.backing.invalidate_tag(tag.as_str()).await;
                bump(&counters.invalidations);
            }
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
            // A read that ran while this tool did may have seen the state before it, and
            // cached that: its resources are invalidated again once it is done (or dropped).
            let again = Reinvalidate::new(&shared.backing, invalidated);
            let result = run_uncached(&counters, run).await;
            again.finish().await;
            return result;
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
        if let (Some(session), Scope::Session) = (session, policy.scope) {
            // The session (or a parent) may have ended while this load ran: its end removed
            // what was stored before, and this removes what the load stored after.
            for tag in session.ended_tags() {
                shared.backing.invalidate_tag(tag.as_str()).await;
            }
        }
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

/// The resources a mutating tool invalidated before it ran, invalidated again when it is
/// done: a read that ran meanwhile saw the state before the change, and the generation rule
/// of tagged loads keeps only the reads that began before an invalidation out of the cache.
/// Dropped unfinished (the call cancelled, or the tool panicked), it invalidates them from
/// `Drop`.
pub(crate) struct Reinvalidate<'a, V, B: ToolBacking<V>> {
    backing: &'a B,
    tags: Vec<Tag>,
    _values: PhantomData<fn() -> V>,
}

impl<'a, V, B: ToolBacking<V>> Reinvalidate<'a, V, B> {
    pub(crate) fn new(backing: &'a B, tags: Vec<Tag>) -> Self {
        Self {
            backing,
            tags,
            _values: PhantomData,
        }
    }

    /// Invalidates the resources again, waiting for every tier.
    pub(crate) async fn finish(mut self) {
        for tag in std::mem::take(&mut self.tags) {
            self.backing.invalidate_tag(tag.as_str()).await;
        }
    }
}

impl<V, B: ToolBacking<V>> Drop for Reinvalidate<'_, V, B> {
    fn drop(&mut self) {
        for tag in self.tags.drain(..) {
            self.backing.invalidate_tag_detached(tag);
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
