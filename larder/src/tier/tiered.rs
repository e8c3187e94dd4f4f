//! [`Tiered`]: the handle, its state, and what reads and writes both tiers without a loader.
//! Loading is in `load.rs`; the L2 entry format in `entry.rs`.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::BreakerState;
use super::codec::ValueCodec;
use super::entry::{self, Header};
use super::generation::Generations;
use super::key::{KeyLayout, TierKey};
use super::l2::L2;
use super::pending::{Pending, Unsent};
use super::stats::{Counters, TierStats, bump};
use super::write_behind::{Job, WriteBehind};
use crate::{Cache, Clock, CloseMode, Tag, Ttl};

/// An in-process L1 [`Cache`] over an L2 [`Store`](crate::store::Store) shared by several
/// processes: reads try L1, then L2, then the loader, with one load per key at a time in a
/// process across both tiers.
///
/// - **Reads.** An L2 hit fills L1 for no longer than the entry has left in L2, nor longer
///   than L1's own TTL. An L2 failure is a miss, counted, never an error: with a loader, the
///   loader runs; with the value in L1, L1 serves it.
/// - **Writes** go to L2 and L1. By default a write returns once L2 acknowledged it; with
///   [`write_behind`](super::TieredBuilder::write_behind) it is queued. A failed L2 write keeps the
///   value in L1, and is counted.
/// - **Keys** in L2 are `v{version}:{key}` inside the store's namespace, the key encoded by
///   [`TierKey`]; bump [`version`](super::TieredBuilder::version) when `V`'s layout changes.
/// - **Values** in L2 are a small header (expiry, tags) and the codec's bytes.
/// - **Kill switch.** A tier whose L1 cache is disabled
///   ([`CacheBuilder::enabled(false)`](crate::CacheBuilder::enabled), or `LARDER_DISABLE`
///   when L1 was built) is a pass-through: it reads no value from L2 and stores none in
///   either tier, and every load runs its loader (concurrent loads of a key in the process
///   still share one). It takes no distributed lock, starts no watch and no write-behind
///   queue. Its invalidations (`remove`, `clear`, `invalidate_tag`) still go to L2, so that
///   instances still enabled over the same store do not serve what it invalidated.
///
/// `Tiered` is a cheap handle: clones share one cache.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use larder::store::MemoryStore;
/// use larder::tier::Tiered;
///
/// let shared = MemoryStore::new("users"); // in production: a RedisStore
/// let tiered: Tiered<u64, String> = Tiered::builder(Cache::new(1_000), shared).build();
///
/// let name = tiered.get_with(7, async { "ada".to_string() }).await;
/// assert_eq!(name, "ada");
/// assert_eq!(tiered.get(&7).await.as_deref(), Some("ada")); // from L1
/// tiered.remove(&7).await; // from both tiers
/// assert_eq!(tiered.get(&7).await, None);
/// # }
/// ```
///
/// [`TieredBuilder`]: super::TieredBuilder
pub struct Tiered<K, V> {
    pub(super) inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for Tiered<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for Tiered<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiered")
            .field("prefix", &self.inner.layout.prefix())
            .finish_non_exhaustive()
    }
}

/// A tier's settings, fixed when it is built.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    /// The TTL of L2 entries written with `Ttl::Default`; `None`: the store's default.
    pub(super) l2_ttl: Option<Duration>,
    /// L1's own TTL, a cap on what L2 hits fill it for.
    pub(super) l1_ttl: Option<Duration>,
    /// With a distributed lock: how long a lease lasts, and so how long others wait.
    pub(super) lease: Option<Duration>,
    /// How often a process waiting on another's lease looks for the value in L2.
    pub(super) lease_poll: Duration,
}

