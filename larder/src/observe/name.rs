//! [`CacheName`]: a cache's name as spans and metrics label it.

use std::sync::Arc;

/// A cache's name, shared (cloning it allocates nothing); the empty string for a cache
/// without one, which Prometheus reads as no label.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
pub(crate) struct CacheName {
    name: Option<Arc<str>>,
    /// `larder_load_duration_seconds{cache="…"}`, built once (on first use): a load's sample
    /// then builds no key and allocates nothing. Only the key is kept, never a recorder's
    /// handle, so a recorder installed after the cache was built still gets the samples.
    #[cfg(feature = "metrics")]
    load_duration: Arc<std::sync::OnceLock<metrics::Key>>,
}

impl CacheName {
    pub(crate) fn new(name: Option<&str>) -> Self {
        Self {
            name: name.map(Arc::from),
            #[cfg(feature = "metrics")]
            load_duration: Arc::default(),
        }
    }

    /// The name, or `""`.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn as_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The name as a metric label's value, without copying it.
    #[cfg(feature = "metrics")]
    pub(crate) fn label_value(&self) -> metrics::SharedString {
        match &self.name {
            Some(name) => metrics::SharedString::from_shared(Arc::clone(name)),
            None => metrics::SharedString::const_str(""),
        }
    }

    /// The key of this cache's load-duration histogram.
    #[cfg(feature = "metrics")]
    pub(crate) fn load_duration_key(&self) -> &metrics::Key {
        self.load_duration.get_or_init(|| {
            metrics::Key::from_parts(
                super::LOAD_DURATION,
                vec![metrics::Label::new("cache", self.label_value())],
            )
        })
    }
}
