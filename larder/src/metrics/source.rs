//! [`MetricsSource`]: something whose counters can be published.

use std::sync::Arc;

/// Something whose counters can be published through the `metrics` facade: a
/// [`Cache`](crate::Cache), a [`Tiered`](crate::tier::Tiered) cache, a `#[cached]` function's
/// [`CachedFn`](crate::CachedFn), or a type of your own. Register it with a
/// [`MetricsPublisher`](super::MetricsPublisher).
///
/// `publish_metrics` reads the source's existing counters and sets the facade's metrics to
/// them (counters with `absolute`, gauges with `set`), in whatever recorder is installed. It
/// runs at publishing time, never per operation of the source.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use larder::metrics::{MetricsPublisher, MetricsSource};
///
/// /// A counter of an application's own, published next to its caches'.
/// struct Requests(AtomicU64);
///
/// impl MetricsSource for Requests {
///     fn publish_metrics(&self) {
///         metrics::counter!("app_requests_total").absolute(self.0.load(Ordering::Relaxed));
///     }
/// }
///
/// let publisher = MetricsPublisher::new();
/// publisher.register(Requests(AtomicU64::new(3)));
/// publisher.publish();
/// ```
pub trait MetricsSource: Send + Sync {
    /// Sets this source's metrics from its counters, in the installed recorder.
    fn publish_metrics(&self);
}

impl<T: MetricsSource + ?Sized> MetricsSource for &T {
    fn publish_metrics(&self) {
        (**self).publish_metrics();
    }
}

impl<T: MetricsSource + ?Sized> MetricsSource for Arc<T> {
    fn publish_metrics(&self) {
        (**self).publish_metrics();
    }
}

impl<T: MetricsSource + ?Sized> MetricsSource for Box<T> {
    fn publish_metrics(&self) {
        (**self).publish_metrics();
    }
}