pub(super) struct Inner<K, V> {
    pub(super) l1: Cache<K, V>,
    /// Whether L1 is enabled. A tier over a disabled L1 (the kill switch) neither reads nor
    /// writes values in L2; its invalidations still reach L2.
    pub(super) enabled: bool,
    pub(super) l2: Arc<L2>,
    pub(super) layout: KeyLayout,
    pub(super) codec: ValueCodec<V>,
    pub(super) settings: Settings,
    pub(super) write_behind: Option<WriteBehind>,
    pub(super) clock: Clock,
    pub(super) counters: Arc<Counters>,
    /// Invalidations L2 did not take, retried and masking L2 until it does.
    pub(super) pending: Pending,
    /// Write generations, so that a load does not overwrite a newer write in L2.
    pub(super) generations: Generations,
    /// The store's watch of this tier's keys, once it started (never, for a store that
    /// cannot watch).
    pub(super) watch: std::sync::OnceLock<crate::store::Watch>,
    /// Notified on every reported write of an entry: lease waiters look for it at once.
    pub(super) written: tokio::sync::Notify,
}

/// A value read from L2, with what L1 may keep it for.
pub(super) struct Filled<V> {
    pub(super) value: V,
    pub(super) l1_ttl: Ttl,
    pub(super) tags: Vec<Tag>,
}

