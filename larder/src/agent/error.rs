//! [`ToolError`]: why a tool call through the cache gave no result.

use std::fmt;
use std::sync::Arc;

use super::loops::LoopDetected;
use crate::Error;

/// Why a tool call through a [`ToolCache`](super::ToolCache) gave no result.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::agent::{ToolCache, ToolError};
/// use serde_json::{Value, json};
///
/// let tools: ToolCache<Value> = ToolCache::builder().build();
/// let failed = tools.call("search", &json!({}), || async { Err::<Value, _>("offline") }).await;
/// match failed {
///     Err(ToolError::Tool(error)) => assert_eq!(*error, "offline"),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ToolError<E> {
    /// The tool failed. Every caller that shared the call gets the same error.
    Tool(Arc<E>),
    /// The tool failed within its [negative TTL](super::ToolPolicy::negative_ttl) earlier:
    /// its failure's message, without running it again.
    CachedFailure {
        /// The tool.
        tool: String,
        /// The failure's message (its `Display`).
        message: String,
    },
    /// Loop detection caught the call, with [`LoopAction::Raise`](super::LoopAction::Raise);
    /// the tool did not run.
    Loop(LoopDetected),
    /// Loop detection caught the call, with
    /// [`LoopAction::ShortCircuit`](super::LoopAction::ShortCircuit), and nothing was cached
    /// for it; the tool did not run.
    ShortCircuited(LoopDetected),
    /// The call could not be made: bad arguments ([`Codec`](crate::ErrorKind::Codec)), a
    /// session-scoped tool called outside a session or through an ended one
    /// ([`Config`](crate::ErrorKind::Config)), or a closed cache
    /// ([`Closed`](crate::ErrorKind::Closed)).
    Cache(Error),
}

impl<E> ToolError<E> {
    /// The loop that was caught, for [`Loop`](Self::Loop) and
    /// [`ShortCircuited`](Self::ShortCircuited).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::{LoopDetected, LoopKind, ToolError};
    ///
    /// let error: ToolError<String> = ToolError::Loop(LoopDetected::new(LoopKind::Depth, "plan", 51));
    /// assert_eq!(error.loop_detected().map(|l| l.count), Some(51));
    /// ```
    pub fn loop_detected(&self) -> Option<&LoopDetected> {
        match self {
            Self::Loop(caught) | Self::ShortCircuited(caught) => Some(caught),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for ToolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tool(error) => write!(f, "the tool failed: {error}"),
            Self::CachedFailure { tool, message } => {
                write!(f, "`{tool}` failed recently (cached): {message}")
            }
            Self::Loop(caught) => write!(f, "{caught}"),
            Self::ShortCircuited(caught) => write!(f, "short-circuited: {caught}"),
            Self::Cache(error) => write!(f, "{error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ToolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Tool(error) => Some(&**error),
            Self::Loop(caught) | Self::ShortCircuited(caught) => Some(caught),
            Self::Cache(error) => Some(error),
            Self::CachedFailure { .. } => None,
        }
    }
}

/// What a tool's failure is kept as within a negative TTL: its message.
pub(crate) fn failure_message<E: fmt::Display>(error: &E) -> Option<String> {
    Some(error.to_string())
}
