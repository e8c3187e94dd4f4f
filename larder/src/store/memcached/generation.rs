//! Namespace generations: how `clear` empties one namespace without `flush_all`.
//!
//! Every key of a namespace carries its generation number (`ns:<generation>:key`); the number
//! lives in memcached itself, under `ns:gen`, on the server that owns that key. `clear`
//! increments it (memcached's atomic `incr`), so every key written before is out of reach at
//! once and left for memcached's LRU (or its TTL) to reclaim. Each store remembers the
//! generation for a while (`MemcachedStore::with_generation_refresh`, 1 s by default) and then
//! reads it again: a clear by another instance is seen within that long.
//!
//! A missing generation (first use, or evicted) is created from the clock in microseconds,
//! and never below one already seen: keys of an evicted generation are not revived.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::pool::Pool;
use super::wire::parse_unsigned;
use crate::error::{Error, ErrorKind};
use crate::sync::Mutex;

/// How often reading and creating the generation may meet a racing `delete` before giving up
/// (only eviction or someone else's tool deletes it).
const ATTEMPTS: usize = 3;

/// One namespace's generation: where it lives, and the last one seen.
#[derive(Debug)]
pub(super) struct Generation {
    key: String,
    server: usize,
    cached: Mutex<Option<Cached>>,
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    value: u64,
    /// When it was read, or last claimed for reading again.
    checked: Instant,
}

/// What [`Generation::lookup`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Recent enough: use it.
    Fresh(u64),
    /// Read it from the server; if that fails, `fallback` (the last one seen) may be used.
    Refresh { fallback: Option<u64> },
}

impl Generation {
    /// The generation kept under `key`, on the server at index `server`.
    pub(super) fn new(key: String, server: usize) -> Self {
        Self {
            key,
            server,
            cached: Mutex::new(None),
        }
    }

    pub(super) fn key(&self) -> &str {
        &self.key
    }

    pub(super) fn server(&self) -> usize {
        self.server
    }

    /// Whether the generation seen last is younger than `refresh` at `now`. A stale one is
    /// claimed: the callers after this one use it while this one reads it again, so one read
    /// goes out per `refresh`. A zero `refresh` reads every time, with no fallback.
    pub(super) fn lookup(&self, refresh: Duration, now: Instant) -> Lookup {
        let mut cached = self.cached.lock();
        match cached.as_mut() {
            Some(_) if refresh.is_zero() => Lookup::Refresh { fallback: None },
            Some(c) if now.saturating_duration_since(c.checked) < refresh => Lookup::Fresh(c.value),
            Some(c) => {
                c.checked = now;
                Lookup::Refresh {
                    fallback: Some(c.value),
                }
            }
            None => Lookup::Refresh { fallback: None },
        }
    }

    /// Records `value`, read or made at `now`; the generation to use. Generations only grow:
    /// a read that raced a newer `clear` does not bring the older one back.
    pub(super) fn update(&self, value: u64, now: Instant) -> u64 {
        let mut cached = self.cached.lock();
        let value = cached.map_or(value, |c| c.value.max(value));
        *cached = Some(Cached {
            value,
            checked: now,
        });
        value
    }

    /// The highest generation seen (0 for none).
    pub(super) fn floor(&self) -> u64 {
        self.cached.lock().map_or(0, |c| c.value)
    }
}

/// The generation kept under `key` on `pool`'s server, created if missing.
pub(super) async fn read(pool: &Pool, key: &str, floor: u64) -> Result<u64, Error> {
    let mut conn = pool.conn().await?;
    for _ in 0..ATTEMPTS {
        if let Some(bytes) = conn.get(key).await? {
            return parse_unsigned(Some(&bytes)).ok_or_else(|| corrupt(key));
        }
        let fresh = fresh(floor);
        if conn.add(key, fresh.to_string().as_bytes(), "T0").await? {
            return Ok(fresh);
        }
        // Another instance created it first: read theirs.
    }
    Err(vanishing(key))
}

/// Moves the generation kept under `key` on `pool`'s server on by one; the new one.
pub(super) async fn bump(pool: &Pool, key: &str, floor: u64) -> Result<u64, Error> {
    let mut conn = pool.conn().await?;
    for _ in 0..ATTEMPTS {
        if let Some(next) = conn.incr(key).await? {
            return Ok(next);
        }
        // Missing: a new generation is a clear too.
        let fresh = fresh(floor);
        if conn.add(key, fresh.to_string().as_bytes(), "T0").await? {
            return Ok(fresh);
        }
    }
    Err(vanishing(key))
}

/// A new generation: the clock in microseconds, above every generation seen.
fn fresh(floor: u64) -> u64 {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    micros.max(floor.saturating_add(1))
}

fn corrupt(key: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("the namespace generation in Memcached ({key}) is not a number"),
    )
}

fn vanishing(key: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("the namespace generation in Memcached ({key}) keeps disappearing"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn nothing_seen_reads_without_fallback() {
        let g = Generation::new("ns:gen".into(), 0);
        let now = Instant::now();
        assert_eq!(g.lookup(SECOND, now), Lookup::Refresh { fallback: None });
        assert_eq!(g.floor(), 0);
    }

    #[test]
    fn a_recent_generation_is_used_a_stale_one_is_claimed_once() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        assert_eq!(g.update(7, t0), 7);
        assert_eq!(g.lookup(SECOND, t0 + SECOND / 2), Lookup::Fresh(7));
        // Stale: the first caller reads again, the next ones keep using 7 meanwhile.
        assert_eq!(
            g.lookup(SECOND, t0 + SECOND),
            Lookup::Refresh { fallback: Some(7) }
        );
        assert_eq!(g.lookup(SECOND, t0 + SECOND), Lookup::Fresh(7));
        assert_eq!(g.floor(), 7);
    }

    #[test]
    fn zero_refresh_reads_every_time() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        g.update(7, t0);
        assert_eq!(
            g.lookup(Duration::ZERO, t0),
            Lookup::Refresh { fallback: None }
        );
    }

    #[test]
    fn generations_never_go_back() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        assert_eq!(g.update(8, t0), 8); // a clear
        assert_eq!(g.update(7, t0), 8); // a read that started before it
        assert_eq!(g.update(9, t0), 9);
    }

    #[test]
    fn fresh_generations_are_above_the_floor() {
        assert!(fresh(0) > 1_600_000_000_000_000, "microseconds since 1970");
        assert_eq!(fresh(u64::MAX - 1), u64::MAX);
    }
}
