//! Per-tool counters, and the [`ToolStats`] snapshot of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::loops::LoopKind;

/// A snapshot of one tool's counters, from [`ToolCache::stats`](super::ToolCache::stats).
///
/// Every call counts once in `calls`, and then at most once in `hits`, `joins` or `misses`
/// (a call caught by loop detection and stopped, or refused, counts in none of them).
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
/// for _ in 0..3 {
///     tools.call("search", &json!({"q": "rust"}), || async { Ok::<_, String>(json!(["hit"])) }).await.unwrap();
/// }
/// let stats = &tools.stats()["search"];
/// assert_eq!((stats.calls, stats.misses, stats.hits), (3, 1, 2));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolStats {
    /// Calls of the tool through the cache.
    pub calls: u64,
    /// Calls answered by a cached result (or, in a tier, by L2), without running the tool.
    pub hits: u64,
    /// Calls that ran the tool.
    pub misses: u64,
    /// Calls answered by a concurrent identical call's run of the tool (single-flight).
    pub joins: u64,
    /// Runs of the tool that failed (a shared failure counts once).
    pub errors: u64,
    /// Resources this tool's calls invalidated (a mutating tool), one per resource per call.
    pub invalidations: u64,
    /// Calls caught by the repeat rule.
    pub repeat_loops: u64,
    /// Calls caught by the oscillation rule.
    pub oscillation_loops: u64,
    /// Calls caught by the depth rule.
    pub depth_loops: u64,
    /// Calls that loop detection stopped with [`LoopAction::ShortCircuit`] (answered from the
    /// cache or refused).
    ///
    /// [`LoopAction::ShortCircuit`]: super::LoopAction::ShortCircuit
    pub short_circuits: u64,
    /// The time the hits saved: for each hit, how long the call that produced its result
    /// took.
    pub time_saved: Duration,
}

/// One tool's live counters.
#[derive(Debug, Default)]
pub(crate) struct ToolCounters {
    pub(crate) calls: AtomicU64,
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) joins: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) repeat_loops: AtomicU64,
    pub(crate) oscillation_loops: AtomicU64,
    pub(crate) depth_loops: AtomicU64,
    pub(crate) short_circuits: AtomicU64,
    pub(crate) saved_nanos: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl ToolCounters {
    pub(crate) fn count_loop(&self, kind: LoopKind) {
        bump(match kind {
            LoopKind::Repeat => &self.repeat_loops,
            LoopKind::Oscillation { .. } => &self.oscillation_loops,
            LoopKind::Depth => &self.depth_loops,
        });
    }

    pub(crate) fn count_hit(&self, saved: Duration) {
        bump(&self.hits);
        let nanos = u64::try_from(saved.as_nanos()).unwrap_or(u64::MAX);
        self.saved_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ToolStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ToolStats {
            calls: read(&self.calls),
            hits: read(&self.hits),
            misses: read(&self.misses),
            joins: read(&self.joins),
            errors: read(&self.errors),
            invalidations: read(&self.invalidations),
            repeat_loops: read(&self.repeat_loops),
            oscillation_loops: read(&self.oscillation_loops),
            depth_loops: read(&self.depth_loops),
            short_circuits: read(&self.short_circuits),
            time_saved: Duration::from_nanos(read(&self.saved_nanos)),
        }
    }
}
