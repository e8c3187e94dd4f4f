//! Loop detection: a session's recent calls, and the three rules that say an agent is stuck.
//!
//! The rules, exactly (each checked before the call runs, on the history that includes it):
//! - **Repeat:** the same call (tool plus canonical arguments) more than
//!   [`max_tool_repeats`](LoopLimits::max_tool_repeats) times among the session's last
//!   [`repeat_window`](LoopLimits::repeat_window) calls. With the defaults (5 in 50), the
//!   sixth identical call within 50 is detected.
//! - **Oscillation:** the last calls are a block of `p` calls, for `p` from 2 to
//!   [`max_cycle_period`](LoopLimits::max_cycle_period), repeated back to back more than
//!   [`max_cycle_repeats`](LoopLimits::max_cycle_repeats) times, where the block holds at
//!   least two different calls (one call repeated is the repeat rule's). With the defaults
//!   (periods up to 4, 3 repeats), `A B A B A B A B` is detected at its eighth call, the
//!   fourth `A B`; the shortest period is reported.
//! - **Depth:** a call that would be step number
//!   [`max_execution_depth`](LoopLimits::max_execution_depth) + 1 of its session, where each
//!   call through a session is one step of that session and of each of its parents (a
//!   sub-agent's calls are part of its parent's task). With the default (50), the 51st call
//!   is detected.
//!
//! A detected call is kept in the history, whatever the [`LoopAction`] does with it, so an
//! agent that repeats it again is detected again.

use std::collections::VecDeque;
use std::fmt;

/// The limits of loop detection, per session. The defaults are async-cache's:
/// `max_tool_repeats = 5`, `max_execution_depth = 50`; and oscillations of period 2 to 4
/// repeated more than 3 times.
///
/// # Examples
///
/// ```
/// use larder::agent::LoopLimits;
///
/// let limits = LoopLimits::default().max_tool_repeats(3).max_execution_depth(None);
/// assert_eq!((limits.max_tool_repeats, limits.repeat_window), (3, 50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopLimits {
    /// How many times one call may appear among the last `repeat_window` calls.
    pub max_tool_repeats: usize,
    /// How many of the session's last calls the repeat rule looks at.
    pub repeat_window: usize,
    /// The longest cycle the oscillation rule looks for (at least 2 to look at all).
    pub max_cycle_period: usize,
    /// How many back-to-back repetitions of a cycle are allowed.
    pub max_cycle_repeats: usize,
    /// How many calls a session (with its sub-sessions) may make; `None` for no limit.
    pub max_execution_depth: Option<usize>,
}

impl Default for LoopLimits {
    fn default() -> Self {
        Self {
            max_tool_repeats: 5,
            repeat_window: 50,
            max_cycle_period: 4,
            max_cycle_repeats: 3,
            max_execution_depth: Some(50),
        }
    }
}

impl LoopLimits {
    /// Sets [`max_tool_repeats`](Self::max_tool_repeats).
    pub fn max_tool_repeats(mut self, repeats: usize) -> Self {
        self.max_tool_repeats = repeats;
        self
    }

    /// Sets [`repeat_window`](Self::repeat_window).
    pub fn repeat_window(mut self, calls: usize) -> Self {
        self.repeat_window = calls;
        self
    }

    /// Sets [`max_cycle_period`](Self::max_cycle_period); below 2, no oscillation is looked
    /// for.
    pub fn max_cycle_period(mut self, calls: usize) -> Self {
        self.max_cycle_period = calls;
        self
    }

    /// Sets [`max_cycle_repeats`](Self::max_cycle_repeats).
    pub fn max_cycle_repeats(mut self, repeats: usize) -> Self {
        self.max_cycle_repeats = repeats;
        self
    }

    /// Sets [`max_execution_depth`](Self::max_execution_depth); `None` for no limit.
    pub fn max_execution_depth(mut self, calls: Option<usize>) -> Self {
        self.max_execution_depth = calls;
        self
    }
}

