//! The engine: shards chosen by hash, each behind a reader-writer lock.
//!
//! Maintenance is spread over ordinary calls: a write to a shard first reclaims its expired
//! entries, then peeks at one other shard (round robin) and reclaims there too if a deadline
//! has passed and its lock is free. Nothing runs in the background.

use std::hash::{BuildHasher, Hash};

use super::settings::{Lifetime, Settings};
use super::shard::{Found, Lookup, Shard};
use crate::Ttl;
use crate::equivalent::Equivalent;
use crate::expiry::{NEVER, Nanos};
use crate::listener::{RemovalCause, Removals};
use crate::policy::PolicyState;
use crate::stats::{LookupCounters, ShardCounters, Stats};
use crate::sync::{AtomicU64, AtomicUsize, Ordering, RwLock};
use crate::tags::TagIndex;

/// Threads with a hit counter of their own: enough for a runtime's workers on this machine,
/// few enough that a cache stays small (each slot is a 128-byte line).
/// One shard with its counters, on cache lines of its own.
#[repr(align(128))]
pub(super) struct Cell<K, V> {
    pub(super) shard: RwLock<Shard<K, V>>,
    counters: ShardCounters,
    /// A copy of the shard's earliest timer, readable without the lock.
    next_deadline: AtomicU64,
}

pub(crate) struct Engine<K, V, S> {
    cells: Box<[Cell<K, V>]>,
    /// `shard = (hash >> 32) & mask`: bits hashbrown uses for neither its control bytes (the
    /// top 7) nor, below 2^32 buckets, its probe position (the low ones).
    mask: usize,
    shared_reads: bool,
    settings: Settings<K, V, S>,
    lookups: LookupCounters,
    sweep_cursor: AtomicUsize,
    zero_capacity: bool,
    /// Whether rejected writes count as evictions and expirations: not in a disabled cache,
    /// whose writes are dropped by design (see [`Engine::disabled`]).
    counts_removals: bool,
    /// The tags of the entries, kept off the hit path (`tagged.rs`).
    pub(super) tags: TagIndex<K>,
}

/// An entry hashed and weighed, ready for [`Engine::store`].
pub(crate) struct Prepared<K, V> {
    pub(super) hash: u64,
    pub(super) weight: u32,
    pub(super) key: K,
    pub(super) value: V,
    pub(super) ttl: Ttl,
}

/// An insert's removals, still to be told to the listener.
pub(crate) struct Deferred<'a, K, V, S> {
    engine: &'a Engine<K, V, S>,
    cell: &'a Cell<K, V>,
    out: Removals<K, V>,
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> Deferred<'_, K, V, S> {
    /// Counts the removals and tells the listener; call with no lock held.
    pub(crate) fn notify(self) {
        self.engine.finish(self.cell, self.out);
        self.engine.sweep_another();
    }
}

