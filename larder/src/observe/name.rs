//! [`CacheName`]: a cache's name as spans and metrics label it.

use std::sync::Arc;

/// A cache's name, shared (cloning it allocates nothing); the empty string for a cache
/// without one, which Prometheus reads as no label.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
pub(crate) struct CacheName(Option<Arc<str>>);

impl CacheName {
    pub(crate) fn new(name: Option<&str>) -> Self {
        Self(name.map(Arc::from))
    }

    /// The name, or `""`.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The name as a metric label's value, without copying it.
    #[cfg(feature = "metrics")]
    pub(crate) fn label_value(&self) -> metrics::SharedString {
        match &self.0 {
            Some(name) => metrics::SharedString::from_shared(Arc::clone(name)),
            None => metrics::SharedString::const_str(""),
        }
    }
}
