//! A store URL, parsed: which backend, where, and the query's options. No I/O.
//!
//! Errors name the part at fault (the scheme, the host, the port, an option) and never
//! quote the URL whole, its user or its password.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::humane::{self, EXPECTED};

/// The namespace of a store whose URL names none.
pub(crate) const DEFAULT_NAMESPACE: &str = "larder";

/// The schemes `from_url` knows, for error messages.
const SCHEMES: &str =
    "memory://, redis://, rediss://, redis+cluster://, rediss+cluster://, memcached://, file://";

/// The options a URL's query may set.
const OPTIONS: &str =
    "namespace, timeout, ttl, coalesce, capacity (memory://), ca (rediss://), protocol (redis://)";

/// A store URL, parsed.
#[derive(Debug)]
pub(crate) struct StoreUrl {
    pub(crate) backend: Backend,
    pub(crate) options: Options,
}

/// Which backend, and where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    /// One Redis server: the URL to give the redis crate (our options taken out).
    Redis {
        url: String,
        tls: bool,
    },
    /// A Redis Cluster: one `redis://` (or `rediss://`) URL per node given.
    RedisCluster {
        nodes: Vec<String>,
        tls: bool,
    },
    /// Memcached servers, as `host:port`.
    Memcached {
        servers: Vec<String>,
    },
    /// A file of the disk store.
    Disk {
        path: PathBuf,
    },
}

/// The query's options.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) namespace: Option<String>,
    /// `Some(None)`: `timeout=none`, no timeout.
    pub(crate) timeout: Option<Option<Duration>>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) coalesce: Option<bool>,
    pub(crate) capacity: Option<u64>,
    pub(crate) ca: Option<PathBuf>,
    /// Passed on to the redis crate as it is (`resp2`, `resp3`).
    pub(crate) protocol: Option<String>,
}

impl Options {
    /// The namespace, or [`DEFAULT_NAMESPACE`].
    pub(crate) fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::config(message)
}

impl StoreUrl {
    /// Parses `url`.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let Some((scheme, rest)) = url.trim().split_once("://") else {
            return Err(bad(format!(
                "not a store URL: expected scheme://..., one of {SCHEMES}"
            )));
        };
        let (body, query) = match rest.split_once('?') {
            Some((body, query)) => (body, Some(query)),
            None => (rest, None),
        };
        // `redis://:pa?ss@host`: a '?' in the password, not %-encoded, cut the URL short,
        // and the "query" holds the rest of the password: say so, quoting none of it. (A
        // host's URL with no '@' before its '?' and one after; memory:// and file:// have
        // no user.)
        let has_host = !body.is_empty() && !body.starts_with('/');
        if has_host && !body.contains('@') && query.is_some_and(|q| q.contains('@')) {
            return Err(bad(
                "the store URL has an '@' after its '?': %-encode a '?' in the password \
                 (%3F), or an '@' in an option (%40)",
            ));
        }
        let options = parse_query(query)?;
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "memory" => memory(body)?,
            "redis" => redis(body, false, &options)?,
            "rediss" => redis(body, true, &options)?,
            "redis+cluster" => cluster(body, false)?,
            "rediss+cluster" => cluster(body, true)?,
            "memcached" => memcached(body)?,
            "file" => disk(body)?,
            _ => return Err(unknown_scheme(scheme)),
        };
        check_options(&backend, &options)?;
        Ok(Self { backend, options })
    }
}

/// The error of a scheme that is none of ours; quotes it only if it looks like a scheme
/// (so never a password typed where the scheme goes).
fn unknown_scheme(scheme: &str) -> Error {
    let plain = !scheme.is_empty()
        && scheme.len() <= 20
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if plain {
        bad(format!(
            "unknown store URL scheme {scheme:?}: expected one of {SCHEMES}"
        ))
    } else {
        bad(format!(
            "unknown store URL scheme: expected one of {SCHEMES}"
        ))
    }
}

