//! The caches a node (and the parent) runs side by side, each in front of the same Redis:
//!
//! - `Tiered` without and with `distributed_lock` (its lease);
//! - [`Handmade`]: what a user writes by hand today, a `moka::future::Cache` in front of the
//!   redis crate, with moka's in-process single-flight and nothing across processes (no lease,
//!   no invalidation); Redis errors are misses;
//! - cachet 0.16: its in-memory L1 with a fallback tier, which cachet leaves to the user to
//!   write for Redis ([`CachetRedis`]), and its stampede protection.
//!
//! Values are `u64`. `Tiered` writes its own entry format under `v1:{key}`; the others write
//! the 8 little-endian bytes under `hand:{key}` and `cachet:{key}`, with a 60 s TTL.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use larder::Cache;
use larder::store::RedisStore;
use larder::tier::Tiered;
use redis::AsyncCommands;

/// How long every contender keeps a value in Redis.
pub(super) const L2_TTL: Duration = Duration::from_secs(60);

/// The lease of `Tiered` with `distributed_lock`: well above the herd's 50 ms loader.
pub(super) const LEASE: Duration = Duration::from_secs(1);

/// The L1 capacity of every contender, unless a scenario asks for another
/// ([`Contender::connect_with_l1`]).
pub(super) const L1_CAPACITY: u64 = 10_000;

/// A `Tiered` of the benchmark: string keys, `u64` values.
pub(super) type Tier = Tiered<String, u64>;

/// Which contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Who {
    Tier,
    Lease,
    Handmade,
    Cachet,
}

impl Who {
    pub(super) const ALL: [Who; 4] = [Who::Lease, Who::Tier, Who::Handmade, Who::Cachet];

    /// Its name on the nodes' command line.
    pub(super) fn id(self) -> &'static str {
        match self {
            Who::Tier => "tier",
            Who::Lease => "lease",
            Who::Handmade => "hand",
            Who::Cachet => "cachet",
        }
    }

    pub(super) fn parse(id: &str) -> Option<Who> {
        Who::ALL.into_iter().find(|w| w.id() == id)
    }

    /// Its label in tables.
    pub(super) fn label(self) -> &'static str {
        match self {
            Who::Tier => "larder `Tiered`, no lease",
            Who::Lease => "larder `Tiered` with `distributed_lock`",
            Who::Handmade => "by hand: moka `get_with` in front of the redis crate",
            Who::Cachet => "cachet 0.16: memory L1, a Redis fallback tier, stampede protection",
        }
    }

    /// The Redis key (inside the namespace) where it keeps `key`.
    pub(super) fn redis_key(self, namespace: &str, key: &str) -> String {
        match self {
            Who::Tier | Who::Lease => format!("{namespace}:v1:{key}"),
            Who::Handmade => format!("{namespace}:hand:{key}"),
            Who::Cachet => format!("{namespace}:cachet:{key}"),
        }
    }
}

/// A tier over a connection of its own to `url`.
pub(super) async fn tier(
    url: &str,
    namespace: &str,
    lease: bool,
    l1_capacity: u64,
) -> Result<Tier, String> {
    let store = RedisStore::connect(url, namespace)
        .await
        .map_err(|e| format!("RedisStore::connect: {e}"))?;
    let builder = Tiered::builder(Cache::new(l1_capacity), store).l2_ttl(L2_TTL);
    let builder = if lease {
        builder.distributed_lock(LEASE)
    } else {
        builder
    };
    Ok(builder.build())
}

/// moka in front of the redis crate, as a user writes it by hand.
#[derive(Clone)]
pub(super) struct Handmade {
    l1: moka::future::Cache<String, u64>,
    conn: redis::aio::MultiplexedConnection,
    namespace: String,
}

