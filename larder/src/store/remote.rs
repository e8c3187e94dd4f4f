//! What every store that does I/O (Redis, Memcached, disk) shares, written once: a handle's
//! timeout and default TTL, the closed flag its handles share, and running an operation
//! under the timeout on tokio.
//!
//! The stores' public `with_timeout` / `with_default_ttl` set these fields; each store's own
//! docs say what they mean for it.

use std::future::Future;
use std::time::Duration;

use super::closed::Closed;
use super::meter::Meter;
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::sync::Arc;

/// The default timeout of every operation (and of connecting, or opening the file).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A remote store handle's settings and closed flag. Cloned into each handle made by the
/// store's `with_` methods: the settings are the handle's own, the flag is shared.
#[derive(Clone)]
pub(crate) struct Remote {
    /// The store's name in errors ("Redis", "the disk store").
    backend: &'static str,
    /// Every operation's timeout (`None`: none).
    pub(crate) timeout: Option<Duration>,
    /// The TTL of values set with [`Ttl::Default`] (`None`: they never expire).
    pub(crate) default_ttl: Option<Duration>,
    /// Shared by every handle on the same connections (or file): closing one closes them all.
    closed: Arc<Closed>,
    /// The store's counters, shared like the closed flag (`with_meter`).
    pub(crate) meter: Meter,
}

impl Remote {
    /// The settings of a store just connected (or opened): the default timeout, no default
    /// TTL, open.
    pub(crate) fn new(backend: &'static str) -> Self {
        Self {
            backend,
            timeout: Some(DEFAULT_TIMEOUT),
            default_ttl: None,
            closed: Arc::new(Closed::new()),
            meter: Meter::new(backend),
        }
    }

    /// These settings, with the store's operations measured by `meter` (its name and server).
    pub(crate) fn with_meter(self, meter: Meter) -> Self {
        Self { meter, ..self }
    }

    /// These settings over `closed`, a flag that something besides the handles (the disk
    /// store's file) also reads.
    #[cfg(feature = "disk")]
    pub(crate) fn closed_by(self, closed: Arc<Closed>) -> Self {
        Self { closed, ..self }
    }

    /// The closed flag, shared by every handle on the same connections (or file).
    pub(crate) fn closed(&self) -> &Closed {
        &self.closed
    }

    /// `Ok` while open, else the `Closed` error.
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        self.closed.check()
    }

    /// Runs `op` under this handle's timeout (`None`: no limit); past it, an
    /// [`ErrorKind::Timeout`] error naming the store. Outside a tokio runtime (where tokio's
    /// timers panic), a `Config` error.
    pub(crate) async fn within<T>(
        &self,
        op: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let backend = self.backend;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(outside_runtime(backend));
        }
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, op).await.map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("no answer from {backend} within {limit:?}"),
                )
            })?,
            None => op.await,
        }
    }

    /// Runs `op` if the store is open, under this handle's timeout.
    pub(crate) async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.check_open()?;
        self.within(op).await
    }
}

/// How long a value set with `ttl` lives, for a store whose default TTL is `default` (`None`:
/// no expiry).
pub(crate) fn lifetime(ttl: Ttl, default: Option<Duration>) -> Option<Duration> {
    match ttl {
        Ttl::Default => default,
        Ttl::Never => None,
        Ttl::After(d) => Some(d),
    }
}

/// The error of a store that runs on tokio, called outside a tokio runtime.
pub(crate) fn outside_runtime(backend: &str) -> Error {
    Error::config(format!(
        "{backend} runs on tokio: call it inside a tokio runtime"
    ))
}