fn memory(body: &str) -> Result<Backend, Error> {
    if !body.is_empty() && body != "/" {
        return Err(bad(
            "memory:// takes no host or path (memory://?namespace=...)",
        ));
    }
    Ok(Backend::Memory)
}

/// The user and password (never quoted) and the rest.
fn split_userinfo(body: &str) -> (Option<&str>, &str) {
    match body.rsplit_once('@') {
        Some((userinfo, rest)) => (Some(userinfo), rest),
        None => (None, body),
    }
}

/// Checks `host[:port]`, naming the part at fault.
fn check_host(address: &str, what: &str) -> Result<(), Error> {
    let (host, port) = if let Some(v6) = address.strip_prefix('[') {
        // [::1]:6379
        match v6.split_once(']') {
            Some((host, rest)) => (host, rest.strip_prefix(':')),
            None => return Err(bad(format!("the {what} host has an unclosed '['"))),
        }
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(bad(format!("the store URL has no {what} host")));
    }
    if host.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@')) {
        return Err(bad(format!(
            "the {what} host is not a host name or address"
        )));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            // Not quoted: in `redis://user:password` (the host forgotten) the "port" is the
            // password.
            _ => {
                return Err(bad(format!(
                    "the {what} port is not a number from 1 to 65535"
                )));
            }
        }
    }
    Ok(())
}

fn redis(body: &str, tls: bool, options: &Options) -> Result<Backend, Error> {
    let (userinfo, rest) = split_userinfo(body);
    let (address, db) = match rest.split_once('/') {
        Some((address, db)) => (address, db),
        None => (rest, ""),
    };
    check_host(address, "Redis")?;
    if !db.is_empty() && db.parse::<u32>().is_err() {
        return Err(bad("the Redis database (the URL's path) is not a number"));
    }
    let scheme = if tls { "rediss" } else { "redis" };
    let mut url = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        url.push_str(userinfo);
        url.push('@');
    }
    url.push_str(rest);
    if let Some(protocol) = &options.protocol {
        url.push_str("?protocol=");
        url.push_str(protocol);
    }
    Ok(Backend::Redis { url, tls })
}

fn cluster(body: &str, tls: bool) -> Result<Backend, Error> {
    let (userinfo, rest) = split_userinfo(body);
    if rest.contains('/') && !rest.ends_with('/') {
        return Err(bad(
            "a Redis Cluster has one database: redis+cluster:// takes no path",
        ));
    }
    let rest = rest.trim_end_matches('/');
    let scheme = if tls { "rediss" } else { "redis" };
    let mut nodes = Vec::new();
    for address in rest.split(',') {
        check_host(address, "Redis Cluster node")?;
        let mut node = format!("{scheme}://");
        if let Some(userinfo) = userinfo {
            node.push_str(userinfo);
            node.push('@');
        }
        node.push_str(address);
        nodes.push(node);
    }
    Ok(Backend::RedisCluster { nodes, tls })
}

fn memcached(body: &str) -> Result<Backend, Error> {
    if body.contains('@') {
        return Err(bad("memcached:// takes no user or password"));
    }
    let body = body.trim_end_matches('/');
    if body.contains('/') {
        return Err(bad("memcached:// takes no path"));
    }
    let mut servers = Vec::new();
    for address in body.split(',') {
        check_host(address, "Memcached")?;
        let with_port = if address.ends_with(']') || !address.contains(':') {
            format!("{address}:11211")
        } else {
            address.to_string()
        };
        servers.push(with_port);
    }
    Ok(Backend::Memcached { servers })
}

fn disk(body: &str) -> Result<Backend, Error> {
    let path = body.strip_prefix("localhost").unwrap_or(body);
    if !path.starts_with('/') || path.len() < 2 {
        return Err(bad(
            "file:// takes an absolute path to the file: file:///var/cache/app.redb",
        ));
    }
    let path = percent_decode(path).ok_or_else(|| bad("the file path has a bad %-escape"))?;
    Ok(Backend::Disk {
        path: PathBuf::from(path),
    })
}

