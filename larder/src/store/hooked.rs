//! [`Hooked`]: any store, with [hooks](crate::hooks) around its gets, sets and deletes.

use std::fmt;
use std::time::{Duration, Instant};

use super::{InvalidationSink, LeaseToken, Store, StoreStats, Watch};
use crate::Ttl;
use crate::error::Error;
use crate::hooks::{Call, HookKey, HookRunner, Hooks, Op, Outcome};
use crate::sync::Arc;

/// A store with [`Hooks`] run before and after each of its gets, sets and deletes: larder's
/// stores and your own alike. Every other operation goes straight to the store.
///
/// The hooks see each key as it was passed ([`HookKey::Str`]): `get_many` and `set_many` tell
/// them of each key, all `before`s first, then the operation, then the `after`s, each with the
/// time of the whole call. A hook that panics is contained and counted
/// ([`hook_panics`](Self::hook_panics)).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use larder::Ttl;
/// use larder::hooks::{Call, Hooks, Op, Outcome};
/// use larder::store::{Hooked, MemoryStore, Store};
///
/// #[derive(Default)]
/// struct Misses(AtomicU64);
/// impl Hooks for Misses {
///     fn after(&self, call: &Call<'_>, outcome: Outcome, _: Duration) {
///         if (call.op, outcome) == (Op::Get, Outcome::Miss) {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let misses = Arc::new(Misses::default());
/// let store = Hooked::new(MemoryStore::new("ns"), Arc::clone(&misses));
/// store.set("a", b"1", Ttl::Never).await?;
/// store.get_many(&["a", "b", "c"]).await?;
/// assert_eq!(misses.0.load(Ordering::Relaxed), 2);
/// # Ok(()) }
/// ```
pub struct Hooked<S> {
    store: S,
    hooks: Arc<HookRunner>,
}

impl<S: Store> Hooked<S> {
    /// `store` with `hooks`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::hooks::Hooks;
    /// use larder::store::{Hooked, MemoryStore};
    ///
    /// struct Nothing;
    /// impl Hooks for Nothing {}
    /// let store = Hooked::new(MemoryStore::new("ns"), Nothing);
    /// # drop(store);
    /// ```
    pub fn new(store: S, hooks: impl Hooks) -> Self {
        Self {
            store,
            hooks: HookRunner::new(hooks),
        }
    }

    /// The store inside.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// # struct Nothing;
    /// # impl larder::hooks::Hooks for Nothing {}
    /// use larder::store::{Hooked, MemoryStore, Store};
    ///
    /// let store = Hooked::new(MemoryStore::new("ns"), Nothing);
    /// store.inner().set("k", b"v", larder::Ttl::Never).await?; // around the hooks
    /// assert!(store.get("k").await?.is_some());
    /// # Ok(()) }
    /// ```
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// How many times a hook panicked (each caught, the operation unharmed).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::hooks::{Call, Hooks};
    /// use larder::store::{Hooked, MemoryStore, Store};
    ///
    /// struct Broken;
    /// impl Hooks for Broken {
    ///     fn before(&self, _: &Call<'_>) {
    ///         panic!("a bug in a hook");
    ///     }
    /// }
    /// let store = Hooked::new(MemoryStore::new("ns"), Broken);
    /// assert_eq!(store.get("k").await?, None); // the get still runs
    /// assert_eq!(store.hook_panics(), 1);
    /// # Ok(()) }
    /// ```
    pub fn hook_panics(&self) -> u64 {
        self.hooks.panics()
    }

    /// Tells the hooks of `op` on each of `keys`, runs `call`, and tells them how each key
    /// ended (`outcome(i)` of the result for key `i`).
    async fn around_each<T>(
        &self,
        op: Op,
        keys: impl Iterator<Item = &str> + Clone,
        call: impl Future<Output = Result<T, Error>>,
        outcome: impl Fn(&T, usize) -> Outcome,
    ) -> Result<T, Error> {
        let hooks = &self.hooks;
        let calls = keys.map(|key| Call::new(op, HookKey::Str(key)));
        calls.clone().for_each(|c| hooks.before(c));
        let start = Instant::now();
        let result = call.await;
        let elapsed: Duration = start.elapsed();
        for (i, c) in calls.enumerate() {
            let ended = match &result {
                Ok(value) => outcome(value, i),
                Err(error) => failed(error),
            };
            hooks.after(c, ended, elapsed);
        }
        result
    }
}

/// A store's error as an outcome.
fn failed(error: &Error) -> Outcome {
    Outcome::Failed(Some(error.kind()))
}

/// Whether a read found a value.
fn found(value: &Option<Vec<u8>>) -> Outcome {
    if value.is_some() {
        Outcome::Hit
    } else {
        Outcome::Miss
    }
}

impl<S: Store> Store for Hooked<S> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let call = self.store.get(key);
        self.around_each(Op::Get, [key].into_iter(), call, |v, _| found(v))
            .await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let call = self.store.get_many(keys);
        self.around_each(Op::Get, keys.iter().copied(), call, |values, i| {
            values.get(i).map_or(Outcome::Miss, found)
        })
        .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        let call = self.store.set(key, value, ttl);
        self.around_each(Op::Set, [key].into_iter(), call, |(), _| Outcome::Done)
            .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        let call = self.store.set_many(entries, ttl);
        let keys = entries.iter().map(|(key, _)| *key);
        self.around_each(Op::Set, keys, call, |(), _| Outcome::Done)
            .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        self.store.add(key, value, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let call = self.store.delete(key);
        let removed = |&removed: &bool, _| {
            if removed { Outcome::Hit } else { Outcome::Miss }
        };
        self.around_each(Op::Delete, [key].into_iter(), call, removed)
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.store.exists(key).await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        self.store.expire(key, ttl).await
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.store.increment(key, by).await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.store.clear().await
    }

    async fn watch(&self, prefix: &str, sink: InvalidationSink) -> Result<Option<Watch>, Error> {
        self.store.watch(prefix, sink).await
    }

    fn default_ttl(&self) -> Option<Duration> {
        self.store.default_ttl()
    }

    fn store_stats(&self) -> Option<StoreStats> {
        self.store.store_stats()
    }

    async fn close(&self) -> Result<(), Error> {
        self.store.close().await
    }

    async fn lease(&self, key: &str, ttl: Duration) -> Result<Option<LeaseToken>, Error> {
        self.store.lease(key, ttl).await
    }

    async fn release(&self, key: &str, token: &LeaseToken) -> Result<bool, Error> {
        self.store.release(key, token).await
    }
}

impl<S: Clone> Clone for Hooked<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            hooks: Arc::clone(&self.hooks),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Hooked<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooked")
            .field("store", &self.store)
            .field("hook_panics", &self.hooks.panics())
            .finish()
    }
}
