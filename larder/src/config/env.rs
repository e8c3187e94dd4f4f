//! [`CacheConfig`] from environment variables: `{PREFIX}_TTL=5m`, `{PREFIX}_L2_URL=...`.

use std::ffi::OsString;
use std::time::Duration;

use super::cache::CacheConfig;
use super::duration::parse_named;
use super::l2::{BreakerConfig, L2Config};
use crate::{Error, ErrorKind};

/// Every variable, after `{PREFIX}_`, for error messages.
const NAMES: &str = "NAME, CAPACITY, POLICY, TTL, TTI, TTL_JITTER, NEGATIVE_TTL, \
     STALE_WHILE_REVALIDATE, REFRESH_AHEAD, SHARDS, L2_URL, L2_TTL, L2_TIMEOUT, \
     L2_BREAKER_FAILURES, L2_BREAKER_COOLDOWN, L2_LEASE, L2_WATCH, L2_SCOPE, L2_VERSION, \
     L2_WRITE_BEHIND";

impl CacheConfig {
    /// The settings in this process's environment variables named `{prefix}_…` (see
    /// [`from_vars`](Self::from_vars) for the names), such as `LARDER_USERS_TTL=5m` for
    /// the prefix `LARDER_USERS`. Give each cache its own prefix.
    ///
    /// # Errors
    ///
    /// As [`from_vars`](Self::from_vars), and [`ErrorKind::Config`] for a variable under the
    /// prefix whose value is not Unicode.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Cache;
    /// use larder::config::CacheConfig;
    ///
    /// // Reads LARDER_DOCTEST_SESSIONS_TTL, LARDER_DOCTEST_SESSIONS_CAPACITY, ...: none set here.
    /// let config = CacheConfig::from_env("LARDER_DOCTEST_SESSIONS")?;
    /// assert_eq!(config, CacheConfig::default());
    /// let cache: Cache<String, String> = config.build()?;
    /// # drop(cache);
    /// # Ok::<(), larder::Error>(())
    /// ```
    pub fn from_env(prefix: &str) -> Result<Self, Error> {
        let start = format!("{prefix}_");
        let mut vars = Vec::new();
        for (key, value) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if !key.starts_with(&start) {
                continue;
            }
            let value = value.into_string().map_err(|_: OsString| {
                Error::new(ErrorKind::Config, format!("{key} is not Unicode"))
            })?;
            vars.push((key.to_string(), value));
        }
        Self::from_vars(prefix, vars)
    }

    /// The settings in the variables `vars` named `{prefix}_…` (others are skipped), as
    /// [`from_env`](Self::from_env) reads them; for tests, or variables from elsewhere.
    ///
    /// | variable | field |
    /// |---|---|
    /// | `{prefix}_NAME` | `name` |
    /// | `{prefix}_CAPACITY` | `capacity` |
    /// | `{prefix}_POLICY` | `policy` (`s3fifo`, `lru`, `lfu`, `fifo`) |
    /// | `{prefix}_TTL`, `_TTI`, `_TTL_JITTER`, `_NEGATIVE_TTL`, `_STALE_WHILE_REVALIDATE` | durations (`30s`) |
    /// | `{prefix}_REFRESH_AHEAD` | `refresh_ahead` (a number) |
    /// | `{prefix}_SHARDS` | `shards` |
    /// | `{prefix}_L2_URL` | `l2.url` (required by any other `L2_` variable) |
    /// | `{prefix}_L2_TTL`, `_L2_TIMEOUT`, `_L2_LEASE` | `l2.ttl`, `l2.timeout`, `l2.lease` |
    /// | `{prefix}_L2_BREAKER_FAILURES`, `_L2_BREAKER_COOLDOWN` | `l2.breaker` |
    /// | `{prefix}_L2_WATCH` | `l2.watch` (`true`/`false`) |
    /// | `{prefix}_L2_SCOPE`, `_L2_VERSION`, `_L2_WRITE_BEHIND` | `l2.scope`, `l2.version`, `l2.write_behind` |
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the variable: an unknown name under the prefix (a typo;
    /// `LARDER_DISABLE`, the kill switch's, is not one), a value that does not parse, or
    /// `L2_` variables without `{prefix}_L2_URL`. The message never quotes the URL.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use larder::{ErrorKind, Policy};
    /// use larder::config::CacheConfig;
    ///
    /// let config = CacheConfig::from_vars("USERS", [
    ///     ("USERS_CAPACITY", "10000"),
    ///     ("USERS_POLICY", "lru"),
    ///     ("USERS_TTL", "5m"),
    ///     ("USERS_L2_URL", "redis://127.0.0.1:6379/?namespace=users"),
    ///     ("USERS_L2_TIMEOUT", "100ms"),
    ///     ("PATH", "/usr/bin"),
    /// ])?;
    /// assert_eq!(config.policy, Some(Policy::Lru));
    /// assert_eq!(config.l2.unwrap().timeout, Some(Duration::from_millis(100)));
    ///
    /// let err = CacheConfig::from_vars("USERS", [("USERS_TTL", "soon")]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("USERS_TTL"));
    /// # Ok::<(), larder::Error>(())
    /// ```
    pub fn from_vars<I, K, V>(prefix: &str, vars: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let start = format!("{prefix}_");
        let mut config = CacheConfig::default();
        let mut l2 = L2Config::default();
        let mut any_l2 = false;
        let mut url = false;
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            // `LARDER_DISABLE` is the kill switch's, not a setting of a cache prefixed `LARDER`.
            let Some(name) = key.strip_prefix(&start).filter(|_| key != "LARDER_DISABLE") else {
                continue;
            };
            if let Some(l2_name) = name.strip_prefix("L2_") {
                any_l2 = true;
                url |= l2_name == "URL";
                set_l2(&mut l2, l2_name, key, value)?;
            } else {
                set_cache(&mut config, name, key, value)?;
            }
        }
        if any_l2 {
            if !url {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{prefix}_L2_… variables are set, but not {prefix}_L2_URL"),
                ));
            }
            config.l2 = Some(l2);
        }
        Ok(config)
    }
}

