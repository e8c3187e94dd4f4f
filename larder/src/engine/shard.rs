//! One shard: a hash table of slab indices, the slab of entries, the policy's lists and the
//! expiry timers, all behind the shard's lock (held by the caller).

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use super::settings::{Lifetime, Settings};
use super::timers::Timers;
use crate::Ttl;
use crate::equivalent::Equivalent;
use crate::expiry::{NEVER, Nanos};
use crate::listener::{RemovalCause, Removals};
use crate::policy::PolicyState;
use crate::slab::{Entry, Idx, Slab};
use crate::sync::{AtomicU64, Ordering};

/// The most entries a shard is sized for up front (see [`Shard::new`]).
const PRESIZE_MAX: u64 = 1 << 17;

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup<V> {
    Hit(V),
    Miss,
    /// The key was there, but expired.
    Expired,
}

/// What a loading call's lookup found: unlike [`Lookup`], it tells a stale entry (past its
/// deadline, within the grace) from a missing one, and when a fresh one goes stale.
#[derive(Debug)]
pub(crate) enum Found<V> {
    /// Live until `deadline` (`NEVER` for an untimed entry; `now` is then a placeholder).
    Fresh {
        value: V,
        deadline: Nanos,
        now: Nanos,
    },
    /// Past its deadline but within the grace: servable while it is revalidated.
    Stale(V),
    Absent,
}

#[derive(Debug)]
pub(crate) struct Shard<K, V> {
    table: HashTable<Idx>,
    slab: Slab<K, V>,
    policy: PolicyState,
    timers: Timers,
    /// Last access by slot index, for time-to-idle caches only (empty otherwise). Written on
    /// hits under the shared lock, so atomic.
    accessed: Vec<AtomicU64>,
    capacity: u64,
    weight: u64,
    /// State of the jitter generator (splitmix64); the shard lock guards it.
    random: u64,
    /// The exact time this write's maintenance read, under the same hold of the lock, for the
    /// write to reuse rather than read the clock again (`None` outside a write, or if the
    /// maintenance did not need the time).
    write_now: Option<Nanos>,
    /// How many entries the table and slab were sized for when the shard was built (0: none).
    presize: usize,
}

impl<K: Hash + Eq, V: Clone> Shard<K, V> {
    pub(crate) fn new<S>(capacity: u64, settings: &Settings<K, V, S>, seed: u64) -> Self {
        // A bounded shard without a weigher knows how many entries it will hold: its table,
        // slab and sketch are sized for them now, instead of being grown (and rehashed) as
        // it fills. Up to `PRESIZE_MAX`: a generous bound then costs no memory up front
        // beyond that (the slab's untouched pages are not even committed).
        let presize =
            (settings.weigher.is_none() && capacity != u64::MAX).then(|| capacity.min(PRESIZE_MAX));
        let n = presize.map_or(0, |n| usize::try_from(n).unwrap_or(0));
        Self {
            table: HashTable::with_capacity(n),
            slab: Slab::with_capacity(n),
            presize: n,
            policy: PolicyState::new(settings.policy, capacity, presize),
            timers: Timers::default(),
            accessed: Vec::new(),
            capacity,
            weight: 0,
            random: seed,
            write_now: None,
        }
    }

    /// Sets the time the current write may reuse ([`Self::now`]); `None` when it ends.
    pub(crate) fn set_write_now(&mut self, now: Option<Nanos>) {
        self.write_now = now;
    }

    /// Now, exactly: the time this write already read, or a fresh read.
    fn now<S>(&self, settings: &Settings<K, V, S>) -> Nanos {
        self.write_now.unwrap_or_else(|| settings.clock.now())
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    pub(crate) fn weight(&self) -> u64 {
        self.weight
    }

    /// The earliest queued expiry, or `NEVER`.
    pub(crate) fn next_deadline(&self) -> Nanos {
        self.timers.next()
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<Idx>
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.find_entry(hash, key).map(|(idx, _)| idx)
    }

    /// The index and entry stored for `key`: the entry is captured during the probe, so the
    /// hit path looks the slot up once.
    #[inline]
    fn find_entry<Q>(&self, hash: u64, key: &Q) -> Option<(Idx, &Entry<K, V>)>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let mut found = None;
        self.table.find(hash, |&i| {
            let entry = self.slab.get(i);
            let hit = key.equivalent(&entry.key);
            if hit {
                found = Some((i, entry));
            }
            hit
        })?;
        found
    }

