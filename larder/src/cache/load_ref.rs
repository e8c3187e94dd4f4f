//! Loading with a borrowed key (`get_with_by_ref`: the key is cloned only on a miss) or a
//! borrowing loader (`get_with_local`: neither `Send` nor `'static`, so never handed to a
//! background refresh). The same load protocol as `load.rs`, so all of them share flights.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::pin;

use super::handle::Cache;
use crate::equivalent::Equivalent;
use crate::load::LoadOptions;
use crate::{LoadError, Ttl};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    /// As [`get_with`](Self::get_with), with the key borrowed: it is cloned into a `K` only on
    /// a miss (to lead the load) or to hand a background refresh, so a hit builds no key.
    /// `key` is any `Q` that [`get`](Self::get) takes and whose `to_owned` is a `K`, such as
    /// `&str` for a `String` key.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<String, usize> = larder::Cache::new(100);
    /// let name: &str = "ada";
    /// let len = cache.get_with_by_ref(name, async move { name.len() }).await;
    /// assert_eq!(len, 3);
    /// assert_eq!(cache.get_with_by_ref("ada", async { unreachable!() }).await, 3);
    /// # }
    /// ```
    pub async fn get_with_by_ref<Q>(
        &self,
        key: &Q,
        init: impl Future<Output = V> + Send + 'static,
    ) -> V
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
    {
        let init = async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) };
        let init = match self.answer_from_cache(key, init) {
            Ok(value) => return value,
            Err(init) => pin!(init),
        };
        let key = key.to_owned();
        match self.load_path().load(key, LoadOptions::VALUE, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_by_ref yields a value"),
        }
    }

    /// As [`try_get_with`](Self::try_get_with), with the key borrowed, as
    /// [`get_with_by_ref`](Self::get_with_by_ref) takes it: cloned only on a miss or for a
    /// background refresh.
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
    /// As [`try_get_with`](Self::try_get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: larder::Cache<String, u32> = larder::Cache::new(100);
    /// let parsed = cache.try_get_with_by_ref("42", async { "42".parse::<u32>() }).await;
    /// assert_eq!(parsed.unwrap(), 42);
    /// let failed = cache.try_get_with_by_ref("x", async { "x".parse::<u32>() }).await;
    /// assert!(failed.is_err());
    /// assert!(!cache.contains_key("x"));
    /// # }
    /// ```
    pub async fn try_get_with_by_ref<Q, E>(
        &self,
        key: &Q,
        init: impl Future<Output = Result<V, E>> + Send + 'static,
    ) -> Result<V, LoadError<E>>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        E: Send + Sync + 'static,
    {
        let init = async { init.await.map(|v| Some((v, Ttl::Default))) };
        let init = match self.answer_from_cache(key, init) {
            Ok(value) => return Ok(value),
            Err(init) => pin!(init),
        };
        let key = key.to_owned();
        match self
            .load_path()
            .load(key, LoadOptions::FALLIBLE, init)
            .await
        {
            Ok(Some(value)) => Ok(value),
            Ok(None) => unreachable!("try_get_with_by_ref yields a value or an error"),
            Err(e) => Err(e),
        }
    }

    /// As [`get_with`](Self::get_with), with a loader that need be neither `Send` nor
    /// `'static`: it may borrow locals (a connection pool, a request), as moka's `get_with`
    /// allows. The returned future is `Send` when `init` is.
    ///
    /// # Why a separate method
    ///
    /// `get_with` must take `Send + 'static` loaders because a cache built with
    /// [`stale_while_revalidate`](crate::CacheBuilder::stale_while_revalidate) or
    /// [`refresh_ahead`](crate::CacheBuilder::refresh_ahead) hands the caller's loader to a
    /// background task, which can only hold a future that owns its data and can move between
    /// threads. Whether a cache has background refreshes is decided at run time, by its
    /// builder, and a bound in a signature cannot depend on it, so a loader that borrows gets
    /// its own method. This one never refreshes in the background: on such a cache, an entry
    /// past its TTL (even within the stale grace) is a miss that this call loads in the
    /// foreground, and an entry near its deadline is served without an early refresh.
    /// Everything else is as `get_with`: the same flights, so calls to both share one load.
    ///
    /// # Concurrent calls on the same key
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Cancel safety
    ///
    /// As [`get_with`](Self::get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::collections::HashMap;
    ///
    /// struct Db { rows: HashMap<u32, String> }
    /// impl Db {
    ///     async fn get(&self, id: u32) -> String { self.rows[&id].clone() }
    /// }
    ///
    /// let db = Db { rows: HashMap::from([(7, "ada".to_string())]) };
    /// let cache = larder::Cache::new(100);
    /// // `db` is borrowed, not moved or cloned into the loader.
    /// let name = cache.get_with_local(7, async { db.get(7).await }).await;
    /// assert_eq!(name, "ada");
    /// # }
    /// ```
    pub async fn get_with_local(&self, key: K, init: impl Future<Output = V>) -> V {
        if let Some(value) = self.get(&key) {
            return value;
        }
        let init = pin!(async { Ok::<_, Infallible>(Some((init.await, Ttl::Default))) });
        match self.load_path().load(key, LoadOptions::VALUE, init).await {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) => unreachable!("get_with_local yields a value"),
        }
    }

    /// As [`try_get_with`](Self::try_get_with), with a loader that need be neither `Send` nor
    /// `'static`, for the reason and with the behaviour [`get_with_local`](Self::get_with_local)
    /// gives.
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
    /// As [`try_get_with`](Self::try_get_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let pool = vec!["row 0".to_string(), "row 1".to_string()];
    /// let cache: larder::Cache<usize, String> = larder::Cache::new(100);
    /// let load = |id: usize| {
    ///     let pool = &pool;
    ///     async move { pool.get(id).cloned().ok_or("no such row") }
    /// };
    /// assert_eq!(cache.try_get_with_local(1, load(1)).await.unwrap(), "row 1");
    /// assert!(cache.try_get_with_local(5, load(5)).await.is_err());
    /// # }
    /// ```
    pub async fn try_get_with_local<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>>,
    ) -> Result<V, LoadError<E>>
    where
        E: Send + Sync + 'static,
    {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let init = pin!(async { init.await.map(|v| Some((v, Ttl::Default))) });
        match self
            .load_path()
            .load(key, LoadOptions::FALLIBLE, init)
            .await
        {
            Ok(Some(value)) => Ok(value),
            Ok(None) => unreachable!("try_get_with_local yields a value or an error"),
            Err(e) => Err(e),
        }
    }
}