impl<K, V> Inner<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The L1 lifetime of a value with `remaining` time left in L2 (`None`: no expiry).
    pub(super) fn l1_ttl(&self, remaining: Option<Duration>) -> Ttl {
        match (remaining, self.settings.l1_ttl) {
            (None, _) => Ttl::Default,
            (Some(left), Some(own)) => Ttl::After(left.min(own)),
            (Some(left), None) => Ttl::After(left),
        }
    }

    /// What `ttl` means in L2: `Default` is the tier's L2 TTL, if it has one.
    fn l2_ttl(&self, ttl: Ttl) -> Ttl {
        match (ttl, self.settings.l2_ttl) {
            (Ttl::Default, Some(own)) => Ttl::After(own),
            (ttl, _) => ttl,
        }
    }

    /// A value written with `ttl`: its TTL in L2, its lifetime there (`None`: no expiry), and
    /// what L1 may keep it for.
    fn lifetimes(&self, ttl: Ttl) -> (Ttl, Option<Duration>, Ttl) {
        let store_ttl = self.l2_ttl(ttl);
        let lifetime = match store_ttl {
            Ttl::After(d) => Some(d),
            Ttl::Never | Ttl::Default => None,
        };
        let l1_ttl = match ttl {
            Ttl::Never => Ttl::Never,
            _ => self.l1_ttl(lifetime),
        };
        (store_ttl, lifetime, l1_ttl)
    }

    /// Whether a load would skip L2 both ways now: the breaker is open (not yet due for a
    /// probe) and writes go through (write-behind queues them even then).
    pub(super) fn skipping_l2(&self) -> bool {
        self.enabled && self.write_behind.is_none() && self.l2.breaker.state() == BreakerState::Open
    }

    /// A load while L2 is skipped, counted as [`fill`](Self::fill) would count it (the
    /// skipped read as a miss, unless `refresh`; the skipped lease, if the tier takes leases;
    /// the skipped write of a value), with none of its L2 work. One difference: a value
    /// whose key was written or invalidated meanwhile counts its skipped write too.
    pub(super) async fn fill_skipping_l2<T, E>(
        &self,
        refresh: bool,
        init: impl Future<Output = Result<Option<(V, Ttl, T)>, E>>,
    ) -> Result<Option<(V, Ttl, T)>, E> {
        let mut skipped = 0;
        if !refresh {
            bump(&self.counters.l2_misses);
            skipped += 1 + u64::from(self.settings.lease.is_some());
        }
        let produced = init.await;
        skipped += u64::from(matches!(produced, Ok(Some(_))));
        // In one count: fewer writes to a counter every thread shares.
        self.counters
            .l2_skipped
            .fetch_add(skipped, crate::sync::Ordering::Relaxed);
        Ok(produced?.map(|(value, ttl, tags)| (value, self.lifetimes(ttl).2, tags)))
    }

    /// The entry at `entry` in L2, if it is there, readable, and not made stale by a tag.
    pub(super) async fn read_l2(&self, entry: &str) -> Option<Filled<V>> {
        if !self.enabled {
            return None;
        }
        self.retry_pending().await;
        let found = self.l2.call(|s| s.get(entry)).await.flatten();
        let filled = match found {
            Some(bytes) => self.open(entry, &bytes).await,
            None => None,
        };
        bump(if filled.is_some() {
            &self.counters.l2_hits
        } else {
            &self.counters.l2_misses
        });
        filled
    }

    /// Stored bytes as a value; an unreadable entry counts as an L2 error.
    pub(super) async fn open(&self, entry: &str, bytes: &[u8]) -> Option<Filled<V>> {
        let Ok((header, body)) = entry::read(bytes) else {
            bump(&self.counters.l2_errors);
            return None;
        };
        if self.pending.masks(entry, &header.tags) {
            return None; // this instance invalidated it, and L2 has not heard yet
        }
        let remaining = match header.expires_at {
            Some(at) => Some(
                at.checked_sub(self.clock.unix_time())
                    .filter(|d| !d.is_zero())?,
            ),
            None => None,
        };
        if !header.tags.is_empty() && self.stale_by_tag(&header).await {
            return None;
        }
        let Ok(value) = self.codec.decode(body) else {
            bump(&self.counters.l2_errors);
            return None;
        };
        Some(Filled {
            value,
            l1_ttl: self.l1_ttl(remaining),
            tags: header.tags,
        })
    }

    /// Whether a tag of the entry was invalidated after its load started. When the tags
    /// cannot be read, the entry is taken as stale: a miss is safe, a stale value is not.
    async fn stale_by_tag(&self, header: &Header) -> bool {
        let keys: Vec<String> = header.tags.iter().map(|t| self.layout.tag(t)).collect();
        // A clear takes the tags' records with it: when it came after the load began, the
        // load may have missed an invalidation the clear erased.
        let keys: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .chain([self.layout.cleared()])
            .collect();
        let Some(epochs) = self.l2.call(|s| s.get_many(&keys)).await else {
            return true;
        };
        // A record at or after the load's start: the load may have read what the
        // invalidation was about. Unreadable records count as invalidations.
        epochs.iter().flatten().any(|bytes| {
            crate::store::parse_counter(bytes).map_or(true, |at| at >= header.epoch as i64)
        })
    }

    /// The tag epoch now, in Unix microseconds: a load that starts now is stale if one of
    /// its tags is invalidated from now on. Wall-clock time rather than a counter in L2, so
    /// that nothing can reset it: not a `clear` of the namespace, not an eviction, not a
    /// program writing under the tier's keys. Instances' clocks must agree to within the
    /// time a load takes to start; a load that begins within their skew before an
    /// invalidation may outlive it.
    pub(super) fn epoch(&self) -> u64 {
        // Microseconds: an entry written just after a clear or an invalidation is rarely
        // in the same tick, which would (safely) make it a miss.
        u64::try_from(self.clock.unix_time().as_micros()).unwrap_or(u64::MAX)
    }

    /// Writes `value` to L2 (or queues it), and returns what L1 may keep it for.
    pub(super) async fn write_l2(
        &self,
        entry: String,
        value: &V,
        ttl: Ttl,
        tags: &[Tag],
        epoch: u64,
        through: bool,
    ) -> Ttl
    where
        V: serde::Serialize,
    {
        if !self.enabled {
            return ttl; // disabled: nothing stored, in L1 either
        }
        let (store_ttl, lifetime, l1_ttl) = self.lifetimes(ttl);
        if self.skipping_l2() {
            bump(&self.counters.l2_skipped); // not worth encoding for an L2 we skip
            return l1_ttl;
        }
        let header = Header {
            expires_at: lifetime.map(|d| self.clock.unix_time().saturating_add(d)),
            epoch,
            tags: tags.to_vec(),
        };
        let bytes = match self
            .codec
            .encode(value)
            .and_then(|body| entry::write(&header, &body))
        {
            Ok(bytes) => bytes,
            Err(_) => {
                bump(&self.counters.l2_errors);
                bump(&self.counters.l2_write_errors);
                return l1_ttl;
            }
        };
        match &self.write_behind {
            Some(queue) if !through => {
                queue.set(&self.l2, entry, bytes, store_ttl);
            }
            _ => {
                self.l2.write(|s| s.set(&entry, &bytes, store_ttl)).await;
            }
        }
        l1_ttl
    }

    /// Writes loaded values to L2 in one `set_many` (or queues them), and returns what L1
    /// may keep each for.
    pub(super) async fn write_many_l2(&self, loaded: &[(String, &V)], epoch: u64) -> Ttl
    where
        V: serde::Serialize,
    {
        if !self.enabled {
            return Ttl::Default; // disabled: nothing stored, in L1 either
        }
        let store_ttl = self.l2_ttl(Ttl::Default);
        let lifetime = match store_ttl {
            Ttl::After(d) => Some(d),
            Ttl::Never | Ttl::Default => None,
        };
        let header = Header {
            expires_at: lifetime.map(|d| self.clock.unix_time().saturating_add(d)),
            epoch,
            tags: Vec::new(),
        };
        let mut encoded = Vec::with_capacity(loaded.len());
        for (entry, value) in loaded {
            match self
                .codec
                .encode(value)
                .and_then(|body| entry::write(&header, &body))
            {
                Ok(bytes) => encoded.push((entry.clone(), bytes)),
                Err(_) => {
                    bump(&self.counters.l2_errors);
                    bump(&self.counters.l2_write_errors);
                }
            }
        }
        match &self.write_behind {
            Some(queue) => {
                for (entry, bytes) in encoded {
                    queue.set(&self.l2, entry, bytes, store_ttl);
                }
            }
            None if !encoded.is_empty() => {
                let pairs: Vec<(&str, &[u8])> = encoded
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_slice()))
                    .collect();
                self.l2.write(|s| s.set_many(&pairs, store_ttl)).await;
            }
            None => {}
        }
        self.l1_ttl(lifetime)
    }

    /// Deletes `entry` from L2, in order with queued writes under write-behind; a deletion
    /// L2 does not take is kept pending.
    async fn delete_l2(&self, entry: String) {
        bump(&self.counters.invalidations_sent);
        self.generations.bump(&entry);
        if !self.try_delete(&entry).await {
            self.pending.push(Unsent::Delete(entry));
        }
    }

    /// Whether L2 took the deletion of `entry`.
    async fn try_delete(&self, entry: &str) -> bool {
        if let Some(queue) = &self.write_behind {
            let key = entry.to_owned();
            if let Some(deleted) = queue.run(|done| Job::Delete { key, done }).await {
                return deleted;
            }
            // No room in time: delete now rather than leave it in L2, and skip the writes
            // of the key still queued.
            queue.supersede(Some(entry));
        }
        self.l2.write(|s| s.delete(entry)).await.is_some()
    }

    /// Whether L2 took the clear, and its record (see `stale_by_tag`).
    async fn try_clear(&self) -> bool {
        let mut cleared = None;
        if let Some(queue) = &self.write_behind {
            cleared = queue.run(|done| Job::Clear { done }).await;
        }
        let cleared = match cleared {
            Some(cleared) => cleared,
            None => {
                if let Some(queue) = &self.write_behind {
                    queue.supersede(None);
                }
                self.l2.write(|s| s.clear()).await.is_some()
            }
        };
        let at = self.epoch().to_string();
        let key = self.layout.cleared();
        cleared
            && self
                .l2
                .write(|s| s.set(key, at.as_bytes(), Ttl::Never))
                .await
                .is_some()
    }

    /// Whether L2 took the invalidation of `tag`: its record set to the epoch now, which
    /// makes every entry with the tag whose load started before now stale.
    async fn try_invalidate_tag(&self, tag: &str) -> bool {
        let (tag_key, at) = (self.layout.tag(tag), self.epoch().to_string());
        self.l2
            .write(|s| s.set(&tag_key, at.as_bytes(), Ttl::Never))
            .await
            .is_some()
    }

    /// Retries the invalidations L2 did not take, unless the breaker keeps L2 off.
    pub(super) async fn retry_pending(&self) {
        if !self.pending.any() || self.l2.breaker.state() == BreakerState::Open {
            return;
        }
        for op in self.pending.take() {
            let done = match &op {
                Unsent::Delete(entry) => self.try_delete(entry).await,
                Unsent::Clear => self.try_clear().await,
                Unsent::Tag(tag) => self.try_invalidate_tag(tag).await,
            };
            if !done {
                self.pending.push(op);
            }
        }
    }
}

