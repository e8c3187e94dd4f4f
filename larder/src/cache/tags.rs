//! Tags on the cache: [`Cache::insert_with_tags`], the tagged loaders and
//! [`Cache::invalidate_tag`], with the crate-internal hooks the tiered cache builds on. The
//! index is `crate::tags`; the engine keeps it in step with the entries
//! (`engine/tagged.rs`).

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;

use super::handle::Cache;
use crate::equivalent::Equivalent;
use crate::load::LoadOptions;
use crate::tags::Tag;
use crate::{LoadError, Ttl};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Stores `value` under `key` with the cache's default TTL and these tags, replacing any
    /// previous value and its tags. [`invalidate_tag`](Self::invalidate_tag) with any of the
    /// tags removes the entry.
    ///
    /// Tags belong to the value stored: a later [`insert`](Self::insert), or any store of the
    /// key without tags (a load by [`get_with`](Self::get_with), for example), leaves it with
    /// none. An empty `tags` is an [`insert`](Self::insert).
    ///
    /// Tags cost nothing until the first tagged insert or load. From then on, every write
    /// takes a lock of the tag index for its key, and a removal of a tagged key takes it too;
    /// lookups never touch the index.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(100);
    /// cache.insert_with_tags("order:1", 250, ["customer:7", "orders"]);
    /// cache.insert_with_tags("order:2", 80, ["customer:8", "orders"]);
    /// assert_eq!(cache.invalidate_tag("customer:7"), 1);
    /// assert_eq!(cache.get("order:1"), None);
    /// assert_eq!(cache.get("order:2"), Some(80));
    ///
    /// cache.insert("order:2", 90); // replaces the value and its tags
    /// assert_eq!(cache.invalidate_tag("orders"), 0);
    /// assert_eq!(cache.get("order:2"), Some(90));
    /// ```
    pub fn insert_with_tags<T>(&self, key: K, value: V, tags: impl IntoIterator<Item = T>)
    where
        T: Into<Tag>,
    {
        let tags = tags.into_iter().map(Into::into).collect();
        self.insert_tagged(key, value, Ttl::Default, tags);
    }

    /// Removes every entry that carries `tag`, and returns how many live entries it removed.
    ///
    /// A load in flight that yields `tag` ([`get_with_tags`](Self::get_with_tags),
    /// [`try_get_with_tags`](Self::try_get_with_tags)) and began before this call still
    /// hands its value to its callers, but does not store it: once this returns, no value
    /// loaded before the invalidation is cached under `tag`. An untagged load in flight for a
    /// key found with `tag` stores nothing either, as with [`remove`](Self::remove) (unless it
    /// stored first: its value has no tags, so it stays). An entry stored with `tag` while
    /// this runs may or may not be removed.
    ///
    /// It takes each lock of the tag index in turn, then removes the tag's keys one by one;
    /// on a cache that never stored a tag it only moves an epoch counter on.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Tag};
    ///
    /// let cache = Cache::new(100);
    /// let tenant = Tag::from("tenant:acme");
    /// for user in ["ada", "bob"] {
    ///     cache.insert_with_tags(format!("acme/{user}"), user.len(), [&tenant]);
    /// }
    /// cache.insert("other/eve".to_string(), 3);
    /// assert_eq!(cache.invalidate_tag(&tenant), 2);
    /// assert_eq!(cache.len(), 1);
    /// assert_eq!(cache.invalidate_tag("tenant:acme"), 0); // nothing left to remove
    /// ```
    pub fn invalidate_tag(&self, tag: &str) -> usize {
        let engine = &self.inner().engine;
        // First the tagged loads in flight: none that yields the tag stores its value.
        engine.tags().epochs().invalidate(tag);
        // Read after the epoch moved on: a load that stored its tags before that, having
        // marked the index in use first, is seen.
        if !engine.tags().in_use() {
            return 0;
        }
        let tag_hash = engine.hash_tag(tag);
        let mut removed = 0;
        for key in engine.tagged_keys(tag_hash, tag) {
            // As `remove` does: the key's load in flight stores nothing, then the entry goes
            // (if it still carries the tag).
            self.load_path().invalidate(&key);
            removed += usize::from(engine.remove_tagged(&key, tag_hash, tag));
        }
        removed
    }

    /// Stores `value` under `key` until `ttl` runs out, with `tags` in place of the key's old
    /// ones (none: the key loses its tags). For the tiered cache, which fills its L1 with an
    /// L2 entry's remaining TTL and tags.
    pub(crate) fn insert_tagged(&self, key: K, value: V, ttl: Ttl, tags: Vec<Tag>) {
        let engine = &self.inner().engine;
        self.hooked_set(key, value, |key, value| {
            // User code (the weigher, `Hash`) runs here, before any lock.
            let prepared = engine.prepare(key, value, ttl);
            let tags = engine.hash_tags(tags);
            if let Some(stored) = engine.store_tagged(prepared, tags, None) {
                stored.notify();
            }
        });
    }

    /// Clones of the tags of `key`'s entry, sorted; none when it has none. Expired entries
    /// not yet reclaimed still have theirs. For the tiered cache, which writes them to L2.
    #[allow(dead_code)] // the tiered cache's hook
    pub(crate) fn tags_of<Q>(&self, key: &Q) -> Vec<Tag>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner().engine.tags_of(key)
    }

    /// How many keys have tags and how many tags have keys, after checking the index's
    /// invariants; for tests.
    #[cfg(test)]
    pub(crate) fn tag_index_len(&self) -> (usize, usize) {
        self.inner().engine.check_tag_invariants();
        self.inner().engine.tag_index_len()
    }

    /// How many tag invalidations are recorded for tagged loads in flight; for tests.
    #[cfg(test)]
    pub(crate) fn tag_records(&self) -> usize {
        self.inner().engine.tags().epochs().records()
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// The value for `key`, loading it with `init` on a miss; `init` also yields the value's
    /// tags, stored with it as by [`insert_with_tags`](Self::insert_with_tags).
    ///
    /// If one of those tags is [invalidated](Self::invalidate_tag) while `init` runs, the
    /// value is returned to this load's callers but not stored: it may predate what the
    /// invalidation announced. The load counts as begun just before `init` is first polled,
    /// so build what it reads inside `init`.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with): one `init` runs for a key at a time, and its value
    /// and tags are the ones stored. A caller of [`get_with`](Self::get_with) may join this
    /// load, and this caller a plain load, whose value is then stored without tags.
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, Tag};
    ///
    /// let cache: Cache<u64, String> = Cache::new(100);
    /// let post = cache
    ///     .get_with_tags(7, async {
    ///         // e.g. a post with its author and topic, read from the database
    ///         ("post 7".to_string(), vec![Tag::from("author:3"), Tag::from("topic:rust")])
    ///     })
    ///     .await;
    /// assert_eq!(post, "post 7");
    /// assert_eq!(cache.invalidate_tag("author:3"), 1); // the author changed their name
    /// assert!(!cache.contains_key(&7));
    /// # }
    /// ```
    pub async fn get_with_tags(
        &self,
        key: K,
        init: impl Future<Output = (V, Vec<Tag>)> + Send + 'static,
    ) -> V {
        let init = async {
            let (value, tags) = init.await;
            Ok::<_, Infallible>(Some((value, Ttl::Default, tags)))
        };
        // Written out, as in `load.rs`: a hit returns before any nested future exists.
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return value,
            Err(init) => pin!(init),
        };
        match self.load_path().load(key, LoadOptions::VALUE, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_tags yields a value"),
        }
    }

    /// As [`get_with_tags`](Self::get_with_tags), with a fallible `init`, as
    /// [`try_get_with`](Self::try_get_with): an error reaches every caller of that load and
    /// is not cached (unless [`negative_ttl`](crate::CacheBuilder::negative_ttl) is set).
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`try_get_with`](Self::try_get_with).
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Errors
    ///
    /// As [`try_get_with`](Self::try_get_with): [`LoadError::Loader`] with the load's error,
    /// or [`LoadError::Cache`] of kind [`Closed`](crate::ErrorKind::Closed).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, Tag};
    ///
    /// let cache: Cache<u64, String> = Cache::new(100);
    /// let price = cache
    ///     .try_get_with_tags(1, async { Ok::<_, String>(("9.99".to_string(), vec![Tag::from("prices")])) })
    ///     .await;
    /// assert_eq!(price.unwrap(), "9.99");
    /// let failed = cache
    ///     .try_get_with_tags(2, async { Err::<(String, Vec<Tag>), _>("db down".to_string()) })
    ///     .await;
    /// assert!(failed.is_err());
    /// assert_eq!(cache.invalidate_tag("prices"), 1);
    /// # }
    /// ```
    pub async fn try_get_with_tags<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<(V, Vec<Tag>), E>> + Send + 'static,
    ) -> Result<V, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let init = async {
            let (value, tags) = init.await?;
            Ok(Some((value, Ttl::Default, tags)))
        };
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return Ok(value),
            Err(init) => pin!(init),
        };
        match self
            .load_path()
            .load(key, LoadOptions::FALLIBLE, init)
            .await
        {
            Ok(Some(value)) => Ok(value),
            Ok(None) => unreachable!("try_get_with_tags yields a value or an error"),
            Err(e) => Err(e),
        }
    }

    /// The tagged loader behind the tiered cache: looks `key` up (counting a hit or a miss,
    /// serving stale values and refreshing in the background as the `get_with` family does),
    /// and on a miss loads it with `init`, which yields the value, its TTL and its tags, or
    /// `None` (not stored; only callers with [`LoadOptions::OPTIONAL`]-like options take it),
    /// or an error. The value is stored unless the key is invalidated, or one of its tags, while
    /// it loads.
    #[allow(dead_code)] // the tiered cache's hook
    pub(crate) async fn load_tagged<E>(
        &self,
        key: K,
        options: LoadOptions,
        init: impl Future<Output = Result<Option<(V, Ttl, Vec<Tag>)>, E>> + Send + 'static,
    ) -> Result<Option<V>, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let init = match self.answer_from_cache(&key, init) {
            Ok(value) => return Ok(Some(value)),
            Err(init) => pin!(init),
        };
        self.load_path().load(key, options, init).await
    }
}
