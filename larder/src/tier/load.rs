//! The loading methods of [`Tiered`]: L1, then L2, then the loader, as one load of the L1
//! cache's load protocol, so that a process reads L2 and loads at most once per key at a
//! time, and an invalidation during the load keeps its result out of L1.

use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::pin::pin;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::TierKey;
use super::lease::Lease;
use super::tiered::{Inner, Tiered};
use crate::load::LoadOptions;
use crate::{LoadError, Tag, Ttl};

/// What a tier's loader produced: a value with its TTL and tags, or none.
type Produced<V> = Option<(V, Ttl, Vec<Tag>)>;

impl<K, V> Inner<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// The value for `entry` and what L1 may keep it for: from L2 unless `refresh`, else
    /// from `init`, then written to L2.
    async fn fill<E>(
        &self,
        entry: String,
        refresh: bool,
        init: impl Future<Output = Result<Produced<V>, E>>,
    ) -> Result<Produced<V>, E> {
        let generation = self.generations.current(&entry);
        if !refresh && let Some(filled) = self.read_l2(&entry).await {
            return Ok(Some((filled.value, filled.l1_ttl, filled.tags)));
        }
        let lease = match self.settings.lease {
            Some(length) if !refresh => match self.lease(&entry, length).await {
                Lease::Filled(filled) => {
                    return Ok(Some((filled.value, filled.l1_ttl, filled.tags)));
                }
                held => held,
            },
            _ => Lease::None,
        };
        let epoch = self.epoch();
        let produced = init.await;
        let stored = match produced {
            Ok(Some((value, ttl, tags))) => {
                let l1_ttl = if self.generations.current(&entry) == generation {
                    // A lease holder writes through even under write-behind: the others
                    // wait for the value in L2, not in a queue.
                    let through = matches!(lease, Lease::Held(_));
                    self.write_l2(entry, &value, ttl, &tags, epoch, through)
                        .await
                } else {
                    // Written or invalidated while this load ran: its value goes to its
                    // callers, not over the newer state in L2 (nor, by L1's own rule, L1).
                    ttl
                };
                Ok(Some((value, l1_ttl, tags)))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        };
        self.release(lease).await;
        stored
    }
}

