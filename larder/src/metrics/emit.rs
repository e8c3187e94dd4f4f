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
