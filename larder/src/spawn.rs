//! Background work: the refreshes that stale-while-revalidate and refresh-ahead start.
//!
//! The cache itself runs no task. Those two settings need one per refresh, and
//! hand it to a [`Spawner`]: [`TokioSpawner`] by default, any executor through the trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One background refresh, to be run to completion by a [`Spawner`].
///
/// It is a `Send + 'static` future of `()`. Dropping it unpolled is safe: the refresh is
/// abandoned, and a later call loads instead.
///
/// # Examples
///
/// A spawner that runs nothing in the background: every refresh is skipped.
///
/// ```
/// use larder::Cache;
/// use larder::spawn::{BackgroundTask, Spawner};
/// use std::time::Duration;
///
/// struct Nowhere;
///
/// impl Spawner for Nowhere {
///     fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
///         Err(task)
///     }
/// }
///
/// let cache: Cache<u8, u8> = Cache::builder()
///     .time_to_live(Duration::from_secs(60))
///     .stale_while_revalidate(Duration::from_secs(10))
///     .spawner(Nowhere)
///     .build();
/// # drop(cache);
/// ```
pub struct BackgroundTask {
    future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>,
}

impl BackgroundTask {
    pub(crate) fn new(future: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            future: Box::pin(future),
        }
    }
}

impl Future for BackgroundTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.future.as_mut().poll(cx)
    }
}

impl fmt::Debug for BackgroundTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundTask").finish_non_exhaustive()
    }
}

/// Runs a cache's background refreshes; set it with
/// [`CacheBuilder::spawner`](crate::CacheBuilder::spawner).
///
/// # Examples
///
/// A spawner onto a given tokio runtime, whatever runtime the caller is on:
///
/// ```
/// use larder::Cache;
/// use larder::spawn::{BackgroundTask, Spawner};
/// use std::time::Duration;
///
/// struct OnRuntime(tokio::runtime::Handle);
///
/// impl Spawner for OnRuntime {
///     fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
///         self.0.spawn(task);
///         Ok(())
///     }
/// }
///
/// let runtime = tokio::runtime::Runtime::new().unwrap();
/// let cache: Cache<u64, String> = Cache::builder()
///     .time_to_live(Duration::from_secs(60))
///     .stale_while_revalidate(Duration::from_secs(10))
///     .spawner(OnRuntime(runtime.handle().clone()))
///     .build();
/// # drop(cache);
/// ```
pub trait Spawner: Send + Sync + 'static {
    /// Starts `task` in the background, or hands it back if it cannot. The refresh is then
    /// skipped: a stale value is still served, and a later call loads in the foreground.
    ///
    /// # Errors
    ///
    /// `task` itself, when there is nowhere to run it.
    fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask>;
}

/// Spawns background refreshes onto the tokio runtime of the call that starts them. It is the
/// default spawner, with the `tokio` feature. Outside a tokio runtime it hands the task back:
/// the refresh is skipped.
///
/// # Examples
///
/// ```
/// use larder::Cache;
/// use larder::spawn::TokioSpawner;
/// use std::time::Duration;
///
/// let cache: Cache<u64, u64> = Cache::builder()
///     .time_to_live(Duration::from_secs(60))
///     .refresh_ahead(1.0)
///     .spawner(TokioSpawner) // the default, spelled out
///     .build();
/// # drop(cache);
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSpawner;

#[cfg(feature = "tokio")]
impl Spawner for TokioSpawner {
    fn spawn(&self, task: BackgroundTask) -> Result<(), BackgroundTask> {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                // Detached: the task ends on its own, and `close` reaches it through the
                // flight registry, not through its handle.
                drop(runtime.spawn(task));
                Ok(())
            }
            Err(_) => Err(task),
        }
    }
}
