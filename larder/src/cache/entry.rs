//! The entry API: [`Cache::entry`] selects a key, then [`EntrySelector::or_insert_with`] reads
//! or inserts it and [`EntrySelector::and_compute_with`] upserts it atomically.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use super::handle::Cache;
use crate::Ttl;
use crate::engine::{Done, Write};

/// A key of a cache, selected by [`Cache::entry`], to read, insert or update.
///
/// # Examples
///
/// ```
/// let cache = larder::Cache::new(10);
/// let entry = cache.entry("k").or_insert_with(|| 1);
/// assert!(entry.is_fresh());
/// ```
pub struct EntrySelector<'a, K, V, S> {
    cache: &'a Cache<K, V, S>,
    key: K,
}

/// A key's value as [`EntrySelector::or_insert_with`] found or inserted it.
///
/// # Examples
///
/// ```
/// let cache = larder::Cache::new(10);
/// cache.insert("k", 1);
/// let entry = cache.entry("k").or_insert_with(|| 2);
/// assert_eq!((entry.key(), entry.value(), entry.is_fresh()), (&"k", &1, false));
/// assert_eq!(entry.into_value(), 1);
/// ```
///
/// Its `Debug` shows whether it is fresh, never its key or value (either can be a secret),
/// as with [`Cache`]'s other types.
#[derive(Clone)]
pub struct Entry<K, V> {
    key: K,
    value: V,
    fresh: bool,
}

/// What [`EntrySelector::and_compute_with`]'s function decides for the key.
///
/// # Examples
///
/// ```
/// use larder::Op;
///
/// let cache = larder::Cache::new(10);
/// cache.entry("hits").and_compute_with(|n| Op::Put(n.map_or(1, |n| n + 1)));
/// cache.entry("hits").and_compute_with(|n| Op::Put(n.map_or(1, |n| n + 1)));
/// assert_eq!(cache.get("hits"), Some(2));
/// cache.entry("hits").and_compute_with(|_| Op::Remove);
/// assert!(!cache.contains_key("hits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op<V> {
    /// Store this value, with the cache's default TTL (a replaced entry's deadline is not
    /// kept; [`Cache::expire`] sets another).
    Put(V),
    /// Remove the live entry, if there is one.
    Remove,
    /// Leave the key as it is.
    Nop,
}

/// What [`EntrySelector::and_compute_with`] did.
///
/// # Examples
///
/// ```
/// use larder::{Computed, Op};
///
/// let cache = larder::Cache::new(10);
/// let first = cache.entry(1).and_compute_with(|_| Op::Put("a"));
/// assert_eq!(first, Computed::Inserted("a"));
/// let second = cache.entry(1).and_compute_with(|_| Op::Put("b"));
/// assert_eq!(second, Computed::Replaced("b"));
/// assert_eq!(second.into_value(), Some("b"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Computed<V> {
    /// The key had no live value; this one was stored.
    Inserted(V),
    /// The key's live value was replaced by this one.
    Replaced(V),
    /// The key's live value, this one, was removed.
    Removed(V),
    /// The key kept this live value.
    Unchanged(V),
    /// The key had no live value, and still has none.
    StillAbsent,
}

impl<V> Computed<V> {
    /// The key's value after the call: `None` if it has none (removed, or still absent).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Computed, Op};
    ///
    /// let cache: larder::Cache<u8, u8> = larder::Cache::new(10);
    /// let nothing = cache.entry(1).and_compute_with(|_| Op::Nop);
    /// assert_eq!(nothing, Computed::StillAbsent);
    /// assert_eq!(nothing.into_value(), None);
    /// ```
    pub fn into_value(self) -> Option<V> {
        match self {
            Self::Inserted(v) | Self::Replaced(v) | Self::Unchanged(v) => Some(v),
            Self::Removed(_) | Self::StillAbsent => None,
        }
    }
}

impl<K, V> Entry<K, V> {
    /// The entry's key.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// assert_eq!(cache.entry(7).or_insert_with(|| "x").key(), &7);
    /// ```
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The entry's value (a clone of the cached one).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// assert_eq!(cache.entry(7).or_insert_with(|| "x").value(), &"x");
    /// ```
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The entry's value, taken out.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// assert_eq!(cache.entry(7).or_insert_with(|| "x").into_value(), "x");
    /// ```
    pub fn into_value(self) -> V {
        self.value
    }

    /// Whether this call stored the value (`true`), rather than finding it cached.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// assert!(cache.entry(7).or_insert_with(|| "x").is_fresh());
    /// assert!(!cache.entry(7).or_insert_with(|| "y").is_fresh());
    /// ```
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// Selects `key`, to read or insert it ([`or_insert_with`](EntrySelector::or_insert_with))
    /// or update it atomically ([`and_compute_with`](EntrySelector::and_compute_with)).
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// let first = cache.entry("k").or_insert_with(|| 1);
    /// let second = cache.entry("k").or_insert_with(|| 2);
    /// assert!(first.is_fresh() && !second.is_fresh());
    /// assert_eq!(second.into_value(), 1);
    /// ```
    pub fn entry(&self, key: K) -> EntrySelector<'_, K, V, S> {
        EntrySelector { cache: self, key }
    }
}

