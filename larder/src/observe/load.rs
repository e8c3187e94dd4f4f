//! [`LoadScope`]: one loader call, batch call or refresh, as a span that ends with its outcome
//! and duration; loader and batch calls also feed the load-duration histogram.

use std::future::Future;

#[cfg(feature = "tracing")]
use super::TARGET;
use super::name::CacheName;

/// How a load, batch call or refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A value (for a batch: the batch function's result, matched with the keys).
    Value,
    /// The loader had no value.
    Absent,
    /// The loader's (or batch function's) error, or a batch result that did not match.
    Error,
    /// The loader panicked.
    Panicked,
    /// Dropped by its caller, or cancelled by `close`.
    Cancelled,
}

impl Outcome {
    /// The value of the spans' `outcome` field.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Value => "value",
            Outcome::Absent => "absent",
            Outcome::Error => "error",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// What started a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshTrigger {
    /// `Cache::refresh`.
    Explicit,
    /// Stale-while-revalidate: a stale value was served.
    Stale,
    /// Refresh-ahead: a fresh value near its deadline.
    Ahead,
}

impl RefreshTrigger {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            RefreshTrigger::Explicit => "explicit",
            RefreshTrigger::Stale => "stale",
            RefreshTrigger::Ahead => "ahead",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Load,
    Batch,
    Refresh,
}

/// One load, batch call or refresh being observed. Its span is created when the scope is
/// (cheaply disabled when no subscriber wants it); [`finish`](Self::finish) records the
/// outcome, and a scope dropped unfinished records `cancelled`, or `panicked` during a panic.
#[derive(Debug)]
pub(crate) struct LoadScope<'a> {
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    name: &'a CacheName,
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    kind: Kind,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    finished: bool,
}

impl<'a> LoadScope<'a> {
    /// A loader call for a key (`key_hash`, by the cache's hasher, is called only if a
    /// subscriber wants the span): span `larder.load`.
    #[inline]
    pub(crate) fn load(name: &'a CacheName, key_hash: impl FnOnce() -> u64) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = key_hash;
        Self {
            name,
            kind: Kind::Load,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                target: TARGET,
                "larder.load",
                cache = name.as_str(),
                key_hash = key_hash(),
                outcome = tracing::field::Empty,
                duration_ns = tracing::field::Empty,
            ),
            finished: false,
        }
    }

    /// A batch function's call for `size` keys: span `larder.batch`.
    #[inline]
    pub(crate) fn batch(name: &'a CacheName, size: usize) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = size;
        Self {
            name,
            kind: Kind::Batch,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                target: TARGET,
                "larder.batch",
                cache = name.as_str(),
                size = size as u64,
                outcome = tracing::field::Empty,
                duration_ns = tracing::field::Empty,
            ),
            finished: false,
        }
    }

    /// A refresh of a key, foreground or background: span `larder.refresh`, the parent of
    /// the `larder.load` span of the load it leads (none if it joined one in flight).
    #[inline]
    pub(crate) fn refresh(
        name: &'a CacheName,
        trigger: RefreshTrigger,
        key_hash: impl FnOnce() -> u64,
    ) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = (trigger, key_hash);
        Self {
            name,
            kind: Kind::Refresh,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                target: TARGET,
                "larder.refresh",
                cache = name.as_str(),
                key_hash = key_hash(),
                trigger = trigger.as_str(),
                outcome = tracing::field::Empty,
            ),
            finished: false,
        }
    }

    /// `future`, run inside this scope's span.
    #[inline]
    pub(crate) fn instrument<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(future, self.span.clone());
        #[cfg(not(feature = "tracing"))]
        future
    }

    /// The loader or batch function ran for `nanos` (on the cache's clock): the span's
    /// `duration_ns`, and a sample of `larder_load_duration_seconds`.
    #[inline]
    pub(crate) fn ran_for(&self, nanos: u64) {
        #[cfg(feature = "tracing")]
        self.span.record("duration_ns", nanos);
        #[cfg(feature = "metrics")]
        if self.kind != Kind::Refresh {
            // What `metrics::histogram!` does, with the key built once per cache.
            static METADATA: metrics::Metadata<'static> =
                metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
            let key = self.name.load_duration_key();
            metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
                .record(nanos as f64 / 1e9);
        }
        #[cfg(not(any(feature = "tracing", feature = "metrics")))]
        let _ = nanos;
    }

    /// Ends the scope with `outcome`; an error or a panic of a loader or batch function also
    /// emits a `larder.load.error` event in the span.
    #[inline]
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: Outcome) {
        self.finished = true;
        #[cfg(feature = "tracing")]
        {
            self.span.record("outcome", outcome.as_str());
            if matches!(outcome, Outcome::Error | Outcome::Panicked) && self.kind != Kind::Refresh {
                tracing::warn!(
                    name: "larder.load.error",
                    target: TARGET,
                    parent: &self.span,
                    cache = self.name.as_str(),
                    outcome = outcome.as_str(),
                    "a load failed",
                );
            }
        }
        #[cfg(not(feature = "tracing"))]
        let _ = outcome;
    }
}

impl Drop for LoadScope<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let outcome = if std::thread::panicking() {
                Outcome::Panicked
            } else {
                Outcome::Cancelled
            };
            self.end(outcome);
        }
    }
}
