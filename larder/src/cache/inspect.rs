//! Per-entry operations that load nothing and count nothing as a lookup: `peek`, `ttl` and
//! `expire` (an entry's remaining lifetime, read and changed in place), and `insert_many`.

use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use super::handle::Cache;
use crate::Ttl;
use crate::equivalent::Equivalent;
use crate::expiry::NEVER;

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// A clone of the live value for `key`, if any, with no side effect: unlike
    /// [`get`](Self::get) it counts no hit or miss, is no use of the entry for the eviction
    /// policy, does not push back a time-to-idle, and runs no hooks.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert("k".to_string(), 1);
    /// assert_eq!(cache.peek("k"), Some(1));
    /// assert_eq!(cache.peek("other"), None);
    /// let stats = cache.stats();
    /// assert_eq!(stats.hits + stats.misses, 0);
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner().engine.peek(key)
    }

    /// How long the live entry for `key` has left before it expires: `None` when there is no
    /// live entry, and [`Duration::MAX`] when it has no deadline (no TTL and no
    /// time-to-idle). With a time-to-idle it is the earlier of the two deadlines, as of the
    /// entry's last read. Any jitter drawn when the TTL was set is included. A TTL too long
    /// for the clock (such as `Duration::MAX` given to [`expire`](Self::expire) or
    /// [`insert_with_ttl`](Self::insert_with_ttl)) is kept as the farthest deadline the
    /// clock can tell, centuries away: `ttl` reports what is left of it, not
    /// `Duration::MAX` (use [`Ttl::Never`] for no deadline). An entry past its deadline but
    /// within a [stale grace](crate::CacheBuilder::stale_while_revalidate) is not live:
    /// `None`. Like
    /// [`peek`](Self::peek), it counts nothing and touches nothing. With the system clock it
    /// counts from the time hits read, so it may report up to
    /// [`Clock::hit_lag`](crate::Clock::hit_lag) (about 1 ms) more than is left: an entry
    /// copied elsewhere with this TTL may outlive the original by that much.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock, Ttl};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache = Cache::builder().clock(clock).build();
    /// cache.insert_with_ttl("token", 1, Duration::from_secs(60));
    /// cache.insert_with_ttl("config", 2, Ttl::Never);
    /// mock.advance(Duration::from_secs(15));
    /// assert_eq!(cache.ttl("token"), Some(Duration::from_secs(45)));
    /// assert_eq!(cache.ttl("config"), Some(Duration::MAX)); // never expires
    /// assert_eq!(cache.ttl("absent"), None);
    /// ```
    pub fn ttl<Q>(&self, key: &Q) -> Option<Duration>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let left = self.inner().engine.time_left(key)?;
        Some(if left == NEVER {
            Duration::MAX
        } else {
            Duration::from_nanos(left)
        })
    }

    /// Gives the live entry for `key` a new TTL, counted from now, in place: the value, its
    /// tags and its place in the eviction policy stay, and a concurrent write of the key is
    /// never undone. Returns whether there was a live entry. An entry past its deadline is
    /// not live: it is left alone while stale-while-revalidate's grace may still serve it,
    /// and reclaimed after.
    ///
    /// `ttl` is a `Duration` (plus the cache's jitter, if any), [`Ttl::Never`] (no deadline;
    /// a time-to-idle still applies) or [`Ttl::Default`] (the cache's TTL, from now). A zero
    /// duration removes the entry (reported to the listener as expired) and returns `true`.
    /// A load in flight for the key is not affected: if it stores its value, that value gets
    /// its own TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{Cache, Clock, Ttl};
    /// use std::time::Duration;
    ///
    /// let (clock, mock) = Clock::mock();
    /// let cache = Cache::builder().clock(clock).time_to_live(Duration::from_secs(10)).build();
    /// cache.insert("session", 1);
    /// assert!(cache.expire("session", Duration::from_secs(3600))); // extend it
    /// mock.advance(Duration::from_secs(60));
    /// assert_eq!(cache.get("session"), Some(1));
    /// assert!(cache.expire("session", Ttl::Never));
    /// assert_eq!(cache.ttl("session"), Some(Duration::MAX));
    /// assert!(!cache.expire("absent", Duration::from_secs(1)));
    /// ```
    pub fn expire<Q>(&self, key: &Q, ttl: impl Into<Ttl>) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner().engine.retime(key, ttl.into())
    }

    /// Stores every `(key, value)` pair with the cache's default TTL, as
    /// [`insert`](Self::insert) would one by one, in order: a key given twice keeps its last
    /// value. Each insert is atomic on its own; the batch is not.
    ///
    /// # Examples
    ///
    /// ```
    /// let cache = larder::Cache::new(10);
    /// cache.insert_many([(1, "a"), (2, "b"), (1, "c")]);
    /// assert_eq!(cache.len(), 2);
    /// assert_eq!(cache.get(&1), Some("c"));
    /// ```
    pub fn insert_many(&self, entries: impl IntoIterator<Item = (K, V)>) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}
