//! [`IndexShard`]: one shard of the tag index, both ways round: each tagged key with its
//! tags, and each tag with its keys. The caller holds the shard's lock and hashes keys (with
//! the cache's hasher) and tags ([`HashedTags`]).

use hashbrown::HashTable;

use super::tag::Tag;
use crate::equivalent::Equivalent;

/// An entry's tags, sorted, without duplicates, each with its hash by the cache's hasher.
#[derive(Debug, Clone, Default)]
pub(crate) struct HashedTags(Box<[(u64, Tag)]>);

impl HashedTags {
    /// `tags` with their hashes: sorted and deduplicated here.
    pub(crate) fn new(mut tags: Vec<Tag>, hash: impl Fn(&str) -> u64) -> Self {
        if tags.is_empty() {
            return Self(Box::default()); // every untagged load's store comes here
        }
        tags.sort_unstable();
        tags.dedup();
        Self(tags.into_iter().map(|tag| (hash(&tag), tag)).collect())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn tags(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter().map(|(_, tag)| tag)
    }
}

/// A key and its tags.
struct Tagged<K> {
    hash: u64,
    key: K,
    tags: HashedTags,
}

/// A tag and the keys of this shard that carry it (never empty: an emptied group goes).
struct Group<K> {
    hash: u64,
    tag: Tag,
    keys: HashTable<(u64, K)>,
}

pub(crate) struct IndexShard<K> {
    keys: HashTable<Tagged<K>>,
    groups: HashTable<Group<K>>,
}

impl<K: Eq> IndexShard<K> {
    pub(crate) fn new() -> Self {
        Self {
            keys: HashTable::new(),
            groups: HashTable::new(),
        }
    }

    /// Whether `key` (of hash `hash`) has tags.
    pub(crate) fn contains<Q>(&self, hash: u64, key: &Q) -> bool
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.keys.find(hash, |t| key.equivalent(&t.key)).is_some()
    }

    /// Whether `key` carries `tag` (of hash `tag_hash`).
    pub(crate) fn has_tag<Q>(&self, hash: u64, key: &Q, tag_hash: u64, tag: &str) -> bool
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.keys
            .find(hash, |t| key.equivalent(&t.key))
            .is_some_and(|t| t.tags.0.iter().any(|(h, t)| *h == tag_hash && &**t == tag))
    }

    /// Clones of `key`'s tags, sorted.
    pub(crate) fn tags_of<Q>(&self, hash: u64, key: &Q) -> Vec<Tag>
    where
        Q: Equivalent<K> + ?Sized,
    {
        self.keys
            .find(hash, |t| key.equivalent(&t.key))
            .map(|t| t.tags.tags().cloned().collect())
            .unwrap_or_default()
    }

    /// Appends clones of the keys that carry `tag`, with their hashes, to `into`.
    pub(crate) fn keys_of(&self, tag_hash: u64, tag: &str, into: &mut Vec<(u64, K)>)
    where
        K: Clone,
    {
        if let Some(group) = self.groups.find(tag_hash, |g| &*g.tag == tag) {
            into.extend(group.keys.iter().cloned());
        }
    }

    /// `key` loses its tags; whether it had any.
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q) -> bool
    where
        Q: Equivalent<K> + ?Sized,
    {
        let Ok(found) = self.keys.find_entry(hash, |t| key.equivalent(&t.key)) else {
            return false;
        };
        let (tagged, _) = found.remove();
        for (tag_hash, tag) in tagged.tags.0.iter() {
            let Ok(mut group) = self.groups.find_entry(*tag_hash, |g| g.tag == *tag) else {
                continue;
            };
            if let Ok(member) = group
                .get_mut()
                .keys
                .find_entry(hash, |(_, k)| *k == tagged.key)
            {
                member.remove();
            }
            if group.get().keys.is_empty() {
                group.remove();
            }
        }
        true
    }

    /// `key`'s tags become `tags`, in place of any it had.
    pub(crate) fn set(&mut self, hash: u64, key: K, tags: HashedTags)
    where
        K: Clone,
    {
        self.remove(hash, &key);
        if tags.is_empty() {
            return;
        }
        for (tag_hash, tag) in tags.0.iter() {
            let group = match self.groups.find_mut(*tag_hash, |g| g.tag == *tag) {
                Some(group) => group,
                None => {
                    let group = Group {
                        hash: *tag_hash,
                        tag: tag.clone(),
                        keys: HashTable::new(),
                    };
                    self.groups
                        .insert_unique(*tag_hash, group, |g| g.hash)
                        .into_mut()
                }
            };
            group
                .keys
                .insert_unique(hash, (hash, key.clone()), |(h, _)| *h);
        }
        let tagged = Tagged { hash, key, tags };
        self.keys.insert_unique(hash, tagged, |t| t.hash);
    }

    /// How many keys have tags, and how many tags have keys; for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.keys.len(), self.groups.len())
    }

    /// The tagged keys with their hashes; for tests.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = (u64, &K)> {
        self.keys.iter().map(|t| (t.hash, &t.key))
    }

    /// Every key's tags name a group holding it, and every group's keys have its tag; for
    /// tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut members = 0;
        for tagged in self.keys.iter() {
            for (tag_hash, tag) in tagged.tags.0.iter() {
                let group = self.groups.find(*tag_hash, |g| g.tag == *tag);
                let group = group.expect("a key's tag has a group");
                let found = group.keys.find(tagged.hash, |(_, k)| *k == tagged.key);
                assert!(found.is_some(), "a tag's group holds the key");
                members += 1;
            }
        }
        let in_groups: usize = self.groups.iter().map(|g| g.keys.len()).sum();
        assert_eq!(members, in_groups, "no group holds a key without its tag");
        assert!(
            self.groups.iter().all(|g| !g.keys.is_empty()),
            "no empty group"
        );
    }
}