impl Handmade {
    pub(super) async fn connect(
        url: &str,
        namespace: &str,
        l1_capacity: u64,
    ) -> Result<Self, String> {
        let conn = connection(url).await?;
        Ok(Self {
            l1: moka::future::Cache::new(l1_capacity),
            conn,
            namespace: namespace.to_string(),
        })
    }

    /// moka's `get_with`: its loader reads Redis, else loads and writes Redis.
    pub(super) async fn get_with(&self, key: String, load: impl Future<Output = u64>) -> u64 {
        let redis_key = Who::Handmade.redis_key(&self.namespace, &key);
        let mut conn = self.conn.clone();
        self.l1
            .get_with(key, async move {
                if let Some(v) = read_u64(&mut conn, &redis_key).await {
                    return v;
                }
                let v = load.await;
                let _: Result<(), _> = conn
                    .pset_ex(&redis_key, v.to_le_bytes().as_slice(), millis(L2_TTL))
                    .await;
                v
            })
            .await
    }

    /// moka, else Redis (filling moka).
    pub(super) async fn get(&self, key: &str) -> Option<u64> {
        if let Some(v) = self.l1.get(key).await {
            return Some(v);
        }
        let mut conn = self.conn.clone();
        let v = read_u64(&mut conn, &Who::Handmade.redis_key(&self.namespace, key)).await?;
        self.l1.insert(key.to_string(), v).await;
        Some(v)
    }

    pub(super) fn l1_has(&self, key: &str) -> bool {
        self.l1.contains_key(key)
    }

    /// Empties moka.
    pub(super) fn clear_l1(&self) {
        self.l1.invalidate_all();
    }
}

/// cachet's fallback tier for Redis: cachet ships none, so its users write one like this.
pub(super) struct CachetRedis {
    conn: redis::aio::MultiplexedConnection,
    namespace: String,
}

impl<K> cachet::CacheTier<K, u64> for CachetRedis
where
    K: std::fmt::Display + Send + Sync,
{
    async fn get(&self, key: &K) -> Result<Option<cachet::CacheEntry<u64>>, cachet::Error> {
        let mut conn = self.conn.clone();
        let bytes: Option<Vec<u8>> = conn
            .get(Who::Cachet.redis_key(&self.namespace, &key.to_string()))
            .await
            .map_err(cachet::Error::from_source)?;
        Ok(bytes
            .and_then(|b| decode_u64(&b))
            .map(cachet::CacheEntry::new))
    }

    async fn insert(
        &self,
        key: K,
        entry: cachet::CacheEntry<u64>,
    ) -> Result<cachet::InsertOutcome, cachet::Error> {
        let mut conn = self.conn.clone();
        let ttl = entry.ttl().unwrap_or(L2_TTL);
        let bytes = entry.value().to_le_bytes();
        let _: () = conn
            .pset_ex(
                Who::Cachet.redis_key(&self.namespace, &key.to_string()),
                bytes.as_slice(),
                millis(ttl),
            )
            .await
            .map_err(cachet::Error::from_source)?;
        Ok(cachet::InsertOutcome::Accepted)
    }

    async fn invalidate(&self, key: &K) -> Result<(), cachet::Error> {
        let mut conn = self.conn.clone();
        let _: () = conn
            .del(Who::Cachet.redis_key(&self.namespace, &key.to_string()))
            .await
            .map_err(cachet::Error::from_source)?;
        Ok(())
    }

    async fn clear(&self) -> Result<(), cachet::Error> {
        Ok(())
    }
}

/// cachet as its README composes tiers: a memory L1 with a fallback tier, stampede protection.
pub(super) async fn cachet<K>(
    url: &str,
    namespace: &str,
    l1_capacity: u64,
) -> Result<cachet::Cache<K, u64>, String>
where
    K: std::fmt::Display + std::hash::Hash + Eq + Clone + Send + Sync + 'static,
{
    let conn = connection(url).await?;
    let clock = tick::Clock::new_tokio();
    let l2 = cachet::Cache::builder::<K, u64>(clock.clone()).storage(CachetRedis {
        conn,
        namespace: namespace.to_string(),
    });
    Ok(cachet::Cache::builder::<K, u64>(clock)
        .memory_with(|b| b.max_capacity(l1_capacity))
        .fallback(l2)
        .stampede_protection()
        .build())
}