    /// `Some(now)` while the entry at `idx` is live, `None` once it expired. The clock is read
    /// only for entries that can expire; for the others "now" is a placeholder.
    #[inline]
    fn live_now<S>(&self, idx: Idx, settings: &Settings<K, V, S>) -> Option<Nanos> {
        self.live_at(idx, self.slab.get(idx).expires_at, settings)
    }

    #[inline]
    fn live_at<S>(
        &self,
        idx: Idx,
        expires_at: Nanos,
        settings: &Settings<K, V, S>,
    ) -> Option<Nanos> {
        // `accessed` is empty unless the cache has a time-to-idle (then it covers every stored
        // slot): a shard-local test that keeps the common, untimed hit off the shared settings.
        if expires_at == NEVER && self.accessed.is_empty() {
            return Some(NEVER);
        }
        let tti = settings.time_to_idle;
        // Coarse: a read may serve an entry up to `Clock::hit_lag` past its deadline.
        let now = settings.clock.coarse_now();
        (now < self.deadline(idx, expires_at, tti)).then_some(now)
    }

    /// When the entry at `idx` stops being live: its TTL, or earlier if it sits idle.
    #[inline]
    fn deadline(&self, idx: Idx, expires_at: Nanos, tti: Option<Nanos>) -> Nanos {
        match tti {
            None => expires_at,
            Some(tti) => expires_at.min(
                self.accessed[idx as usize]
                    .load(Ordering::Relaxed)
                    .saturating_add(tti),
            ),
        }
    }

    /// When the entry at `idx` is reclaimed: its deadline plus the grace in which it may be
    /// served stale.
    #[inline]
    fn reclaim_at<S>(&self, idx: Idx, expires_at: Nanos, settings: &Settings<K, V, S>) -> Nanos {
        self.deadline(idx, expires_at, settings.time_to_idle)
            .saturating_add(settings.grace)
    }

    /// Records a read or write of `idx` for time-to-idle.
    #[inline]
    fn touch(&self, idx: Idx, now: Nanos) {
        if let Some(stamp) = self.accessed.get(idx as usize) {
            // Most hits read the coarse time the stamp already holds: a load, not a write
            // that would bounce the line between readers. fetch_max: a reader preempted
            // between reading the clock and stamping must not move the stamp back.
            if stamp.load(Ordering::Relaxed) < now {
                stamp.fetch_max(now, Ordering::Relaxed);
            }
        }
    }