impl<K, V> Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    /// The value for `key`: from L1, else from L2 (filling L1), else `None`. Concurrent
    /// calls for a key L1 misses share one L2 read. An L2 failure is a miss.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("t");
    /// let a: Tiered<String, u32> = Tiered::builder(Cache::new(10), store.clone()).build();
    /// let b: Tiered<String, u32> = Tiered::builder(Cache::new(10), store).build();
    /// a.insert("k".to_string(), 1).await;
    /// assert_eq!(b.get(&"k".to_string()).await, Some(1)); // b's L1 missed; L2 had it
    /// # }
    /// ```
    pub async fn get(&self, key: &K) -> Option<V> {
        if let Some(value) = self.l1_get(key) {
            return Some(value);
        }
        let inner = self.inner.clone();
        let entry = inner.layout.entry(key);
        let read = async move {
            let filled = inner.read_l2(&entry).await;
            Ok::<_, std::convert::Infallible>(filled.map(|f| (f.value, f.l1_ttl, f.tags)))
        };
        let loaded = self
            .inner
            .l1
            .load_path()
            .load(
                key.clone(),
                crate::load::LoadOptions::OPTIONAL,
                std::pin::pin!(read),
            )
            .await;
        loaded.ok().flatten()
    }

    /// L1's value for `key`; L1 counts the hit, and its count is the tier's `l1_hits`.
    pub(crate) fn l1_get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + crate::Equivalent<K> + ?Sized,
    {
        self.inner.l1.get(key)
    }

    /// Whether `key` has a value in L1, or a live one in L2; no side effects on either tier
    /// nor on the hit and miss counters. An L2 failure is "no".
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("t");
    /// let a: Tiered<u32, u32> = Tiered::builder(Cache::new(10), store.clone()).build();
    /// let b: Tiered<u32, u32> = Tiered::builder(Cache::new(10), store).build();
    /// a.insert(1, 10).await;
    /// assert!(b.contains_key(&1).await); // in L2
    /// assert!(!b.l1().contains_key(&1)); // and still not in b's L1
    /// assert!(!b.contains_key(&2).await);
    /// # }
    /// ```
    pub async fn contains_key(&self, key: &K) -> bool {
        let inner = &self.inner;
        if inner.l1.contains_key(key) {
            return true;
        }
        if !inner.enabled {
            return false;
        }
        let entry = inner.layout.entry(key);
        match inner.l2.call(|s| s.get(&entry)).await.flatten() {
            Some(bytes) => inner.open(&entry, &bytes).await.is_some(),
            None => false,
        }
    }

    /// Stores `value` in both tiers with the default TTL (L2's from
    /// [`l2_ttl`](super::TieredBuilder::l2_ttl), L1's own). Returns once L2 acknowledged it,
    /// or, with write-behind, once it is queued. A failed L2 write is counted, and the
    /// value stays in L1.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::{MemoryStore, Store};
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("t");
    /// let tiered: Tiered<String, u32> = Tiered::builder(Cache::new(10), store.clone()).build();
    /// tiered.insert("k".to_string(), 1).await;
    /// assert!(store.exists("v1:k").await.unwrap()); // the documented key layout
    /// # }
    /// ```
    pub async fn insert(&self, key: K, value: V) {
        self.insert_with_ttl(key, value, Ttl::Default).await;
    }

    /// As [`insert`](Self::insert), for `ttl` in L2; L1 keeps it for no longer, nor longer
    /// than its own TTL.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, Ttl};
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    /// use std::time::Duration;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert_with_ttl(1, 10, Ttl::After(Duration::from_secs(60))).await;
    /// assert_eq!(tiered.get(&1).await, Some(10));
    /// # }
    /// ```
    pub async fn insert_with_ttl(&self, key: K, value: V, ttl: impl Into<Ttl>) {
        self.insert_entry(key, value, ttl.into(), Vec::new()).await;
    }

    /// As [`insert`](Self::insert), with tags: [`invalidate_tag`](Self::invalidate_tag)
    /// removes the entry from both tiers of every instance.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let store = MemoryStore::new("t");
    /// let a: Tiered<u32, String> = Tiered::builder(Cache::new(10), store.clone()).build();
    /// let b: Tiered<u32, String> = Tiered::builder(Cache::new(10), store).build();
    /// a.insert_with_tags(1, "post".to_string(), ["user:7"]).await;
    /// assert!(b.get(&1).await.is_some());
    /// b.invalidate_tag("user:7").await;
    /// a.l1().remove(&1); // an instance without invalidations from its store keeps L1 until its TTL
    /// assert_eq!(a.get(&1).await, None); // L2's entry is stale by its tag
    /// # }
    /// ```
    pub async fn insert_with_tags<T: Into<Tag>>(
        &self,
        key: K,
        value: V,
        tags: impl IntoIterator<Item = T>,
    ) {
        let tags = tags.into_iter().map(Into::into).collect();
        self.insert_entry(key, value, Ttl::Default, tags).await;
    }

    async fn insert_entry(&self, key: K, value: V, ttl: Ttl, tags: Vec<Tag>) {
        let inner = &self.inner;
        let epoch = inner.epoch();
        let entry = inner.layout.entry(&key);
        // A read or load of the key in flight must neither fill L1 nor write L2 over this.
        inner.generations.bump(&entry);
        inner.l1.load_path().invalidate(&key);
        let l1_ttl = inner
            .write_l2(entry, &value, ttl, &tags, epoch, false)
            .await;
        inner.l1.insert_tagged(key, value, l1_ttl, tags);
    }

    /// Removes `key` from L2, then from L1; a load of it in flight in this process stores
    /// nothing. Returns L1's value, if it had one (L2's is not read). Returns once L2
    /// acknowledged the deletion.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert(1, 10).await;
    /// assert_eq!(tiered.remove(&1).await, Some(10));
    /// assert_eq!(tiered.get(&1).await, None);
    /// # }
    /// ```
    pub async fn remove(&self, key: &K) -> Option<V> {
        // L2 first: a load that starts after this reads nothing; one already in flight is
        // kept out of L1 by the removal below.
        self.inner.delete_l2(self.inner.layout.entry(key)).await;
        self.inner.l1.remove(key)
    }

    /// As [`remove`](Self::remove), without the value.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert(1, 10).await;
    /// tiered.invalidate(&1).await;
    /// assert_eq!(tiered.get(&1).await, None);
    /// # }
    /// ```
    pub async fn invalidate(&self, key: &K) {
        self.remove(key).await;
    }

    /// Removes every entry of this tier from L2 and from L1. In L2 this clears the store's
    /// namespace, so every tier sharing it loses its entries too, whatever its scope or
    /// version: give tiers that must not be cleared together stores of their own namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert(1, 10).await;
    /// tiered.clear().await;
    /// assert_eq!(tiered.get(&1).await, None);
    /// # }
    /// ```
    pub async fn clear(&self) {
        let inner = &self.inner;
        bump(&inner.counters.invalidations_sent);
        inner.generations.bump_all();
        if !inner.try_clear().await {
            inner.pending.push(Unsent::Clear);
        }
        inner.l1.clear();
    }

    /// Invalidates `tag`: every entry carrying it, in both tiers, on every instance, is gone
    /// once this returns (an instance without invalidations from its store drops its L1
    /// copies when their L1 TTL ends). A load in flight that returns an entry with this tag
    /// is not cached.
    ///
    /// L2 entries are not deleted one by one: the tag's invalidation epoch is raised, and an
    /// entry whose load started before it reads as a miss.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert_with_tags(1, 10, ["even"]).await;
    /// tiered.insert_with_tags(2, 20, ["odd"]).await;
    /// tiered.invalidate_tag("even").await;
    /// assert_eq!(tiered.get(&1).await, None);
    /// assert_eq!(tiered.get(&2).await, Some(20));
    /// # }
    /// ```
    pub async fn invalidate_tag(&self, tag: &str) {
        let inner = &self.inner;
        bump(&inner.counters.invalidations_sent);
        inner.generations.bump_all();
        if !inner.try_invalidate_tag(tag).await {
            inner.pending.push(Unsent::Tag(Tag::from(tag)));
        }
        self.invalidate_tag_in_l1(tag);
    }

    /// Drops L1's entries with `tag`, and keeps a load in flight with it out of L1.
    pub(super) fn invalidate_tag_in_l1(&self, tag: &str) {
        self.inner.l1.invalidate_tag(tag);
    }

    /// Whether the tier is watching its keys in the store and connected: writes by others
    /// reach its L1 now. `false` while the watch starts or reconnects, and always over a
    /// store that cannot watch (see [`TieredBuilder::watch`](super::TieredBuilder::watch)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// assert!(!tiered.is_watching()); // a MemoryStore has no other writers to report
    /// # }
    /// ```
    pub fn is_watching(&self) -> bool {
        self.inner
            .watch
            .get()
            .is_some_and(crate::store::Watch::is_connected)
    }

    /// The L1 cache. Writes to it reach neither L2 nor other instances.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.insert(1, 10).await;
    /// assert!(tiered.l1().contains_key(&1));
    /// # }
    /// ```
    pub fn l1(&self) -> &Cache<K, V> {
        &self.inner.l1
    }

    /// The tier's counters, with L1's own.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.get_with(1, async { 10 }).await;
    /// let stats = tiered.stats();
    /// assert_eq!((stats.l2_misses, stats.l1.loads), (1, 1));
    /// # }
    /// ```
    pub fn stats(&self) -> TierStats {
        let inner = &self.inner;
        let mut stats = inner.counters.snapshot(
            inner.l1.stats(),
            inner.l2.breaker.state(),
            inner.l2.breaker.trips(),
        );
        stats.pending_invalidations = inner.pending.len() as u64;
        stats
    }

    /// The counters of the tier's store ([`Store::store_stats`](crate::store::Store::store_stats)):
    /// every call the tier made of it, and those of anyone else sharing the store's handles.
    /// `None` for a store that does not count.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// tiered.get_with(1, async { 10 }).await; // L2 read (a miss), then L2 written
    /// let l2 = tiered.l2_stats().expect("a MemoryStore counts");
    /// assert_eq!((l2.backend, l2.misses, l2.sets), ("memory", 1, 1));
    /// # }
    /// ```
    pub fn l2_stats(&self) -> Option<crate::store::StoreStats> {
        self.inner.l2.store.store_stats()
    }

    /// Closes the tier: L1 as [`Cache::close`] does; with [`CloseMode::Wait`], the
    /// write-behind queue is drained first. The store stays open: it may be shared, and its
    /// owner closes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::{Cache, CloseMode};
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, u32> = Tiered::builder(Cache::new(10), MemoryStore::new("t"))
    ///     .write_behind(1_000)
    ///     .build();
    /// tiered.insert(1, 10).await; // queued
    /// tiered.close(CloseMode::Wait).await; // written
    /// assert!(tiered.l1().is_closed());
    /// # }
    /// ```
    pub async fn close(&self, mode: CloseMode) {
        let inner = &self.inner;
        if mode == CloseMode::Wait
            && let Some(queue) = &inner.write_behind
        {
            queue.run(Job::Flush).await;
        }
        inner.l1.close(mode).await;
    }
}
