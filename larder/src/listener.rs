//! Why an entry left the cache, and the listener told about it.

use std::sync::Arc;

/// Why an entry was removed; passed to the eviction listener.
///
/// # Examples
///
/// ```
/// use larder::{Cache, RemovalCause};
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let cache = Cache::builder()
///     .max_capacity(1)
///     .eviction_listener(move |k: u32, _v: &str, cause| log.lock().unwrap().push((k, cause)))
///     .build();
/// cache.insert(1, "a");
/// cache.insert(1, "b"); // replaces "a"
/// cache.remove(&1);     // explicit
/// assert_eq!(
///     *seen.lock().unwrap(),
///     [(1, RemovalCause::Replaced), (1, RemovalCause::Explicit)]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Its TTL or idle time ran out.
    Expired,
    /// It was evicted to keep the cache within its capacity, or it was too heavy to store.
    Size,
    /// `remove`, `invalidate_if` or `clear` took it out.
    Explicit,
    /// An insert for the same key replaced it.
    Replaced,
}

impl RemovalCause {
    /// Whether the cache removed the entry by itself, for `Expired` or `Size`, as opposed to
    /// a caller's request.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::RemovalCause;
    /// assert!(RemovalCause::Size.was_evicted());
    /// assert!(!RemovalCause::Explicit.was_evicted());
    /// ```
    pub fn was_evicted(self) -> bool {
        matches!(self, RemovalCause::Expired | RemovalCause::Size)
    }
}

/// The boxed listener a builder stores.
pub(crate) type Listener<K, V> = Arc<dyn Fn(K, V, RemovalCause) + Send + Sync + 'static>;

/// Entries taken out under a shard lock, handed to the listener (or just dropped) after the
/// lock is released. The first one is kept inline: most writes evict at most one entry, and
/// this keeps them from allocating.
pub(crate) struct Removals<K, V> {
    first: Option<(K, V, RemovalCause)>,
    rest: Vec<(K, V, RemovalCause)>,
    /// How many were `Size` and `Expired`, for the stats.
    pub(crate) evicted: u64,
    pub(crate) expired: u64,
}

impl<K, V> Removals<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
            evicted: 0,
            expired: 0,
        }
    }

    pub(crate) fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        match cause {
            RemovalCause::Size => self.evicted += 1,
            RemovalCause::Expired => self.expired += 1,
            RemovalCause::Explicit | RemovalCause::Replaced => {}
        }
        if self.first.is_none() {
            self.first = Some((key, value, cause));
        } else {
            self.rest.push((key, value, cause));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The keys that left the cache: all but those whose value an insert replaced (the key
    /// stays).
    pub(crate) fn removed_keys(&self) -> impl Iterator<Item = &K> {
        let all = self.first.iter().chain(self.rest.iter());
        all.filter(|(_, _, cause)| *cause != RemovalCause::Replaced)
            .map(|(key, _, _)| key)
    }

    /// Tells the listener about every removal, in order, then drops them.
    pub(crate) fn notify(self, listener: Option<&Listener<K, V>>) {
        let Some(listener) = listener else { return };
        for (k, v, cause) in self.first.into_iter().chain(self.rest) {
            listener(k, v, cause);
        }
    }
}
