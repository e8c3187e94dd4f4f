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
//! and never below one this process saw: keys of an evicted generation are not revived.
//!
//! The generation memcached holds is the one to use, even when it is lower than the one used
//! so far (lost, and made again by an instance whose clock is behind): keeping the higher one
//! would leave this instance alone in a namespace the others no longer use, where its own
//! `clear` (which moves memcached's number on, not its own) changes nothing. What must not
//! happen is a read that began before this process's `clear` ended taking the generation
//! back to the one before it: reads take a ticket when they start, a clear when it has
//! ended, and an answer older than the one in use is dropped.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::pool::Pool;
use super::wire::{Sum, parse_unsigned};
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
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The generation in use.
    cached: Option<Cached>,
    /// The highest generation seen: one made here goes above it.
    highest: u64,
    /// The last ticket handed out.
    issued: u64,
    /// The ticket of the generation in use.
    applied: u64,
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    value: u64,
    /// When it was read, or last claimed for reading again.
    checked: Instant,
}

/// Orders the answers of reads and clears: a read's is taken when it starts, a clear's when
/// it has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket(u64);

/// What [`Generation::lookup`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Recent enough: use it.
    Fresh(u64),
    /// Read it from the server, and record it under `ticket`; if that fails, `fallback` (the
    /// one in use) may be used.
    Refresh {
        fallback: Option<u64>,
        ticket: Ticket,
    },
}

impl Generation {
    /// The generation kept under `key`, on the server at index `server`.
    pub(super) fn new(key: String, server: usize) -> Self {
        Self {
            key,
            server,
            state: Mutex::new(State::default()),
        }
    }

    pub(super) fn key(&self) -> &str {
        &self.key
    }

    pub(super) fn server(&self) -> usize {
        self.server
    }

    /// Whether the generation in use is younger than `refresh` at `now`. A stale one is
    /// claimed: the callers after this one use it while this one reads it again, so one read
    /// goes out per `refresh`. A zero `refresh` reads every time, with no fallback.
    pub(super) fn lookup(&self, refresh: Duration, now: Instant) -> Lookup {
        let mut state = self.state.lock();
        let fallback = match state.cached.as_mut() {
            Some(_) if refresh.is_zero() => None,
            Some(c) if now.saturating_duration_since(c.checked) < refresh => {
                return Lookup::Fresh(c.value);
            }
            Some(c) => {
                c.checked = now;
                Some(c.value)
            }
            None => None,
        };
        Lookup::Refresh {
            fallback,
            ticket: state.issue(),
        }
    }

    /// A ticket for a clear that has just ended.
    pub(super) fn ticket(&self) -> Ticket {
        self.state.lock().issue()
    }

    /// Records `value`, read (or made by a clear) under `ticket`, at `now`; the generation to
    /// use. An answer older than the one in use is dropped: it may be from before a clear.
    pub(super) fn update(&self, value: u64, ticket: Ticket, now: Instant) -> u64 {
        let mut state = self.state.lock();
        state.highest = state.highest.max(value);
        if ticket.0 > state.applied {
            state.applied = ticket.0;
            state.cached = Some(Cached {
                value,
                checked: now,
            });
        }
        state.cached.map_or(value, |c| c.value)
    }

    /// The highest generation seen (0 for none).
    pub(super) fn highest(&self) -> u64 {
        self.state.lock().highest
    }
}

impl State {
    fn issue(&mut self) -> Ticket {
        self.issued += 1;
        Ticket(self.issued)
    }
}

/// The generation kept under `key` on `pool`'s server, created if missing.
/// A generation made here is above `floor`.
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

/// Moves the generation kept under `key` on `pool`'s server on by one; the new one. A
/// generation made here is above `floor`.
pub(super) async fn bump(pool: &Pool, key: &str, floor: u64) -> Result<u64, Error> {
    let mut conn = pool.conn().await?;
    for _ in 0..ATTEMPTS {
        match conn.add_to(key, 1).await? {
            Sum::Value(next) => return Ok(next),
            Sum::NotUnsigned => return Err(corrupt(key)),
            Sum::Missing => {}
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

    fn ticket(lookup: Lookup) -> Ticket {
        match lookup {
            Lookup::Refresh { ticket, .. } => ticket,
            Lookup::Fresh(value) => panic!("fresh: {value}"),
        }
    }

    #[test]
    fn nothing_seen_reads_without_fallback() {
        let g = Generation::new("ns:gen".into(), 0);
        let now = Instant::now();
        assert!(matches!(
            g.lookup(SECOND, now),
            Lookup::Refresh { fallback: None, .. }
        ));
        assert_eq!(g.highest(), 0);
    }

    #[test]
    fn a_recent_generation_is_used_a_stale_one_is_claimed_once() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        let read = ticket(g.lookup(SECOND, t0));
        assert_eq!(g.update(7, read, t0), 7);
        assert_eq!(g.lookup(SECOND, t0 + SECOND / 2), Lookup::Fresh(7));
        // Stale: the first caller reads again, the next ones keep using 7 meanwhile.
        assert!(matches!(
            g.lookup(SECOND, t0 + SECOND),
            Lookup::Refresh {
                fallback: Some(7),
                ..
            }
        ));
        assert_eq!(g.lookup(SECOND, t0 + SECOND), Lookup::Fresh(7));
        assert_eq!(g.highest(), 7);
    }

    #[test]
    fn zero_refresh_reads_every_time() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        let read = ticket(g.lookup(Duration::ZERO, t0));
        g.update(7, read, t0);
        assert!(matches!(
            g.lookup(Duration::ZERO, t0),
            Lookup::Refresh { fallback: None, .. }
        ));
    }

    #[test]
    fn a_read_begun_before_a_clear_ended_does_not_undo_it() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        let first = ticket(g.lookup(Duration::ZERO, t0));
        g.update(7, first, t0);
        let racing = ticket(g.lookup(Duration::ZERO, t0)); // its answer comes late
        let cleared = g.ticket(); // a clear ended: 8
        assert_eq!(g.update(8, cleared, t0), 8);
        assert_eq!(g.update(7, racing, t0), 8, "read before the clear");
        // Two reads answering out of order: the later one's answer stands.
        let older = ticket(g.lookup(Duration::ZERO, t0));
        let newer = ticket(g.lookup(Duration::ZERO, t0));
        assert_eq!(g.update(9, newer, t0), 9);
        assert_eq!(g.update(8, older, t0), 9);
    }

    #[test]
    fn a_lower_generation_read_later_is_followed_but_never_made_here() {
        let g = Generation::new("ns:gen".into(), 0);
        let t0 = Instant::now();
        let read = ticket(g.lookup(Duration::ZERO, t0));
        g.update(1_000, read, t0);
        // Memcached lost it, and another instance made it again, lower.
        let read = ticket(g.lookup(Duration::ZERO, t0));
        assert_eq!(g.update(500, read, t0), 500);
        assert_eq!(g.highest(), 1_000, "a new one made here goes above 1000");
    }

    #[test]
    fn fresh_generations_are_above_the_floor() {
        assert!(fresh(0) > 1_600_000_000_000_000, "microseconds since 1970");
        assert_eq!(fresh(u64::MAX - 1), u64::MAX);
    }
}