/// A multiplexed connection of the redis crate to `url`.
pub(super) async fn connection(url: &str) -> Result<redis::aio::MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| format!("redis URL: {e}"))?;
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("redis connect: {e}"))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// GET of `key` as a `u64`; an error or foreign bytes are a miss.
async fn read_u64(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<u64> {
    let bytes: Option<Vec<u8>> = conn.get(key).await.ok()?;
    decode_u64(&bytes?)
}

/// One contender, shared by a node's tasks.
#[derive(Clone)]
pub(super) enum Contender {
    Tier(Tier),
    Handmade(Handmade),
    Cachet(Arc<cachet::Cache<String, u64>>),
}

impl Contender {
    /// Builds `who` over its own connection to `url`.
    pub(super) async fn connect(who: Who, url: &str, namespace: &str) -> Result<Self, String> {
        Self::connect_with_l1(who, url, namespace, L1_CAPACITY).await
    }

    /// As [`connect`](Self::connect), with an L1 of `l1_capacity` entries.
    pub(super) async fn connect_with_l1(
        who: Who,
        url: &str,
        namespace: &str,
        l1_capacity: u64,
    ) -> Result<Self, String> {
        let l1 = l1_capacity;
        Ok(match who {
            Who::Tier => Contender::Tier(tier(url, namespace, false, l1).await?),
            Who::Lease => Contender::Tier(tier(url, namespace, true, l1).await?),
            Who::Handmade => Contender::Handmade(Handmade::connect(url, namespace, l1).await?),
            Who::Cachet => Contender::Cachet(Arc::new(cachet(url, namespace, l1).await?)),
        })
    }

    /// The value of `key`, loaded with `load` on a miss; an error is the cache's own.
    pub(super) async fn get_with(
        &self,
        key: String,
        load: impl Future<Output = u64> + Send + 'static,
    ) -> Result<u64, String> {
        // Each arm's future boxed: unboxed, every contender's task would carry the largest
        // contender's state (an enum's size is its largest variant's) and copy it at each
        // spawn. Boxed, each pays for its own future once, as a task spawned on it would.
        match self {
            Contender::Tier(t) => Ok(Box::pin(t.get_with(key, load)).await),
            Contender::Handmade(h) => Ok(Box::pin(h.get_with(key, load)).await),
            Contender::Cachet(c) => Box::pin(c.get_or_insert(&key, || load))
                .await
                .map(|e| *e.value())
                .map_err(|e| e.to_string()),
        }
    }

    /// The value of `key` in L1, else L2 (filling L1).
    pub(super) async fn read(&self, key: &str) -> Result<Option<u64>, String> {
        match self {
            Contender::Tier(t) => Ok(t.get(&key.to_string()).await),
            Contender::Handmade(h) => Ok(h.get(key).await),
            Contender::Cachet(c) => c
                .get(key)
                .await
                .map(|e| e.map(|e| *e.value()))
                .map_err(|e| e.to_string()),
        }
    }

    /// Whether L1 holds `key` (`None`: cachet, which cannot say without an await).
    pub(super) fn l1_has(&self, key: &str) -> Option<bool> {
        match self {
            Contender::Tier(t) => Some(t.l1().contains_key(key)),
            Contender::Handmade(h) => Some(h.l1_has(key)),
            Contender::Cachet(_) => None,
        }
    }

    /// Loads that waited on another process's lease, so far.
    pub(super) fn lease_waits(&self) -> u64 {
        match self {
            Contender::Tier(t) => t.stats().lease_waits,
            _ => 0,
        }
    }
}
