//! Read-modify-writes whose decision is the caller's: the engine's side of `Cache`'s entry
//! API (`entry(k).or_insert_with`, `and_compute_with`).
//!
//! `compute` runs the caller's function on the key's live value under the shard's write lock
//! and applies its answer under the same hold, so no other write to the key slips in between.

use std::any::Any;
use std::hash::{BuildHasher, Hash};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::sharded::{Cell, Engine, Prepared};
use crate::Ttl;
use crate::listener::{RemovalCause, Removals};

/// What `compute`'s function decides for a key.
#[derive(Debug)]
pub(crate) enum Write<V> {
    /// Store this value, with the cache's default TTL.
    Put(V),
    /// Remove the live entry, if any.
    Remove,
    /// Leave the key as it is.
    Keep,
}

/// What `compute` did, and what is left to do once the caller's locks are released.
pub(crate) struct Computation<'a, K, V, S> {
    /// The value the key now has or had.
    pub(crate) done: Done<V>,
    /// The key, unless it was stored.
    pub(crate) key: Option<K>,
    /// Whether the decision was to remove the key (whether or not it had a live entry): a
    /// load in flight for it must then store nothing, as after `remove`.
    pub(crate) removing: bool,
    /// What the call displaced, for the listener: [`Computation::notify`], with no lock held.
    engine: &'a Engine<K, V, S>,
    cell: &'a Cell<K, V>,
    out: Removals<K, V>,
    /// The panic of the caller's function (or the weigher), resumed once the removals are
    /// reported.
    panic: Option<Box<dyn Any + Send>>,
}

impl<K: Hash + Eq, V: Clone, S: BuildHasher> Computation<'_, K, V, S> {
    /// Counts what the call removed and tells the listener; call with no lock held. Gives
    /// back what it did and the key; if the caller's function panicked, the panic goes on
    /// from here, once the removals (the write's maintenance) are reported.
    pub(crate) fn notify(self) -> (Done<V>, Option<K>) {
        self.engine.finish(self.cell, self.out);
        if let Some(panic) = self.panic {
            resume_unwind(panic);
        }
        (self.done, self.key)
    }
}

/// What `compute` did: the value the key now has or had.
#[derive(Debug)]
pub(crate) enum Done<V> {
    Inserted(V),
    Replaced(V),
    Removed(V),
    Unchanged(V),
    StillAbsent,
}

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// Calls `decide` with the live value for `key` (`None`: absent or expired) and applies
    /// its answer, both under one hold of the shard's write lock. A `Put` is weighed under
    /// the lock too, and its key loses any tags, as in [`Engine::store`]. The listener is told
    /// of what it displaced by [`Computation::notify`], which the caller calls once its own locks
    /// (the flight registry's) are released. `hash` is `key`'s, by the cache's hasher.
    pub(crate) fn compute(
        &self,
        hash: u64,
        key: K,
        decide: impl FnOnce(Option<&V>) -> Write<V>,
    ) -> Computation<'_, K, V, S> {
        let cell = self.cell(hash);
        let mut out = Removals::new();
        // Lock order: the index shard, then the engine shard (as `store_if`).
        let mut index = self.tags.in_use().then(|| self.tags.shard(hash));
        let mut removing = false;
        let mut panic = None;
        let (done, key) = self.write(cell, &mut out, |shard, out| {
            let live = shard
                .live_entry(hash, &key, self.settings())
                .map(|(value, _)| value);
            let existed = live.is_some();
            // The user's code, caught: the write's maintenance (already in `out`) must still
            // be reported, and no lock is held while the panic goes on.
            let decided = catch_unwind(AssertUnwindSafe(|| {
                let decision = decide(live);
                let weight = match &decision {
                    Write::Put(value) => self.settings().weigh(&key, value),
                    _ => 0,
                };
                (decision, weight)
            }));
            let (decision, weight) = match decided {
                Ok(decided) => decided,
                Err(caught) => {
                    panic = Some(caught);
                    return (Done::StillAbsent, Some(key));
                }
            };
            removing = matches!(decision, Write::Remove);
            match decision {
                Write::Keep => {
                    let done = live.cloned().map_or(Done::StillAbsent, Done::Unchanged);
                    (done, Some(key))
                }
                // Even with no live entry: a stale one (within a stale-while-revalidate grace)
                // goes too, as `remove` takes it, or a loading call would serve it.
                Write::Remove => match shard.remove(hash, &key, self.settings(), out) {
                    Some((k, v)) => {
                        if let Some(index) = index.as_mut() {
                            index.remove(hash, &k);
                        }
                        if self.settings().listener.is_some() {
                            out.push(k, v.clone(), RemovalCause::Explicit);
                        }
                        (Done::Removed(v), Some(key))
                    }
                    None => (Done::StillAbsent, Some(key)),
                },
                Write::Put(value) => {
                    if let Some(index) = index.as_mut() {
                        index.remove(hash, &key);
                    }
                    let prepared = Prepared {
                        hash,
                        weight,
                        key,
                        value: value.clone(),
                        ttl: Ttl::Default,
                    };
                    self.put(shard, prepared, None, out);
                    let done = if existed {
                        Done::Replaced(value)
                    } else {
                        Done::Inserted(value)
                    };
                    (done, None)
                }
            }
        });
        drop(index);
        Computation {
            done,
            key,
            removing,
            engine: self,
            cell,
            out,
            panic,
        }
    }
}