fn set_cache(config: &mut CacheConfig, name: &str, key: &str, value: &str) -> Result<(), Error> {
    match name {
        "NAME" => config.name = Some(value.to_string()),
        "CAPACITY" => config.capacity = Some(number(key, value)?),
        "POLICY" => {
            let policy = crate::policy::parse_policy(value)
                .map_err(|message| Error::new(ErrorKind::Config, format!("{key}: {message}")))?;
            config.policy = Some(policy);
        }
        "TTL" => config.ttl = Some(duration(key, value)?),
        "TTI" => config.tti = Some(duration(key, value)?),
        "TTL_JITTER" => config.ttl_jitter = Some(duration(key, value)?),
        "NEGATIVE_TTL" => config.negative_ttl = Some(duration(key, value)?),
        "STALE_WHILE_REVALIDATE" => config.stale_while_revalidate = Some(duration(key, value)?),
        "REFRESH_AHEAD" => config.refresh_ahead = Some(number(key, value)?),
        "SHARDS" => config.shards = Some(number(key, value)?),
        _ => return Err(unknown(key)),
    }
    Ok(())
}

fn set_l2(l2: &mut L2Config, name: &str, key: &str, value: &str) -> Result<(), Error> {
    match name {
        "URL" => l2.url = value.to_string(),
        "TTL" => l2.ttl = Some(duration(key, value)?),
        "TIMEOUT" => l2.timeout = Some(duration(key, value)?),
        "LEASE" => l2.lease = Some(duration(key, value)?),
        "BREAKER_FAILURES" => {
            l2.breaker
                .get_or_insert_with(BreakerConfig::default)
                .failures = Some(number(key, value)?);
        }
        "BREAKER_COOLDOWN" => {
            l2.breaker
                .get_or_insert_with(BreakerConfig::default)
                .cooldown = Some(duration(key, value)?);
        }
        "WATCH" => {
            l2.watch = Some(match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("{key} takes true or false"),
                    ));
                }
            });
        }
        "SCOPE" => l2.scope = Some(value.to_string()),
        "VERSION" => l2.version = Some(number(key, value)?),
        "WRITE_BEHIND" => l2.write_behind = Some(number(key, value)?),
        _ => return Err(unknown(key)),
    }
    Ok(())
}

fn unknown(key: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("unknown cache setting {key}: the names after the prefix are {NAMES}"),
    )
}

fn duration(key: &str, value: &str) -> Result<Duration, Error> {
    parse_named(key, value)
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, Error> {
    value.parse().map_err(|_| {
        Error::new(
            ErrorKind::Config,
            format!(
                "{key}: {:?} is not a number of the right size",
                crate::humane::shorten(value)
            ),
        )
    })
}