impl<K, V, S> EntrySelector<'_, K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// The key's live value, or on a miss the value of `init`, stored with the cache's
    /// default TTL; [`Entry::is_fresh`] tells which. The lookup counts as a hit or a miss, as
    /// [`Cache::get`] does.
    ///
    /// `init` runs with no lock held, so it may call the cache. If another write stores the
    /// key while `init` runs, that value wins: it is returned (not fresh) and `init`'s is
    /// dropped. A load in flight for the key is not stopped, as with
    /// [`insert`](Cache::insert): if it finishes later, its value replaces this one. For an
    /// async loader whose concurrent calls share one load, use [`Cache::get_with`]. A closed
    /// cache ([`Cache::close`]) still stores: closing stops loads only. A cache of capacity 0 (or disabled) stores nothing and returns
    /// `init`'s value as fresh. The lookup runs the cache's hooks, as `get` does; the store
    /// runs none.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache: larder::Cache<String, Vec<u8>> = larder::Cache::new(10);
    /// let entry = cache.entry("blob".to_string()).or_insert_with(|| vec![1, 2, 3]);
    /// assert!(entry.is_fresh());
    /// assert_eq!(cache.get("blob"), Some(vec![1, 2, 3]));
    /// ```
    pub fn or_insert_with(self, init: impl FnOnce() -> V) -> Entry<K, V>
    where
        K: Clone,
    {
        let Self { cache, key } = self;
        if let Some(value) = cache.get(&key) {
            return Entry {
                key,
                value,
                fresh: false,
            };
        }
        let value = init();
        let engine = &cache.inner().engine;
        let mut found = None;
        let prepared = engine.prepare(key.clone(), value.clone(), Ttl::Default);
        let stored = engine.store_if(prepared, false, |live| match live {
            Some(live) => {
                found = Some(live.clone());
                false
            }
            None => true,
        });
        match stored {
            Ok(deferred) => {
                deferred.notify();
                Entry {
                    key,
                    value,
                    fresh: true,
                }
            }
            // Refused: a live value was found (and cloned) under the lock.
            Err(_refused) => Entry {
                key,
                value: found.unwrap_or(value),
                fresh: false,
            },
        }
    }

    /// As [`or_insert_with`](Self::or_insert_with), with a value at hand.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// assert_eq!(cache.entry(1).or_insert("a").into_value(), "a");
    /// assert_eq!(cache.entry(1).or_insert("b").into_value(), "a");
    /// ```
    pub fn or_insert(self, value: V) -> Entry<K, V>
    where
        K: Clone,
    {
        self.or_insert_with(|| value)
    }

    /// Updates the key atomically: `f` gets its live value (`None`: absent) and says what to
    /// do with an [`Op`], which is applied before any other write to the key can run. This
    /// is the upsert a counter needs: no increment is lost between concurrent callers.
    ///
    /// `f`, and the weigher on an [`Op::Put`], run under the key's shard write lock (and the
    /// lock of the key's part of the load registry): they must be quick and must not call
    /// this cache (it would deadlock), and other keys of the shard, and loads finishing for
    /// keys of that part, wait for them. A panic in `f` leaves the key as it was and the
    /// cache usable (the locks do not poison). The call counts no hit or miss; it runs no hooks. A cache of
    /// capacity 0 (or disabled) stores nothing, yet reports a `Put` as done. An
    /// [`Op::Put`] is stored with the cache's default TTL, and the key loses its tags, as
    /// with [`insert`](Cache::insert). A load in flight for the key is not stopped by a
    /// `Put`, as with `insert`: a load that finishes after the `Put` stores its own value
    /// over it (so a counter kept with `and_compute_with` loses increments to a concurrent
    /// [`get_with`](Cache::get_with) of the same key; don't mix the two on one key). After an
    /// [`Op::Remove`], of a live key or an absent one, a load in flight stores nothing, as
    /// after [`remove`](Cache::remove).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Op};
    /// use std::thread;
    ///
    /// let cache: Cache<&str, u64> = Cache::new(10);
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| {
    ///             for _ in 0..1000 {
    ///                 cache.entry("requests").and_compute_with(|n| Op::Put(n.map_or(1, |n| n + 1)));
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(cache.get("requests"), Some(4000));
    /// ```
    pub fn and_compute_with(self, f: impl FnOnce(Option<&V>) -> Op<V>) -> Computed<V> {
        let Self { cache, key } = self;
        let inner = cache.inner();
        let hash = inner.engine.settings().hash(&key);
        // Under the flight registry's lock, so that an `Op::Remove` and the invalidation of
        // a load in flight are one step: no load stores between them (as `remove` ensures by
        // invalidating first, which an upsert cannot: it does not know its decision yet).
        let computation = inner.loads.invalidating(
            hash,
            || {
                inner.engine.compute(hash, key, |live| match f(live) {
                    Op::Put(value) => Write::Put(value),
                    Op::Remove => Write::Remove,
                    Op::Nop => Write::Keep,
                })
            },
            |c| c.key.as_ref().filter(|_| c.removing),
        );
        // The listener is told with no lock held.
        match computation.notify().0 {
            Done::Inserted(v) => Computed::Inserted(v),
            Done::Replaced(v) => Computed::Replaced(v),
            Done::Removed(v) => Computed::Removed(v),
            Done::Unchanged(v) => Computed::Unchanged(v),
            Done::StillAbsent => Computed::StillAbsent,
        }
    }
}

impl<K, V> fmt::Debug for Entry<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key or the value: either can be a secret.
        f.debug_struct("Entry")
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl<K, V, S> fmt::Debug for EntrySelector<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key: keys can be secrets, as values can.
        f.debug_struct("EntrySelector").finish_non_exhaustive()
    }
}
