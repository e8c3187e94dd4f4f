//! [`ToolBacking`]: what a tool cache needs of the cache under it, implemented by [`Cache`]
//! and, with the `tier` feature, [`Tiered`](crate::tier::Tiered); and [`ToolEntry`], what it
//! keeps per call.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::key::ToolKey;
use crate::load::LoadOptions;
use crate::{Cache, LoadError, Tag, Ttl};

/// What a tool cache keeps for one call: the tool's result (or, with a
/// [negative TTL](super::ToolPolicy::negative_ttl), its failure's message) and how long the
/// call took, which is what a later hit saves.
///
/// Serializable (with the `serde` types of its parts) so that a tiered cache can store it.
///
/// # Examples
///
/// ```
/// use larder::agent::ToolEntry;
/// use std::time::Duration;
///
/// let entry = ToolEntry::new(Ok::<_, String>(42), Duration::from_millis(120));
/// assert_eq!(entry.result(), Ok(&42));
/// assert_eq!(entry.took(), Duration::from_millis(120));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolEntry<V> {
    result: Result<V, String>,
    took_nanos: u64,
}

impl<V> ToolEntry<V> {
    /// An entry for a call that produced `result` in `took`.
    pub fn new(result: Result<V, String>, took: Duration) -> Self {
        Self {
            result,
            took_nanos: u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// The tool's result, or its failure's message.
    pub fn result(&self) -> Result<&V, &str> {
        self.result.as_ref().map_err(String::as_str)
    }

    /// How long the call that produced it took.
    pub fn took(&self) -> Duration {
        Duration::from_nanos(self.took_nanos)
    }

    pub(crate) fn into_result(self) -> Result<V, String> {
        self.result
    }
}

/// A cache a [`ToolCache`](super::ToolCache) can keep its entries in: [`Cache`] (in this
/// process) or [`Tiered`](crate::tier::Tiered) (shared with other processes through its L2
/// store). Sealed: the tool cache relies on its load protocol.
pub trait ToolBacking<V>: sealed::Sealed + Clone + Send + Sync + 'static {
    /// The entry of `key` in this process's memory, counted as the backing's hit or miss.
    #[doc(hidden)]
    fn lookup(&self, key: &ToolKey) -> Option<ToolEntry<V>>;

    /// The entry of `key` wherever the backing keeps it (a tier's L2 too), loading nothing.
    #[doc(hidden)]
    fn find(&self, key: &ToolKey) -> impl Future<Output = Option<ToolEntry<V>>> + Send;

    /// Loads `key` with `init` after a missed lookup, shared by concurrent calls. `led` is set
    /// when this caller led the load (whether `init` ran or, in a tier, L2 answered).
    #[doc(hidden)]
    fn load<E: Send + Sync + 'static>(
        &self,
        key: ToolKey,
        led: &AtomicBool,
        init: impl Future<Output = Result<Option<(ToolEntry<V>, Ttl, Vec<Tag>)>, E>> + Send,
    ) -> impl Future<Output = Result<Option<ToolEntry<V>>, LoadError<E>>> + Send;

    /// Removes every entry tagged `tag`, everywhere the backing reaches.
    #[doc(hidden)]
    fn invalidate_tag(&self, tag: &str) -> impl Future<Output = ()> + Send;

    /// As `invalidate_tag`, from a `Drop`: a tier's part that must wait runs on tokio.
    #[doc(hidden)]
    fn invalidate_tag_detached(&self, tag: Tag);
}

mod sealed {
    pub trait Sealed {}
}

impl<V> sealed::Sealed for Cache<ToolKey, ToolEntry<V>> {}

impl<V> ToolBacking<V> for Cache<ToolKey, ToolEntry<V>>
where
    V: Clone + Send + Sync + 'static,
{
    fn lookup(&self, key: &ToolKey) -> Option<ToolEntry<V>> {
        self.get(key)
    }

    async fn find(&self, key: &ToolKey) -> Option<ToolEntry<V>> {
        self.peek(key)
    }

    async fn load<E: Send + Sync + 'static>(
        &self,
        key: ToolKey,
        led: &AtomicBool,
        init: impl Future<Output = Result<Option<(ToolEntry<V>, Ttl, Vec<Tag>)>, E>> + Send,
    ) -> Result<Option<ToolEntry<V>>, LoadError<E>> {
        let init = async {
            led.store(true, std::sync::atomic::Ordering::Relaxed);
            init.await
        };
        self.load_path()
            .load(key, LoadOptions::FALLIBLE, pin!(init))
            .await
    }

    async fn invalidate_tag(&self, tag: &str) {
        Cache::invalidate_tag(self, tag);
    }

    fn invalidate_tag_detached(&self, tag: Tag) {
        Cache::invalidate_tag(self, tag.as_str());
    }
}

#[cfg(feature = "tier")]
mod tiered {
    use super::*;
    use crate::tier::Tiered;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    impl<V> sealed::Sealed for Tiered<ToolKey, ToolEntry<V>> {}

    impl<V> ToolBacking<V> for Tiered<ToolKey, ToolEntry<V>>
    where
        V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        fn lookup(&self, key: &ToolKey) -> Option<ToolEntry<V>> {
            self.l1_get(key)
        }

        async fn find(&self, key: &ToolKey) -> Option<ToolEntry<V>> {
            match self.l1().peek(key) {
                Some(entry) => Some(entry),
                None => self.get(key).await,
            }
        }

        async fn load<E: Send + Sync + 'static>(
            &self,
            key: ToolKey,
            led: &AtomicBool,
            init: impl Future<Output = Result<Option<(ToolEntry<V>, Ttl, Vec<Tag>)>, E>> + Send,
        ) -> Result<Option<ToolEntry<V>>, LoadError<E>> {
            self.load_observed(key, LoadOptions::FALLIBLE, led, init)
                .await
        }

        async fn invalidate_tag(&self, tag: &str) {
            Tiered::invalidate_tag(self, tag).await;
        }

        fn invalidate_tag_detached(&self, tag: Tag) {
            // This process's copies go now; L2 and the other instances hear of it from the
            // task (and, if no runtime is running, when an instance next sees the tag's
            // record: never, so say so by the L1 removal alone).
            self.l1().invalidate_tag(tag.as_str());
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let tier = self.clone();
                runtime.spawn(async move { tier.invalidate_tag(tag.as_str()).await });
            }
        }
    }
}
