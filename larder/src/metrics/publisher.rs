//! [`MetricsPublisher`]: the registered sources, published on demand or on an interval.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::source::MetricsSource;
use crate::sync::Mutex;
use crate::{Error, ErrorKind};

/// The sources whose metrics are published together: caches, tiers, `#[cached]` functions,
/// or anything implementing [`MetricsSource`].
///
/// [`publish`](Self::publish) sets every source's metrics from its counters, in the installed
/// recorder; call it before each scrape, or let [`publish_every`](Self::publish_every) call
/// it on an interval. A registered source stays alive as long as the publisher (a cache
/// handle is a clone of the cache). Clones of a publisher share its sources.
///
/// # Examples
///
/// ```
/// use larder::Cache;
/// use larder::metrics::MetricsPublisher;
///
/// let users: Cache<u64, String> = Cache::builder().name("users").build();
/// let sessions: Cache<u64, u64> = Cache::builder().name("sessions").build();
/// let publisher = MetricsPublisher::new();
/// publisher.register(users.clone()).register(sessions.clone());
/// assert_eq!(publisher.len(), 2);
/// publisher.publish();
/// ```
#[derive(Clone, Default)]
pub struct MetricsPublisher {
    sources: Arc<Mutex<Vec<Arc<dyn MetricsSource>>>>,
}

impl MetricsPublisher {
    /// A publisher with no source.
    ///
    /// # Examples
    ///
    /// ```
    /// let publisher = larder::metrics::MetricsPublisher::new();
    /// assert!(publisher.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source; returns the publisher, to chain registrations.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<u8, u8> = larder::Cache::builder().name("small").build();
    /// let publisher = larder::metrics::MetricsPublisher::new();
    /// publisher.register(cache.clone());
    /// assert_eq!(publisher.len(), 1);
    /// ```
    pub fn register(&self, source: impl MetricsSource + 'static) -> &Self {
        self.sources.lock().push(Arc::new(source));
        self
    }

    /// How many sources are registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::metrics::MetricsPublisher::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.sources.lock().len()
    }

    /// Whether no source is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(larder::metrics::MetricsPublisher::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets every source's metrics from its counters, in the installed recorder (the global
    /// one, or a thread's local one). The sources run outside the publisher's lock, so a
    /// source may register another.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use larder::metrics::MetricsPublisher;
    ///
    /// let cache: Cache<u8, u8> = Cache::builder().name("numbers").build();
    /// let publisher = MetricsPublisher::new();
    /// publisher.register(cache.clone());
    /// cache.get(&1); // a miss, counted by the cache as always
    /// publisher.publish(); // larder_cache_misses_total{cache="numbers"} = 1
    /// ```
    pub fn publish(&self) {
        let sources = self.sources.lock().clone();
        for source in sources {
            source.publish_metrics();
        }
    }

    /// Publishes now, then every `period`, on a task of the current tokio runtime, until the
    /// returned [`PublishTask`] is dropped or [stopped](PublishTask::stop). This is the one
    /// background task of this module, and only if you start it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] if `period` is zero or no tokio runtime is running.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use larder::Cache;
    /// use larder::metrics::MetricsPublisher;
    ///
    /// let cache: Cache<u8, u8> = Cache::builder().name("numbers").build();
    /// let publisher = MetricsPublisher::new();
    /// publisher.register(cache.clone());
    /// let task = publisher.publish_every(Duration::from_secs(10)).unwrap();
    /// // ... serve the application; the metrics are at most 10 s old.
    /// task.stop();
    /// assert!(publisher.publish_every(Duration::ZERO).is_err());
    /// # }
    /// ```
    pub fn publish_every(&self, period: Duration) -> Result<PublishTask, Error> {
        if period.is_zero() {
            return Err(Error::new(
                ErrorKind::Config,
                "publish_every needs a period above zero",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "publish_every must be called inside a tokio runtime",
            )
        })?;
        let publisher = self.clone();
        let task = runtime.spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                publisher.publish();
            }
        });
        Ok(PublishTask {
            task: task.abort_handle(),
        })
    }
}

impl fmt::Debug for MetricsPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsPublisher")
            .field("sources", &self.len())
            .finish()
    }
}

/// The task of [`MetricsPublisher::publish_every`]: dropping it, or
/// [`stop`](Self::stop), ends the task.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let publisher = larder::metrics::MetricsPublisher::new();
/// let task = publisher.publish_every(std::time::Duration::from_secs(1)).unwrap();
/// drop(task); // no more publishing
/// # }
/// ```
#[derive(Debug)]
pub struct PublishTask {
    task: tokio::task::AbortHandle,
}

impl PublishTask {
    /// Ends the task; it publishes no more.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let publisher = larder::metrics::MetricsPublisher::new();
    /// publisher.publish_every(std::time::Duration::from_secs(1)).unwrap().stop();
    /// # }
    /// ```
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for PublishTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}
