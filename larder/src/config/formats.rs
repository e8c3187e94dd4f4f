//! [`CacheConfig`] from a TOML (feature `toml`) or YAML (feature `yaml`) document. Errors say
//! what is wrong and where (line, column), never quoting the document, which may hold an
//! L2 URL's password.

#[cfg(any(feature = "toml", feature = "yaml"))]
use super::cache::CacheConfig;
#[cfg(any(feature = "toml", feature = "yaml"))]
use crate::{Error, ErrorKind};

#[cfg(feature = "toml")]
impl CacheConfig {
    /// The settings in the TOML document `text` (the fields [`CacheConfig`] lists, at its
    /// top level; the L2 in an `[l2]` table).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a document that is not TOML, an unknown field, a value of the
    /// wrong type, a bad duration or policy name; the message names the field and the line.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use larder::ErrorKind;
    /// use larder::config::CacheConfig;
    ///
    /// let config = CacheConfig::from_toml(r#"
    ///     ttl = "30s"
    ///     [l2]
    ///     url = "redis://127.0.0.1:6379/?namespace=users"
    ///     lease = "2s"
    /// "#)?;
    /// assert_eq!(config.ttl, Some(Duration::from_secs(30)));
    ///
    /// let err = CacheConfig::from_toml(r#"ttl = "5 parsecs""#).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("ttl") && err.to_string().contains("line 1"));
    /// # Ok::<(), larder::Error>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|error| {
            let at = error
                .span()
                .map(|span| place(text, span.start))
                .unwrap_or_default();
            Error::new(
                ErrorKind::Config,
                format!(
                    "bad cache configuration (TOML){at}: {}",
                    error.message().trim()
                ),
            )
        })
    }
}

/// Where byte `at` of `text` is: its line, and the key set on that line if it is a plain
/// one. Never the value, which may be a URL with a password.
#[cfg(feature = "toml")]
fn place(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let number = text[..start].matches('\n').count() + 1;
    let line = text[start..].lines().next().unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| {
            !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        });
    match key {
        Some(key) => format!(" at line {number}, `{key}`"),
        None => format!(" at line {number}"),
    }
}

#[cfg(feature = "yaml")]
impl CacheConfig {
    /// The settings in the YAML document `text` (the fields [`CacheConfig`] lists, in a
    /// mapping; the L2 in an `l2` mapping).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a document that is not YAML, an unknown field, a value of the
    /// wrong type, a bad duration or policy name; the message names the field and the line.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{ErrorKind, Policy};
    /// use larder::config::CacheConfig;
    ///
    /// let config = CacheConfig::from_yaml("
    /// capacity: 500
    /// policy: lfu
    /// l2:
    ///   url: memory://?namespace=pages
    ///   watch: false
    /// ")?;
    /// assert_eq!(config.policy, Some(Policy::Lfu));
    ///
    /// let err = CacheConfig::from_yaml("policy: arc").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("s3fifo"));
    /// # Ok::<(), larder::Error>(())
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        serde_norway::from_str(text).map_err(|error| {
            // serde_norway's message names the field and the place, and quotes no input.
            Error::new(
                ErrorKind::Config,
                format!("bad cache configuration (YAML): {error}"),
            )
        })
    }
}
