//! The engine's side of tags: the writes that keep the tag index (`crate::tags`) in step with
//! the entries.
//!
//! A write that changes a key's tags holds the key's index shard lock across its engine write:
//! a tagged store, an untagged store once the cache has tags (the key loses its tags), and
//! `invalidate_tag`'s removal. A removal by anything else (eviction, expiry, `remove`,
//! `clear`, `invalidate_if`) drops the key's tags once the engine lock is released, under the
//! index lock, unless the key has been stored again meanwhile (that store set its tags). So an
//! entry stored with a tag is found by it until it leaves, and a key that left keeps no index
//! entry. Lock order: a flight registry shard, an index shard, then the epochs or an engine
//! shard; the listener is told with no lock held.

use std::hash::{BuildHasher, Hash};

use super::sharded::{Deferred, Engine, Prepared};
use crate::equivalent::Equivalent;
use crate::listener::{RemovalCause, Removals};
use crate::tags::{HashedTags, LoadTicket, Tag, TagIndex};

impl<K, V, S> Engine<K, V, S> {
    /// The tag index.
    pub(crate) fn tags(&self) -> &TagIndex<K> {
        &self.tags
    }
}

impl<K, V, S> Engine<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// `tags` sorted, deduplicated and hashed with the cache's hasher; before any lock.
    pub(crate) fn hash_tags(&self, tags: Vec<Tag>) -> HashedTags {
        HashedTags::new(tags, |tag| self.settings().hash(tag))
    }

    /// `tag` hashed as [`Self::hash_tags`] hashes it.
    pub(crate) fn hash_tag(&self, tag: &str) -> u64 {
        self.settings().hash(tag)
    }

    /// Stores `prepared` with `tags`, in place of the key's old ones. With a load's `ticket`,
    /// stores nothing (`None`) if one of `tags` was invalidated since the load began. Telling
    /// the listener is left to the caller, as with [`Self::store`].
    pub(crate) fn store_tagged(
        &self,
        prepared: Prepared<K, V>,
        tags: HashedTags,
        ticket: Option<LoadTicket<'_>>,
    ) -> Option<Deferred<'_, K, V, S>>
    where
        K: Clone,
    {
        if tags.is_empty() {
            drop(ticket); // nothing to be stale by
            return Some(self.store(prepared));
        }
        // Before the lock: whoever takes it after this store sees the cache has tags.
        self.tags.mark_in_use();
        let hash = prepared.hash;
        let mut index = self.tags.shard(hash);
        // `invalidate_tag` moves the epoch on, then lists the tag's keys under each index
        // lock: a load either sees the epoch moved here and stores nothing, or stores under
        // this lock before the listing, which then finds it.
        if let Some(ticket) = ticket
            && !ticket.end(tags.tags())
        {
            return None;
        }
        index.set(hash, prepared.key.clone(), tags);
        let stored = self.store_unindexed(prepared);
        drop(index);
        Some(stored)
    }

    /// Removes `key` if it still carries `tag` (of hash `tag_hash`): `invalidate_tag`'s
    /// removal, which leaves alone a value stored without the tag since the tag's keys were
    /// listed. Whether a live entry was removed.
    pub(crate) fn remove_tagged(&self, key: &K, tag_hash: u64, tag: &str) -> bool {
        let hash = self.settings().hash(key);
        let cell = self.cell(hash);
        let mut out = Removals::new();
        let removed = {
            let mut index = self.tags.shard(hash);
            if !index.has_tag(hash, key, tag_hash, tag) {
                return false;
            }
            let removed = self.write(cell, &mut out, |shard, out| {
                let (k, v) = shard.remove(hash, key, self.settings(), out)?;
                if self.settings().listener.is_some() {
                    out.push(k, v, RemovalCause::Explicit);
                }
                Some(())
            });
            index.remove(hash, key);
            removed.is_some()
        };
        self.finish(cell, out);
        removed
    }

    /// Clones of the keys that carry `tag` (of hash `tag_hash`), listed shard by shard.
    pub(crate) fn tagged_keys(&self, tag_hash: u64, tag: &str) -> Vec<K>
    where
        K: Clone,
    {
        let mut keys = Vec::new();
        for shard in self.tags.shards() {
            shard.lock().keys_of(tag_hash, tag, &mut keys);
        }
        keys.into_iter().map(|(_, key)| key).collect()
    }

    /// Clones of `key`'s tags, sorted; none for an untagged key.
    pub(crate) fn tags_of<Q>(&self, key: &Q) -> Vec<Tag>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        if !self.tags.in_use() {
            return Vec::new();
        }
        let hash = self.settings().hash(key);
        self.tags.shard(hash).tags_of(hash, key)
    }

    /// `key` (of hash `hash`) left the cache: it loses its tags, unless it was stored again
    /// since (that store set them). Call with no lock held.
    pub(super) fn untag_if_gone<Q>(&self, hash: u64, key: &Q)
    where
        Q: Equivalent<K> + ?Sized,
    {
        let mut index = self.tags.shard(hash);
        if index.contains(hash, key) && !self.cell(hash).shard.read().holds(hash, key) {
            index.remove(hash, key);
        }
    }

    /// How many keys have tags, and how many tags have keys; for tests.
    #[cfg(test)]
    pub(crate) fn tag_index_len(&self) -> (usize, usize) {
        self.tags.shards().fold((0, 0), |(keys, tags), shard| {
            let (k, t) = shard.lock().len();
            (keys + k, tags + t)
        })
    }

    /// Checks the tag index's invariants, and that every key it holds is in the engine
    /// (true once every call has returned); for tests.
    #[cfg(test)]
    pub(crate) fn check_tag_invariants(&self) {
        for shard in self.tags.shards() {
            let shard = shard.lock();
            shard.check_invariants();
            for (hash, key) in shard.keys() {
                let held = self.cell(hash).shard.read().holds(hash, key);
                assert!(held, "a key in the tag index is in the cache");
            }
        }
    }
}