/// What a tool cache does with a call that loop detection caught.
///
/// # Examples
///
/// The same agent, stuck polling a job's status (`poll` is not cached), in each mode:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::agent::{LoopAction, LoopKind, ToolCache, ToolError, ToolPolicy};
/// use serde_json::{Value, json};
/// use std::time::Duration;
///
/// async fn stuck(action: LoopAction) -> (Result<Value, ToolError<String>>, u64) {
///     let tools: ToolCache<Value> = ToolCache::builder()
///         .tool("search", ToolPolicy::cached(Duration::from_secs(60)))
///         .on_loop(action)
///         .build();
///     let agent = tools.session("agent");
///     let mut last = None;
///     for _ in 0..6 {
///         // The sixth identical call breaks `max_tool_repeats` (5).
///         last = Some(agent.call("poll", &json!({"job": 1}), || async { Ok::<_, String>(json!("running")) }).await);
///     }
///     (last.unwrap(), tools.stats()["poll"].misses)
/// }
///
/// // Raise: the sixth call fails, naming the rule, the tool and the count; the tool ran 5 times.
/// let (raised, runs) = stuck(LoopAction::Raise).await;
/// let caught = raised.unwrap_err().loop_detected().cloned().unwrap();
/// assert_eq!((caught.kind, caught.tool.as_str(), caught.count, runs), (LoopKind::Repeat, "poll", 6, 5));
///
/// // Warn: the sixth call runs (a `WARN` event with the `tracing` feature, and a count).
/// let (warned, runs) = stuck(LoopAction::Warn).await;
/// assert_eq!((warned.unwrap(), runs), (json!("running"), 6));
///
/// // ShortCircuit: the tool does not run; nothing is cached for `poll`, so the answer is
/// // the typed "short-circuited" error (a cached tool would get its cached result).
/// let (cut, runs) = stuck(LoopAction::ShortCircuit).await;
/// assert!(matches!(cut, Err(ToolError::ShortCircuited(_))));
/// assert_eq!(runs, 5);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoopAction {
    /// The call fails with [`ToolError::Loop`](super::ToolError::Loop); the tool does not
    /// run. async-cache's default, `on_loop="raise"`.
    #[default]
    Raise,
    /// The call goes on; the loop is counted in the tool's stats and, with the `tracing`
    /// feature, logged as a `WARN` event.
    Warn,
    /// The tool does not run: the call returns the cached result if there is one, else fails
    /// with [`ToolError::ShortCircuited`](super::ToolError::ShortCircuited).
    ShortCircuit,
}

/// Which rule caught a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopKind {
    /// The same call too many times.
    Repeat,
    /// A cycle of calls repeated too many times.
    Oscillation {
        /// The cycle's length in calls.
        period: usize,
    },
    /// Too many calls in one session.
    Depth,
}

/// A loop that detection caught: the rule, the tool called, and the count that broke the
/// limit (the repeats of the call, the repetitions of the cycle, or the step number).
///
/// # Examples
///
/// ```
/// use larder::agent::{LoopDetected, LoopKind};
///
/// let caught = LoopDetected::new(LoopKind::Repeat, "search", 6);
/// assert_eq!(caught.to_string(), "loop detected: tool `search` repeated 6 times");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopDetected {
    /// The rule that caught it.
    pub kind: LoopKind,
    /// The tool of the call that was caught.
    pub tool: String,
    /// The count that broke the limit.
    pub count: usize,
}

impl LoopDetected {
    /// A detection (for adapters and tests).
    pub fn new(kind: LoopKind, tool: impl Into<String>, count: usize) -> Self {
        Self {
            kind,
            tool: tool.into(),
            count,
        }
    }
}

impl fmt::Display for LoopDetected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LoopKind::Repeat => write!(
                f,
                "loop detected: tool `{}` repeated {} times",
                self.tool, self.count
            ),
            LoopKind::Oscillation { period } => write!(
                f,
                "loop detected: a cycle of {period} calls ending in `{}` repeated {} times",
                self.tool, self.count
            ),
            LoopKind::Depth => write!(
                f,
                "loop detected: call {} (`{}`) is past the session's depth limit",
                self.count, self.tool
            ),
        }
    }
}

impl std::error::Error for LoopDetected {}

/// One session's recent calls, as hashes of (tool, canonical arguments).
#[derive(Debug)]
pub(crate) struct History {
    calls: VecDeque<u64>,
    keep: usize,
}

impl History {
    pub(crate) fn new(limits: &LoopLimits) -> Self {
        let cycles = limits
            .max_cycle_period
            .saturating_mul(limits.max_cycle_repeats.saturating_add(1));
        let keep = limits.repeat_window.max(cycles).max(1);
        Self {
            calls: VecDeque::with_capacity(keep.min(1024)),
            keep,
        }
    }