impl<K, V, S> Engine<K, V, S> {
    pub(crate) fn settings(&self) -> &Settings<K, V, S> {
        &self.settings
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.cells.len()
    }
}

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// `shards` must be a power of two; `capacity` is split between them exactly.
    pub(crate) fn new(capacity: u64, shards: usize, settings: Settings<K, V, S>) -> Self {
        debug_assert!(shards.is_power_of_two());
        let n = shards as u64;
        let cells = (0..shards)
            .map(|i| {
                let share = if capacity == u64::MAX {
                    u64::MAX
                } else {
                    capacity / n + u64::from((i as u64) < capacity % n)
                };
                let seed = settings.hash(&(i, "larder-jitter"));
                Cell {
                    shard: RwLock::new(Shard::new(share, &settings, seed)),
                    counters: ShardCounters::default(),
                    next_deadline: AtomicU64::new(NEVER),
                }
            })
            .collect();
        Self {
            cells,
            mask: shards - 1,
            shared_reads: PolicyState::shared_reads(settings.policy),
            settings,
            lookups: LookupCounters::per_thread(),
            sweep_cursor: AtomicUsize::new(0),
            zero_capacity: capacity == 0,
            counts_removals: true,
            tags: TagIndex::new(shards),
        }
    }

    /// This engine as a disabled cache's (the kill switch, of capacity 0): the writes it
    /// drops are not evictions or expirations, since nothing was ever kept.
    pub(crate) fn disabled(mut self) -> Self {
        self.counts_removals = false;
        self
    }

    #[inline]
    pub(super) fn cell(&self, hash: u64) -> &Cell<K, V> {
        &self.cells[(hash >> 32) as usize & self.mask]
    }

    /// A lookup. The hit of a shared-read policy (S3-FIFO, FIFO) is kept small enough to
    /// inline into the caller; everything else is out of line.
    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let hash = self.settings.hash(key);
        let cell = self.cell(hash);
        if !self.shared_reads {
            return self.get_exclusive(cell, hash, key);
        }
        // The guard is a temporary of this statement: released before anything below.
        let found = cell.shard.read().get_shared(hash, key, &self.settings);
        if let Lookup::Hit(v) = found {
            self.lookups.hit();
            return Some(v);
        }
        self.missed(cell, found)
    }

    /// [`Self::get`]'s miss under the shared lock: an expired entry is reclaimed now rather
    /// than at the next write, if nobody holds the lock.
    #[cold]
    #[inline(never)]
    fn missed(&self, cell: &Cell<K, V>, found: Lookup<V>) -> Option<V> {
        if let Lookup::Expired = found {
            self.try_maintain(cell);
        }
        self.lookups.miss();
        None
    }

    /// [`Self::get`] for policies that reorder on a hit, under the exclusive lock.
    #[inline(never)]
    fn get_exclusive<Q>(&self, cell: &Cell<K, V>, hash: u64, key: &Q) -> Option<V>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let mut out = Removals::new();
        let found = cell
            .shard
            .write()
            .get_exclusive(hash, key, &self.settings, &mut out);
        self.finish(cell, out);
        match found {
            Lookup::Hit(v) => {
                self.lookups.hit();
                Some(v)
            }
            Lookup::Miss | Lookup::Expired => {
                self.lookups.miss();
                None
            }
        }
    }

    /// A loading call's lookup: as [`Self::get`], but a stale entry (within the grace) is
    /// returned as such, and a fresh one with its deadline. Fresh and stale count as hits.
    pub(crate) fn get_for_load<Q>(&self, key: &Q) -> Found<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let hash = self.settings.hash(key);
        let cell = self.cell(hash);
        let found = if self.shared_reads {
            cell.shard
                .read()
                .find_for_load_shared(hash, key, &self.settings)
        } else {
            let mut out = Removals::new();
            let found =
                cell.shard
                    .write()
                    .find_for_load_exclusive(hash, key, &self.settings, &mut out);
            self.finish(cell, out);
            found
        };
        match found {
            Found::Absent => self.lookups.miss(),
            Found::Fresh { .. } | Found::Stale(_) => self.lookups.hit(),
        }
        found
    }

    #[inline]
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let hash = self.settings.hash(key);
        self.cell(hash)
            .shard
            .read()
            .contains(hash, key, &self.settings)
    }

    pub(crate) fn insert(&self, key: K, value: V, ttl: Ttl) {
        self.insert_deferred(key, value, ttl).notify();
    }

    /// Hashes and weighs an entry for [`Self::store`]: the user code an insert runs (the
    /// weigher, `Hash`), run here so that `store` can be called under another lock.
    pub(crate) fn prepare(&self, key: K, value: V, ttl: Ttl) -> Prepared<K, V> {
        Prepared {
            hash: self.settings.hash(&key),
            // A weigher may even call the cache: no lock is held here.
            weight: self.settings.weigh(&key, &value),
            key,
            value,
            ttl,
        }
    }

    /// Inserts, but leaves telling the listener to the caller ([`Deferred::notify`]).
    fn insert_deferred(&self, key: K, value: V, ttl: Ttl) -> Deferred<'_, K, V, S> {
        self.store(self.prepare(key, value, ttl))
    }

    /// Stores a prepared entry, running no user code; telling the listener is left to the
    /// caller, for a caller that holds a lock of its own (the flight registry). The key loses
    /// any tags it had.
    pub(crate) fn store(&self, prepared: Prepared<K, V>) -> Deferred<'_, K, V, S> {
        if self.tags.in_use() {
            let mut index = self.tags.shard(prepared.hash);
            index.remove(prepared.hash, &prepared.key);
            return self.store_unindexed(prepared);
        }
        self.store_unindexed(prepared)
    }

    /// [`Self::store`], leaving the tag index to the caller.
    pub(super) fn store_unindexed(&self, prepared: Prepared<K, V>) -> Deferred<'_, K, V, S> {
        let cell = self.cell(prepared.hash);
        let mut out = Removals::new();
        self.write(cell, &mut out, |shard, out| {
            self.put(shard, prepared, None, out)
        });
        Deferred {
            engine: self,
            cell,
            out,
        }
    }

    /// Stores `prepared` only if `expected` accepts the key's live value (`None`: absent or
    /// expired), checked and stored under one hold of the shard's write lock: the
    /// compare-and-swap of a read-modify-write that must not undo a concurrent write. With
    /// `keep_deadline`, a live entry's deadline is kept and the prepared TTL applies only to
    /// a new one. `expected` runs under the lock: crate code only, never the user's. The
    /// entry comes back when refused. A stored key loses any tags it had.
    pub(crate) fn store_if(
        &self,
        prepared: Prepared<K, V>,
        keep_deadline: bool,
        expected: impl FnOnce(Option<&V>) -> bool,
    ) -> Result<Deferred<'_, K, V, S>, Prepared<K, V>> {
        let cell = self.cell(prepared.hash);
        let mut out = Removals::new();
        let mut index = self.tags.in_use().then(|| self.tags.shard(prepared.hash));
        let refused = self.write(cell, &mut out, |shard, out| {
            let live = shard.live_entry(prepared.hash, &prepared.key, &self.settings);
            let kept = live.map(|(_, deadline)| deadline).filter(|_| keep_deadline);
            if !expected(live.map(|(value, _)| value)) {
                return Some(prepared);
            }
            if let Some(index) = index.as_mut() {
                index.remove(prepared.hash, &prepared.key);
            }
            self.put(shard, prepared, kept, out);
            None
        });
        drop(index);
        match refused {
            // Dropped by the caller, with no lock held.
            Some(prepared) => {
                self.finish(cell, out);
                Err(prepared)
            }
            None => Ok(Deferred {
                engine: self,
                cell,
                out,
            }),
        }
    }

    /// Gives the live entry for `key` a new deadline from `ttl`, in place: the value is not
    /// re-inserted, so a concurrent write is never undone. Whether there was one.
    pub(crate) fn retime<Q>(&self, key: &Q, ttl: Ttl) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.write_key(key, |shard, hash, out| {
            shard.retime(hash, key, ttl, &self.settings, out)
        })
    }

    /// Inserts `prepared` into its shard, under the caller's write lock: until `kept` (a
    /// replaced entry's deadline, kept) or for its own TTL.
    pub(super) fn put(
        &self,
        shard: &mut Shard<K, V>,
        prepared: Prepared<K, V>,
        kept: Option<Nanos>,
        out: &mut Removals<K, V>,
    ) {
        let Prepared {
            hash,
            weight,
            key,
            value,
            ttl,
        } = prepared;
        let lifetime = kept.map_or_else(|| self.settings.lifetime(ttl), Lifetime::Until);
        shard.insert(hash, key, value, weight, lifetime, &self.settings, out);
    }

    /// Runs `op` on `key`'s shard (with the key's hash) as [`Self::write`] does, then reports
    /// the removals, with no lock held.
    fn write_key<Q, R>(
        &self,
        key: &Q,
        op: impl FnOnce(&mut Shard<K, V>, u64, &mut Removals<K, V>) -> R,
    ) -> R
    where
        Q: Hash + ?Sized,
    {
        let hash = self.settings.hash(key);
        let cell = self.cell(hash);
        let mut out = Removals::new();
        let result = self.write(cell, &mut out, |shard, out| op(shard, hash, out));
        self.finish(cell, out);
        result
    }

    /// Runs `op` on `cell`'s shard under its write lock, after the shard's maintenance, then
    /// refreshes the copy of its earliest deadline. Removals are left in `out`, for the
    /// caller to report once the lock is released.
    pub(super) fn write<R>(
        &self,
        cell: &Cell<K, V>,
        out: &mut Removals<K, V>,
        op: impl FnOnce(&mut Shard<K, V>, &mut Removals<K, V>) -> R,
    ) -> R {
        let mut shard = cell.shard.write();
        let now = self.maintain(cell, &mut shard, out);
        shard.set_write_now(now);
        let result = op(&mut shard, out);
        shard.set_write_now(None);
        cell.next_deadline
            .store(shard.next_deadline(), Ordering::Relaxed);
        result
    }

    /// A clone of the live value for `key`, counting nothing and touching no recency.
    pub(crate) fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let hash = self.settings.hash(key);
        self.cell(hash).shard.read().peek(hash, key, &self.settings)
    }

    /// How long the live entry for `key` has left (`NEVER`: no deadline), counting nothing.
    pub(crate) fn time_left<Q>(&self, key: &Q) -> Option<Nanos>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let hash = self.settings.hash(key);
        self.cell(hash)
            .shard
            .read()
            .time_left(hash, key, &self.settings)
    }

    /// Counts a miss that no lookup made (a `refresh`, which skips the lookup).
    pub(crate) fn count_miss(&self) {
        self.lookups.miss();
    }

    /// Whether the cache can hold anything at all (`max_capacity(0)` cannot).
    pub(crate) fn stores_nothing(&self) -> bool {
        self.zero_capacity
    }

    pub(crate) fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let removed = self.write_key(key, |shard, hash, out| {
            let (k, v) = shard.remove(hash, key, &self.settings, out)?;
            if self.settings.listener.is_some() {
                out.push(k, v.clone(), RemovalCause::Explicit);
            }
            Some(v)
        });
        // Read after the removal: a tag stored before it is seen.
        if removed.is_some() && self.tags.in_use() {
            self.untag_if_gone(self.settings.hash(key), key);
        }
        removed
    }

    /// Removes the live entry for `key` only if `expected` accepts its value, checked and
    /// removed under one hold of the shard's write lock: a compare-and-delete, which a
    /// concurrent write cannot slip into. Whether it removed it. `expected` runs under the
    /// lock: crate code only, never the user's.
    pub(crate) fn remove_if<Q>(&self, key: &Q, expected: impl FnOnce(&V) -> bool) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.write_key(key, |shard, hash, out| {
            let accepted = shard
                .live_entry(hash, key, &self.settings)
                .is_some_and(|(value, _)| expected(value));
            if !accepted {
                return false;
            }
            let Some((k, v)) = shard.remove(hash, key, &self.settings, out) else {
                return false;
            };
            if self.settings.listener.is_some() {
                out.push(k, v, RemovalCause::Explicit);
            }
            true
        })
    }

    /// Removes every entry for which `keep` returns false; `keep` runs under a shard lock.
    /// Every shard is done before the listener hears of any removal, so a panicking listener
    /// cannot leave the work half done.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let done: Vec<_> = self
            .cells
            .iter()
            .map(|cell| {
                let mut out = Removals::new();
                let mut shard = cell.shard.write();
                self.maintain(cell, &mut shard, &mut out);
                shard.retain(&self.settings, &mut keep, &mut out);
                cell.next_deadline
                    .store(shard.next_deadline(), Ordering::Relaxed);
                (cell, out)
            })
            .collect();
        for (cell, out) in done {
            self.finish(cell, out);
        }
    }

    /// Empties every shard, then tells the listener (as `retain` does).
    pub(crate) fn clear(&self) {
        let done: Vec<_> = self
            .cells
            .iter()
            .map(|cell| {
                let mut out = Removals::new();
                let mut shard = cell.shard.write();
                // What had already expired leaves as expired, not as cleared.
                self.maintain(cell, &mut shard, &mut out);
                shard.clear(&mut out);
                cell.next_deadline.store(NEVER, Ordering::Relaxed);
                (cell, out)
            })
            .collect();
        for (cell, out) in done {
            self.finish(cell, out);
        }
    }

    /// Live entries: every shard first reclaims what has expired.
    pub(crate) fn len(&self) -> usize {
        self.sum(|s| s.len() as u64) as usize
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.sum(Shard::weight)
    }

    fn sum(&self, measure: impl Fn(&Shard<K, V>) -> u64) -> u64 {
        let mut total = 0;
        for cell in self.cells.iter() {
            // Exact: an entry expired a moment ago must not count.
            if self.deadline_passed(cell, || self.settings.clock.now()) {
                let mut out = Removals::new();
                {
                    let mut shard = cell.shard.write();
                    self.maintain(cell, &mut shard, &mut out);
                    total += measure(&shard);
                }
                self.finish(cell, out);
            } else {
                total += measure(&cell.shard.read());
            }
        }
        total
    }

    /// Clones of the live entries of shard `index` (below [`Self::shard_count`]), appended to
    /// `into`, under the shard's read lock: one shard's part of a lazy iteration.
    pub(crate) fn snapshot_shard(&self, index: usize, into: &mut Vec<(K, V)>)
    where
        K: Clone,
    {
        self.cells[index]
            .shard
            .read()
            .snapshot(&self.settings, into);
    }

    /// Calls `each` with the live entries of shard `index` (below [`Self::shard_count`]) and
    /// what is left of their TTLs (`None`: none), under the shard's read lock, for a snapshot.
    /// `each` runs under the lock: crate code only (a snapshot's encoding, which runs the
    /// keys' and values' `Serialize`, as documented on `Cache::save`).
    #[cfg(feature = "snapshot")]
    pub(crate) fn export_shard<E>(
        &self,
        index: usize,
        each: impl FnMut(&K, &V, Option<Nanos>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.cells[index].shard.read().export(&self.settings, each)
    }

    /// Stores an entry read from a snapshot, replacing any other for its key: live for
    /// `remaining` more nanoseconds from now, without jitter (it was drawn when the entry was
    /// first stored), or with no TTL for `None`. Time-to-idle starts afresh.
    #[cfg(feature = "snapshot")]
    pub(crate) fn insert_restored(&self, key: K, value: V, remaining: Option<Nanos>) {
        let prepared = self.prepare(key, value, Ttl::Never);
        let cell = self.cell(prepared.hash);
        let mut out = Removals::new();
        self.write(cell, &mut out, |shard, out| {
            let until = remaining.map(|r| {
                let now = self.settings.clock.now();
                now.saturating_add(r).min(NEVER - 1)
            });
            self.put(shard, prepared, until, out);
        });
        Deferred {
            engine: self,
            cell,
            out,
        }
        .notify();
    }

    pub(crate) fn add_stats(&self, stats: &mut Stats) {
        self.lookups.add_to(stats);
        for cell in self.cells.iter() {
            cell.counters.add_to(stats);
        }
    }

    pub(crate) fn reset_stats(&self) {
        self.lookups.reset();
        for cell in self.cells.iter() {
            cell.counters.reset();
        }
    }

    /// Whether the shard has an entry to reclaim by the time `now` returns (read only if the
    /// shard has a deadline at all: an untimed cache never reads the clock here).
    fn deadline_passed(&self, cell: &Cell<K, V>, now: impl FnOnce() -> Nanos) -> bool {
        let next = cell.next_deadline.load(Ordering::Relaxed);
        next != NEVER && next <= now()
    }

    /// Reclaims the shard's expired entries (the caller holds its lock); returns the exact
    /// time it read, if it needed one, for the write that follows to reuse.
    fn maintain(
        &self,
        cell: &Cell<K, V>,
        shard: &mut Shard<K, V>,
        out: &mut Removals<K, V>,
    ) -> Option<Nanos> {
        if shard.next_deadline() == NEVER {
            return None;
        }
        let now = self.settings.clock.now();
        shard.expire(now, &self.settings, out);
        cell.next_deadline
            .store(shard.next_deadline(), Ordering::Relaxed);
        Some(now)
    }

    fn try_maintain(&self, cell: &Cell<K, V>) {
        let mut out = Removals::new();
        if let Some(mut shard) = cell.shard.try_write() {
            self.maintain(cell, &mut shard, &mut out);
        }
        self.finish(cell, out);
    }

    /// Gives one other shard the chance to reclaim expired entries, so a shard nobody writes
    /// to still frees its memory.
    fn sweep_another(&self) {
        if self.cells.len() > 1 {
            let i = self.sweep_cursor.fetch_add(1, Ordering::Relaxed) & self.mask;
            let cell = &self.cells[i];
            // By the hits' time (one relaxed load): only a hint, after every write, whose
            // maintenance then reads the exact time.
            if self.deadline_passed(cell, || self.settings.clock.coarse_now()) {
                self.try_maintain(cell);
            }
        }
    }

    /// Counts what a call removed, drops the removed keys' tags and tells the listener, with
    /// no lock held.
    pub(super) fn finish(&self, cell: &Cell<K, V>, out: Removals<K, V>) {
        if out.is_empty() {
            return;
        }
        if self.counts_removals {
            ShardCounters::add(&cell.counters.evictions, out.evicted);
            ShardCounters::add(&cell.counters.expirations, out.expired);
        }
        if self.tags.in_use() {
            for key in out.removed_keys() {
                self.untag_if_gone(self.settings.hash(key), key);
            }
        }
        out.notify(self.settings.listener.as_ref());
    }

    #[cfg(test)]
    pub(crate) fn timer_count(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.shard.read().timer_count())
            .sum()
    }

    /// Each shard's room before its table and slab grow; for tests.
    #[cfg(test)]
    pub(crate) fn room(&self) -> Vec<(usize, usize)> {
        self.cells.iter().map(|c| c.shard.read().room()).collect()
    }

    /// Checks every shard's invariants; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        for cell in self.cells.iter() {
            cell.shard.read().check_invariants();
        }
    }
}
