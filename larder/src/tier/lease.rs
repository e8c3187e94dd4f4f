//! One load across processes: the first process to miss takes a lease in L2, and the others
//! wait for the value to appear there, up to the lease's length, then load themselves.
//!
//! Waiting is bounded polling, one L2 round trip (`get_many` of the entry and the lease) per
//! interval (5 ms): it works on every store, costs a waiting process one read per interval
//! (one waiter per process, since loads are single-flight within a process), and notices a
//! holder that gave up (its lease gone, no value) so that a waiter takes over at once. On a
//! watched store (Redis) a waiter also looks as soon as a write under the tier's prefix is
//! reported, so it sees the value within one push message's delivery of its write, rather
//! than at the next interval. Pub/sub of its own would add a protocol for no gain: the
//! watch already carries the news.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::key::TierKey;
use super::l2::L2;
use super::stats::bump;
use super::tiered::{Filled, Inner};
use crate::store::LeaseToken;

/// Where a load stands on the lease of its key.
pub(super) enum Lease<V> {
    /// This process holds it, and loads.
    Held(Held),
    /// Another process loaded the value meanwhile.
    Filled(Filled<V>),
    /// No lease (L2 down, or the wait ran out): load without one.
    None,
}

impl<K, V> Inner<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Takes the lease of `entry`, or waits for the value of whoever holds it.
    pub(super) async fn lease(&self, entry: &str, length: Duration) -> Lease<V> {
        let key = self.layout.lease(entry);
        let deadline = tokio::time::Instant::now() + length;
        let mut waited = false;
        loop {
            match self.l2.call(|s| s.lease(&key, length)).await {
                Some(Some(token)) => {
                    return Lease::Held(Held {
                        l2: self.l2.clone(),
                        key,
                        token: Some(token),
                    });
                }
                Some(None) => {}
                None => return Lease::None,
            }
            if !waited {
                waited = true;
                bump(&self.counters.lease_waits);
            }
            // Someone holds it: look for the value, or for the lease to be gone.
            loop {
                if tokio::time::Instant::now() >= deadline {
                    bump(&self.counters.lease_timeouts);
                    crate::observe::lease_timed_out(&self.l2.name);
                    return Lease::None;
                }
                // Woken early when the store reports a write under the tier's prefix (a
                // watched store): the value is likely there.
                let written = self.written.notified();
                let mut written = std::pin::pin!(written);
                written.as_mut().enable();
                let poll = std::pin::pin!(tokio::time::sleep(self.settings.lease_poll));
                futures_util::future::select(poll, written).await;
                let keys = [entry, key.as_str()];
                let Some(found) = self.l2.call(|s| s.get_many(&keys)).await else {
                    return Lease::None;
                };
                let mut found = found.into_iter();
                let (value, lease) = (found.next().flatten(), found.next().flatten());
                if let Some(bytes) = value
                    && let Some(filled) = self.open(entry, &bytes).await
                {
                    return Lease::Filled(filled);
                }
                if lease.is_none() {
                    // Gone: the holder wrote its value, or gave up. Where the two keys live
                    // on different nodes (a cluster) they were not read at one instant, so
                    // look for the value once more before taking the lease over.
                    if let Some(filled) = self.peek(entry).await {
                        return Lease::Filled(filled);
                    }
                    break;
                }
            }
        }
    }

    /// The entry at `entry`, if L2 has a readable one (counted as nothing).
    async fn peek(&self, entry: &str) -> Option<super::tiered::Filled<V>> {
        let bytes = self.l2.call(|s| s.get(entry)).await.flatten()?;
        self.open(entry, &bytes).await
    }

    /// Gives a held lease back (compare-and-delete by its token).
    pub(super) async fn release(&self, lease: Lease<V>) {
        if let Lease::Held(mut held) = lease
            && let Some(token) = held.token.take()
        {
            self.l2.call(|s| s.release(&held.key, &token)).await;
        }
    }
}

/// A lease this process holds. Dropped unreleased (its load was cancelled), it is released
/// by a task of its own, so that the others need not wait for it to expire.
pub(super) struct Held {
    l2: Arc<L2>,
    key: String,
    token: Option<LeaseToken>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (l2, key) = (self.l2.clone(), std::mem::take(&mut self.key));
            runtime.spawn(async move {
                l2.call(|s| s.release(&key, &token)).await;
            });
        }
    }
}
