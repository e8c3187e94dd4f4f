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
    /// A remote store failed: Redis, Memcached or disk.
    Backend,
    /// An operation did not finish within its timeout.
    Timeout,
    /// A value could not be encoded or decoded.
    Codec,
    /// A setting is invalid: the message names it. Credentials a server refuses (a wrong
    /// password) are settings too.
    Config,
    /// The cache or store was closed.
    Closed,
    /// A loader failed, as in [`LoadError::Loader`], or a batch function panicked.
    Loader,
    /// A batch function's result did not match the keys it was given: a `Vec` of the wrong
    /// length.
    BatchShape,
    /// More work was waiting than allowed, and this was refused rather than queued: a
    /// `BatchLoader` already had `max_queued_batches` batches waiting for
    /// `max_concurrent_batches`.
    Overloaded,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Backend => "backend error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Codec => "codec error",
            ErrorKind::Config => "invalid configuration",
            ErrorKind::Closed => "closed",
            ErrorKind::Loader => "loader failed",
            ErrorKind::BatchShape => "batch result does not match its keys",
            ErrorKind::Overloaded => "overloaded",
        }
    }
}

/// An error from larder: a [`kind`](Error::kind), a message, and maybe a source.
///
/// Cheap to clone, with an `Arc` inside, so one failure can be handed to every caller that
/// waited on it. A [`Store`](crate::store::Store) or [`Codec`](crate::codec::Codec) of your
/// own makes its errors with [`Error::new`] and [`Error::with_source`].
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
    /// An error of `kind` saying `message`: for your own [`Store`](crate::store::Store) or
    /// [`Codec`](crate::codec::Codec), whose failures are larder errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::Backend, "the disk is full");
    /// assert_eq!(err.kind(), ErrorKind::Backend);
    /// assert!(err.to_string().contains("the disk is full"));
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// An error of `kind` saying `message`, caused by `source`: for your own
    /// [`Store`](crate::store::Store) or [`Codec`](crate::codec::Codec), which wraps the
    /// failure of the client or library it calls.
    ///
    /// `source` is any error type (or a boxed one); [`source()`](std::error::Error::source)
    /// returns it, and `Display` shows only the kind and `message`, leaving the cause to
    /// `source()` as the standard library's error conventions ask. Callers match on
    /// [`kind`](Self::kind); the source is for logs and reports, not for matching.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Error, ErrorKind};
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer reset");
    /// let err = Error::with_source(ErrorKind::Backend, "reading the row failed", io);
    /// assert_eq!(err.kind(), ErrorKind::Backend);
    /// assert_eq!(err.to_string(), "backend error: reading the row failed");
    /// assert_eq!(err.source().unwrap().to_string(), "peer reset");
    ///
    /// // A boxed error, as many client libraries return, is a source too.
    /// let boxed: Box<dyn std::error::Error + Send + Sync> = "disk quota exceeded".into();
    /// let err = Error::with_source(ErrorKind::Backend, "write failed", boxed);
    /// assert_eq!(err.source().unwrap().to_string(), "disk quota exceeded");
    /// ```
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                source: Some(source.into()),
            }),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the cache was closed")
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

    /// What went wrong, in words: the message given to [`new`](Self::new) or
    /// [`with_source`](Self::with_source), without the kind or the source. For logs: its
    /// wording may change between releases; match on [`kind`](Self::kind).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::Codec, "not a number");
    /// assert_eq!(err.message(), "not a number");
    /// assert_eq!(err.to_string(), "codec error: not a number");
    /// ```
    pub fn message(&self) -> &str {
        &self.inner.message
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

/// Equal when of the same kind with the same message; the source is not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.inner.kind == other.inner.kind && self.inner.message == other.inner.message
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

/// Why a fallible load, such as [`Cache::try_get_with`](crate::Cache::try_get_with), gave no
/// value: its loader failed, or the cache could not load because it was
/// [closed](crate::Cache::close).
///
/// Cheap to clone: a loader's error is in an `Arc`, the same one for every caller of that
/// load.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::{Cache, CloseMode, ErrorKind, LoadError};
///
/// let cache: Cache<u32, String> = Cache::new(10);
/// let err = cache.try_get_with(1, async { Err::<String, _>("backend down") }).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Loader);
/// assert_eq!(err.loader_error().map(|e| **e), Some("backend down"));
///
/// cache.close(CloseMode::Cancel).await;
/// let err = cache.try_get_with(1, async { Ok::<_, &str>("one".to_string()) }).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Closed);
/// assert!(matches!(err, LoadError::Cache(_)));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError<E> {
    /// The loader failed; every caller of that load gets the same `Arc`.
    Loader(Arc<E>),
    /// The cache could not load because it was closed; the kind is [`ErrorKind::Closed`].
    Cache(Error),
}

impl<E> LoadError<E> {
    /// [`ErrorKind::Loader`] for a loader's error, else the cache error's kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{ErrorKind, LoadError};
    /// use std::sync::Arc;
    ///
    /// let err = LoadError::Loader(Arc::new("timeout"));
    /// assert_eq!(err.kind(), ErrorKind::Loader);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            LoadError::Loader(_) => ErrorKind::Loader,
            LoadError::Cache(error) => error.kind(),
        }
    }

    /// The loader's error, if that is what this is.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::LoadError;
    /// use std::sync::Arc;
    ///
    /// let err = LoadError::Loader(Arc::new(404));
    /// assert_eq!(err.loader_error().map(|e| **e), Some(404));
    /// ```
    pub fn loader_error(&self) -> Option<&Arc<E>> {
        match self {
            LoadError::Loader(error) => Some(error),
            LoadError::Cache(_) => None,
        }
    }

    /// The loader's error, if that is what this is, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::LoadError;
    /// use std::sync::Arc;
    ///
    /// let shared = Arc::new("down");
    /// let err = LoadError::Loader(Arc::clone(&shared));
    /// assert!(Arc::ptr_eq(&err.into_loader_error().unwrap(), &shared));
    /// ```
    pub fn into_loader_error(self) -> Option<Arc<E>> {
        match self {
            LoadError::Loader(error) => Some(error),
            LoadError::Cache(_) => None,
        }
    }
}

/// Loader errors compare by value, not by `Arc` identity; cache errors compare as [`Error`]
/// does.
impl<E: PartialEq> PartialEq for LoadError<E> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LoadError::Loader(a), LoadError::Loader(b)) => a == b,
            (LoadError::Cache(a), LoadError::Cache(b)) => a == b,
            _ => false,
        }
    }
}

impl<E> Clone for LoadError<E> {
    fn clone(&self) -> Self {
        match self {
            LoadError::Loader(error) => LoadError::Loader(Arc::clone(error)),
            LoadError::Cache(error) => LoadError::Cache(error.clone()),
        }
    }
}

impl<E> fmt::Display for LoadError<E> {
    /// `loader failed`, leaving the loader's error to `source()`; or the cache error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Loader(_) => f.write_str(ErrorKind::Loader.as_str()),
            LoadError::Cache(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LoadError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Loader(error) => Some(&**error),
            LoadError::Cache(error) => error.source(),
        }
    }
}
