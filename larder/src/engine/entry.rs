//! One stored entry and the per-entry bookkeeping the policies and expiry share.

use crate::expiry::{NEVER, Nanos};
use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// A slot index in the shard's slab; `NIL` is "none" in the intrusive lists.
pub(crate) type Idx = u32;
pub(crate) const NIL: Idx = u32::MAX;

/// Which policy list an entry is on (S3-FIFO has two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListId {
    Small,
    Main,
}

/// Links of the intrusive doubly linked list the entry is on.
#[derive(Debug)]
pub(crate) struct Links {
    pub(crate) prev: Idx,
    pub(crate) next: Idx,
    pub(crate) list: ListId,
}

impl Links {
    pub(crate) fn detached() -> Self {
        Self {
            prev: NIL,
            next: NIL,
            list: ListId::Main,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Entry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// When the TTL runs out (`NEVER` for none).
    pub(crate) expires_at: Nanos,
    /// Last read or write, for time-to-idle; written under the shared lock on a hit, so atomic.
    pub(crate) accessed_at: AtomicU64,
    /// Use count: saturating at 3 for S3-FIFO (bumped under the shared lock), a plain counter
    /// for LFU (bumped under the exclusive lock).
    pub(crate) freq: AtomicU32,
    pub(crate) weight: u32,
    /// Bumped whenever the slot's occupant or its deadline changes, so queued timers for an
    /// older occupant are recognised as stale.
    pub(crate) generation: u32,
    pub(crate) links: Links,
}

impl<K, V> Entry<K, V> {
    pub(crate) fn new(key: K, value: V, weight: u32, expires_at: Nanos, now: Nanos) -> Self {
        Self {
            key,
            value,
            expires_at,
            accessed_at: AtomicU64::new(now),
            freq: AtomicU32::new(0),
            weight,
            generation: 0,
            links: Links::detached(),
        }
    }

    /// The moment this entry stops being live: its TTL deadline, or earlier if it sits idle.
    pub(crate) fn deadline(&self, time_to_idle: Option<Nanos>) -> Nanos {
        match time_to_idle {
            None => self.expires_at,
            Some(tti) => self
                .expires_at
                .min(self.accessed_at.load(Ordering::Relaxed).saturating_add(tti)),
        }
    }

    /// Whether `deadline` needs the clock at all: entries with no TTL in a cache with no
    /// time-to-idle never expire, and their hits skip reading the time.
    pub(crate) fn is_timed(&self, time_to_idle: Option<Nanos>) -> bool {
        self.expires_at != NEVER || time_to_idle.is_some()
    }

    pub(crate) fn freq(&self) -> u32 {
        self.freq.load(Ordering::Relaxed)
    }

    pub(crate) fn set_freq(&self, f: u32) {
        self.freq.store(f, Ordering::Relaxed);
    }

    /// S3-FIFO's hit: count up to 3. A plain load and store (no read-modify-write), and no
    /// store at all once saturated, so hot keys stop writing to their cache line. A lost
    /// update between racing readers only loses one count, which the policy tolerates.
    pub(crate) fn bump_saturating(&self, max: u32) {
        let f = self.freq.load(Ordering::Relaxed);
        if f < max {
            self.freq.store(f + 1, Ordering::Relaxed);
        }
    }

    pub(crate) fn touch(&self, now: Nanos) {
        self.accessed_at.store(now, Ordering::Relaxed);
    }
}