impl<K, V> Tiered<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// Runs one load of `key` through L1's load protocol.
    async fn load<E>(
        &self,
        key: K,
        options: LoadOptions,
        refresh: bool,
        init: impl Future<Output = Result<Produced<V>, E>>,
    ) -> Result<Option<V>, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let inner = &self.inner;
        // The L2 key, built now unless L2 is being skipped; then the key, in case L2 is back
        // by the time this caller leads the load (a joiner whose leader went away).
        let l2_key = if inner.skipping_l2() {
            Err(key.clone())
        } else {
            Ok(inner.layout.entry(&key))
        };
        let fill = async move {
            // Decided when the load runs. L2 down (the breaker open): the loader alone, as
            // cheap as a plain cache's load, so that a dead L2 costs its callers least.
            if inner.skipping_l2() {
                return inner.fill_skipping_l2(refresh, init).await;
            }
            let entry = l2_key.unwrap_or_else(|key| inner.layout.entry(&key));
            // Boxed when it runs: only the leader of a load polls it, and its L2 round trips
            // and lease are kilobytes of state that would otherwise sit in every caller's
            // future, joiners' too, and be copied wherever the future moves (a task's spawn).
            Box::pin(inner.fill(entry, refresh, init)).await
        };
        self.inner
            .l1
            .load_path()
            .load(key, options, pin!(fill))
            .await
    }

    /// One load of `key` for the agent module's tool cache: as `load`, with `led` set when
    /// this caller leads it (reads L2 or runs `init`), so that an L2 hit can be told from
    /// joining another caller's load.
    #[cfg(feature = "agent")]
    pub(crate) async fn load_observed<E>(
        &self,
        key: K,
        options: LoadOptions,
        led: &std::sync::atomic::AtomicBool,
        init: impl Future<Output = Result<Produced<V>, E>>,
    ) -> Result<Option<V>, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        let entry = inner.layout.entry(&key);
        let fill = async move {
            led.store(true, std::sync::atomic::Ordering::Relaxed);
            inner.fill(entry, false, init).await
        };
        self.inner
            .l1
            .load_path()
            .load(key, options, pin!(fill))
            .await
    }

    /// One load of `key` for a `#[cached]` function, whose body borrows its arguments (so
    /// `init` need not be `'static`): from L2 unless `refresh`, else from `init`, then
    /// written to both tiers. The caller looked L1 up already.
    pub(crate) async fn load_borrowing<E>(
        &self,
        key: K,
        options: LoadOptions,
        refresh: bool,
        init: impl Future<Output = Result<Option<(V, Ttl)>, E>>,
    ) -> Result<Option<V>, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        let options = if refresh {
            options.refreshing()
        } else {
            options
        };
        let init = async {
            init.await
                .map(|found| found.map(|(v, ttl)| (v, ttl, Vec::new())))
        };
        self.load(key, options, refresh, init).await
    }

    /// The value for `key`: from L1, else L2, else loaded with `init` and written to both.
    /// Concurrent calls in this process share one L2 read and one load; with
    /// [`distributed_lock`](super::TieredBuilder::distributed_lock), so do other processes.
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
    /// a.get_with(1, async { "loaded".to_string() }).await;
    /// // b finds it in L2: its loader does not run.
    /// assert_eq!(b.get_with(1, async { unreachable!() }).await, "loaded");
    /// # }
    /// ```
    pub async fn get_with(&self, key: K, init: impl Future<Output = V> + Send + 'static) -> V {
        self.get_with_ttl(key, async { (init.await, Ttl::Default) })
            .await
    }

    /// As [`get_with`](Self::get_with), with the loaded value's TTL in L2 (and, capped by
    /// its own, in L1).
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
    /// let v = tiered.get_with_ttl(1, async { (10, Ttl::After(Duration::from_secs(5))) }).await;
    /// assert_eq!(v, 10);
    /// # }
    /// ```
    pub async fn get_with_ttl(
        &self,
        key: K,
        init: impl Future<Output = (V, Ttl)> + Send + 'static,
    ) -> V {
        if let Some(value) = self.l1_get(&key) {
            return value;
        }
        let init = async {
            let (value, ttl) = init.await;
            Ok::<_, Infallible>(Some((value, ttl, Vec::new())))
        };
        match self.load(key, LoadOptions::VALUE, false, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_ttl yields a value"),
        }
    }

    /// As [`get_with`](Self::get_with), for a loader that returns tags with its value:
    /// [`invalidate_tag`](Self::invalidate_tag) of one of them removes it everywhere, and a
    /// tag invalidation during the load keeps the value out of both tiers.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use larder::Cache;
    /// use larder::store::MemoryStore;
    /// use larder::tier::Tiered;
    ///
    /// let tiered: Tiered<u32, String> = Tiered::builder(Cache::new(10), MemoryStore::new("t")).build();
    /// let post = tiered
    ///     .get_with_tags(1, async { ("post".to_string(), vec!["author:7".into()]) })
    ///     .await;
    /// assert_eq!(post, "post");
    /// tiered.invalidate_tag("author:7").await;
    /// assert_eq!(tiered.get(&1).await, None);
    /// # }
    /// ```
    pub async fn get_with_tags(
        &self,
        key: K,
        init: impl Future<Output = (V, Vec<Tag>)> + Send + 'static,
    ) -> V {
        if let Some(value) = self.l1_get(&key) {
            return value;
        }
        let init = async {
            let (value, tags) = init.await;
            Ok::<_, Infallible>(Some((value, Ttl::Default, tags)))
        };
        match self.load(key, LoadOptions::VALUE, false, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_tags yields a value"),
        }
    }

    /// The value for `key`, loading it with the fallible `init` on a miss in both tiers. An
    /// error reaches every caller waiting on that load, and is cached in neither tier.
    ///
    /// # Errors
    ///
    /// [`LoadError::Loader`] with the loader's error, or [`LoadError::Cache`] of kind
    /// [`Closed`](crate::ErrorKind::Closed) once the tier is closed. Never an L2 failure:
    /// that is a miss.
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
    /// let failed = tiered.try_get_with(1, async { Err::<u32, _>("down") }).await;
    /// assert!(failed.is_err());
    /// assert_eq!(tiered.try_get_with(1, async { Ok::<_, &str>(10) }).await.unwrap(), 10);
    /// # }
    /// ```
    pub async fn try_get_with<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>> + Send + 'static,
    ) -> Result<V, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        if let Some(value) = self.l1_get(&key) {
            return Ok(value);
        }
        let init = async { init.await.map(|v| Some((v, Ttl::Default, Vec::new()))) };
        match self.load(key, LoadOptions::FALLIBLE, false, init).await {
            Ok(Some(value)) => Ok(value),
            Ok(None) => unreachable!("try_get_with yields a value or an error"),
            Err(error) => Err(error),
        }
    }

    /// The value for `key`, loading it with `init` on a miss in both tiers; `None` from
    /// `init` is cached in neither.
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
    /// assert_eq!(tiered.optionally_get_with(1, async { None }).await, None);
    /// assert_eq!(tiered.optionally_get_with(1, async { Some(10) }).await, Some(10));
    /// # }
    /// ```
    pub async fn optionally_get_with(
        &self,
        key: K,
        init: impl Future<Output = Option<V>> + Send + 'static,
    ) -> Option<V> {
        if let Some(value) = self.l1_get(&key) {
            return Some(value);
        }
        let init = async { Ok::<_, Infallible>(init.await.map(|v| (v, Ttl::Default, Vec::new()))) };
        self.load(key, LoadOptions::OPTIONAL, false, init)
            .await
            .ok()
            .flatten()
    }

    /// Loads `key` afresh with `init`, whatever either tier holds, and writes the value to
    /// both; concurrent loads of the key join this one.
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
    /// assert_eq!(tiered.refresh(1, async { 11 }).await, 11);
    /// assert_eq!(tiered.get(&1).await, Some(11));
    /// # }
    /// ```
    pub async fn refresh(&self, key: K, init: impl Future<Output = V> + Send + 'static) -> V {
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default, Vec::new()))) };
        match self
            .load(key, LoadOptions::VALUE.refreshing(), true, init)
            .await
        {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("refresh yields a value"),
        }
    }
}
