//! The crate's one error type.

use std::fmt;
use std::sync::Arc;

/// What went wrong, for callers to match on.
///
/// New kinds may be added; match with a wildcard arm.
///
/// # Examples
///
/// ```
/// use larder::{Cache, ErrorKind};
///
/// let err = Cache::<u64, u64>::builder().shards(0).try_build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A remote store (Redis, Memcached, disk) failed.
    Backend,
    /// An operation did not finish within its timeout.
    Timeout,
    /// A value could not be encoded or decoded.
    Codec,
    /// A setting is invalid: the message names it.
    Config,
    /// The cache or store was closed.
    Closed,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Backend => "backend error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Codec => "codec error",
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Closed => "closed",
        }
    }
}

/// An error from larder: a [`kind`](Error::kind), a message, and maybe a source.
///
/// Cheap to clone (an `Arc` inside), so one failure can be handed to every caller that
/// waited on it.
///
/// # Examples
///
/// ```
/// use larder::{Cache, ErrorKind};
/// use std::time::Duration;
///
/// let err = Cache::<u64, u64>::builder()
///     .ttl_jitter(Duration::from_secs(1))
///     .try_build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.to_string().contains("ttl_jitter"));
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// What kind of failure this is.
    ///
    /// # Examples
    ///
    /// ```
    /// # use larder::{Cache, ErrorKind};
    /// let err = Cache::<u64, u64>::builder().shards(0).try_build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind.as_str(), self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
