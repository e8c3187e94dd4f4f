//! [`Emitter`]: sets one source's metrics, all with the same labels.

use metrics::{Label, SharedString};

/// Sets metrics with one set of labels (a cache's `cache="…"`; a store's backend, later),
/// describing each as it goes so that a Prometheus scrape shows its `# HELP`.
#[derive(Debug)]
pub(crate) struct Emitter {
    labels: Vec<Label>,
}

impl Emitter {
    /// An emitter labelling every metric `cache="{name}"`.
    pub(crate) fn cache(name: impl Into<SharedString>) -> Self {
        Self {
            labels: vec![Label::new("cache", name)],
        }
    }

    /// An emitter labelling every metric `store="{name}"`, `backend="{backend}"`.
    pub(crate) fn store(name: impl Into<SharedString>, backend: &'static str) -> Self {
        Self {
            labels: vec![Label::new("store", name), Label::new("backend", backend)],
        }
    }

    /// As [`counter`](Self::counter), with `extra` labels after the emitter's own.
    pub(crate) fn counter_with(
        &self,
        name: &'static str,
        help: &'static str,
        extra: &[(&'static str, String)],
        value: u64,
    ) {
        metrics::describe_counter!(name, help);
        metrics::counter!(name, self.with(extra)).absolute(value);
    }

    /// As [`gauge`](Self::gauge), with `extra` labels after the emitter's own.
    pub(crate) fn gauge_with(
        &self,
        name: &'static str,
        help: &'static str,
        extra: &[(&'static str, String)],
        value: f64,
    ) {
        metrics::describe_gauge!(name, help);
        metrics::gauge!(name, self.with(extra)).set(value);
    }

    fn with(&self, extra: &[(&'static str, String)]) -> Vec<Label> {
        let mut labels = self.labels.clone();
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, v.clone())));
        labels
    }

    /// Sets a counter to `value` (recorders keep the largest value they were given).
    pub(crate) fn counter(&self, name: &'static str, help: &'static str, value: u64) {
        metrics::describe_counter!(name, help);
        metrics::counter!(name, self.labels.clone()).absolute(value);
    }

    /// Sets a gauge to `value`.
    pub(crate) fn gauge(&self, name: &'static str, help: &'static str, value: f64) {
        metrics::describe_gauge!(name, help);
        metrics::gauge!(name, self.labels.clone()).set(value);
    }
}