    /// A lookup under the shared lock: for policies whose hits only touch atomics.
    #[inline]
    pub(crate) fn get_shared<Q, S>(
        &self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
    ) -> Lookup<V>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let Some((idx, entry)) = self.find_entry(hash, key) else {
            return Lookup::Miss;
        };
        // Untimed entries (no TTL, no time-to-idle) skip the clock and the idle stamp; with a
        // TTL alone a hit is one read of the hits' clock and one compare, kept inline.
        if self.accessed.is_empty() {
            if entry.expires_at != NEVER && settings.clock.coarse_now() >= entry.expires_at {
                return Lookup::Expired;
            }
        } else if !self.idle_hit(idx, entry.expires_at, settings) {
            return Lookup::Expired;
        }
        self.policy.on_shared_read(entry);
        Lookup::Hit(entry.value.clone())
    }

    /// A hit's check and stamp on a time-to-idle cache: whether the entry at `idx` is live.
    #[inline(never)]
    fn idle_hit<S>(&self, idx: Idx, expires_at: Nanos, settings: &Settings<K, V, S>) -> bool {
        let Some(now) = self.live_at(idx, expires_at, settings) else {
            return false;
        };
        self.touch(idx, now);
        true
    }

    /// A lookup under the exclusive lock, for policies that reorder on a hit. An expired entry
    /// is removed on the spot.
    pub(crate) fn get_exclusive<Q, S>(
        &mut self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) -> Lookup<V>
    where
        Q: Equivalent<K> + ?Sized,
        S: BuildHasher,
    {
        let Some(idx) = self.find(hash, key) else {
            return Lookup::Miss;
        };
        let Some(now) = self.live_now(idx, settings) else {
            self.reclaim_if_due(idx, hash, settings, out);
            return Lookup::Expired;
        };
        self.touch(idx, now);
        self.policy.on_exclusive_read(&mut self.slab, idx);
        Lookup::Hit(self.slab.get(idx).value.clone())
    }

    /// Reclaims an entry that is past its deadline, unless it is still within the grace.
    fn reclaim_if_due<S>(
        &mut self,
        idx: Idx,
        hash: u64,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) {
        let expires_at = self.slab.get(idx).expires_at;
        if settings.clock.now() >= self.reclaim_at(idx, expires_at, settings) {
            self.detach(idx, hash, RemovalCause::Expired, out);
        }
    }

    /// A loading call's lookup under the shared lock (policies whose hits touch atomics).
    pub(crate) fn find_for_load_shared<Q, S>(
        &self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
    ) -> Found<V>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let Some((idx, entry)) = self.find_entry(hash, key) else {
            return Found::Absent;
        };
        let found = self.classify(idx, settings);
        if !matches!(found, Found::Absent) {
            self.policy.on_shared_read(entry);
        }
        found
    }

    /// A loading call's lookup under the exclusive lock; reclaims an entry past its grace.
    pub(crate) fn find_for_load_exclusive<Q, S>(
        &mut self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) -> Found<V>
    where
        Q: Equivalent<K> + ?Sized,
        S: BuildHasher,
    {
        let Some(idx) = self.find(hash, key) else {
            return Found::Absent;
        };
        let found = self.classify(idx, settings);
        match found {
            Found::Absent => self.detach(idx, hash, RemovalCause::Expired, out),
            _ => self.policy.on_exclusive_read(&mut self.slab, idx),
        }
        found
    }

    /// Whether the entry at `idx` is fresh (then touched for time-to-idle), stale or due.
    fn classify<S>(&self, idx: Idx, settings: &Settings<K, V, S>) -> Found<V> {
        let entry = self.slab.get(idx);
        if entry.expires_at == NEVER && self.accessed.is_empty() {
            let value = entry.value.clone();
            return Found::Fresh {
                value,
                deadline: NEVER,
                now: 0,
            };
        }
        let now = settings.clock.coarse_now();
        let tti = settings.time_to_idle;
        let deadline = self.deadline(idx, entry.expires_at, tti);
        if now < deadline {
            self.touch(idx, now);
            // After the touch: this very read pushed an idle deadline forward.
            let deadline = self.deadline(idx, entry.expires_at, tti);
            let value = entry.value.clone();
            Found::Fresh {
                value,
                deadline,
                now,
            }
        } else if now < deadline.saturating_add(settings.grace) {
            Found::Stale(entry.value.clone())
        } else {
            Found::Absent
        }
    }

    /// A clone of the live value for `key`, touching nothing.
    pub(crate) fn peek<Q, S>(&self, hash: u64, key: &Q, settings: &Settings<K, V, S>) -> Option<V>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let (idx, entry) = self.find_entry(hash, key)?;
        self.live_at(idx, entry.expires_at, settings)?;
        Some(entry.value.clone())
    }

    /// How long the live entry for `key` has left (`NEVER`: no deadline), touching nothing:
    /// the earlier of its TTL and, with a time-to-idle, its idle deadline.
    pub(crate) fn time_left<Q, S>(
        &self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
    ) -> Option<Nanos>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let (idx, entry) = self.find_entry(hash, key)?;
        if entry.expires_at == NEVER && self.accessed.is_empty() {
            return Some(NEVER);
        }
        // The hits' time, so that `ttl` and `peek` agree on whether the entry is live.
        let now = settings.clock.coarse_now();
        let deadline = self.deadline(idx, entry.expires_at, settings.time_to_idle);
        (now < deadline).then(|| {
            if deadline == NEVER {
                NEVER
            } else {
                deadline - now
            }
        })
    }

    /// Whether an entry for `key` is stored, live, stale or expired but not yet reclaimed.
    pub(crate) fn holds<Q>(&self, hash: u64, key: &Q) -> bool
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.find(hash, key).is_some()
    }

    /// Whether a live entry for `key` is stored, touching nothing.
    #[inline]
    pub(crate) fn contains<Q, S>(&self, hash: u64, key: &Q, settings: &Settings<K, V, S>) -> bool
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.find(hash, key)
            .is_some_and(|idx| self.live_now(idx, settings).is_some())
    }

    /// Stores `value` (of `weight`, weighed by the caller before taking the lock, since the
    /// weigher is user code) under `key`, evicting as needed. Everything displaced goes to
    /// `out`.
    #[allow(clippy::too_many_arguments)] // one call site, in the engine
    pub(crate) fn insert<S: BuildHasher>(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: u32,
        lifetime: Lifetime,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) {
        let now = if settings.needs_clock(lifetime) {
            self.now(settings)
        } else {
            0
        };
        let existing = self.find(hash, &key);
        let rejected = if lifetime == Lifetime::Expired || settings.time_to_idle == Some(0) {
            Some(RemovalCause::Expired)
        } else if self.capacity == 0 || u64::from(weight) > self.capacity {
            Some(RemovalCause::Size)
        } else {
            None
        };
        if let Some(cause) = rejected {
            // Not stored; and the old value must not outlive the insert that replaced it.
            if let Some(idx) = existing {
                self.detach(idx, hash, RemovalCause::Replaced, out);
            }
            out.push(key, value, cause);
            return;
        }
        let expires_at = settings.expires_at(lifetime, now, self.next_random());
        match existing {
            Some(idx) => {
                // Off the policy's lists while room is made, so the new value cannot be
                // its own victim; back on afterwards, as a use.
                self.policy.unlink(&mut self.slab, idx);
                let entry = self.slab.get_mut(idx);
                let old_value = std::mem::replace(&mut entry.value, value);
                let old_weight = std::mem::replace(&mut entry.weight, weight);
                entry.expires_at = expires_at;
                entry.generation = entry.generation.wrapping_add(1);
                self.touch(idx, now);
                self.weight = self.weight - u64::from(old_weight) + u64::from(weight);
                out.push(key, old_value, RemovalCause::Replaced);
                while self.weight > self.capacity && self.evict_one(settings, out) {}
                self.policy.relink(&mut self.slab, idx);
                self.schedule(idx, settings);
            }
            None => {
                // Asked before evicting: the eviction may push this very key out of the ghost.
                let seen_recently = self.policy.remembers(hash);
                while self.weight + u64::from(weight) > self.capacity
                    && self.evict_one(settings, out)
                {}
                let limit = usize::try_from(self.capacity).unwrap_or(usize::MAX);
                let idx = self
                    .slab
                    .insert(Entry::new(key, value, weight, expires_at), limit);
                if settings.time_to_idle.is_some() {
                    let i = idx as usize;
                    if self.accessed.len() <= i {
                        self.accessed.resize_with(i + 1, || AtomicU64::new(0));
                    }
                    self.touch(idx, now);
                }
                let slab = &self.slab;
                self.table
                    .insert_unique(hash, idx, |&i| settings.hash(&slab.get(i).key));
                self.weight += u64::from(weight);
                let hash_of = |k: &K| settings.hash(k);
                self.policy
                    .admit(&mut self.slab, idx, hash, seen_recently, &hash_of);
                self.schedule(idx, settings);
            }
        }
    }

    /// The live value stored for `key`, with its deadline (`NEVER` for none).
    pub(crate) fn live_entry<Q, S>(
        &self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
    ) -> Option<(&V, Nanos)>
    where
        Q: Equivalent<K> + ?Sized,
    {
        let (idx, entry) = self.find_entry(hash, key)?;
        self.live_at(idx, entry.expires_at, settings)?;
        Some((&entry.value, entry.expires_at))
    }

    /// Gives the live entry for `key` a new deadline from `ttl` (a zero TTL removes it);
    /// whether there was one. The value, its weight and its place in the policy stay.
    pub(crate) fn retime<Q, S>(
        &mut self,
        hash: u64,
        key: &Q,
        ttl: Ttl,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) -> bool
    where
        Q: Equivalent<K> + ?Sized,
        S: BuildHasher,
    {
        let Some(idx) = self.find(hash, key) else {
            return false;
        };
        if self.live_now(idx, settings).is_none() {
            // Within the stale grace the entry stays, for stale-while-revalidate to serve.
            self.reclaim_if_due(idx, hash, settings, out);
            return false;
        }
        let lifetime = settings.lifetime(ttl);
        if lifetime == Lifetime::Expired {
            self.detach(idx, hash, RemovalCause::Expired, out);
            return true;
        }
        let now = if matches!(lifetime, Lifetime::For(_)) {
            self.now(settings)
        } else {
            0
        };
        let expires_at = settings.expires_at(lifetime, now, self.next_random());
        let entry = self.slab.get_mut(idx);
        entry.expires_at = expires_at;
        // The old timer goes stale with the old generation; the new deadline gets its own.
        entry.generation = entry.generation.wrapping_add(1);
        self.schedule(idx, settings);
        true
    }

    /// Removes `key`, returning its entry if it was live. An expired entry is reclaimed (and
    /// reported as expired) but not returned.
    pub(crate) fn remove<Q, S>(
        &mut self,
        hash: u64,
        key: &Q,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) -> Option<(K, V)>
    where
        Q: Equivalent<K> + ?Sized,
        S: BuildHasher,
    {
        let idx = self.find(hash, key)?;
        if self.live_now(idx, settings).is_none() {
            self.detach(idx, hash, RemovalCause::Expired, out);
            return None;
        }
        let entry = self.take(idx, hash, true);
        Some((entry.key, entry.value))
    }

    /// Removes every live entry for which `keep` returns false.
    pub(crate) fn retain<S: BuildHasher>(
        &mut self,
        settings: &Settings<K, V, S>,
        mut keep: impl FnMut(&K, &V) -> bool,
        out: &mut Removals<K, V>,
    ) {
        let doomed: Vec<Idx> = self
            .slab
            .iter()
            .filter(|(_, e)| !keep(&e.key, &e.value))
            .map(|(i, _)| i)
            .collect();
        for idx in doomed {
            let hash = settings.hash(&self.slab.get(idx).key);
            self.detach(idx, hash, RemovalCause::Explicit, out);
        }
    }

    /// Empties the shard, releasing its memory beyond what it was built with: a presized
    /// table and slab are allocated again at their first size, so that refilling the shard
    /// (a tier's L1 is cleared whenever its watch reconnects) does not rehash and regrow
    /// them all over again.
    pub(crate) fn clear(&mut self, out: &mut Removals<K, V>) {
        self.table = HashTable::with_capacity(self.presize);
        self.policy.reset();
        self.timers.clear();
        self.accessed = Vec::new();
        self.weight = 0;
        for e in self.slab.drain(self.presize) {
            out.push(e.key, e.value, RemovalCause::Explicit);
        }
    }

    /// Clones of the live entries.
    pub(crate) fn snapshot<S>(&self, settings: &Settings<K, V, S>, into: &mut Vec<(K, V)>)
    where
        K: Clone,
    {
        let tti = settings.time_to_idle;
        let now = settings.clock.now();
        into.extend(
            self.slab
                .iter()
                .filter(|&(i, e)| now < self.deadline(i, e.expires_at, tti))
                .map(|(_, e)| (e.key.clone(), e.value.clone())),
        );
    }

    /// Calls `each` with every live entry and what is left of its TTL (`None`: it has none),
    /// for a snapshot; stops at its first error. Touches nothing: no recency, no idle time.
    #[cfg(feature = "snapshot")]
    pub(crate) fn export<S, E>(
        &self,
        settings: &Settings<K, V, S>,
        mut each: impl FnMut(&K, &V, Option<Nanos>) -> Result<(), E>,
    ) -> Result<(), E> {
        let tti = settings.time_to_idle;
        let now = settings.clock.now();
        for (idx, entry) in self.slab.iter() {
            // Live means before its deadline, and its deadline is at most `expires_at`.
            if now < self.deadline(idx, entry.expires_at, tti) {
                let remaining = (entry.expires_at != NEVER).then(|| entry.expires_at - now);
                each(&entry.key, &entry.value, remaining)?;
            }
        }
        Ok(())
    }

    /// Reclaims every entry whose deadline has passed.
    pub(crate) fn expire<S: BuildHasher>(
        &mut self,
        now: Nanos,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) {
        while let Some((idx, generation)) = self.timers.pop_due(now) {
            let Some(entry) = self.slab.get_live(idx, generation) else {
                continue; // stale: the slot was freed or its entry rewritten since
            };
            let deadline = self.reclaim_at(idx, entry.expires_at, settings);
            if deadline <= now {
                let hash = settings.hash(&entry.key);
                self.detach(idx, hash, RemovalCause::Expired, out);
            } else {
                self.timers.schedule(deadline, idx, generation); // read since: idle longer
            }
        }
    }

    /// Queues the timer of the entry at `idx`, if it can expire. The test is inlined, so an
    /// untimed insert pays two compares, not a call and a slot lookup.
    #[inline]
    fn schedule<S>(&mut self, idx: Idx, settings: &Settings<K, V, S>) {
        if settings.time_to_idle.is_some() || self.slab.get(idx).expires_at != NEVER {
            self.schedule_timer(idx, settings);
        }
    }

    #[inline(never)]
    fn schedule_timer<S>(&mut self, idx: Idx, settings: &Settings<K, V, S>) {
        let entry = self.slab.get(idx);
        let deadline = self.reclaim_at(idx, entry.expires_at, settings);
        self.timers.schedule(deadline, idx, entry.generation);
        // Timers are not cancelled, so a key rewritten often within its TTL leaves stale
        // ones behind; drop them once they outnumber the entries, in amortised O(1).
        if self.timers.len() > 2 * self.slab.len() + 64 {
            let slab = &self.slab;
            self.timers
                .retain(|idx, generation| slab.get_live(idx, generation).is_some());
        }
    }

    /// Evicts one entry chosen by the policy; false if there was none.
    fn evict_one<S: BuildHasher>(
        &mut self,
        settings: &Settings<K, V, S>,
        out: &mut Removals<K, V>,
    ) -> bool {
        let hash_of = |k: &K| settings.hash(k);
        let Some(victim) = self.policy.evict(&mut self.slab, &hash_of) else {
            return false;
        };
        let hash = victim
            .hash
            .unwrap_or_else(|| settings.hash(&self.slab.get(victim.idx).key));
        if victim.to_ghost {
            self.policy.remember(hash, self.slab.len());
        }
        let entry = self.take(victim.idx, hash, false);
        out.push(entry.key, entry.value, RemovalCause::Size);
        true
    }

    /// Takes `idx` off the policy's lists and out of the shard.
    fn detach(&mut self, idx: Idx, hash: u64, cause: RemovalCause, out: &mut Removals<K, V>) {
        let entry = self.take(idx, hash, true);
        out.push(entry.key, entry.value, cause);
    }

    fn take(&mut self, idx: Idx, hash: u64, on_lists: bool) -> Entry<K, V> {
        if on_lists {
            self.policy.unlink(&mut self.slab, idx);
        }
        if let Ok(found) = self.table.find_entry(hash, |&i| i == idx) {
            found.remove();
        }
        let entry = self.slab.remove(idx);
        self.weight -= u64::from(entry.weight);
        entry
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: good enough to spread expiries, and needs no dependency.
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[cfg(test)]
    pub(crate) fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// How many entries the table and the slab hold before they grow; for tests.
    #[cfg(test)]
    pub(crate) fn room(&self) -> (usize, usize) {
        (self.table.capacity(), self.slab.capacity())
    }

    /// Checks the shard's internal invariants; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let total: u64 = self.slab.iter().map(|(_, e)| u64::from(e.weight)).sum();
        assert_eq!(total, self.weight, "weight bookkeeping");
        assert_eq!(self.table.len(), self.slab.len(), "table and slab agree");
        assert!(self.weight <= self.capacity, "weight within capacity");
        let timed = self
            .slab
            .iter()
            .filter(|(_, e)| e.expires_at != NEVER)
            .count();
        let live_timers = self
            .timers
            .iter()
            .filter(|&(idx, generation)| self.slab.get_live(idx, generation).is_some())
            .count();
        assert!(live_timers >= timed, "every entry with a TTL has a timer");
    }
}