    /// Records `call` and says whether the repeat or oscillation rule catches it.
    pub(crate) fn record(&mut self, call: u64, limits: &LoopLimits) -> Option<LoopKindCount> {
        if self.calls.len() == self.keep {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
        self.repeats(call, limits)
            .or_else(|| self.oscillation(limits))
    }

    fn repeats(&self, call: u64, limits: &LoopLimits) -> Option<LoopKindCount> {
        let window = limits.repeat_window.min(self.calls.len());
        let count = self
            .calls
            .iter()
            .rev()
            .take(window)
            .filter(|&&c| c == call)
            .count();
        (count > limits.max_tool_repeats).then_some((LoopKind::Repeat, count))
    }

    fn oscillation(&self, limits: &LoopLimits) -> Option<LoopKindCount> {
        let n = self.calls.len();
        for period in 2..=limits.max_cycle_period {
            if n < 2 * period {
                break;
            }
            let last = n - 1;
            let block_varies = (1..period).any(|i| self.calls[last - i] != self.calls[last]);
            if !block_varies {
                continue;
            }
            // How far back the calls keep repeating with this period.
            let mut run = period;
            while run < n && self.calls[last - run] == self.calls[last - run + period] {
                run += 1;
            }
            let repeats = run / period;
            if repeats > limits.max_cycle_repeats {
                return Some((LoopKind::Oscillation { period }, repeats));
            }
        }
        None
    }
}

/// A rule's kind and count.
pub(crate) type LoopKindCount = (LoopKind, usize);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(limits: &LoopLimits, calls: &[u64]) -> Vec<Option<LoopKindCount>> {
        let mut history = History::new(limits);
        calls.iter().map(|&c| history.record(c, limits)).collect()
    }

    #[test]
    fn repeat_is_caught_at_one_past_the_limit() {
        let limits = LoopLimits::default();
        let outcomes = run(&limits, &[1, 1, 1, 1, 1, 1]);
        assert!(outcomes[..5].iter().all(Option::is_none));
        assert_eq!(outcomes[5], Some((LoopKind::Repeat, 6)));
    }

    #[test]
    fn repeats_outside_the_window_do_not_count() {
        let limits = LoopLimits {
            repeat_window: 4,
            max_tool_repeats: 2,
            max_cycle_period: 0,
            ..LoopLimits::default()
        };
        // 1 appears 3 times, but never 3 times within 4 calls.
        assert!(
            run(&limits, &[1, 2, 3, 1, 4, 5, 1])
                .iter()
                .all(Option::is_none)
        );
        assert_eq!(
            run(&limits, &[1, 2, 1, 1]).last(),
            Some(&Some((LoopKind::Repeat, 3)))
        );
    }

    #[test]
    fn period_two_is_caught_at_the_fourth_repetition() {
        let limits = LoopLimits::default();
        let outcomes = run(&limits, &[1, 2, 1, 2, 1, 2, 1, 2]);
        assert!(outcomes[..7].iter().all(Option::is_none), "{outcomes:?}");
        assert_eq!(outcomes[7], Some((LoopKind::Oscillation { period: 2 }, 4)));
    }

    #[test]
    fn period_three_is_caught_and_not_before() {
        let limits = LoopLimits::default();
        let calls: Vec<u64> = [1, 2, 3].repeat(4);
        let outcomes = run(&limits, &calls);
        assert!(outcomes[..11].iter().all(Option::is_none), "{outcomes:?}");
        assert_eq!(outcomes[11], Some((LoopKind::Oscillation { period: 3 }, 4)));
    }

    #[test]
    fn a_broken_cycle_starts_over() {
        let limits = LoopLimits::default();
        let outcomes = run(&limits, &[1, 2, 1, 2, 1, 2, 9, 1, 2, 1, 2]);
        assert!(outcomes.iter().all(Option::is_none), "{outcomes:?}");
    }

    #[test]
    fn a_period_longer_than_the_limit_is_not_looked_for() {
        let limits = LoopLimits {
            max_cycle_period: 2,
            ..LoopLimits::default()
        };
        assert!(
            run(&limits, &[1, 2, 3].repeat(5))
                .iter()
                .all(Option::is_none)
        );
    }
}