fn parse_query(query: Option<&str>) -> Result<Options, Error> {
    let mut options = Options::default();
    let Some(query) = query else {
        return Ok(options);
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)
            .ok_or_else(|| bad(format!("the option {key:?} has a bad %-escape")))?;
        let duplicate = || bad(format!("the option {key:?} is given twice"));
        match key {
            "namespace" => {
                if options.namespace.replace(value).is_some() {
                    return Err(duplicate());
                }
            }
            "timeout" => {
                let timeout = match value.as_str() {
                    "none" | "off" => None,
                    text => Some(duration(key, text)?),
                };
                // A zero timeout would fail every operation at once; aiocache's users mean
                // "none" by it, which is spelled `none` here.
                if timeout.is_some_and(|t| t.is_zero()) {
                    return Err(bad(
                        "the option \"timeout\" must be above zero (none: timeout=none)",
                    ));
                }
                if options.timeout.replace(timeout).is_some() {
                    return Err(duplicate());
                }
            }
            "ttl" => {
                let ttl = duration(key, &value)?;
                if ttl.is_zero() {
                    return Err(bad("the option \"ttl\" must be above zero"));
                }
                if options.ttl.replace(ttl).is_some() {
                    return Err(duplicate());
                }
            }
            "coalesce" => {
                let on = match value.as_str() {
                    "true" | "on" | "yes" | "1" => true,
                    "false" | "off" | "no" | "0" => false,
                    _ => return Err(bad("the option \"coalesce\" takes true or false")),
                };
                if options.coalesce.replace(on).is_some() {
                    return Err(duplicate());
                }
            }
            "capacity" => {
                let capacity = value.parse::<u64>().map_err(|_| {
                    bad("the option \"capacity\" takes a whole number (of entries)")
                })?;
                if options.capacity.replace(capacity).is_some() {
                    return Err(duplicate());
                }
            }
            "ca" => {
                if value.is_empty() {
                    return Err(bad("the option \"ca\" takes the path of a PEM file"));
                }
                if options.ca.replace(PathBuf::from(value)).is_some() {
                    return Err(duplicate());
                }
            }
            "protocol" => {
                if !matches!(value.as_str(), "resp2" | "resp3") {
                    return Err(bad("the option \"protocol\" takes resp2 or resp3"));
                }
                if options.protocol.replace(value).is_some() {
                    return Err(duplicate());
                }
            }
            _ => {
                // An option's name is not secret (its value, say a password, may be).
                return Err(bad(format!(
                    "unknown option {:?} in the store URL: expected {OPTIONS}",
                    humane::shorten(key)
                )));
            }
        }
    }
    Ok(options)
}

fn duration(key: &str, text: &str) -> Result<Duration, Error> {
    humane::parse_duration(text).ok_or_else(|| {
        bad(format!(
            "the option {key:?} is {:?}, not {EXPECTED}",
            humane::shorten(text)
        ))
    })
}

/// Options that mean nothing for `backend` are errors, so that a typo'd URL fails loudly;
/// `timeout` and `coalesce` are taken by every backend (ignored where nothing waits or
/// nothing is coalesced), so that one URL's options fit any.
fn check_options(backend: &Backend, options: &Options) -> Result<(), Error> {
    let memory = matches!(backend, Backend::Memory);
    if options.capacity.is_some() && !memory {
        return Err(bad(
            "the option \"capacity\" is for memory:// only (a server bounds its own memory)",
        ));
    }
    if options.ca.is_some() && !matches!(backend, Backend::Redis { tls: true, .. }) {
        return Err(bad("the option \"ca\" is for rediss:// (one server) only"));
    }
    if options.protocol.is_some() && !matches!(backend, Backend::Redis { .. }) {
        return Err(bad(
            "the option \"protocol\" is for redis:// and rediss:// only",
        ));
    }
    Ok(())
}

/// `text` with its `%XX` escapes decoded; `None` for a bad escape or bytes that are not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
