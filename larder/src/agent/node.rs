//! [`SessionNode`]: a session's state (its scope, tags, loop history and steps), shared with
//! its children and read by the call path.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::error::ToolError;
use super::loops::{History, LoopDetected, LoopKind, LoopLimits};
use crate::sync::Mutex;
use crate::{Error, ErrorKind, Tag};

/// A session's state, shared with its children.
#[derive(Debug)]
pub(crate) struct SessionNode {
    /// Its id, after its parents' (`parent/child`), as [`Session::id`](super::Session::id)
    /// shows it.
    pub(super) id: Box<str>,
    /// Its scope, in keys and tags: each id on the path with `\` and `/` escaped (`\\`,
    /// `\/`), joined by `/`, so that a root session named `a/b` and the child `b` of `a`
    /// have scopes of their own (`a\/b` and `a/b`).
    pub(super) scope: Box<str>,
    /// The tags its session-scoped results carry: its own, then each parent's.
    pub(super) tags: Vec<Tag>,
    pub(super) parent: Option<Arc<SessionNode>>,
    pub(super) history: Mutex<History>,
    /// Calls made through it and its children.
    pub(super) steps: AtomicUsize,
    pub(super) ended: AtomicBool,
}

/// `id` as one step of a scope path: `\` and `/` escaped.
fn escaped(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        if matches!(c, '\\' | '/') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn session_tag(scope: &str) -> Tag {
    Tag::from(format!("larder.agent.session:{scope}"))
}

impl SessionNode {
    pub(crate) fn root(id: String, limits: &LoopLimits) -> Arc<Self> {
        let scope = escaped(&id);
        Arc::new(Self {
            tags: vec![session_tag(&scope)],
            id: id.into(),
            scope: scope.into(),
            parent: None,
            history: Mutex::new(History::new(limits)),
            steps: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
        })
    }

    pub(super) fn child(parent: &Arc<Self>, id: &str, limits: &LoopLimits) -> Arc<Self> {
        let scope = format!("{}/{}", parent.scope, escaped(id));
        let mut tags = vec![session_tag(&scope)];
        tags.extend(parent.tags.iter().cloned());
        Arc::new(Self {
            id: format!("{}/{id}", parent.id).into(),
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
                    format!("session `{}` has ended", n.id),
                )));
            }
            node = n.parent.as_deref();
        }
        Ok(())
    }

    /// The end tags of this session and its parents that have ended: a session-scoped result
    /// stored after one of them ended (its load began before) is removed with these.
    pub(crate) fn ended_tags(&self) -> Vec<Tag> {
        let mut tags = Vec::new();
        let mut node = Some(self);
        while let Some(n) = node {
            if n.ended.load(Ordering::Acquire) {
                tags.push(n.tags[0].clone());
            }
            node = n.parent.as_deref();
        }
        tags
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
